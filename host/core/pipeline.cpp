// load_program(): prepare (prepare.cpp), encode, kernel load, log mapping.
#include "host/core/pipeline.hpp"

#include <cerrno>
#include <utility>

#include "core/diagnostics.hpp"
#include "host/core/kernel_log.hpp"
#include "host/core/verifier_log.hpp"

namespace xo::host {

Result<HostProgram> load_program(const Submission& s, const Policy& policy, const PipelineOptions& o,
                                 const LoadTarget& target, PipelineReport* report) {
  auto prepared = prepare(s, policy, o);
  if (!prepared) return prepared.error();
  if (report) report->notes = prepared->notes;
  const translator::Translated& tr = prepared->translated;

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
  auto loaded = load_kernel_prog(spec);
  if (auto* refusal = std::get_if<KernelRefusal>(&loaded)) {
    GuestLocator where(&tr.index_map, s);
    MappedLog mapped = map_verifier_log(refusal->log, where);
    if (report) report->verifier_log = mapped.log;
    const int code = refusal->error > 0 ? refusal->error : EINVAL;
    return Error{Diagnoser(s).label() + ": host kernel verifier refused it (" + errno_name(refusal->error) +
                     "): " + mapped.summary,
                 mapped.guest_pc, code, Stage::KernelVerify};
  }
  return HostProgram{std::move(std::get<KernelProg>(loaded)), std::move(*prepared)};
}

}  // namespace xo::host
