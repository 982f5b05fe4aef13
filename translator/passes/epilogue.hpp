// Shared by the flavor lowerings: the one return epilogue of the main program.
//
// Every `exit` of the main program (subprogram exits are returns and stay)
// becomes `goto epilogue`. The epilogue takes the place of the last exit of
// the main program, so it lies inside the main function for the kernel's
// subprogram bounds and for func_info, and jumps never leave their function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/uapi.hpp"
#include "translator/isa/program.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {

// A straight-line sequence with forward jumps to named labels, resolved to
// slot-relative offsets by build(). Keeps hand-written snippets readable.
class Snippet {
 public:
  Snippet& emit(isa::Insn insn);
  // insn must be a Jmp or Ja; its offset is set to reach `label`.
  Snippet& jump(isa::Insn insn, const std::string& label);
  Snippet& label(const std::string& name);
  Snippet& append(const Snippet& other);
  // A copy whose labels (and the jumps to them) are prefixed, so that one
  // snippet can be appended twice, or next to another that uses its names.
  Snippet scoped(const std::string& prefix) const;
  std::vector<isa::Emit> build() const;

 private:
  struct Item {
    isa::Insn insn;
    std::string target;  // empty: no label
  };
  std::vector<Item> items_;
  std::vector<std::pair<std::string, std::size_t>> labels_;  // name -> item index
};

// r0 holds the XDP action. Counts it in this CPU's row of the stats map
// (passes.hpp): row[min(action, 5)] += 1, a plain (non-atomic) add
// (epilogue.cpp says why that is exact). Uses r0-r6 (all dead at
// the main program's exit) and no stack; leaves the action in w0.
Snippet count_action(std::uint32_t cpus);  // map kStatsMapHandle, bound at encoding

// return bpf_redirect(ifindex, flags): the one way both flavors hand a frame
// to the tap (tc TX with BPF_F_INGRESS, chain PASS with 0). Uses r1-r2.
Snippet redirect_and_exit(std::uint32_t ifindex, std::int32_t flags);

// Replaces every exit of the main program by a jump to `epilogue`, which
// replaces the last exit of the main program. Call once per Rewriter.
Status route_main_exits(isa::Rewriter& rw, const std::vector<isa::Insn>& insns,
                        const isa::Structure& structure, const Snippet& epilogue,
                        PassContext& ctx);

}  // namespace xo::translator
