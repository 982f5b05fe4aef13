// Differential test: our ISA codec (xo_isa) against LLVM 19's BPF MC layer.
//
//  1. The isa table (tests/isa/opcode_forms.hpp): for each form with LLVM
//     text, LLVM assemble(text) == our encode(insn) == the table's slots, our
//     decode(LLVM's bytes) == insn, and LLVM's own disassembly of our bytes
//     re-assembles to the same bytes.
//  2. Our own form list (own_forms.hpp), built from the model's enums: our
//     encoding is decoded by LLVM with the same width, and LLVM's text for it
//     re-assembles to our bytes.
//  3. A sweep of every opcode byte with representative fields: wherever LLVM
//     decodes, we decode and re-encode to the same bytes; wherever we decode,
//     LLVM decodes. Every disagreement is listed with its bytes, and the only
//     accepted ones are the rules in known_disagreement(), each with its reason.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "tests/isa/opcode_forms.hpp"
#include "tests/llvm/own_forms.hpp"
#include "translator/isa/codec.hpp"
#include "translator/isa/opcodes.hpp"
#include "translator/llvm/mc.hpp"

namespace {

using xo::isa::Insn;
using xo::isa::RawInsn;

std::string describe(std::span<const RawInsn> slots) {
  std::string s;
  for (const RawInsn& r : slots) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s{code=0x%02x dst=%u src=%u off=%d imm=%d}",
                  s.empty() ? "" : " ", r.code, r.dst(), r.src(), r.off, r.imm);
    s += buf;
  }
  return s;
}

std::vector<RawInsn> encode(const Insn& insn) {
  std::vector<RawInsn> out;
  xo::isa::encode_one(insn, out);
  return out;
}

// LLVM's text has no place for some fields, so its disassembly of these forms
// re-assembles to different bytes. Returns the bytes LLVM's text must then
// re-assemble to, and why; nullopt when the text must round-trip exactly.
struct TextLoss {
  std::vector<RawInsn> expected;
  std::string reason;
};
std::optional<TextLoss> llvm_text_loss(std::span<const RawInsn> slots) {
  using namespace xo::isa::bits;
  if (slots.empty()) return std::nullopt;
  std::vector<RawInsn> e(slots.begin(), slots.end());
  const RawInsn& r = slots[0];
  // LLVM prints helper (src 0), bpf-to-bpf (1) and kfunc (2) calls all as
  // "call IMM" and assembles that as a helper call; kfunc's off is dropped too.
  if (r.code == (kJmp | kCall) && (r.src() != 0 || r.off != 0)) {
    e[0].regs &= 0x0f;
    e[0].off = 0;
    return TextLoss{e, "call src_reg/off are not in LLVM's text"};
  }
  // "ld_pseudo rD, SRC, IMM" carries the first slot's imm only; the second
  // slot's imm (map value offset, BTF fd) is lost.
  if (r.code == kLdImm64 && r.src() != 0 && slots.size() > 1 && slots[1].imm != 0) {
    e[1].imm = 0;
    return TextLoss{e, "ld_pseudo has no operand for the second slot's imm"};
  }
  // LLVM's ld_ind has no immediate operand: "r0 = *(u32 *)skb[rS]".
  if (class_of(r.code) == kLd && mode_of(r.code) == kInd && r.imm != 0) {
    e[0].imm = 0;
    return TextLoss{e, "LLVM's ld_ind text has no imm"};
  }
  return std::nullopt;
}

// LLVM 19 prints "gotol -0x11170" but its asm parser takes only 16-bit
// numeric branch operands (labels work). Returns the offset in the text.
bool is_far_gotol(std::span<const RawInsn> slots) {
  using namespace xo::isa::bits;
  return !slots.empty() && slots[0].code == (kJmp32 | kJa) &&
         (slots[0].imm < INT16_MIN || slots[0].imm > INT16_MAX);
}

std::string hex_signed(std::int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s0x%llx", v < 0 ? "-" : "+",
                static_cast<unsigned long long>(v < 0 ? -v : v));
  return buf;
}

// LLVM's disassembly of `slots` assembled again; checks width too.
void expect_llvm_text_round_trips(const std::string& name, const std::vector<RawInsn>& slots) {
  unsigned width = 0;
  auto text = xo::mc::disassemble_one(slots, 0, &width);
  ASSERT_TRUE(text) << name << ": LLVM cannot decode our encoding " << describe(slots) << ": "
                    << text.error().describe();
  EXPECT_EQ(width, slots.size()) << name << ": LLVM width for " << describe(slots);
  if (is_far_gotol(slots)) {
    EXPECT_EQ(*text, "gotol " + hex_signed(slots[0].imm)) << name;
    return;
  }
  auto again = xo::mc::assemble(*text + "\n");
  ASSERT_TRUE(again) << name << ": LLVM cannot assemble its own text '" << *text
                     << "': " << again.error().describe();
  auto loss = llvm_text_loss(slots);
  auto expected = loss ? loss->expected : slots;
  EXPECT_EQ(*again, expected) << name << ": '" << *text << "' re-assembles to "
                              << describe(*again) << ", expected " << describe(expected)
                              << (loss ? " (" + loss->reason + ")" : std::string());
}

// --- 1. the isa helpers' table ---------------------------------------------

TEST(LlvmDifferential, TableFormsAgreeWithLlvm) {
  const auto& forms = xo::isa::testdata::opcode_forms();
  ASSERT_FALSE(forms.empty());
  std::size_t with_text = 0;
  for (const auto& form : forms) {
    SCOPED_TRACE(form.name);
    std::vector<RawInsn> ours = encode(form.insn);
    EXPECT_EQ(ours, form.slots) << "our encoder vs table: " << describe(ours) << " vs "
                                << describe(form.slots);
    expect_llvm_text_round_trips(form.name, ours);
    if (std::string_view(form.llvm).empty()) continue;
    ++with_text;
    auto llvm = xo::mc::assemble(std::string(form.llvm) + "\n");
    ASSERT_TRUE(llvm) << "'" << form.llvm << "': " << llvm.error().describe();
    EXPECT_EQ(*llvm, ours) << "'" << form.llvm << "': LLVM " << describe(*llvm) << ", ours "
                           << describe(ours);
    auto decoded = xo::isa::decode_one(*llvm, 0);
    ASSERT_TRUE(decoded) << "our decoder rejects LLVM's " << describe(*llvm) << ": "
                         << decoded.error().describe();
    EXPECT_TRUE(*decoded == form.insn) << "our decode of LLVM's bytes differs from the table";
  }
  // Most forms have text; a table that lost it would make this test hollow.
  EXPECT_GT(with_text, forms.size() * 9 / 10);
}

// --- 2. our own form list --------------------------------------------------

TEST(LlvmDifferential, OwnFormsAgreeWithLlvm) {
  for (const auto& form : xo::test::own_forms()) {
    SCOPED_TRACE(form.name);
    std::vector<RawInsn> ours = encode(form.insn);
    ASSERT_EQ(ours.size(), xo::isa::slot_width(form.insn));
    auto decoded = xo::isa::decode_one(ours, 0);
    ASSERT_TRUE(decoded) << describe(ours) << ": " << decoded.error().describe();
    EXPECT_TRUE(*decoded == form.insn) << "decode(encode(insn)) != insn for " << describe(ours);
    expect_llvm_text_round_trips(form.name, ours);
  }
}

// --- 3. the opcode sweep ---------------------------------------------------

struct Verdict {
  bool llvm_ok;
  unsigned llvm_width;
  std::string llvm_text;
  bool xo_ok;
  std::string xo_error;
  std::vector<RawInsn> xo_reencoded;
};

Verdict judge(const std::vector<RawInsn>& slots) {
  Verdict v{};
  auto text = xo::mc::disassemble_one(slots, 0, &v.llvm_width);
  v.llvm_ok = text.ok();
  if (text) v.llvm_text = *text;
  auto insn = xo::isa::decode_one(slots, 0);
  v.xo_ok = insn.ok();
  if (insn)
    v.xo_reencoded = encode(*insn);
  else
    v.xo_error = insn.error().message;
  return v;
}

const char* class_name(std::uint8_t code) {
  static const char* const kNames[] = {"ld", "ldx", "st", "stx", "alu", "jmp", "jmp32", "alu64"};
  return kNames[code & 7];
}

// Fields in which `a` and `b` differ, e.g. "src_reg+off".
std::string differing_fields(std::span<const RawInsn> a, std::span<const RawInsn> b) {
  std::string f;
  auto note = [&f](const char* name) { f += (f.empty() ? "" : "+") + std::string(name); };
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    const char* slot = i == 0 ? "" : "slot2 ";
    if (a[i].code != b[i].code) note((std::string(slot) + "code").c_str());
    if (a[i].dst() != b[i].dst()) note((std::string(slot) + "dst_reg").c_str());
    if (a[i].src() != b[i].src()) note((std::string(slot) + "src_reg").c_str());
    if (a[i].off != b[i].off) note((std::string(slot) + "off").c_str());
    if (a[i].imm != b[i].imm) note((std::string(slot) + "imm").c_str());
  }
  if (a.size() != b.size()) note("width");
  return f;
}

// LLVM decodes, we reject. Legitimate when LLVM's decoder simply ignores a
// field the kernel requires to be zero (LLVM's decoder tables leave unused
// fields unmatched). The proof is mechanical, not a list of cases: LLVM's own
// text re-assembles to bytes that differ only in that field, and our decoder
// accepts those bytes. Returns the reason, grouped by class and fields.
std::optional<std::string> llvm_ignores_field(const std::vector<RawInsn>& slots,
                                              const Verdict& v) {
  std::span<const RawInsn> used(slots.data(), v.llvm_width);
  std::optional<std::vector<RawInsn>> again;
  if (is_far_gotol(slots)) {
    // LLVM cannot re-assemble a far gotol (see is_far_gotol); its text
    // carries exactly the imm.
    if (v.llvm_text == "gotol " + hex_signed(slots[0].imm))
      again = std::vector<RawInsn>{RawInsn::make(slots[0].code, 0, 0, 0, slots[0].imm)};
  } else {
    // Many sweep cases print the same text; assemble each text once.
    static std::map<std::string, std::optional<std::vector<RawInsn>>> cache;
    auto [it, fresh] = cache.try_emplace(v.llvm_text);
    if (fresh)
      if (auto r = xo::mc::assemble(v.llvm_text + "\n"); r && !r->empty())
        it->second = std::move(r.value());
    again = it->second;
  }
  if (!again || *again == std::vector<RawInsn>(used.begin(), used.end())) return std::nullopt;
  if (!xo::isa::decode_one(*again, 0)) return std::nullopt;
  // Our rejection must be about one of the fields LLVM dropped: it names the
  // field, or "second slot" for any field of ld_imm64's second slot.
  std::string fields = differing_fields(used, *again);
  bool about_dropped_field = false;
  std::istringstream field_list(fields);
  for (std::string f; std::getline(field_list, f, '+');) {
    bool second = f.rfind("slot2 ", 0) == 0;
    if (second ? v.xo_error.find("second slot") != std::string::npos
               : f != "code" && v.xo_error.find(f) != std::string::npos)
      about_dropped_field = true;
  }
  if (!about_dropped_field) return std::nullopt;
  return std::string("LLVM ignores ") + class_name(slots[0].code) + " " + fields +
         ", which the kernel requires to be 0";
}

// Known cases where the two decoders legitimately disagree although LLVM's
// text carries every field: LLVM knows instructions and registers beyond
// RFC 9669, which the kernel rejects or which the model does not cover yet.
// Each rule is narrow (opcode plus the text LLVM prints) and says why.
std::optional<std::string> known_disagreement(const std::vector<RawInsn>& slots,
                                              const Verdict& v) {
  using namespace xo::isa::bits;
  if (!v.llvm_ok || v.xo_ok) return std::nullopt;
  const RawInsn& r = slots[0];
  auto text_has = [&v](const char* s) { return v.llvm_text.find(s) != std::string::npos; };
  if ((r.dst() == 11 || r.src() == 11) && (text_has("r11") || text_has("w11")))
    return "r11: LLVM's register file has r11 (the kernel's hidden AX); RFC 9669 has r0..r10";
  if (r.code == (kJmp | kCall | kX) && text_has("callx"))
    return "callx: LLVM's indirect call (JMP|CALL|X) is not in RFC 9669; the kernel rejects it";
  if (r.code == (kAlu64 | kMov | kX) && r.off == 1 && text_has("addr_space_cast"))
    return "addr_space_cast (MOV64 off=1, bpf arena, kernel 6.9+) is not in RFC 9669; the model "
           "does not cover it";
  if (r.code == kLdImm64 && r.src() > kPseudoMapIdxValue && text_has("ld_pseudo"))
    return "ld_imm64 pseudo source > 6: LLVM's ld_pseudo takes any 4-bit value; the kernel "
           "defines 0..6";
  return std::nullopt;
}

std::vector<std::vector<RawInsn>> sweep_cases() {
  std::vector<std::vector<RawInsn>> cases;
  const std::pair<std::uint8_t, std::uint8_t> regs[] = {{1, 2}, {0, 0}, {10, 1}, {1, 10},
                                                        {11, 1}, {1, 11}, {3, 4}};
  const std::int16_t offs[] = {0, 1, 8, 16, 32, -4, 7};
  const std::int32_t imms[] = {0, 1, -1, 16, 32, 64, 0x40, 0x41, 0xe1, 0xf1, 0x50, 0x51, 0xa0,
                               5, 0x12345};
  for (int code = 0; code < 256; ++code)
    for (auto [dst, src] : regs)
      for (std::int16_t off : offs)
        for (std::int32_t imm : imms) {
          std::vector<RawInsn> slots = {RawInsn::make(static_cast<std::uint8_t>(code), dst, src,
                                                      off, imm)};
          if (code != xo::isa::bits::kLdImm64) {
            cases.push_back(std::move(slots));
            continue;
          }
          // ld_imm64's second slot: the valid shape (only imm may be set),
          // and each reserved field set.
          for (RawInsn second : {RawInsn::make(0, 0, 0, 0, 0), RawInsn::make(0, 0, 0, 0, 7),
                                 RawInsn::make(0x18, 0, 0, 0, 0), RawInsn::make(0, 1, 0, 0, 0),
                                 RawInsn::make(0, 0, 2, 0, 0), RawInsn::make(0, 0, 0, 3, 0)}) {
            std::vector<RawInsn> pair = slots;
            pair.push_back(second);
            cases.push_back(std::move(pair));
          }
        }
  return cases;
}

TEST(LlvmDifferential, OpcodeSweep) {
  std::size_t both = 0, exceptions = 0;
  std::set<std::uint8_t> codes_both;
  std::map<std::string, std::size_t> exception_counts;
  // Disagreements grouped by opcode and kind, with the first example of each.
  std::map<std::string, std::pair<std::size_t, std::string>> problems;
  std::size_t problem_count = 0;
  auto problem = [&](const std::vector<RawInsn>& slots, const std::string& kind,
                     const std::string& what) {
    ++problem_count;
    char code[8];
    std::snprintf(code, sizeof code, "0x%02x", slots[0].code);
    auto& p = problems[std::string(code) + " " + kind];
    if (p.first++ == 0) p.second = describe(slots) + ": " + what;
  };

  for (const auto& slots : sweep_cases()) {
    Verdict v = judge(slots);
    if (v.llvm_ok && v.xo_ok) {
      ++both;
      codes_both.insert(slots[0].code);
      std::vector<RawInsn> used(slots.begin(), slots.begin() + v.llvm_width);
      if (v.xo_reencoded != used)
        problem(slots, "re-encode", "we decode it but re-encode " + describe(v.xo_reencoded));
      if (v.xo_reencoded.size() != v.llvm_width)
        problem(slots, "width", "width: ours " + std::to_string(v.xo_reencoded.size()) + ", LLVM " +
                           std::to_string(v.llvm_width));
      continue;
    }
    if (!v.llvm_ok && !v.xo_ok) continue;
    std::optional<std::string> why = known_disagreement(slots, v);
    if (!why && v.llvm_ok) why = llvm_ignores_field(slots, v);
    if (why) {
      ++exceptions;
      ++exception_counts[*why];
      continue;
    }
    if (v.llvm_ok)
      problem(slots, "llvm-only", "LLVM prints '" + v.llvm_text + "' but our decoder rejects it: " + v.xo_error);
    else
      problem(slots, "xo-only", "our decoder accepts it but LLVM cannot decode it");
  }
  std::ostringstream summary;
  for (const auto& [why, n] : exception_counts) summary << "  " << n << "x " << why << '\n';
  std::ostringstream report;
  for (const auto& [key, p] : problems)
    report << "  " << key << " (" << p.first << "x), e.g. " << p.second << '\n';
  EXPECT_EQ(problem_count, 0u) << problem_count << " disagreements in " << problems.size()
                               << " groups:\n"
                               << report.str();
  // The sweep really exercised both decoders: every opcode byte of the isa
  // table was decoded by both at least once.
  for (const auto& form : xo::isa::testdata::opcode_forms())
    EXPECT_TRUE(codes_both.count(form.slots[0].code))
        << form.name << ": opcode " << describe(form.slots) << " never decoded by both";
  RecordProperty("agree", static_cast<int>(both));
  RecordProperty("documented_exceptions", static_cast<int>(exceptions));
  std::printf("sweep: %zu decoded by both, %zu documented exceptions:\n%s", both, exceptions,
              summary.str().c_str());
}

}  // namespace
