#!/usr/bin/env python3
"""Generates tests/isa/opcode_forms.hpp: one row per eBPF opcode form of RFC 9669
(plus may_goto, the kernel's JMP | JCOND).

The raw encoding of every row is computed here from the RFC's constants, not
by our codec, so the table is an independent oracle. Each row's LLVM text is
what `llvm-mc-19 --disassemble -triple bpfel -mcpu=v4` prints for the bytes,
kept only if `llvm-mc-19 -triple bpfel -mcpu=v4 -show-encoding` assembles the
text back to exactly the same bytes (else the text is empty: LLVM cannot
express the form, e.g. local and kfunc calls print as `call N`).

Usage: tests/isa/gen_opcode_forms.py > tests/isa/opcode_forms.hpp
"""
import re
import struct
import subprocess
import sys

MC = "llvm-mc-19"
ALU, ALU64, JMP, JMP32 = 0x04, 0x07, 0x05, 0x06
LD, LDX, ST, STX = 0x00, 0x01, 0x02, 0x03
K, X = 0x00, 0x08
SIZES = [("W", 0x00), ("H", 0x08), ("B", 0x10), ("DW", 0x18)]
DST, SRC, OFF, IMM = 1, 2, 16, 42

forms = []  # (name, insn_cpp, [(code, dst, src, off, imm), ...])


def add(name, insn, *slots):
    forms.append((name, insn, list(slots)))


# ALU / ALU64: (name, op bits, AluOp, off)
alu_ops = [("add", 0x00, "Add", 0), ("sub", 0x10, "Sub", 0), ("mul", 0x20, "Mul", 0),
           ("div", 0x30, "Div", 0), ("sdiv", 0x30, "SDiv", 1), ("or", 0x40, "Or", 0),
           ("and", 0x50, "And", 0), ("lsh", 0x60, "Lsh", 0), ("rsh", 0x70, "Rsh", 0),
           ("mod", 0x90, "Mod", 0), ("smod", 0x90, "SMod", 1), ("xor", 0xa0, "Xor", 0),
           ("mov", 0xb0, "Mov", 0), ("arsh", 0xc0, "Arsh", 0)]
for cls, cname, wide in [(ALU, "alu32", "false"), (ALU64, "alu64", "true")]:
    for name, bits, op, off in alu_ops:
        add(f"{cname} {name} k", f"Bin{{AluOp::{op}, {wide}, {DST}, Imm{{{IMM}}}}}",
            (cls | bits | K, DST, 0, off, IMM))
        add(f"{cname} {name} x", f"Bin{{AluOp::{op}, {wide}, {DST}, Reg{{{SRC}}}}}",
            (cls | bits | X, DST, SRC, off, 0))
    for bits in ([8, 16, 32] if cls == ALU64 else [8, 16]):
        add(f"{cname} movsx{bits}", f"Bin{{AluOp::MovSx{bits}, {wide}, {DST}, Reg{{{SRC}}}}}",
            (cls | 0xb0 | X, DST, SRC, bits, 0))
    add(f"{cname} neg", f"Un{{UnOp::Neg, {wide}, {DST}}}", (cls | 0x80 | K, DST, 0, 0, 0))
for width in (16, 32, 64):
    add(f"le{width}", f"Un{{UnOp::Le{width}, false, {DST}}}", (ALU | 0xd0 | K, DST, 0, 0, width))
    add(f"be{width}", f"Un{{UnOp::Be{width}, false, {DST}}}", (ALU | 0xd0 | X, DST, 0, 0, width))
    add(f"bswap{width}", f"Un{{UnOp::Swap{width}, true, {DST}}}", (ALU64 | 0xd0 | K, DST, 0, 0, width))

# JMP / JMP32
conds = [("jeq", 0x10, "Eq"), ("jgt", 0x20, "Gt"), ("jge", 0x30, "Ge"), ("jset", 0x40, "Set"),
         ("jne", 0x50, "Ne"), ("jsgt", 0x60, "SGt"), ("jsge", 0x70, "SGe"), ("jlt", 0xa0, "Lt"),
         ("jle", 0xb0, "Le"), ("jslt", 0xc0, "SLt"), ("jsle", 0xd0, "SLe")]
for cls, cname, is32 in [(JMP, "jmp", "false"), (JMP32, "jmp32", "true")]:
    for name, bits, cond in conds:
        add(f"{cname} {name} k", f"Jmp{{Cond::{cond}, {is32}, {DST}, Imm{{{IMM}}}, 3}}",
            (cls | bits | K, DST, 0, 3, IMM))
        add(f"{cname} {name} x", f"Jmp{{Cond::{cond}, {is32}, {DST}, Reg{{{SRC}}}, -3}}",
            (cls | bits | X, DST, SRC, -3, 0))
add("ja", "Ja{3, false}", (JMP | 0x00, 0, 0, 3, 0))
add("gotol", "Ja{5, true}", (JMP32 | 0x00, 0, 0, 0, 5))
# LLVM 19's asm parser takes only a 16-bit gotol operand: no text for this one.
add("gotol far", "Ja{-70000, true}", (JMP32 | 0x00, 0, 0, 0, -70000))
# may_goto: JMP | JCOND (0xe0), src_reg BPF_MAY_GOTO (0); kernel 6.9+, not in RFC 9669.
add("may_goto", "MayGoto{3}", (JMP | 0xe0, 0, 0, 3, 0))
add("may_goto back", "MayGoto{-3}", (JMP | 0xe0, 0, 0, -3, 0))
add("call helper", "Call{5}", (JMP | 0x80, 0, 0, 0, 5))
add("call local", "CallLocal{-4}", (JMP | 0x80, 0, 1, 0, -4))
add("call kfunc", "CallKfunc{1234, 1}", (JMP | 0x80, 0, 2, 1, 1234))
add("exit", "Exit{}", (JMP | 0x90, 0, 0, 0, 0))

# Loads and stores
for sname, sbits in SIZES:
    if sname != "DW":
        add(f"ld abs {sname.lower()}", f"LegacyLoad{{Size::{sname}, false, 0, 5}}",
            (LD | 0x20 | sbits, 0, 0, 0, 5))
        add(f"ld ind {sname.lower()}", f"LegacyLoad{{Size::{sname}, true, {SRC}, 0}}",
            (LD | 0x40 | sbits, 0, SRC, 0, 0))
# LLVM 19 prints but drops the imm of LD IND (it assembles imm 0): no text.
add("ld ind w imm", f"LegacyLoad{{Size::W, true, {SRC}, 5}}", (LD | 0x40, 0, SRC, 0, 5))
for sname, sbits in SIZES:
    add(f"ldx mem {sname.lower()}", f"Load{{Size::{sname}, false, {DST}, {SRC}, {OFF}}}",
        (LDX | 0x60 | sbits, DST, SRC, OFF, 0))
for sname, sbits in SIZES[:3]:
    add(f"ldx memsx {sname.lower()}", f"Load{{Size::{sname}, true, {DST}, {SRC}, -{OFF}}}",
        (LDX | 0x80 | sbits, DST, SRC, -OFF, 0))
for sname, sbits in SIZES:
    add(f"st mem {sname.lower()}", f"Store{{Size::{sname}, {DST}, {OFF}, Imm{{{IMM}}}}}",
        (ST | 0x60 | sbits, DST, 0, OFF, IMM))
    add(f"stx mem {sname.lower()}", f"Store{{Size::{sname}, {DST}, {OFF}, Reg{{{SRC}}}}}",
        (STX | 0x60 | sbits, DST, SRC, OFF, 0))
atomics = [("add", 0x00, "Add"), ("or", 0x40, "Or"), ("and", 0x50, "And"), ("xor", 0xa0, "Xor")]
for sname, sbits in [("W", 0x00), ("DW", 0x18)]:
    for name, bits, op in atomics:
        for fetch in (False, True):
            add(f"atomic {sname.lower()} {'fetch_' if fetch else ''}{name}",
                f"Atomic{{AtomicOp::{op}, {'true' if fetch else 'false'}, Size::{sname}, {DST}, {OFF}, {SRC}}}",
                (STX | 0xc0 | sbits, DST, SRC, OFF, bits | (1 if fetch else 0)))
    add(f"atomic {sname.lower()} xchg", f"Atomic{{AtomicOp::Xchg, true, Size::{sname}, {DST}, {OFF}, {SRC}}}",
        (STX | 0xc0 | sbits, DST, SRC, OFF, 0xe1))
    add(f"atomic {sname.lower()} cmpxchg",
        f"Atomic{{AtomicOp::CmpXchg, true, Size::{sname}, {DST}, {OFF}, {SRC}}}",
        (STX | 0xc0 | sbits, DST, SRC, OFF, 0xf1))

# ld_imm64 and its pseudo sources
LDDW = LD | 0x00 | 0x18
add("ld_imm64", "LoadImm64{1, 0x1122334455667788ull}",
    (LDDW, 1, 0, 0, 0x55667788), (0, 0, 0, 0, 0x11223344))
add("ld_imm64 map_fd", "LoadMapFd{1, 5}", (LDDW, 1, 1, 0, 5), (0, 0, 0, 0, 0))
add("ld_imm64 map_value", "LoadMapValue{1, 5, 0}", (LDDW, 1, 2, 0, 5), (0, 0, 0, 0, 0))
add("ld_imm64 btf_id", "LoadBtfId{1, 77, 0}", (LDDW, 1, 3, 0, 77), (0, 0, 0, 0, 0))
add("ld_imm64 func", "LoadFunc{1, 6}", (LDDW, 1, 4, 0, 6), (0, 0, 0, 0, 0))
add("ld_imm64 map_idx", "LoadMapIdx{1, 3}", (LDDW, 1, 5, 0, 3), (0, 0, 0, 0, 0))
add("ld_imm64 map_idx_value", "LoadMapIdxValue{1, 3, 0}", (LDDW, 1, 6, 0, 3), (0, 0, 0, 0, 0))
# Second-slot imm of the value forms (LLVM's ld_pseudo cannot set it).
add("ld_imm64 map_value off", "LoadMapValue{1, 5, 8}", (LDDW, 1, 2, 0, 5), (0, 0, 0, 0, 8))
add("ld_imm64 btf_id fd", "LoadBtfId{1, 77, 4}", (LDDW, 1, 3, 0, 77), (0, 0, 0, 0, 4))
add("ld_imm64 map_idx_value off", "LoadMapIdxValue{1, 3, 8}", (LDDW, 1, 6, 0, 3), (0, 0, 0, 0, 8))


def slot_bytes(s):
    code, dst, src, off, imm = s
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def run_mc(args, text):
    return subprocess.run([MC, "-triple", "bpfel", "-mcpu=v4", *args], input=text,
                          capture_output=True, text=True)


def llvm_text(raw):
    dis = run_mc(["--disassemble"], " ".join(f"0x{b:02x}" for b in raw) + "\n")
    lines = [l.strip() for l in dis.stdout.splitlines() if l.strip() and not l.strip().startswith(".")]
    if dis.returncode != 0 or len(lines) != 1:
        return ""
    text = re.sub(r"\s+", " ", lines[0])
    enc = run_mc(["-show-encoding"], text + "\n")
    m = re.findall(r"encoding: \[([^\]]*)\]", enc.stdout)
    if enc.returncode != 0 or len(m) != 1:
        return ""
    got = bytes(int(x, 16) for x in m[0].split(","))
    return text if got == raw else ""


def cpp_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


out = sys.stdout
out.write("""// GENERATED by tests/isa/gen_opcode_forms.py; do not edit by hand.
//
// Every eBPF opcode form of RFC 9669 (v1..v4), plus the kernel's may_goto,
// with its meaning (Insn), its wire slots computed from the RFC's constants,
// and the LLVM 19 BPF assembly text that `llvm-mc-19 -triple bpfel -mcpu=v4
// -show-encoding` assembles to exactly those slots ("" when LLVM cannot
// express the form). Shared by the round-trip test (tests/isa) and the LLVM
// differential test (tests/llvm).
#pragma once

#include <vector>

#include "translator/isa/insn.hpp"
#include "translator/isa/raw.hpp"

namespace xo::isa::testdata {

struct OpcodeForm {
  const char* name;
  Insn insn;
  std::vector<RawInsn> slots;
  const char* llvm;
};

inline const std::vector<OpcodeForm>& opcode_forms() {
  static const std::vector<OpcodeForm> forms = {
""")
with_text = 0
for name, insn, slots in forms:
    raw = b"".join(slot_bytes(s) for s in slots)
    text = llvm_text(raw)
    with_text += bool(text)
    slots_cpp = ", ".join(f"RawInsn::make(0x{c:02x}, {d}, {s}, {o}, {i})" for c, d, s, o, i in slots)
    out.write(f"      {{{cpp_str(name)}, {insn}, {{{slots_cpp}}}, {cpp_str(text)}}},\n")
out.write("""  };
  return forms;
}

}  // namespace xo::isa::testdata
""")
print(f"{len(forms)} forms, {with_text} with LLVM text", file=sys.stderr)
