#include "tools/listing.hpp"

#include "translator/isa/codec.hpp"
#include "translator/passes/passes.hpp"

#include "tools/cli.hpp"
#include "tools/input.hpp"
#include "translator/llvm/mc.hpp"

namespace xo::cli {

namespace {

// LLVM prints a map reference as a bare number (the guest handle); say
// which map it is.
std::string map_comment(std::span<const isa::RawInsn> slots, std::size_t slot, const Submission& sub,
                        bool host) {
  auto insn = isa::decode_one(slots, slot);
  const std::int32_t* map = insn ? isa::map_of(*insn) : nullptr;
  if (!map) return "";
  const auto v = static_cast<std::uint32_t>(*map);
  if (host && v == translator::kStatsMapHandle) return "host stats map (handle 0)";
  const bool value = std::holds_alternative<isa::LoadMapValue>(*insn);
  for (const MapDef& m : sub.maps)
    if (m.handle == v)
      return std::string(value ? "value of map" : "map") + " '" + m.name + "' (handle " +
             std::to_string(v) + ")";
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
    li.comment = map_comment(slots, li.slot, sub, host);
    out.push_back(std::move(li));
  }
  return out;
}

}  // namespace xo::cli
