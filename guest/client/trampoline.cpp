// Trampoline: load the generated program, attach it, detach it.
#include "guest/client/trampoline.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "translator/isa/codec.hpp"

namespace xo::guest {
namespace {

// The log's last `lines` lines, on one line ("; "-joined): where a verifier
// says why.
std::string log_tail(const std::string& log, std::size_t lines) {
  std::vector<std::string> all;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    if (end > start) all.push_back(log.substr(start, end - start));
    start = end + 1;
  }
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += (out.empty() ? "" : "; ") + all[i];
  return out;
}

}  // namespace

Result<UniqueFd> load_xdp_program(const std::string& name, std::span<const isa::Insn> insns) {
  const std::vector<isa::RawInsn> raw = isa::encode(insns);
  static_assert(sizeof(isa::RawInsn) == sizeof(bpf_insn));
  const auto* prog = reinterpret_cast<const bpf_insn*>(raw.data());
  // perf_event_output is GPL-only.
  constexpr const char* kLicense = "Dual BSD/GPL";
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name.c_str(), kLicense, prog, raw.size(), nullptr);
  if (fd < 0) {
    // Again with the verifier's log, for the reason (not on the first try:
    // before 6.4 a log that fills its buffer fails even a good program).
    std::string log(256 * 1024, '\0');
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = __u32(log.size()), .log_buf = log.data());
    UniqueFd again(bpf_prog_load(BPF_PROG_TYPE_XDP, name.c_str(), kLicense, prog, raw.size(), &opts));
    log.resize(std::strlen(log.c_str()));
    const int code = -fd;
    return err(code, "loading XDP program '" + name + "': " + std::strerror(code) +
                         (log.empty() ? "" : ": " + log_tail(log, 3)));
  }
  return UniqueFd(fd);
}

Result<Trampoline> Trampoline::load(const TrampolineBinding& binding) {
  auto insns = trampoline_insns(binding);
  if (!insns) return insns.error();
  auto fd = load_xdp_program(kName, *insns);
  if (!fd) return fd.error();
  Trampoline t;
  t.fd_ = std::move(*fd);
  t.prog_id_ = prog_id_of(t.fd_.get());
  return t;
}

Status Trampoline::attach(std::uint32_t ifindex, std::uint32_t flags) {
  auto a = XdpAttachment::attach(ifindex, fd_.get(), flags);
  if (!a) return a.error();
  attachment_ = std::move(*a);
  return Ok{};
}

}  // namespace xo::guest
