// The kernel verifier speaks host instruction numbers; the guest wrote
// guest instructions and source lines. This file translates one into the
// other through the translator's index map and the guest's line_info:
//
//   kernel: 17: (71) r3 = *(u8 *)(r2 +14)
//   mapped: 17: (71) r3 = *(u8 *)(r2 +14)   // guest insn 12 (xdp1_kern.c:42)
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/source_map.hpp"
#include "translator/isa/program.hpp"
#include "core/submission.hpp"

namespace xo::host {

// Host slot -> guest slot -> "file:line" (core/source_map: the guest's
// line_info against its BTF strings). `map` may be null (an untranslated
// program); a submission without line_info or BTF makes the locator say
// less, never something wrong.
class GuestLocator {
 public:
  GuestLocator(const isa::IndexMap* map, const Submission& guest)
      : map_(map), guest_(guest), strings_(guest.btf) {}

  // nullopt for host-only code (epilogues) or numbers outside the program.
  std::optional<std::size_t> guest_slot(std::size_t host_slot) const;
  // "xdp1_kern.c:42" for the line_info entry covering guest_slot.
  std::optional<std::string> source_of(std::size_t guest_slot) const;
  // "guest insn 12 (xdp1_kern.c:42)" or "host-inserted code (no guest insn)".
  std::string describe(std::size_t host_slot) const;

 private:
  const isa::IndexMap* map_;
  const Submission& guest_;
  BtfStrings strings_;
};

// How describe() marks code the host inserted (epilogues, redirects): the
// session's scrubber hides such lines from the guest, since they hold host
// values (the tap's ifindex).
inline constexpr std::string_view kHostInsertedNote = "host-inserted code";

struct MappedLog {
  std::string summary;                  // one line: "guest insn 12 (xdp1_kern.c:42): <kernel reason>"
  std::optional<std::size_t> guest_pc;  // the failing guest insn when known
  std::string log;                      // the kernel log, every "N: ..." line annotated
};

MappedLog map_verifier_log(std::string_view kernel_log, const GuestLocator& where);

}  // namespace xo::host
