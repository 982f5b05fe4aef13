// load_program(): prepare (prepare.cpp), encode, kernel load, log mapping;
// under --tier auto, the direct program again when the kernel refuses the IR
// tier's.
#include "host/core/pipeline.hpp"

#include <cerrno>
#include <chrono>
#include <utility>

#include "core/diagnostics.hpp"
#include "host/core/kernel_log.hpp"
#include "host/core/kfunc_ids.hpp"
#include "host/core/verifier_log.hpp"

namespace xo::host {
namespace {

// One program through encode and the kernel verifier; a refusal is mapped
// back to the guest through tr's index map.
Result<KernelProg> load_translated(const Submission& s, const Prepared& prepared, const translator::Translated& tr,
                                   const LoadTarget& target, PipelineReport* report) {
  auto insns = tr.encode(s, target.host_fd_of);
  if (!insns) return insns.error();

  KernelProgSpec spec;
  spec.kernel_name = target.kernel_name;
  spec.type = static_cast<bpf_prog_type>(tr.prog_type);
  // BPF_XDP for chain: the translator knows a tail-call target must match
  // the ingress program that calls it.
  spec.expected_attach_type = static_cast<bpf_attach_type>(tr.expected_attach_type);
  spec.insns = *insns;
  spec.license = s.license;
  if (target.btf_fd >= 0) {
    spec.btf_fd = target.btf_fd;
    spec.func_info = tr.func_info;
    spec.line_info = tr.line_info;
  }
  spec.privileged_fallback = prepared.pointer_safe;
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = load_kernel_prog(spec);
  if (report) {
    report->kernel_verifications += last_kernel_verifications();
    report->kernel_ns += std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - t0).count());
  }
  if (auto* refusal = std::get_if<KernelRefusal>(&loaded)) {
    GuestLocator where(&tr.index_map, s);
    MappedLog mapped = map_verifier_log(refusal->log, where);
    if (report) {
      report->verifier_log = mapped.log;
      // Why the host did not retry with pointer-leak rights: the guest can
      // change that (e.g. not spill a pointer next to a map key).
      if (!prepared.pointer_safe)
        report->verifier_log += "host: verified without pointer-leak rights only, because " +
                                prepared.pointer_note + "\n";
    }
    if (refusal->log_overflowed)
      // The kernel reports ENOSPC instead of its verdict; verifying again
      // without a log to learn it would double what the guest costs.
      return Error{Diagnoser(s).label() + ": too complex to verify on this host: the verifier's log outgrew its " +
                       std::to_string(spec.log_bytes >> 20) + " MiB bound (the log's tail follows): " +
                       mapped.summary,
                   mapped.guest_pc, E2BIG, Stage::KernelVerify};
    const int code = refusal->error > 0 ? refusal->error : EINVAL;
    // EACCES is what the pointer-leak rights would change: say why they
    // were not given, in the one line.
    const std::string not_retried = refusal->error == EACCES && !prepared.pointer_safe
                                        ? " (not retried with pointer-leak rights: " + prepared.pointer_note + ")"
                                        : "";
    return Error{Diagnoser(s).label() + ": host kernel verifier refused it (" + errno_name(refusal->error) +
                     "): " + mapped.summary + not_retried,
                 mapped.guest_pc, code, Stage::KernelVerify};
  }
  return std::move(std::get<KernelProg>(loaded));
}

}  // namespace

Result<HostProgram> load_program(const Submission& s, const Policy& policy, const PipelineOptions& options,
                                 const LoadTarget& target, PipelineReport* report) {
  PipelineOptions o = options;
  if (!o.kfunc_id) o.kfunc_id = vmlinux_kfunc_id;  // the kernel about to load it
  const auto t0 = std::chrono::steady_clock::now();
  auto prepared = prepare(s, policy, o);
  if (report)
    report->prepare_ns = std::uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  if (!prepared) return prepared.error();
  if (report) report->notes = prepared->notes;

  auto prog = load_translated(s, *prepared, prepared->translated, target, report);
  if (!prog && prepared->fallback) {
    // --tier auto: the IR tier never makes a program fail that the direct
    // tier loads.
    if (report)
      report->notes.push_back(Diagnoser(s).label() + ": kept the direct tier: the host kernel refused the IR tier's program: " +
                              prog.error().message);
    prepared->translated = std::move(*prepared->fallback);
    prepared->fallback.reset();
    prepared->tier = translator::Tier::Direct;
    if (report) report->verifier_log.clear();
    prog = load_translated(s, *prepared, prepared->translated, target, report);
  }
  prepared->fallback.reset();
  if (!prog) return prog.error();
  if (report) {
    if (prog->privileged)
      report->notes.push_back(Diagnoser(s).label() +
                              ": verified with the host's pointer-leak rights (no Spectre v1 sanitation): the "
                              "unprivileged verifier refused it, and no kernel address can reach what the guest sees");
    else if (!prepared->pointer_safe)
      report->notes.push_back(Diagnoser(s).label() + ": verified without pointer-leak rights only: " +
                              prepared->pointer_note);
  }
  return HostProgram{std::move(*prog), std::move(*prepared)};
}

}  // namespace xo::host
