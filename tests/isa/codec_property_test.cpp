// Properties over generated sets:
//  * decode(encode(x)) == x for generated meaning-level programs;
//  * for random slots, decode either fails with a pc inside the input or
//    succeeds, and then encode gives back exactly the input (every field is
//    either used or checked, so decode is injective).
#include <gtest/gtest.h>

#include <random>

#include "tests/isa/opcode_forms.hpp"
#include "translator/isa/codec.hpp"

namespace xo::isa {
namespace {

using testdata::opcode_forms;

// A random well-formed variant of a table form: same shape, random operands.
Insn mutate(Insn insn, std::mt19937& rng) {
  auto reg = [&] { return static_cast<Reg>(rng() % 11); };
  auto i16 = [&] { return static_cast<std::int16_t>(rng()); };
  auto i32 = [&] { return static_cast<std::int32_t>(rng()); };
  auto value = [&](Value v) -> Value {
    if (std::holds_alternative<Reg>(v)) return Value{reg()};
    return Value{Imm{i32()}};
  };
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Bin>) {
          x.dst = reg();
          x.src = value(x.src);
        } else if constexpr (std::is_same_v<T, Un>) {
          x.dst = reg();
        } else if constexpr (std::is_same_v<T, Jmp>) {
          x.dst = reg();
          x.src = value(x.src);
          x.off = i16();
        } else if constexpr (std::is_same_v<T, Ja>) {
          x.off = x.wide ? i32() : i16();
        } else if constexpr (std::is_same_v<T, MayGoto>) {
          x.off = i16();
        } else if constexpr (std::is_same_v<T, Call>) {
          x.helper = i32();
        } else if constexpr (std::is_same_v<T, CallLocal>) {
          x.off = i32();
        } else if constexpr (std::is_same_v<T, CallKfunc>) {
          x.btf_id = i32();
          x.btf_fd_idx = i16();
        } else if constexpr (std::is_same_v<T, Load>) {
          x.dst = reg();
          x.base = reg();
          x.off = i16();
        } else if constexpr (std::is_same_v<T, Store>) {
          x.base = reg();
          x.off = i16();
          x.src = value(x.src);
        } else if constexpr (std::is_same_v<T, Atomic>) {
          x.base = reg();
          x.src = reg();
          x.off = i16();
        } else if constexpr (std::is_same_v<T, LegacyLoad>) {
          if (x.indirect) x.src = reg();
          x.imm = i32();
        } else if constexpr (std::is_same_v<T, LoadImm64>) {
          x.dst = reg();
          x.imm = (std::uint64_t{rng()} << 32) | rng();
        } else if constexpr (std::is_same_v<T, LoadMapFd>) {
          x.dst = reg();
          x.fd = i32();
        } else if constexpr (std::is_same_v<T, LoadMapValue>) {
          x.dst = reg();
          x.fd = i32();
          x.off = rng();
        } else if constexpr (std::is_same_v<T, LoadBtfId>) {
          x.dst = reg();
          x.btf_id = i32();
          x.btf_fd = i32();
        } else if constexpr (std::is_same_v<T, LoadFunc>) {
          x.dst = reg();
          x.off = i32();
        } else if constexpr (std::is_same_v<T, LoadMapIdx>) {
          x.dst = reg();
          x.idx = rng();
        } else if constexpr (std::is_same_v<T, LoadMapIdxValue>) {
          x.dst = reg();
          x.idx = rng();
          x.off = rng();
        }
      },
      insn);
  return insn;
}

TEST(CodecProperty, DecodeOfEncodeIsIdentityOnGeneratedPrograms) {
  std::mt19937 rng(20240611);
  const auto& forms = opcode_forms();
  for (int round = 0; round < 200; ++round) {
    std::vector<Insn> program;
    for (int k = 0; k < 64; ++k) program.push_back(mutate(forms[rng() % forms.size()].insn, rng));
    const std::vector<RawInsn> slots = encode(program);
    auto back = decode(slots);
    ASSERT_TRUE(back.ok()) << "round " << round << ": " << back.error().describe();
    ASSERT_TRUE(*back == program) << "round " << round;
  }
}

// Random slots, biased toward real opcodes and the special field values, so
// that both accepted and rejected encodings are common.
RawInsn random_slot(std::mt19937& rng) {
  const auto& forms = opcode_forms();
  static const std::int16_t kOffs[] = {0, 0, 0, 1, 8, 16, 32, -1};
  static const std::int32_t kImms[] = {0, 0, 16, 32, 64, 0x01, 0x41, 0xe1, 0xf1, 0xe0, -1};
  const std::uint8_t code =
      rng() % 4 ? forms[rng() % forms.size()].slots[0].code : static_cast<std::uint8_t>(rng());
  const std::uint8_t dst = rng() % 3 ? rng() % 3 : rng() % 16;
  const std::uint8_t src = rng() % 3 ? rng() % 3 : rng() % 16;
  const std::int16_t off =
      rng() % 2 ? kOffs[rng() % std::size(kOffs)] : static_cast<std::int16_t>(rng());
  const std::int32_t imm =
      rng() % 2 ? kImms[rng() % std::size(kImms)] : static_cast<std::int32_t>(rng());
  return RawInsn::make(code, dst, src, off, imm);
}

TEST(CodecProperty, AcceptedSlotsReEncodeExactly) {
  std::mt19937 rng(7);
  std::size_t accepted = 0, rejected = 0;
  for (int round = 0; round < 200000; ++round) {
    std::vector<RawInsn> slots;
    if (rng() % 2) {
      // A real form with one field (or the second slot) randomized.
      slots = opcode_forms()[rng() % opcode_forms().size()].slots;
      RawInsn& s = slots[rng() % slots.size()];
      switch (rng() % 4) {
        case 0:
          s.regs = static_cast<std::uint8_t>(rng());
          break;
        case 1:
          s.off = static_cast<std::int16_t>(rng() % 2 ? rng() : rng() % 40);
          break;
        case 2:
          s.imm = static_cast<std::int32_t>(rng() % 2 ? rng() : rng() % 300);
          break;
        default:
          s.code = static_cast<std::uint8_t>(rng());
          break;
      }
    } else {
      slots.push_back(random_slot(rng));
      if (rng() % 2) {
        slots.push_back(rng() % 2 ? RawInsn::make(0, 0, 0, 0, static_cast<std::int32_t>(rng()))
                                  : random_slot(rng));
      }
    }
    auto decoded = decode(slots);
    if (!decoded.ok()) {
      ++rejected;
      ASSERT_TRUE(decoded.error().pc.has_value());
      ASSERT_LT(*decoded.error().pc, slots.size());
      ASSERT_FALSE(decoded.error().message.empty());
      continue;
    }
    ++accepted;
    ASSERT_EQ(encode(*decoded), slots) << "round " << round;
  }
  // The generator must exercise both outcomes substantially.
  EXPECT_GT(accepted, 20000u);
  EXPECT_GT(rejected, 20000u);
}

}  // namespace
}  // namespace xo::isa
