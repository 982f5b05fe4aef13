// clang -mcpu=v4 output (tests/isa/clang_v4.bpf.c) decodes, and re-encodes
// to the same bytes; the v4 forms it is written to produce are all there.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "translator/isa/codec.hpp"

namespace xo::isa {
namespace {

std::vector<RawInsn> read_section(const char* name) {
  std::ifstream in(std::string(XO_CLANG_V4_DIR) + "/clang_v4." + name + ".bin", std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.size() % sizeof(RawInsn), 0u);
  return raw_from_bytes(bytes);
}

std::vector<Insn> decode_section(const char* name) {
  const std::vector<RawInsn> slots = read_section(name);
  EXPECT_GT(slots.size(), 5u) << name;
  auto decoded = decode(slots);
  EXPECT_TRUE(decoded.ok()) << name << ": " << decoded.error().describe();
  if (!decoded.ok()) return {};
  EXPECT_EQ(encode(*decoded), slots) << name;
  return *decoded;
}

template <typename Pred>
bool any(const std::vector<Insn>& insns, Pred pred) {
  for (const Insn& i : insns) {
    if (pred(i)) return true;
  }
  return false;
}

bool is_bin(const Insn& i, AluOp op, bool is64) {
  const auto* b = std::get_if<Bin>(&i);
  return b && b->op == op && b->is64 == is64;
}
bool is_atomic(const Insn& i, AtomicOp op, bool fetch, Size size) {
  const auto* a = std::get_if<Atomic>(&i);
  return a && a->op == op && a->fetch == fetch && a->size == size;
}

TEST(ClangV4, EveryInstructionDecodesAndReEncodes) {
  std::vector<Insn> all = decode_section("xdp");
  const std::vector<Insn> text = decode_section("text");
  all.insert(all.end(), text.begin(), text.end());

  EXPECT_TRUE(any(all, [](const Insn& i) { return is_bin(i, AluOp::SDiv, true); }));
  EXPECT_TRUE(any(all, [](const Insn& i) { return is_bin(i, AluOp::SDiv, false); }));
  EXPECT_TRUE(any(all, [](const Insn& i) { return is_bin(i, AluOp::SMod, false); }));
  EXPECT_TRUE(any(all, [](const Insn& i) { return is_bin(i, AluOp::MovSx32, true); }));
  for (UnOp op : {UnOp::Swap16, UnOp::Swap32, UnOp::Swap64}) {
    EXPECT_TRUE(any(all, [op](const Insn& i) {
      const auto* u = std::get_if<Un>(&i);
      return u && u->op == op && u->is64;
    }));
  }
  for (Size size : {Size::B, Size::H, Size::W}) {
    EXPECT_TRUE(any(all, [size](const Insn& i) {
      const auto* l = std::get_if<Load>(&i);
      return l && l->sign_extend && l->size == size;
    }));
  }
  for (AtomicOp op : {AtomicOp::Add, AtomicOp::Or, AtomicOp::And, AtomicOp::Xor}) {
    EXPECT_TRUE(any(all, [op](const Insn& i) { return is_atomic(i, op, true, Size::DW); }));
  }
  EXPECT_TRUE(any(all, [](const Insn& i) { return is_atomic(i, AtomicOp::Add, false, Size::W); }));
  EXPECT_TRUE(any(all, [](const Insn& i) { return is_atomic(i, AtomicOp::Xor, false, Size::W); }));
  EXPECT_TRUE(any(all, [](const Insn& i) { return is_atomic(i, AtomicOp::Add, false, Size::DW); }));
  EXPECT_TRUE(any(all, [](const Insn& i) { return is_atomic(i, AtomicOp::Xchg, true, Size::DW); }));
  EXPECT_TRUE(
      any(all, [](const Insn& i) { return is_atomic(i, AtomicOp::CmpXchg, true, Size::DW); }));
  EXPECT_TRUE(any(all, [](const Insn& i) { return std::holds_alternative<CallLocal>(i); }));
  EXPECT_TRUE(any(all, [](const Insn& i) { return std::holds_alternative<MayGoto>(i); }));
  EXPECT_TRUE(any(all, [](const Insn& i) { return std::holds_alternative<LoadImm64>(i); }));
}

}  // namespace
}  // namespace xo::isa
