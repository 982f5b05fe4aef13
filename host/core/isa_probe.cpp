// host_isa_level(): the newest ISA version whose marker instruction the
// kernel verifier accepts:
//   v4: r0 = (s8) r0     (movsx, Linux 6.6)
//   v3: if w0 > 1 goto +0 (jmp32, Linux 5.1)
//   v2: if r0 < 1 goto +0 (jlt,   Linux 4.14)
#include "host/core/isa_probe.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <mutex>

#include "core/unique_fd.hpp"
#include "translator/isa/codec.hpp"
#include "translator/isa/insn.hpp"

namespace xo::host {
namespace {

bool loads(const isa::Insn& marker) {
  const isa::Insn prog[] = {isa::Bin{isa::AluOp::Mov, true, 0, isa::Imm{0}}, marker, isa::Exit{}};
  const auto raw = isa::encode(prog);
  UniqueFd fd(bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "xo_isa_probe", "GPL",
                            reinterpret_cast<const bpf_insn*>(raw.data()), raw.size(), nullptr));
  return fd.valid();
}

unsigned probe() {
  if (loads(isa::Bin{isa::AluOp::MovSx8, true, 0, isa::Reg{0}})) return 4;
  if (loads(isa::Jmp{isa::Cond::Gt, true, 0, isa::Imm{1}, 0})) return 3;
  if (loads(isa::Jmp{isa::Cond::Lt, false, 0, isa::Imm{1}, 0})) return 2;
  return 1;
}

}  // namespace

unsigned host_isa_level() {
  static std::once_flag once;
  static unsigned level = 1;
  std::call_once(once, [] { level = probe(); });
  return level;
}

std::string host_bpf_cpu() { return "v" + std::to_string(host_isa_level()); }

}  // namespace xo::host
