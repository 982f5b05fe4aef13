#include "tools/map_dump.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <memory>

#include "tools/cli.hpp"
#include "core/submission.hpp"

namespace xo::cli {

namespace {

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};
struct DumpDeleter {
  void operator()(btf_dump* d) const { btf_dump__free(d); }
};

// btf_dump__dump_type_data prints through a vprintf-style callback.
void append_printf(void* ctx, const char* fmt, va_list args) {
  char buf[512];
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  auto* out = static_cast<std::string*>(ctx);
  if (n < 0) return;
  if (static_cast<std::size_t>(n) < sizeof buf) {
    out->append(buf, static_cast<std::size_t>(n));
  } else {
    std::string big(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(big.data(), big.size(), fmt, args);
    out->append(big.data(), static_cast<std::size_t>(n));
  }
}

// Typed text of `bytes` as BTF type `id`; nullopt when BTF is missing or
// libbpf cannot format it (size mismatch, unsupported kind).
class TypedFormatter {
 public:
  explicit TypedFormatter(std::uint32_t btf_id) {
    if (btf_id == 0) return;
    btf_.reset(btf__load_from_kernel_by_id(btf_id));
    if (!btf_) return;
    dump_.reset(btf_dump__new(btf_.get(), append_printf, &text_, nullptr));
  }
  std::optional<std::string> format(std::uint32_t type_id, const std::vector<std::uint8_t>& bytes) {
    if (!dump_ || type_id == 0) return std::nullopt;
    text_.clear();
    LIBBPF_OPTS(btf_dump_type_data_opts, opts, .compact = true, .emit_zeroes = true);
    int rc = btf_dump__dump_type_data(dump_.get(), type_id, bytes.data(), bytes.size(), &opts);
    if (rc < 0) return std::nullopt;
    return text_;
  }

 private:
  std::unique_ptr<btf, BtfDeleter> btf_;
  std::string text_;  // before dump_: the callback writes here
  std::unique_ptr<btf_dump, DumpDeleter> dump_;
};

bool all_zero(const std::vector<std::uint8_t>& v) {
  for (auto b : v)
    if (b) return false;
  return true;
}

std::uint64_t as_uint(const std::uint8_t* p, std::size_t size) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, size);  // little-endian host
  return v;
}

}  // namespace

Result<MapContents> read_map(int fd, std::string name, const DumpOptions& opts) {
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    return err("map '" + name + "': cannot read its info: " + std::strerror(errno));
  MapContents m;
  m.name = std::move(name);
  m.type = map_type_name(MapType(info.type));
  m.id = info.id;
  m.key_size = info.key_size;
  m.value_size = info.value_size;
  m.max_entries = info.max_entries;
  m.btf_typed = info.btf_id != 0 && info.btf_value_type_id != 0;
  if (info.type == BPF_MAP_TYPE_PROG_ARRAY) return m;  // values are program ids, read by status

  const bool percpu = map_type_is_percpu(MapType(info.type));
  const int ncpus = percpu ? libbpf_num_possible_cpus() : 1;
  if (ncpus <= 0) return err("map '" + m.name + "': cannot count possible CPUs");
  const std::size_t stride = percpu ? (info.value_size + 7) / 8 * 8 : info.value_size;
  const bool array = info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY;
  TypedFormatter typed(info.btf_id);

  std::vector<std::uint8_t> key(info.key_size), next(info.key_size), raw(stride * ncpus);
  bool first = true;
  while (true) {
    int rc = bpf_map_get_next_key(fd, first ? nullptr : key.data(), next.data());
    if (rc != 0) {
      if (errno == ENOENT) break;
      return err("map '" + m.name + "': get_next_key: " + std::strerror(errno));
    }
    first = false;
    key = next;
    if (bpf_map_lookup_elem(fd, key.data(), raw.data()) != 0) continue;  // deleted meanwhile
    MapEntry e;
    e.key = hex(key);
    e.key_text = typed.format(info.btf_key_type_id, key);
    std::vector<std::uint8_t> value(raw.begin(), raw.begin() + info.value_size);
    bool zero = all_zero(raw);
    if (percpu) {
      const bool counter = info.value_size == 1 || info.value_size == 2 || info.value_size == 4 ||
                           info.value_size == 8;
      std::uint64_t sum = 0;
      for (int c = 0; c < ncpus; ++c) {
        const std::uint8_t* p = raw.data() + stride * c;
        e.per_cpu.push_back(hex(std::span(p, info.value_size)));
        if (counter) sum += as_uint(p, info.value_size);
      }
      if (counter) {
        e.sum = sum;
        std::memcpy(value.data(), &sum, info.value_size);
      }
    }
    e.value = hex(value);
    e.value_text = typed.format(info.btf_value_type_id, value);
    if (array && zero && !opts.include_zero_array_entries) {
      ++m.omitted_zero;
      continue;
    }
    if (m.entries.size() >= opts.max_entries_shown) {
      m.truncated = true;
      break;
    }
    m.entries.push_back(std::move(e));
  }
  return m;
}

void write_map_entries(JsonWriter& j, const MapContents& m) {
  j.begin_array();
  for (const MapEntry& e : m.entries) {
    j.begin_object();
    j.field("key", e.key);
    j.field("value", e.value);
    if (e.key_text) j.field("key_btf", *e.key_text);
    if (e.value_text) j.field("value_btf", *e.value_text);
    if (!e.per_cpu.empty()) {
      j.key("per_cpu");
      j.begin_array();
      for (const auto& v : e.per_cpu) j.value(v);
      j.end_array();
    }
    if (e.sum) j.field("sum", *e.sum);
    j.end_object();
  }
  j.end_array();
}

std::string format_map_text(const MapContents& m) {
  std::string s = "  " + m.name + " (" + m.type + ", id " + std::to_string(m.id) + ")";
  if (m.entries.empty()) s += ": no entries";
  if (m.omitted_zero) s += "  [" + std::to_string(m.omitted_zero) + " all-zero entries not shown]";
  s += '\n';
  for (const MapEntry& e : m.entries) {
    s += "    [" + (e.key_text ? *e.key_text : "0x" + e.key) + "] = " +
         (e.value_text ? *e.value_text : "0x" + e.value);
    if (!e.per_cpu.empty()) {
      s += "   (per CPU:";
      for (const auto& v : e.per_cpu) s += " 0x" + v;
      s += ")";
    }
    s += '\n';
  }
  if (m.truncated) s += "    ... (more entries not shown)\n";
  return s;
}

}  // namespace xo::cli
