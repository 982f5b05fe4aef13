// The BPF ISA version (CPU v1..v4) this host kernel's verifier takes, probed
// once by loading a two-insn socket filter per version (no CAP needed beyond
// what loading any program needs). The IR tier emits for it.
#pragma once

#include <string>

namespace xo::host {

// 4, 3, 2 or 1; cached after the first call.
unsigned host_isa_level();
// "v4" ... "v1", as LLVM's -mcpu spells it.
std::string host_bpf_cpu();

}  // namespace xo::host
