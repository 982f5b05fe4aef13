#include "guest/builder/libbpf_object.hpp"
#include "guest/builder/printable.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>

namespace xo::guest {
namespace {

// libbpf prints to stderr by default. While the builder runs, its messages go
// to a per-thread buffer instead; the last warning ends up in our error.
thread_local std::string* t_libbpf_log = nullptr;

int capture_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG || !t_libbpf_log) return 0;
  char line[512];
  int n = std::vsnprintf(line, sizeof line, fmt, args);
  if (n > 0) {
    std::string s = printable(line);
    while (s.size() >= 4 && s.ends_with("\\x0a")) s.resize(s.size() - 4);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (!s.empty()) *t_libbpf_log = s;  // keep the last one: it names the failure
  }
  return 0;
}

class QuietLibbpf {
 public:
  explicit QuietLibbpf(std::string* sink) : previous_(libbpf_set_print(capture_print)) { t_libbpf_log = sink; }
  ~QuietLibbpf() {
    t_libbpf_log = nullptr;
    libbpf_set_print(previous_);
  }
  QuietLibbpf(const QuietLibbpf&) = delete;
  QuietLibbpf& operator=(const QuietLibbpf&) = delete;

 private:
  libbpf_print_fn_t previous_;
};

struct ObjectCloser {
  void operator()(bpf_object* o) const { bpf_object__close(o); }
};

}  // namespace

Result<LibbpfView> open_with_libbpf(std::span<const std::uint8_t> elf) {
  std::string last_warning;
  QuietLibbpf quiet(&last_warning);

  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = kLibbpfObjectName);
  errno = 0;
  std::unique_ptr<bpf_object, ObjectCloser> obj(bpf_object__open_mem(elf.data(), elf.size(), &opts));
  if (!obj || libbpf_get_error(obj.get())) {
    if (obj && libbpf_get_error(obj.get())) obj.release();  // legacy error pointer: nothing to close
    int e = errno;
    return err("libbpf could not open the object: " + (last_warning.empty() ? std::string(std::strerror(e ? e : EINVAL)) : last_warning));
  }

  LibbpfView view;
  auto copy = [](bpf_map* m) {
    return LibbpfMap{bpf_map__name(m), bpf_map__is_internal(m), static_cast<std::uint32_t>(bpf_map__type(m)),
                     bpf_map__key_size(m), bpf_map__value_size(m), bpf_map__max_entries(m), bpf_map__map_flags(m),
                     bpf_map__btf_key_type_id(m), bpf_map__btf_value_type_id(m), bpf_map__map_extra(m), {}};
  };
  bpf_map* map;
  bpf_object__for_each_map(map, obj.get()) {
    view.maps.push_back(copy(map));
    if (bpf_map* inner = bpf_map__inner_map(map)) view.maps.back().inner.push_back(copy(inner));
  }
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj.get()) {
    LibbpfProgram p{bpf_program__name(prog), bpf_program__section_name(prog), {}, false};
    const bpf_insn* insns = bpf_program__insns(prog);
    std::size_t cnt = bpf_program__insn_cnt(prog);
    if (insns && cnt) {
      p.insns.resize(cnt);
      std::memcpy(p.insns.data(), insns, cnt * sizeof(bpf_insn));
    }
    view.programs.push_back(std::move(p));
  }
  if (const btf* b = bpf_object__btf(obj.get())) {
    std::uint32_t size = 0;
    const void* raw = btf__raw_data(b, &size);
    if (!raw) return err("libbpf could not serialize the object's BTF");
    const auto* bytes = static_cast<const std::uint8_t*>(raw);
    view.btf.assign(bytes, bytes + size);
    std::uint32_t n = btf__type_cnt(b);
    for (std::uint32_t id = 1; id < n; ++id) {
      const btf_type* t = btf__type_by_id(b, id);
      if (t && btf_is_datasec(t)) {
        const char* name = btf__name_by_offset(b, t->name_off);
        if (name) view.datasec_ids[name] = id;
      }
    }
  }
  return view;
}

}  // namespace xo::guest
