// xo_llvm on its own: assemble and disassemble against hand-checked bytes
// (taken from llvm-objdump-19 -d of clang-built objects).
#include <gtest/gtest.h>

#include <thread>

#include "translator/llvm/mc.hpp"

namespace xo::mc {
void PrintTo(const Line& l, std::ostream* os) {
  *os << "{" << l.slot << ", " << l.width << ", \"" << l.text << "\"}";
}
}  // namespace xo::mc

namespace {

using xo::isa::RawInsn;

TEST(McAssemble, SimpleProgram) {
  auto r = xo::mc::assemble("r0 = 0x1\nr2 = *(u32 *)(r1 + 0x4)\nexit\n");
  ASSERT_TRUE(r) << r.error().describe();
  std::vector<RawInsn> want = {RawInsn::make(0xb7, 0, 0, 0, 1), RawInsn::make(0x61, 2, 1, 4, 0),
                               RawInsn::make(0x95, 0, 0, 0, 0)};
  EXPECT_EQ(*r, want);
}

TEST(McAssemble, LabelsResolveToSlotOffsets) {
  auto r = xo::mc::assemble(
      "  if r1 == 0x0 goto out\n"
      "  r0 = 0x1122334455667788 ll\n"
      "out:\n"
      "  exit\n");
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0], RawInsn::make(0x15, 1, 0, 2, 0));  // skips both ld_imm64 slots
  EXPECT_EQ((*r)[1], RawInsn::make(0x18, 0, 0, 0, 0x55667788));
  EXPECT_EQ((*r)[2], RawInsn::make(0, 0, 0, 0, 0x11223344));
}

TEST(McAssemble, ErrorCarriesLineAndLlvmMessage) {
  auto r = xo::mc::assemble("r0 = 1\nexit\nr0 = frobnicate r1\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("line 3"), std::string::npos) << r.error().message;
}

TEST(McAssemble, EmptyTextIsEmptyProgram) {
  auto r = xo::mc::assemble("");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(r->empty());
}

TEST(McDisassemble, ObjdumpText) {
  std::vector<RawInsn> prog = {RawInsn::make(0x61, 2, 1, 4, 0), RawInsn::make(0x18, 1, 0, 0, 5),
                               RawInsn::make(0, 0, 0, 0, 0), RawInsn::make(0x2d, 3, 2, 16, 0),
                               RawInsn::make(0xdb, 0, 1, 0, 0), RawInsn::make(0x95, 0, 0, 0, 0)};
  auto r = xo::mc::disassemble(prog);
  ASSERT_TRUE(r) << r.error().describe();
  std::vector<xo::mc::Line> want = {{0, 1, "w2 = *(u32 *)(r1 + 0x4)"},
                                    {1, 2, "r1 = 0x5 ll"},
                                    {3, 1, "if r3 > r2 goto +0x10"},
                                    {4, 1, "lock *(u64 *)(r0 + 0x0) += r1"},
                                    {5, 1, "exit"}};
  EXPECT_EQ(*r, want);
}

// "generic" is plain llvm-objdump's CPU: no alu32, so r registers, and a
// 32-bit fetch-add loses its fetch (why v4 is the default).
TEST(McDisassemble, CpuSelectsDecoderTable) {
  std::vector<RawInsn> prog = {RawInsn::make(0x61, 2, 1, 4, 0),
                               RawInsn::make(0xc3, 1, 0, 0, 0x01)};
  auto v4 = xo::mc::disassemble(prog);
  auto generic = xo::mc::disassemble(prog, "generic");
  ASSERT_TRUE(v4) << v4.error().describe();
  ASSERT_TRUE(generic) << generic.error().describe();
  EXPECT_EQ((*v4)[0].text, "w2 = *(u32 *)(r1 + 0x4)");
  EXPECT_EQ((*generic)[0].text, "r2 = *(u32 *)(r1 + 0x4)");
  EXPECT_EQ((*v4)[1].text, "w0 = atomic_fetch_add((u32 *)(r1 + 0x0), w0)");
  EXPECT_EQ((*generic)[1].text, "lock *(u32 *)(r1 + 0x0) += r0");
  auto bad = xo::mc::disassemble(prog, "v9");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown BPF cpu 'v9'"), std::string::npos);
}

TEST(McDisassemble, BadOpcodeIsErrorWithPc) {
  std::vector<RawInsn> prog = {RawInsn::make(0x95, 0, 0, 0, 0), RawInsn::make(0xff, 0, 0, 0, 0)};
  auto r = xo::mc::disassemble(prog);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().pc, 1u);
  auto listing = xo::mc::disassemble_listing(prog);
  ASSERT_EQ(listing.size(), 2u);
  EXPECT_TRUE(listing[0].valid);
  EXPECT_FALSE(listing[1].valid);
}

TEST(McDisassemble, TruncatedLdImm64) {
  std::vector<RawInsn> prog = {RawInsn::make(0x18, 1, 0, 0, 5)};
  auto r = xo::mc::disassemble_one(prog, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
  EXPECT_FALSE(xo::mc::disassemble_one(prog, 1));  // past the end
}

TEST(Mc, ConcurrentUseAgrees) {
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&ok, i] {
      for (int k = 0; k < 50; ++k) {
        auto a = xo::mc::assemble("r" + std::to_string(i) + " += " + std::to_string(k) + "\n");
        if (!a || a->size() != 1) return;
        auto d = xo::mc::disassemble_one(*a, 0);
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%x", k);
        if (!d || *d != "r" + std::to_string(i) + " += " + hex) return;
      }
      ok[i] = 1;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, std::vector<int>(4, 1));
}

}  // namespace
