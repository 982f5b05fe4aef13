// Property test for "never stricter than the kernel": thousands of small
// random programs (fixed seed) over the instructions the pre-verifier reasons
// about — r10 arithmetic and stack accesses near the frame edges, divisions
// by constants, uninitialised registers, helper calls that clobber r1-r5,
// conditional jumps that make code dead — are loaded into the host kernel.
// Whenever the kernel accepts one, preverify must accept it too.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "tests/verifier/harness.hpp"
#include "tests/verifier/kernel_oracle.hpp"

namespace xo::test {
namespace {

using namespace ins;

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  Slots program() {
    const int body = pick(3, 14);
    std::vector<Slots> parts;
    // Mostly start with every register set, so that the kernel accepts a
    // useful share; sometimes leave some unset to exercise !read_ok.
    const bool init_all = pick(0, 3) != 0;
    for (int r = 0; r <= 9; ++r)
      if (r != 1 && (init_all ? true : pick(0, 2) == 0)) parts.push_back(MOV64_IMM(r, pick(0, 3)));
    for (int i = 0; i < body; ++i) parts.push_back(insn(body - i, i));
    parts.push_back(EXIT());
    Slots out;
    for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  T one_of(std::initializer_list<T> xs) {
    return *(xs.begin() + pick(0, static_cast<int>(xs.size()) - 1));
  }
  int reg() { return pick(0, 9); }
  int any_reg() { return pick(0, 10); }
  int stack_off() { return pick(0, 3) ? one_of({-512, -16, -8}) : one_of({-520, -508, -4, 0, 8}); }
  int base() { return pick(0, 4) ? 10 : reg(); }
  int size() { return one_of({BPF_B, BPF_H, BPF_W, BPF_DW}); }

  // `left`: instructions still to come before the final exit (forward jump
  // range); `done`: body instructions already emitted (backward range).
  Slots insn(int left, int done) {
    // Forward jumps only: random loops mostly run the kernel to its 1M-insn
    // limit (seconds each); loops are covered by the corpus instead.
    (void)done;
    switch (pick(0, 13)) {
      case 0: return MOV64_IMM(reg(), pick(-4, 4));
      case 1: return MOV64_REG(reg(), any_reg());
      case 2: return ALU64_IMM(one_of({BPF_ADD, BPF_SUB, BPF_AND, BPF_LSH}), reg(), one_of({0, 1, 8, -8, -16}));
      case 3: return ALU64_IMM(one_of({BPF_DIV, BPF_MOD}), reg(), one_of({0, 1, 3}));
      case 4: return ALU32_IMM(one_of({BPF_DIV, BPF_MOD}), reg(), one_of({0, 2}));
      case 5: return ALU64_REG(one_of({BPF_ADD, BPF_DIV, BPF_MOD}), reg(), any_reg());
      case 6: return ST_MEM(size(), base(), stack_off(), 1);
      case 7: return STX_MEM(size(), base(), any_reg(), stack_off());
      case 8: return LDX_MEM(size(), reg(), base(), stack_off());
      case 9:
        return JMP_IMM(one_of({BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JSET}), any_reg(), pick(0, 2),
                       pick(0, left));
      case 10: return JMP_REG(one_of({BPF_JEQ, BPF_JGT}), reg(), any_reg(), pick(0, left));
      case 11: return CALL(one_of({BPF_FUNC_ktime_get_ns, BPF_FUNC_get_prandom_u32}));
      case 12: return MOV64_REG(reg(), 10);
      default: return left > 1 && pick(0, 3) == 0 ? EXIT() : ALU64_IMM(BPF_ADD, reg(), -8);
    }
  }

  std::mt19937 rng_;
};

std::string dump(const Slots& insns) {
  std::ostringstream os;
  for (std::size_t i = 0; i < insns.size(); ++i)
    os << i << ": code 0x" << std::hex << int(insns[i].code) << std::dec << " dst r"
       << int(insns[i].dst()) << " src r" << int(insns[i].src()) << " off " << insns[i].off
       << " imm " << insns[i].imm << "\n";
  return os.str();
}

TEST(RandomPrograms, PreverifyAcceptsEverythingTheKernelAccepts) {
  constexpr int kPrograms = 4000;
  Generator gen(20261124);
  int kernel_accepted = 0, both_rejected = 0, only_we_reject = 0;
  for (int n = 0; n < kPrograms; ++n) {
    const Submission sub = make_sub(gen.program());
    const bool kernel = kernel_load_xdp(sub).accepted;
    auto ours = preverify_default(sub);
    kernel_accepted += kernel;
    both_rejected += !kernel && !ours.ok();
    if (kernel && !ours.ok()) {
      ++only_we_reject;
      ADD_FAILURE() << "kernel accepts, preverify rejects: " << ours.error().message << "\n"
                    << dump(sub.insns);
    }
  }
  // The sample must exercise both sides, or the property says nothing.
  EXPECT_GT(kernel_accepted, kPrograms / 20) << "too few valid programs generated";
  EXPECT_GT(both_rejected, kPrograms / 20) << "preverify caught too few invalid programs";
  EXPECT_EQ(only_we_reject, 0);
  std::printf("random programs: %d, kernel accepted %d, both rejected %d\n", kPrograms,
              kernel_accepted, both_rejected);
}

}  // namespace
}  // namespace xo::test
