// libFuzzer target for the ISA decoder, the first parser guest bytes reach.
//
// Properties (a violation traps, which libFuzzer reports as a crash):
//  * decode() never crashes, never reads out of bounds, and an error carries
//    a pc inside the input and a message;
//  * when decode() accepts, encode() gives back exactly the input bytes (the
//    decoder uses or checks every field), and decoding that again gives the
//    same instructions;
//  * analyze() and an identity Rewriter never crash on decoded programs, the
//    graph's edges stay inside the program (jumps inside their subprogram),
//    and the rewriter's index maps are consistent.
#include <cstddef>
#include <cstdint>
#include <span>

#include "translator/isa/codec.hpp"
#include "translator/isa/program.hpp"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void check_structure(const std::vector<xo::isa::Insn>& insns) {
  using namespace xo::isa;
  auto structure = analyze(insns);
  if (!structure.ok()) {
    require(!structure.error().message.empty());
    return;
  }
  const std::size_t n = insns.size();
  require(structure->block_of.size() == n && structure->succ.size() == n &&
          structure->callee.size() == n && structure->reachable.size() == n &&
          structure->subprogram_of.size() == n);
  require(structure->reachable[0]);
  for (std::size_t i = 0; i < n; ++i) {
    require(structure->subprogram_of[i] < structure->subprograms.size());
    const Subprogram& sp = structure->subprogram_at(i);
    require(sp.first <= i && i < sp.end);
    for (std::size_t v : structure->succ[i]) {
      if (v == kNoInsn) continue;
      require(v < n);
      if (is_jump(insns[i]) && v != i + 1) require(sp.first <= v && v < sp.end);
    }
    require(structure->callee[i] == kNoInsn || structure->callee[i] < n);
  }
  for (const Edge& e : structure->back_edges)
    require(e.from < n && e.to < n && structure->reachable[e.from]);
  for (const BasicBlock& b : structure->blocks) {
    require(b.first <= b.last && b.last < insns.size());
    for (std::size_t s : b.successors) require(s < structure->blocks.size());
  }
  // Inserting one instruction at the entry shifts every slot by one and
  // keeps the program decodable.
  Rewriter rw(insns);
  rw.insert_before(0, {Emit{Bin{AluOp::Mov, true, 0, Imm{0}}}});
  auto out = rw.finish();
  if (!out.ok()) return;  // e.g. a 16-bit offset that no longer fits
  const std::size_t old_slots = structure->layout.back();
  require(out->map.old_to_new.size() == old_slots + 1);
  require(out->map.new_to_old.size() == old_slots + 1);
  for (std::size_t s = 1; s <= old_slots; ++s) require(out->map.old_to_new[s] == s + 1);
  auto again = decode(encode(out->insns));
  require(again.ok() && *again == out->insns);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xo::isa;
  if (size > 64 * 1024) return 0;  // long inputs only slow the search down
  const std::vector<RawInsn> slots = raw_from_bytes(std::span<const std::uint8_t>(data, size));
  auto decoded = decode(slots);
  if (!decoded.ok()) {
    require(decoded.error().pc.has_value() && *decoded.error().pc < slots.size());
    require(!decoded.error().message.empty());
    return 0;
  }
  const std::vector<RawInsn> encoded = encode(*decoded);
  require(encoded == slots);
  auto again = decode(encoded);
  require(again.ok() && *again == *decoded);
  if (!decoded->empty()) check_structure(*decoded);
  return 0;
}
