#include "tools/listing.hpp"

#include <linux/bpf.h>

#include "translator/passes/passes.hpp"

#include "tools/cli.hpp"
#include "tools/input.hpp"
#include "translator/llvm/mc.hpp"

namespace xo::cli {

namespace {

// LLVM prints a map reference as a bare number (the guest handle); say
// which map it is.
std::string map_comment(const isa::RawInsn& insn, const Submission& sub, bool host) {
  if (insn.code != (BPF_LD | BPF_IMM | BPF_DW) ||
      (insn.src() != BPF_PSEUDO_MAP_FD && insn.src() != BPF_PSEUDO_MAP_VALUE))
    return "";
  const auto v = static_cast<std::uint32_t>(insn.imm);
  if (host && v == translator::kStatsMapHandle) return "host stats map (handle 0)";
  for (const MapDef& m : sub.maps)
    if (m.handle == v)
      return std::string(insn.src() == BPF_PSEUDO_MAP_FD ? "map" : "value of map") + " '" + m.name +
             "' (handle " + std::to_string(v) + ")";
  return "";
}

}  // namespace

std::vector<ListedInsn> list_insns(std::span<const isa::RawInsn> slots, const Submission& sub, bool host) {
  std::vector<ListedInsn> out;
  for (mc::ListingLine& l : mc::disassemble_listing(slots)) {
    ListedInsn li;
    li.slot = l.line.slot;
    li.width = l.line.width;
    li.text = std::move(l.line.text);
    li.raw_hex = hex(isa::bytes_from_raw(slots.subspan(li.slot, li.width)));
    li.comment = map_comment(slots[li.slot], sub, host);
    out.push_back(std::move(li));
  }
  return out;
}

}  // namespace xo::cli
