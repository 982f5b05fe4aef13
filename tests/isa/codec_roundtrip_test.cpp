// Round trip of every opcode form of RFC 9669: raw slots -> decode -> the
// expected Insn -> encode -> the same slots. The table (opcode_forms.hpp) is
// computed from the RFC's constants by gen_opcode_forms.py, not by our codec.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/isa/opcode_forms.hpp"
#include "translator/isa/codec.hpp"

namespace xo::isa {
namespace {

using testdata::opcode_forms;
using testdata::OpcodeForm;

class EveryForm : public ::testing::TestWithParam<OpcodeForm> {};

TEST_P(EveryForm, DecodesToItsMeaning) {
  const OpcodeForm& form = GetParam();
  auto decoded = decode(form.slots);
  ASSERT_TRUE(decoded.ok()) << form.name << ": " << decoded.error().describe();
  ASSERT_EQ(decoded->size(), 1u) << form.name;
  EXPECT_TRUE((*decoded)[0] == form.insn) << form.name;
}

TEST_P(EveryForm, EncodesToTheSameSlots) {
  const OpcodeForm& form = GetParam();
  EXPECT_EQ(encode(std::span<const Insn>(&form.insn, 1)), form.slots) << form.name;
  std::vector<RawInsn> out;
  encode_one(form.insn, out);
  EXPECT_EQ(out, form.slots) << form.name;
}

TEST_P(EveryForm, SlotWidthMatchesTheWire) {
  const OpcodeForm& form = GetParam();
  EXPECT_EQ(slot_width(form.insn), form.slots.size()) << form.name;
}

TEST_P(EveryForm, DecodeOneAtAnOffset) {
  const OpcodeForm& form = GetParam();
  std::vector<RawInsn> program{RawInsn::make(0xb7, 0, 0, 0, 0)};  // r0 = 0
  program.insert(program.end(), form.slots.begin(), form.slots.end());
  auto one = decode_one(program, 1);
  ASSERT_TRUE(one.ok()) << form.name << ": " << one.error().describe();
  EXPECT_TRUE(*one == form.insn) << form.name;
}

std::string form_test_name(const ::testing::TestParamInfo<OpcodeForm>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Rfc9669, EveryForm, ::testing::ValuesIn(opcode_forms()), form_test_name);

TEST(OpcodeForms, NamesAreUniqueAndEveryVariantIsCovered) {
  std::set<std::string> names;
  std::set<std::size_t> variants;
  for (const OpcodeForm& f : opcode_forms()) {
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate form " << f.name;
    variants.insert(f.insn.index());
  }
  EXPECT_EQ(variants.size(), std::variant_size_v<Insn>);
}

// Every opcode byte the decoder accepts in some encoding must have a row in
// the table: the table is the complete list of forms.
TEST(OpcodeForms, TableCoversEveryAcceptedOpcode) {
  std::set<std::uint8_t> in_table;
  for (const OpcodeForm& f : opcode_forms()) in_table.insert(f.slots[0].code);
  const std::int16_t offs[] = {0, 1, 8, 16, 32};
  const std::int32_t imms[] = {0, 1, 16, 32, 64, 0x40, 0x51, 0xe1, 0xf1};
  for (int code = 0; code < 256; ++code) {
    bool accepted = false;
    for (std::uint8_t dst : {0, 1}) {
      for (std::uint8_t src : {0, 1, 2}) {
        for (std::int16_t off : offs) {
          for (std::int32_t imm : imms) {
            const std::vector<RawInsn> slots{
                RawInsn::make(static_cast<std::uint8_t>(code), dst, src, off, imm),
                RawInsn::make(0, 0, 0, 0, 0)};
            accepted = accepted || decode_one(slots, 0).ok();
          }
        }
      }
    }
    EXPECT_EQ(accepted, in_table.count(static_cast<std::uint8_t>(code)) == 1)
        << "opcode 0x" << std::hex << code;
  }
}

TEST(OpcodeForms, LlvmTextIsPresentForTheFormsLlvmCanExpress) {
  // The forms LLVM 19 cannot write as text are a short, known list.
  const std::set<std::string> no_text{"gotol far",
                                      "call local",
                                      "call kfunc",
                                      "ld ind w imm",
                                      "ld_imm64 map_value off",
                                      "ld_imm64 btf_id fd",
                                      "ld_imm64 map_idx_value off"};
  for (const OpcodeForm& f : opcode_forms()) {
    EXPECT_EQ(std::string(f.llvm).empty(), no_text.count(f.name) == 1) << f.name;
  }
}

TEST(Codec, DecodesAProgramWithMixedWidths) {
  std::vector<RawInsn> slots;
  std::vector<Insn> expected;
  for (const OpcodeForm& f : opcode_forms()) {
    slots.insert(slots.end(), f.slots.begin(), f.slots.end());
    expected.push_back(f.insn);
  }
  auto decoded = decode(slots);
  ASSERT_TRUE(decoded.ok()) << decoded.error().describe();
  EXPECT_TRUE(*decoded == expected);
  EXPECT_EQ(encode(*decoded), slots);
}

TEST(Codec, EmptyProgramDecodesToNothing) {
  auto decoded = decode({});
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->empty());
}

}  // namespace
}  // namespace xo::isa
