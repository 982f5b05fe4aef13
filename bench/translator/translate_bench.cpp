// What a guest's program costs the host before the kernel sees it, side by
// side with what the kernel itself spends loading it:
//   BM_TranslateAndPreverify  preverify() + translate() for the tc flavor, the
//                             way the host loader does it: translate() takes
//                             preverify's decoded program (decode + analyze once)
//   BM_TranslateAndPreverifyTwice  the same through the raw-bytes translate()
//                             (decodes and analyzes again), for comparison
//   BM_KernelLoad             bpf_prog_load() of that translated program,
//                             with BTF, func_info and line_info, as the host loader does
// for the xdp1 and xdp2 example objects (through the guest builder).
// Run as root:  bench_translator --benchmark_min_time=2s
// Target: the first is at most 10% of the second.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "guest/builder/elf_builder.hpp"
#include "host/core/pipeline.hpp"
#include "translator/passes/passes.hpp"
#include "core/policy.hpp"
#include "verifier-front/preverify.hpp"

namespace {

using namespace xo;

// Everything both benchmarks share: the submission, its host maps, its BTF.
struct Fixture {
  Submission sub;
  std::vector<int> map_fds;  // index = handle - 1 (the builder numbers handles 1..N)
  int btf_fd = -1;
  DefaultPolicy policy;
  translator::TranslateOptions opts{Flavor::Tc, 1, false, 1};
  std::string error;

  explicit Fixture(const std::string& object) {
    auto s = guest::build_submission_from_file(object);
    if (!s) {
      error = s.error().message;
      return;
    }
    sub = std::move(*s);
    sub.guest_ifindex = 1;
    for (const auto& m : sub.maps) {
      int fd = bpf_map_create(static_cast<bpf_map_type>(m.type), nullptr, m.key_size,
                              m.value_size, m.max_entries, nullptr);
      if (fd < 0) {
        error = "bpf_map_create failed (run as root)";
        return;
      }
      map_fds.push_back(fd);
    }
    if (!sub.btf.empty()) btf_fd = bpf_btf_load(sub.btf.data(), sub.btf.size(), nullptr);
  }
  ~Fixture() {
    for (int fd : map_fds) close(fd);
    if (btf_fd >= 0) close(btf_fd);
  }
  std::optional<int> fd_of(std::uint32_t handle) const {
    if (handle == 0 || handle > map_fds.size()) return std::nullopt;
    return map_fds[handle - 1];
  }
  // What every door runs before the kernel: the pipeline's prepare() and
  // the encoding of host fds.
  struct Encoded {
    translator::Translated tr;
    std::vector<isa::RawInsn> insns;
    const isa::RawInsn* data() const { return insns.data(); }
  };
  Result<Encoded> translate() const {
    host::PipelineOptions o;
    o.flavor = opts.flavor;
    o.tap_ifindex = opts.tap_ifindex;
    auto p = host::prepare(sub, policy, o);
    if (!p) return p.error();
    auto bytes = p->translated.encode(sub, [this](std::uint32_t h) { return fd_of(h); });
    if (!bytes) return bytes.error();
    return Encoded{std::move(p->translated), std::move(*bytes)};
  }
  Result<std::vector<isa::RawInsn>> translate_decoding_twice() const {
    auto pre = preverify(sub, policy, SubmissionMaps(sub), opts.flavor);
    if (!pre) return pre.error();
    auto t = translator::translate(sub, policy, opts);
    if (!t) return t.error();
    return t->encode(sub, [this](std::uint32_t h) { return fd_of(h); });
  }
};

Fixture& fixture(const char* object) {
  static std::map<std::string, std::unique_ptr<Fixture>> fixtures;
  auto& f = fixtures[object];
  if (!f) f = std::make_unique<Fixture>(object);
  return *f;
}

void BM_TranslateAndPreverify(benchmark::State& state, const char* object) {
  Fixture& f = fixture(object);
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  for (auto _ : state) {
    auto t = f.translate();
    if (!t) return state.SkipWithError(t.error().message.c_str());
    benchmark::DoNotOptimize(t->data());
  }
  state.counters["guest_insns"] = static_cast<double>(f.sub.insns.size());
}
BENCHMARK_CAPTURE(BM_TranslateAndPreverify, xdp1, XO_XDP1_OBJ)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TranslateAndPreverify, xdp2, XO_XDP2_OBJ)->Unit(benchmark::kMicrosecond);

void BM_TranslateAndPreverifyTwice(benchmark::State& state, const char* object) {
  Fixture& f = fixture(object);
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  for (auto _ : state) {
    auto t = f.translate_decoding_twice();
    if (!t) return state.SkipWithError(t.error().message.c_str());
    benchmark::DoNotOptimize(t->data());
  }
}
BENCHMARK_CAPTURE(BM_TranslateAndPreverifyTwice, xdp1, XO_XDP1_OBJ)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TranslateAndPreverifyTwice, xdp2, XO_XDP2_OBJ)->Unit(benchmark::kMicrosecond);

// The two halves, to see where the time goes.
void BM_PreverifyOnly(benchmark::State& state, const char* object) {
  Fixture& f = fixture(object);
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  for (auto _ : state) {
    auto pre = preverify(f.sub, f.policy, SubmissionMaps(f.sub), f.opts.flavor);
    if (!pre) return state.SkipWithError(pre.error().message.c_str());
    benchmark::DoNotOptimize(pre->notes.data());
  }
}
BENCHMARK_CAPTURE(BM_PreverifyOnly, xdp1, XO_XDP1_OBJ)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PreverifyOnly, xdp2, XO_XDP2_OBJ)->Unit(benchmark::kMicrosecond);

void BM_TranslateOnly(benchmark::State& state, const char* object) {
  Fixture& f = fixture(object);
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  for (auto _ : state) {
    auto t = translator::translate(f.sub, f.policy, f.opts);
    if (!t) return state.SkipWithError(t.error().message.c_str());
    auto bytes = t->encode(f.sub, [&f](std::uint32_t h) { return f.fd_of(h); });
    if (!bytes) return state.SkipWithError(bytes.error().message.c_str());
    benchmark::DoNotOptimize(bytes->data());
  }
}
BENCHMARK_CAPTURE(BM_TranslateOnly, xdp1, XO_XDP1_OBJ)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TranslateOnly, xdp2, XO_XDP2_OBJ)->Unit(benchmark::kMicrosecond);

void BM_KernelLoad(benchmark::State& state, const char* object) {
  Fixture& f = fixture(object);
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  auto t = f.translate();
  if (!t) return state.SkipWithError(t.error().message.c_str());
  for (auto _ : state) {
    LIBBPF_OPTS(bpf_prog_load_opts, o);
    if (f.btf_fd >= 0) {
      o.prog_btf_fd = f.btf_fd;
      o.func_info = t->tr.func_info.data();
      o.func_info_cnt = t->tr.func_info.size();
      o.func_info_rec_size = sizeof(FuncInfo);
      o.line_info = t->tr.line_info.data();
      o.line_info_cnt = t->tr.line_info.size();
      o.line_info_rec_size = sizeof(LineInfo);
    }
    int fd = bpf_prog_load(static_cast<bpf_prog_type>(t->tr.prog_type), "xo_bench", "GPL",
                           reinterpret_cast<const bpf_insn*>(t->insns.data()), t->insns.size(), &o);
    if (fd < 0) return state.SkipWithError("bpf_prog_load failed");
    close(fd);
  }
  state.counters["host_insns"] = static_cast<double>(t->insns.size());
}
BENCHMARK_CAPTURE(BM_KernelLoad, xdp1, XO_XDP1_OBJ)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_KernelLoad, xdp2, XO_XDP2_OBJ)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
