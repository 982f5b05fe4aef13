// Native loads through libbpf (see native.hpp). Runs in a per-program child
// process, so the libbpf print hook and every fd die with it.
#include "tests/corpus/native.hpp"

#include <bpf/libbpf.h>
#include <gelf.h>
#include <fcntl.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string_view>

#include "core/unique_fd.hpp"
#include "tests/corpus/classify.hpp"

namespace xo::corpus {

namespace {

std::string* g_log = nullptr;

int capture(libbpf_print_level level, const char* fmt, va_list ap) {
  if (!g_log || level == LIBBPF_DEBUG) return 0;
  char buf[4096];
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  if (n > 0) g_log->append(buf, std::min<std::size_t>(std::size_t(n), sizeof buf - 1));
  return 0;
}

// libbpf's print hook, pointed at `sink` for one scope.
class LibbpfLog {
 public:
  explicit LibbpfLog(std::string* sink) : previous_(libbpf_set_print(capture)) { g_log = sink; }
  ~LibbpfLog() {
    g_log = nullptr;
    libbpf_set_print(previous_);
  }

 private:
  libbpf_print_fn_t previous_;
};

struct ObjectCloser {
  void operator()(bpf_object* o) const { bpf_object__close(o); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectCloser>;

// libbpf wraps the kernel's log in "-- BEGIN PROG LOAD LOG --" ... "-- END
// PROG LOAD LOG --"; the kernel's reason is inside, libbpf's own otherwise.
std::string native_reason(const std::string& log) {
  auto b = log.find("-- BEGIN PROG LOAD LOG --");
  auto e = log.find("-- END PROG LOAD LOG --");
  if (b != std::string::npos && e != std::string::npos && e > b) {
    std::string inner = log.substr(b + 25, e - b - 25);
    std::string line = reason_line(inner);
    if (!line.empty()) return line;
  }
  // libbpf's last lines are "failed to load object"; the one before says why.
  std::istringstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.empty() || line.find("failed to load object") != std::string::npos) continue;
    last = line;
  }
  return last.empty() ? "libbpf refused the object (no message)" : last;
}

// libbpf's XDP programs, and those in sections libbpf 1.x does not know
// but iproute2 loads as XDP ("xdp_mark": `ip link set ... xdp obj O sec S`).
bool untyped_xdp(const bpf_program* p) {
  return bpf_program__type(p) == BPF_PROG_TYPE_UNSPEC && std::string_view(bpf_program__section_name(p)).rfind("xdp", 0) == 0;
}
bool is_xdp(const bpf_program* p) { return bpf_program__type(p) == BPF_PROG_TYPE_XDP || untyped_xdp(p); }

// Local storage maps must have max_entries 0; the kernel sizes them.
bool sized_by_kernel(bpf_map_type t) {
  constexpr int kCgrpStorage = 32;  // BPF_MAP_TYPE_CGRP_STORAGE, newer than our UAPI header
  return t == BPF_MAP_TYPE_SK_STORAGE || t == BPF_MAP_TYPE_INODE_STORAGE || t == BPF_MAP_TYPE_TASK_STORAGE ||
         t == BPF_MAP_TYPE_CGROUP_STORAGE || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE || int(t) == kCgrpStorage;
}

// Sizes a map its tool would size before load: a 0-entry PERF_EVENT_ARRAY
// to the CPU count (what libbpf does itself), any other 0-entry map to
// kDefaultMapEntries.
void size_unsized(bpf_map* m, NativeResult& r) {
  if (bpf_map__max_entries(m) != 0 || sized_by_kernel(bpf_map__type(m))) return;
  if (bpf_map__type(m) == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
    int cpus = libbpf_num_possible_cpus();
    bpf_map__set_max_entries(m, cpus > 0 ? std::uint32_t(cpus) : 1);
    return;
  }
  bpf_map__set_max_entries(m, kDefaultMapEntries);
  r.sized_maps.push_back(bpf_map__name(m));
  r.notes.push_back(std::string("native: map ") + bpf_map__name(m) + " has max_entries 0; sized " +
                  std::to_string(kDefaultMapEntries) + " before load, as its tool would");
}

}  // namespace

std::string reason_line(const std::string& log) {
  std::istringstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.rfind("processed ", 0) == 0 || line.rfind("verification time", 0) == 0 ||
        line.rfind("stack depth", 0) == 0 || line.rfind("libbpf: prog '", 0) == 0)
      continue;
    last = line;
  }
  return last;
}

bool has_legacy_maps(const std::string& path) {
  elf_version(EV_CURRENT);
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  Elf* elf = elf_begin(fd.get(), ELF_C_READ, nullptr);
  if (!elf) return false;
  std::size_t shstrndx = 0;
  bool legacy = false;
  if (elf_getshdrstrndx(elf, &shstrndx) == 0) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh)) continue;
      const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
      if (name && std::strcmp(name, "maps") == 0) legacy = true;
    }
  }
  elf_end(elf);
  return legacy;
}

Result<std::vector<ObjectProgram>> xdp_programs(const std::string& path) {
  if (has_legacy_maps(path)) return legacy_xdp_programs(path);
  std::string log;
  LibbpfLog hook(&log);
  ObjectPtr obj(bpf_object__open_file(path.c_str(), nullptr));
  if (!obj) return err(errno, "libbpf cannot open the object: " + native_reason(log));
  std::vector<ObjectProgram> out;
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, obj.get()) {
    if (is_xdp(p)) out.push_back({bpf_program__name(p), bpf_program__section_name(p)});
  }
  return out;
}

NativeResult load_native(const std::string& path, const std::string& program) {
  if (has_legacy_maps(path)) return legacy_load_native(path, program);
  NativeResult r;
  r.outcome.ran = true;
  std::string log;
  LibbpfLog hook(&log);
  ObjectPtr obj(bpf_object__open_file(path.c_str(), nullptr));
  if (!obj) {
    r.outcome.code = errno;
    r.outcome.stage = "libbpf";
    r.outcome.reason = "libbpf cannot open the object: " + native_reason(log);
    return r;
  }
  bpf_program* target = nullptr;
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, obj.get()) {
    bool me = program == bpf_program__name(p) && is_xdp(p);
    bpf_program__set_autoload(p, me);
    if (me) target = p;
  }
  if (!target) {
    r.outcome.code = ENOENT;
    r.outcome.stage = "libbpf";
    r.outcome.reason = "no program '" + program + "' in the object";
    return r;
  }
  if (untyped_xdp(target)) {
    bpf_program__set_type(target, BPF_PROG_TYPE_XDP);
    r.notes.push_back(std::string("native: section '") + bpf_program__section_name(target) +
                      "' is not one libbpf knows; loaded as XDP, as iproute2 would");
  }
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, obj.get()) {
    if (!bpf_map__autocreate(m)) continue;
    // Not inner maps: libbpf 1.1 crashes setting an inner map's size.
    size_unsized(m, r);
  }
  int e = bpf_object__load(obj.get());
  if (e != 0) {
    r.outcome.code = -e;
    r.outcome.stage = log.find("-- BEGIN PROG LOAD LOG --") != std::string::npos ? "kernel" : "libbpf";
    r.outcome.reason = native_reason(log);
    return r;
  }
  r.outcome.ok = true;
  const bpf_insn* insns = bpf_program__insns(target);
  const std::size_t count = bpf_program__insn_cnt(target);
  r.guest_side = guest_side_uses(insns, count, bpf_program__expected_attach_type(target));
  for (int fd : referenced_map_fds(insns, count))
    bpf_object__for_each_map(m, obj.get())
      if (bpf_map__fd(m) == fd) r.used_maps.push_back(bpf_map__name(m));
  return r;
}

}  // namespace xo::corpus
