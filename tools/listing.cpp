#include "tools/listing.hpp"

#include "tools/cli.hpp"
#include "tools/input.hpp"
#include "translator/llvm/mc.hpp"

namespace xo::cli {

namespace {

constexpr std::uint8_t kLdImm64 = 0x18;  // BPF_LD | BPF_IMM | BPF_DW
constexpr std::uint8_t kPseudoMapFd = 1;
constexpr std::uint8_t kPseudoMapValue = 2;

// LLVM prints a map reference as a bare number; say which map it is.
std::string map_comment(const isa::RawInsn& insn, const Submission& sub,
                        std::uint32_t placeholder_base) {
  if (insn.code != kLdImm64 || (insn.src() != kPseudoMapFd && insn.src() != kPseudoMapValue))
    return "";
  std::uint32_t v = static_cast<std::uint32_t>(insn.imm);
  if (placeholder_base != 0) {
    if (v == kPlaceholderStatsFd) return "host stats map (placeholder fd)";
    if (v < placeholder_base) return "";
    v -= placeholder_base;
  }
  for (const MapDef& m : sub.maps)
    if (m.handle == v)
      return std::string(insn.src() == kPseudoMapFd ? "map" : "value of map") + " '" + m.name +
             "' (handle " + std::to_string(v) + (placeholder_base ? ", placeholder fd)" : ")");
  return "";
}

}  // namespace

std::vector<ListedInsn> list_insns(std::span<const isa::RawInsn> slots, const Submission& sub,
                                   std::uint32_t placeholder_base) {
  std::vector<ListedInsn> out;
  for (mc::ListingLine& l : mc::disassemble_listing(slots)) {
    ListedInsn li;
    li.slot = l.line.slot;
    li.width = l.line.width;
    li.text = std::move(l.line.text);
    li.raw_hex = hex(isa::bytes_from_raw(slots.subspan(li.slot, li.width)));
    li.comment = map_comment(slots[li.slot], sub, placeholder_base);
    out.push_back(std::move(li));
  }
  return out;
}

}  // namespace xo::cli
