// The scrubber: hand-written scanners, linear in the text (logs are up to a
// few MiB; std::regex would be slow and recurse deeply on long lines).
#include "host/session/scrub.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include "host/core/names.hpp"
#include "host/core/verifier_log.hpp"

namespace xo::session {

namespace {

constexpr std::string_view kAddress = "<kernel address>";
constexpr std::string_view kHostPath = "<host path>";
constexpr std::string_view kHostValue = "<host>";

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool name_char(char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; }
using host::kernel_name_char;

// Kernel half of the address space; the top 16 MiB are left alone: they
// are small negative constants (-1, -4096) far more often than fixmap.
bool kernel_address(std::uint64_t v) { return v >= 0xff00000000000000ull && v < 0xffffffffff000000ull; }

// Replaces each occurrence of `what` for which `stands_alone` holds.
template <typename Pred>
std::string replace_all(std::string_view text, std::string_view what, std::string_view with, Pred stands_alone) {
  if (what.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (;;) {
    std::size_t hit = text.find(what, pos);
    while (hit != std::string_view::npos && !stands_alone(text, hit, what.size())) hit = text.find(what, hit + 1);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(with);
    pos = hit + what.size();
  }
  out.append(text.substr(pos));
  return out;
}

// A path from `prefix` on, up to the next blank, quote, bracket or
// separator ("cannot pin /sys/fs/bpf/x/y: EEXIST").
std::string scrub_paths(std::string_view text, std::string_view prefix) {
  if (prefix.empty()) return std::string(text);
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = text.find(prefix, pos)) != std::string_view::npos;) {
    out.append(text.substr(pos, hit - pos));
    out.append(kHostPath);
    std::size_t end = hit + prefix.size();
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != '\'' &&
           text[end] != '"' && text[end] != ')' && text[end] != ']' && text[end] != ',' && text[end] != ';' &&
           text[end] != ':')
      ++end;
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

// "xo" + the session's first k kernel-name characters + "_", for every k
// kernel_object_name() may keep (names.hpp: at least 3), longest first.
std::vector<std::string> kernel_name_prefixes(const std::string& session) {
  std::string s = host::kernel_chars(session.substr(0, host::kKernelNameMax - 3));  // "xo" + s + "_" at most
  std::vector<std::string> out;
  for (std::size_t k = s.size(); k >= std::min<std::size_t>(3, s.size()) && k > 0; --k)
    out.push_back("xo" + s.substr(0, k) + "_");
  return out;
}

std::string scrub_kernel_names(std::string_view text, const std::string& session) {
  std::string out(text);
  for (const auto& p : kernel_name_prefixes(session)) {
    std::string next;
    std::size_t pos = 0;
    for (std::size_t hit; (hit = out.find(p, pos)) != std::string::npos;) {
      if (hit > 0 && kernel_name_char(out[hit - 1])) {  // inside a longer word: not ours
        next.append(out, pos, hit + 1 - pos);
        pos = hit + 1;
        continue;
      }
      std::size_t end = hit + p.size();
      while (end < out.size() && kernel_name_char(out[end])) ++end;
      // names.hpp's hash tag derives from the host's session name: it goes too.
      constexpr std::size_t tag = host::kKernelNameTagLen;
      std::size_t keep_end = end;
      if (host::kernel_name_tagged(session, end - hit) && keep_end - (hit + p.size()) >= tag &&
          std::all_of(out.begin() + long(keep_end - tag), out.begin() + long(keep_end), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c));
          }))
        keep_end -= tag;
      next.append(out, pos, hit - pos);
      next.append(out, hit + p.size(), keep_end - (hit + p.size()));
      pos = end;
    }
    next.append(out, pos, std::string::npos);
    out = std::move(next);
  }
  return out;
}

std::string scrub_word(std::string_view text, const std::string& word, std::string_view with) {
  if (word.size() < 3) return std::string(text);  // "a", "t0": too common to be a host name
  return replace_all(text, word, with, [](std::string_view t, std::size_t at, std::size_t n) {
    return (at == 0 || !name_char(t[at - 1])) && (at + n >= t.size() || !name_char(t[at + n]));
  });
}

// Kernel addresses as numbers: 0x-hex, bare 16-digit hex, negative decimal.
std::string scrub_addresses(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  std::size_t i = 0;
  auto boundary_after = [&](std::size_t j) { return j >= t.size() || !alnum(t[j]); };
  while (i < t.size()) {
    const bool start = i == 0 || !(alnum(t[i - 1]) || t[i - 1] == '_');
    if (start) {
      // 0x<hex>
      if (i + 2 < t.size() && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X')) {
        std::size_t j = i + 2;
        while (j < t.size() && std::isxdigit(static_cast<unsigned char>(t[j]))) ++j;
        std::uint64_t v = 0;
        if (j - (i + 2) <= 16 && j > i + 2 && boundary_after(j) &&
            std::from_chars(t.data() + i + 2, t.data() + j, v, 16).ec == std::errc{} && kernel_address(v)) {
          out.append(kAddress);
          i = j;
          continue;
        }
      }
      // 16 bare hex digits
      if (std::isxdigit(static_cast<unsigned char>(t[i]))) {
        std::size_t j = i;
        while (j < t.size() && std::isxdigit(static_cast<unsigned char>(t[j]))) ++j;
        std::uint64_t v = 0;
        if (j - i == 16 && boundary_after(j) && std::from_chars(t.data() + i, t.data() + j, v, 16).ec == std::errc{} &&
            kernel_address(v)) {
          out.append(kAddress);
          i = j;
          continue;
        }
      }
      // -<decimal>: a kernel address as a signed 64-bit value. Only
      // magnitudes of 2^32 and up: smaller negatives are ordinary constants.
      if (t[i] == '-' && i + 1 < t.size() && std::isdigit(static_cast<unsigned char>(t[i + 1]))) {
        std::size_t j = i + 1;
        while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) ++j;
        std::uint64_t mag = 0;
        if (j - i - 1 <= 19 && boundary_after(j) &&
            std::from_chars(t.data() + i + 1, t.data() + j, mag).ec == std::errc{} && mag >= (1ull << 32) &&
            kernel_address(~mag + 1)) {
          out.append(kAddress);
          i = j;
          continue;
        }
      }
    }
    out.push_back(t[i++]);
  }
  return out;
}

// "<key> 12", "<key>:12", "<key>=12", "<key>: 12" -> "<key> <host>".
std::string scrub_numbered(std::string_view t, std::string_view key) {
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = t.find(key, pos)) != std::string_view::npos;) {
    std::size_t j = hit + key.size();
    const bool left_ok = !alnum(key.front()) || hit == 0 || !alnum(t[hit - 1]);
    std::size_t k = j;
    while (k < t.size() && (t[k] == ' ' || t[k] == ':' || t[k] == '=')) ++k;
    std::size_t d = k;
    while (d < t.size() && std::isdigit(static_cast<unsigned char>(t[d]))) ++d;
    if (!left_ok || d == k || (d < t.size() && alnum(t[d]))) {
      out.append(t.substr(pos, j - pos));
      pos = j;
      continue;
    }
    out.append(t.substr(pos, k - pos));
    out.append(kHostValue);
    pos = d;
  }
  out.append(t.substr(pos));
  return out;
}

// "42: (b7) r1 = 7 ; R1_w=7\t// host-inserted code at ..." -> "42: (host-inserted instruction)"
std::string scrub_host_lines(std::string_view t) {
  if (t.find(host::kHostInsertedNote) == std::string_view::npos) return std::string(t);
  std::string out;
  for (std::size_t pos = 0; pos < t.size();) {
    std::size_t nl = t.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? t.size() : nl;
    std::string_view line = t.substr(pos, end - pos);
    const std::size_t colon = line.find(": ");
    if (line.find(host::kHostInsertedNote) != std::string_view::npos && colon != std::string_view::npos &&
        colon > 0 && std::all_of(line.begin(), line.begin() + colon, [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      out.append(line.substr(0, colon));
      out.append(": (host-inserted instruction)");
    } else {
      out.append(line);
    }
    if (nl != std::string_view::npos) out.push_back('\n');
    pos = end + 1;
  }
  return out;
}

}  // namespace

std::string scrub_for_guest(std::string_view text, const HostIdentity& host) {
  std::string s = scrub_host_lines(text);
  for (const auto& p : host.host_paths) s = scrub_paths(s, p);
  s = scrub_paths(s, "/sys/fs/bpf");
  s = scrub_kernel_names(s, host.session);
  s = scrub_word(s, host.tap, "<tap>");
  s = scrub_word(s, host.session, "<session>");
  s = scrub_addresses(s);
  for (std::string_view key : {"ifindex", "map id", "prog id", "btf id", "link id", "map_id", "prog_id", "btf_id",
                               "link_id", "[id"})
    s = scrub_numbered(s, key);
  return s;
}

void scrub_for_guest(transport::Message& message, const HostIdentity& host) {
  std::visit(
      [&](auto& m) {
        if constexpr (requires { m.status.message; })
          if (!m.status.message.empty()) m.status.message = scrub_for_guest(m.status.message, host);
        if constexpr (requires { m.log; })
          if (!m.log.empty()) m.log = scrub_for_guest(m.log, host);
        if constexpr (requires { m.text; })
          if (!m.text.empty()) m.text = scrub_for_guest(m.text, host);
      },
      message);
}

}  // namespace xo::session
