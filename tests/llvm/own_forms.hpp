// Every opcode form of the Insn model with representative operands, built
// from the model's enums (independent of the isa helpers' table in
// tests/isa/opcode_forms.hpp, which the differential test also uses when it
// exists). No LLVM text here: the text comes from LLVM itself.
#pragma once

#include <string>
#include <vector>

#include "translator/isa/insn.hpp"

namespace xo::test {

struct OwnForm {
  std::string name;
  isa::Insn insn;
};

inline std::vector<OwnForm> own_forms() {
  using namespace isa;
  std::vector<OwnForm> f;
  auto add = [&f](std::string name, Insn insn) { f.push_back({std::move(name), insn}); };

  const AluOp alu_ops[] = {AluOp::Add, AluOp::Sub, AluOp::Mul,  AluOp::Div,  AluOp::SDiv,
                           AluOp::Or,  AluOp::And, AluOp::Lsh,  AluOp::Rsh,  AluOp::Mod,
                           AluOp::SMod, AluOp::Xor, AluOp::Mov, AluOp::Arsh};
  for (bool is64 : {false, true})
    for (AluOp op : alu_ops) {
      std::string n = std::string(is64 ? "alu64" : "alu32") + " op" +
                      std::to_string(static_cast<int>(op));
      add(n + " reg", Bin{op, is64, 1, Reg{2}});
      add(n + " imm", Bin{op, is64, 3, Imm{7}});
      add(n + " imm neg", Bin{op, is64, 0, Imm{-3}});
    }
  add("movsx8 64", Bin{AluOp::MovSx8, true, 1, Reg{2}});
  add("movsx16 64", Bin{AluOp::MovSx16, true, 1, Reg{2}});
  add("movsx32 64", Bin{AluOp::MovSx32, true, 1, Reg{2}});
  add("movsx8 32", Bin{AluOp::MovSx8, false, 1, Reg{2}});
  add("movsx16 32", Bin{AluOp::MovSx16, false, 1, Reg{2}});
  add("mov64 imm max", Bin{AluOp::Mov, true, 9, Imm{0x7fffffff}});
  add("mov64 fp", Bin{AluOp::Mov, true, 1, Reg{10}});

  add("neg32", Un{UnOp::Neg, false, 4});
  add("neg64", Un{UnOp::Neg, true, 4});
  for (UnOp op : {UnOp::Le16, UnOp::Le32, UnOp::Le64, UnOp::Be16, UnOp::Be32, UnOp::Be64})
    add("end op" + std::to_string(static_cast<int>(op)), Un{op, false, 5});
  for (UnOp op : {UnOp::Swap16, UnOp::Swap32, UnOp::Swap64})
    add("bswap op" + std::to_string(static_cast<int>(op)), Un{op, true, 5});

  const Cond conds[] = {Cond::Eq, Cond::Gt, Cond::Ge, Cond::Set, Cond::Ne, Cond::SGt,
                        Cond::SGe, Cond::Lt, Cond::Le, Cond::SLt, Cond::SLe};
  for (bool is32 : {false, true})
    for (Cond c : conds) {
      std::string n = std::string(is32 ? "jmp32" : "jmp") + " cond" +
                      std::to_string(static_cast<int>(c));
      add(n + " reg", Jmp{c, is32, 1, Reg{2}, 3});
      add(n + " imm", Jmp{c, is32, 6, Imm{-5}, -2});
    }
  add("ja", Ja{5, false});
  add("ja back", Ja{-1, false});
  add("gotol", Ja{-70000, true});
  add("may_goto", MayGoto{4});
  add("may_goto back", MayGoto{-2});
  add("call helper", Call{1});
  add("call helper 212", Call{212});
  add("call local", CallLocal{7});
  add("call kfunc", CallKfunc{1234, 0});
  add("exit", Exit{});

  for (Size s : {Size::B, Size::H, Size::W, Size::DW}) {
    std::string n = "size" + std::to_string(static_cast<int>(s));
    add("ldx " + n, Load{s, false, 1, 2, -8});
    if (s != Size::DW) add("ldsx " + n, Load{s, true, 1, 2, 16});
    add("st " + n, Store{s, 10, -16, Imm{-1}});
    add("stx " + n, Store{s, 3, 4, Reg{9}});
  }
  for (Size s : {Size::W, Size::DW}) {
    std::string n = "size" + std::to_string(static_cast<int>(s));
    for (AtomicOp op : {AtomicOp::Add, AtomicOp::Or, AtomicOp::And, AtomicOp::Xor})
      for (bool fetch : {false, true})
        add("atomic op" + std::to_string(static_cast<int>(op)) + (fetch ? " fetch " : " ") + n,
            Atomic{op, fetch, s, 1, 8, 2});
    add("xchg " + n, Atomic{AtomicOp::Xchg, true, s, 1, -8, 3});
    add("cmpxchg " + n, Atomic{AtomicOp::CmpXchg, true, s, 1, 0, 3});
  }
  for (Size s : {Size::B, Size::H, Size::W}) {
    std::string n = "size" + std::to_string(static_cast<int>(s));
    add("ld_abs " + n, LegacyLoad{s, false, 0, 12});
    add("ld_ind " + n, LegacyLoad{s, true, 3, 14});
  }
  add("ld_imm64", LoadImm64{1, 0x1122334455667788ull});
  add("ld_imm64 neg", LoadImm64{0, ~0ull});
  add("ld_imm64 map_fd", LoadMapFd{1, 5});
  add("ld_imm64 map_value", LoadMapValue{1, 5, 8});
  add("ld_imm64 btf_id", LoadBtfId{2, 77, 0});
  add("ld_imm64 func", LoadFunc{3, 9});
  add("ld_imm64 map_idx", LoadMapIdx{1, 2});
  add("ld_imm64 map_idx_value", LoadMapIdxValue{1, 2, 16});
  return f;
}

}  // namespace xo::test
