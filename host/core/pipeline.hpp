// The one load pipeline. Every door (xoffloadd's sessions, the CLI, the
// benchmarks, the tests) runs a guest program through these two calls and
// nothing else:
//
//   prepare()       preverify -> translate            (no kernel; offline tools)
//   load_program()  prepare -> encode (guest handles -> host fds, the one
//                   place) -> kernel load -> verifier log mapped back to the
//                   guest's insn and source line
//
// Map references stay symbolic (guest handles) until encode. Errors are typed:
// Error::stage says which step refused, Error::code the errno a protocol
// status comes from (EPERM policy, EBADF handle, EINVAL malformed code, the
// kernel's own errno for a kernel refusal), Error::pc the guest insn.
#pragma once

#include <array>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "core/policy.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "host/core/kernel_prog.hpp"
#include "translator/passes/passes.hpp"
#include "translator/passes/tier.hpp"
#include "verifier-front/preverify.hpp"

namespace xo::host {

// What the pipeline needs besides the program: the policy it enforces and
// where the program will run.
struct PipelineOptions {
  Flavor flavor = Flavor::Tc;
  std::uint32_t tap_ifindex = 0;    // redirect target (TX in tc, PASS in chain)
  bool stats = false;               // count actions in the host stats map
  std::uint32_t stats_cpus = 0;     // its rows (StatsMap::cpus, stats_map.hpp); >= 1 with stats
  std::size_t max_insns = 1'000'000;  // guest slots, checked before decoding
  // chain: what XDP_TX may send out of the uplink (passes.hpp ChainTx).
  translator::ChainTx chain_tx = translator::ChainTx::Any;
  std::array<std::uint8_t, 6> guest_mac{};
  // Protocol version 2: the deferred helpers may be used, with this cookie
  // in the descriptors (passes.hpp TranslateOptions::defer / cookie).
  bool defer = false;
  std::uint64_t cookie = 0;
  // Host kfunc ids by name; load_program() fills an empty one with the host's
  // vmlinux BTF (kfunc_ids.hpp). Empty in prepare(): kfunc calls refused.
  translator::KfuncIdOf kfunc_id;
  // Which translator tier (translator/passes/tier.hpp). The IR tier is
  // injected by the door that links it (translator/ir: ir::reemitter());
  // without one, Ir fails and Auto notes it and keeps the direct tier.
  translator::Tier tier = translator::Tier::Direct;
  translator::Reemit reemit;
  // The largest direct program the IR tier takes. LLVM's -O2 time grows
  // faster than linear in a branchy program (measured: 2000 slots 0.7 s,
  // 4000 2.7 s, 10000 17 s), and a guest must not hold a load worker for
  // minutes; the largest program in the corpus has 458 slots.
  std::size_t max_ir_slots = 4096;
};

// A guest program checked and translated, not yet loaded.
struct Prepared {
  std::vector<std::string> notes;  // from every stage, in pipeline order
  // The program to load: the direct tier's, or the IR tier's when it was
  // asked for and (Auto) is smaller. Under Auto the direct program waits in
  // `fallback`, loaded when the kernel refuses the IR tier's.
  translator::Translated translated;
  translator::Tier tier = translator::Tier::Direct;  // Direct or Ir: whose `translated` is
  std::optional<translator::Translated> fallback;
  // The pre-verifier proved no kernel address can reach guest-visible
  // state: the kernel load may fall back to pointer-leak rights
  // (kernel_prog.hpp) when the unprivileged verifier refuses.
  bool pointer_safe = false;
  std::string pointer_note;  // why not
};

// preverify + translate. Map references may name only submission.maps.
Result<Prepared> prepare(const Submission& submission, const Policy& policy, const PipelineOptions& options);

// Where the kernel objects a load needs come from.
struct LoadTarget {
  std::string kernel_name;                   // names.hpp: kernel_object_name()
  int btf_fd = -1;                           // the guest's BTF, loaded; -1 = none
  translator::HostFdOfHandle host_fd_of;     // guest map handle (and kStatsMapHandle) -> fd
};

// What a load says besides yes/no. Filled on success and on failure.
struct PipelineReport {
  std::vector<std::string> notes;
  std::string verifier_log;  // the kernel's log, every line annotated with the guest insn
  unsigned kernel_verifications = 0;  // bpf(BPF_PROG_LOAD) calls: 1, 2 with the privileged fallback
  std::uint64_t prepare_ns = 0;  // preverify + translate (+ the IR tier)
  std::uint64_t kernel_ns = 0;   // encode + kernel verification(s), every tier tried
};

struct HostProgram {
  KernelProg prog;
  Prepared prepared;
};

Result<HostProgram> load_program(const Submission& submission, const Policy& policy,
                                 const PipelineOptions& options, const LoadTarget& target,
                                 PipelineReport* report = nullptr);

}  // namespace xo::host
