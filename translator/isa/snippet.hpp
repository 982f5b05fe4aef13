// Snippet: hand-written instruction sequences with named forward labels.
//
// The host's lowerings (translator/passes: epilogues, deferred actions) and
// the guest's trampoline generator (guest/client/trampoline_code.cpp) write
// short programs by hand; a Snippet lets them jump to a label instead of
// counting slots, and build() resolves every jump to its slot offset.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "translator/isa/insn.hpp"
#include "translator/isa/program.hpp"

namespace xo::isa {

// A straight-line sequence with forward jumps to named labels, resolved to
// slot-relative offsets by build(). Keeps hand-written snippets readable.
class Snippet {
 public:
  Snippet& emit(Insn insn);
  // insn must be a Jmp or Ja; its offset is set to reach `label`.
  Snippet& jump(Insn insn, const std::string& label);
  Snippet& label(const std::string& name);
  Snippet& append(const Snippet& other);
  // A copy whose labels (and the jumps to them) are prefixed, so that one
  // snippet can be appended twice, or next to another that uses its names.
  Snippet scoped(const std::string& prefix) const;
  std::vector<Emit> build() const;

 private:
  struct Item {
    Insn insn;
    std::string target;  // empty: no label
  };
  std::vector<Item> items_;
  std::vector<std::pair<std::string, std::size_t>> labels_;  // name -> item index
};

}  // namespace xo::isa
