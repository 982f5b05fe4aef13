// trampoline_insns(): PROTOCOL.md 8.2 as a generated XDP program
// (trampoline_code.hpp has the outline).
//
// Registers: r6 ctx, r7 verdict, r8 nsamples, r9 offset of the next record
// (then the descriptor's length). The verdict's fields and each sample
// record are kept on the stack (Frame below): helper calls clobber r0-r5,
// and the pop moves the records out of the packet.
//
// Verifier notes (guest kernels from 5.18, bpf_xdp_load_bytes):
//  - a record's size is bounded twice, once for the load and once after it
//    is reloaded from the stack for the output: a reloaded u32 is unknown;
//  - a record's data buffer is zeroed first, so the output's [0, 128] range
//    is initialised on every path, whatever the size;
//  - handles are u32, compared with JMP32.
#include "guest/client/trampoline_code.hpp"

#include <set>
#include <string>

#include "core/uapi.hpp"
#include "guest/client/descriptor_layout.hpp"
#include "translator/passes/epilogue.hpp"

namespace xo::guest {
namespace {

using namespace isa;
using translator::Snippet;
namespace d = descriptor;

// Stack frame (offsets from r10): the verdict's fields, then per sample
// record its 16-byte header, then per record its data buffer.
struct Frame {
  static constexpr std::int16_t kAction = -16;  // u64 each
  static constexpr std::int16_t kMap = -24;
  static constexpr std::int16_t kKey = -32;
  static constexpr std::int16_t kFlags = -40;
  static constexpr std::int16_t header(int i) { return std::int16_t(-64 - 16 * i); }
  static constexpr std::int16_t data(int i) {
    return std::int16_t(header(int(d::kMaxSamples) - 1) - int(d::kMaxSampleSize) * (i + 1));
  }
};
static_assert(d::kRecordHeaderSize == 16 && d::kMaxSampleSize % 8 == 0, "Frame's layout");
static_assert(Frame::data(int(d::kMaxSamples) - 1) >= -512, "the trampoline's stack fits the kernel's 512 bytes");

constexpr Reg kCtx = 6, kVerdict = 7, kSamples = 8, kOffset = 9;

// Offsets in the frame of the fixed descriptor fields.
constexpr std::int16_t at(std::size_t field) { return std::int16_t(d::kOuterHeaderSize + field); }

Jmp jmp(Cond c, Reg r, std::int32_t imm, bool is32 = false) { return Jmp{c, is32, r, Imm{imm}, 0}; }
Jmp jmp_reg(Cond c, Reg a, Reg b) { return Jmp{c, false, a, b, 0}; }
Bin mov(Reg dst, Value src) { return Bin{AluOp::Mov, true, dst, src}; }
Bin add(Reg dst, Value src) { return Bin{AluOp::Add, true, dst, src}; }
Load ld(Size s, Reg dst, Reg base, std::int16_t off) { return Load{s, false, dst, base, off}; }
Store st(Size s, Reg base, std::int16_t off, Value v) { return Store{s, base, off, v}; }

// Jumps to `ok` when r`reg` (u32) is one of the maps' handles; else falls through.
void match_handle(Snippet& s, Reg reg, const std::vector<BoundMap>& maps, const std::string& ok) {
  for (const BoundMap& m : maps) s.jump(jmp(Cond::Eq, reg, std::int32_t(m.handle), true), ok);
}

// Header checks and the verdict's fields, up to "records".
void check_header(Snippet& s, std::uint64_t cookie, const std::vector<BoundMap>& redirect_maps) {
  s.emit(mov(kCtx, Reg{1}))
      .emit(ld(Size::W, 2, kCtx, std::int16_t(uapi::kXdpData)))
      .emit(ld(Size::W, 3, kCtx, std::int16_t(uapi::kXdpDataEnd)))
      .emit(mov(4, Reg{2}))
      .emit(add(4, Imm{std::int32_t(d::kOuterHeaderSize)}))
      .jump(jmp_reg(Cond::Gt, 4, 3), "pass")
      .emit(ld(Size::H, 4, 2, std::int16_t(d::kOuterHeaderSize - 2)))
      // The ethertype is big-endian on the wire; a u16 load reads it swapped.
      .jump(jmp(Cond::Ne, 4, std::int32_t(((d::kEthertype & 0xff) << 8) | (d::kEthertype >> 8)), true), "pass")
      .emit(mov(4, Reg{2}))
      .emit(add(4, Imm{std::int32_t(d::kOuterHeaderSize + d::kHeaderSize)}))
      .jump(jmp_reg(Cond::Gt, 4, 3), "drop")
      .emit(ld(Size::DW, 4, 2, at(d::kCookieOff)))
      .emit(LoadImm64{5, cookie})
      .jump(jmp_reg(Cond::Ne, 4, 5), "drop")
      .emit(ld(Size::B, 4, 2, at(d::kVersionOff)))
      .jump(jmp(Cond::Ne, 4, d::kVersion), "drop")
      .emit(ld(Size::W, 4, 2, at(d::kPadOff)))
      .jump(jmp(Cond::Ne, 4, 0), "drop")
      .emit(ld(Size::B, kSamples, 2, at(d::kNsamplesOff)))
      .jump(jmp(Cond::Gt, kSamples, std::int32_t(d::kMaxSamples)), "drop")
      .emit(ld(Size::B, kVerdict, 2, at(d::kVerdictOff)))
      .emit(ld(Size::B, 4, 2, at(d::kActionOff)))
      .emit(st(Size::DW, kFramePointer, Frame::kAction, Reg{4}))
      .emit(ld(Size::W, 4, 2, at(d::kMapOff)))
      .emit(st(Size::DW, kFramePointer, Frame::kMap, Reg{4}))
      .emit(ld(Size::W, 5, 2, at(d::kKeyOff)))
      .emit(st(Size::DW, kFramePointer, Frame::kKey, Reg{5}))
      .emit(ld(Size::DW, 0, 2, at(d::kFlagsOff)))
      .emit(st(Size::DW, kFramePointer, Frame::kFlags, Reg{0}))
      .emit(mov(kOffset, Imm{std::int32_t(d::kOuterHeaderSize + d::kHeaderSize)}))
      // r4 map, r5 key, r0 flags, per verdict:
      .jump(jmp(Cond::Eq, kVerdict, d::kVerdictRedirectMap), "v_redirect_map")
      .jump(jmp(Cond::Eq, kVerdict, d::kVerdictRedirect), "v_redirect")
      .jump(jmp(Cond::Ne, kVerdict, d::kVerdictAction), "drop")
      // ACTION: XDP_DROP or XDP_PASS, map, key and flags 0.
      .jump(jmp(Cond::Ne, 4, 0), "drop")
      .jump(jmp(Cond::Ne, 5, 0), "drop")
      .jump(jmp(Cond::Ne, 0, 0), "drop")
      .emit(ld(Size::DW, 4, kFramePointer, Frame::kAction))
      .jump(jmp(Cond::Eq, 4, uapi::kDrop), "records")
      .jump(jmp(Cond::Eq, 4, uapi::kPass), "records")
      .jump(Ja{0, false}, "drop")
      // REDIRECT_MAP: a bound redirect map.
      .label("v_redirect_map");
  match_handle(s, 4, redirect_maps, "records");
  s.jump(Ja{0, false}, "drop")
      // REDIRECT: no map; the ifindex is the key.
      .label("v_redirect")
      .jump(jmp(Cond::Ne, 4, 0), "drop")
      .label("records");
}

// Sample record i: header and data to the stack, checked; r9 past it.
void copy_record(Snippet& s, int i, const std::vector<BoundMap>& perf_maps) {
  const std::string n = std::to_string(i);
  s.jump(jmp(Cond::Le, kSamples, i), "records_done");
  for (std::size_t b = 0; b < d::kMaxSampleSize; b += 8)
    s.emit(st(Size::DW, kFramePointer, std::int16_t(Frame::data(i) + std::int16_t(b)), Imm{0}));
  s.emit(mov(1, Reg{kCtx}))
      .emit(mov(2, Reg{kOffset}))
      .emit(mov(3, Reg{kFramePointer}))
      .emit(add(3, Imm{Frame::header(i)}))
      .emit(mov(4, Imm{std::int32_t(d::kRecordHeaderSize)}))
      .emit(Call{uapi::kXdpLoadBytes})
      .jump(jmp(Cond::Ne, 0, 0), "drop")
      .emit(ld(Size::W, 2, kFramePointer, std::int16_t(Frame::header(i) + d::kRecordMapOff)));
  match_handle(s, 2, perf_maps, "rec_map_ok" + n);
  s.jump(Ja{0, false}, "drop")
      .label("rec_map_ok" + n)
      .emit(ld(Size::W, 4, kFramePointer, std::int16_t(Frame::header(i) + d::kRecordSizeOff)))
      .jump(jmp(Cond::Gt, 4, std::int32_t(d::kMaxSampleSize)), "drop")
      .emit(add(kOffset, Imm{std::int32_t(d::kRecordHeaderSize)}))
      .jump(jmp(Cond::Lt, 4, 1), "rec_done" + n)
      .emit(mov(1, Reg{kCtx}))
      .emit(mov(2, Reg{kOffset}))
      .emit(mov(3, Reg{kFramePointer}))
      .emit(add(3, Imm{Frame::data(i)}))
      .emit(Call{uapi::kXdpLoadBytes})
      .jump(jmp(Cond::Ne, 0, 0), "drop")
      // Data is padded to a multiple of 8.
      .emit(ld(Size::W, 4, kFramePointer, std::int16_t(Frame::header(i) + d::kRecordSizeOff)))
      .emit(add(4, Imm{7}))
      .emit(Bin{AluOp::And, true, 4, Imm{-8}})
      .emit(add(kOffset, Reg{4}))
      .label("rec_done" + n);
}

// Emits record i's sample on its bound map (after the pop).
void emit_record(Snippet& s, int i, const std::vector<BoundMap>& perf_maps) {
  const std::string n = std::to_string(i);
  s.jump(jmp(Cond::Le, kSamples, i), "samples_done")
      .emit(ld(Size::W, 0, kFramePointer, std::int16_t(Frame::header(i) + d::kRecordMapOff)));
  for (std::size_t m = 0; m < perf_maps.size(); ++m)
    s.jump(jmp(Cond::Eq, 0, std::int32_t(perf_maps[m].handle), true), "emit" + n + "_" + std::to_string(m));
  s.jump(Ja{0, false}, "drop");  // checked before the pop: not reached
  for (std::size_t m = 0; m < perf_maps.size(); ++m) {
    s.label("emit" + n + "_" + std::to_string(m))
        .emit(mov(1, Reg{kCtx}))
        .emit(LoadMapFd{2, perf_maps[m].fd})
        .emit(ld(Size::DW, 3, kFramePointer, std::int16_t(Frame::header(i) + d::kRecordFlagsOff)))
        .emit(mov(4, Reg{kFramePointer}))
        .emit(add(4, Imm{Frame::data(i)}))
        .emit(ld(Size::W, 5, kFramePointer, std::int16_t(Frame::header(i) + d::kRecordSizeOff)))
        .jump(jmp(Cond::Gt, 5, std::int32_t(d::kMaxSampleSize)), "drop")
        .emit(Call{BPF_FUNC_perf_event_output})
        .jump(Ja{0, false}, "emitted" + n);
  }
  s.label("emitted" + n);
}

void verdict(Snippet& s, const std::vector<BoundMap>& redirect_maps) {
  s.jump(jmp(Cond::Eq, kVerdict, d::kVerdictRedirect), "do_redirect")
      .jump(jmp(Cond::Eq, kVerdict, d::kVerdictRedirectMap), "do_redirect_map")
      // ACTION: the two values check_header allowed, as constants.
      .emit(ld(Size::DW, 4, kFramePointer, Frame::kAction))
      .jump(jmp(Cond::Eq, 4, uapi::kPass), "pass")
      .jump(Ja{0, false}, "drop")
      .label("do_redirect")
      .emit(ld(Size::DW, 1, kFramePointer, Frame::kKey))
      .emit(ld(Size::DW, 2, kFramePointer, Frame::kFlags))
      .emit(Call{uapi::kRedirect})
      .emit(Exit{})
      .label("do_redirect_map")
      .emit(ld(Size::DW, 0, kFramePointer, Frame::kMap));
  for (std::size_t m = 0; m < redirect_maps.size(); ++m)
    s.jump(jmp(Cond::Eq, 0, std::int32_t(redirect_maps[m].handle), true), "rmap" + std::to_string(m));
  s.jump(Ja{0, false}, "drop");  // checked before: not reached
  for (std::size_t m = 0; m < redirect_maps.size(); ++m)
    s.label("rmap" + std::to_string(m))
        .emit(LoadMapFd{1, redirect_maps[m].fd})
        .emit(ld(Size::DW, 2, kFramePointer, Frame::kKey))
        .emit(ld(Size::DW, 3, kFramePointer, Frame::kFlags))
        .emit(Call{BPF_FUNC_redirect_map})
        .emit(Exit{});
}

Status check_binding(const TrampolineBinding& b) {
  if (b.cookie == 0) return err(EINVAL, "trampoline: the cookie must not be 0");
  std::set<std::uint32_t> seen;
  for (const auto* maps : {&b.redirect_maps, &b.perf_maps})
    for (const BoundMap& m : *maps) {
      if (m.handle == 0 || !seen.insert(m.handle).second)
        return err(EINVAL, "trampoline: map handle " + std::to_string(m.handle) + " is 0 or bound twice");
      if (m.fd < 0) return err(EINVAL, "trampoline: map handle " + std::to_string(m.handle) + " has no fd");
    }
  return Ok{};
}

std::vector<Insn> finish(const Snippet& s) {
  std::vector<Insn> out;
  for (const Emit& e : s.build()) out.push_back(e.insn);
  return out;
}

}  // namespace

Result<std::vector<Insn>> trampoline_insns(const TrampolineBinding& b) {
  if (Status st = check_binding(b); !st) return st.error();
  Snippet s;
  check_header(s, b.cookie, b.redirect_maps);
  // No perf map bound: no record can be valid (and the kernel refuses the
  // unreachable code the record handling would leave).
  if (b.perf_maps.empty())
    s.jump(jmp(Cond::Ne, kSamples, 0), "drop");
  else
    for (int i = 0; i < int(d::kMaxSamples); ++i) copy_record(s, i, b.perf_maps);
  s.label("records_done")
      .jump(jmp(Cond::Gt, kOffset, std::int32_t(d::kMaxDescriptorSize)), "drop")
      .emit(mov(1, Reg{kCtx}))
      .emit(mov(2, Reg{kOffset}))
      .emit(Call{uapi::kXdpAdjustHead})
      .jump(jmp(Cond::Ne, 0, 0), "drop");
  if (!b.perf_maps.empty())
    for (int i = 0; i < int(d::kMaxSamples); ++i) emit_record(s, i, b.perf_maps);
  s.label("samples_done");
  verdict(s, b.redirect_maps);
  s.label("pass").emit(mov(0, Imm{uapi::kPass})).emit(Exit{});
  s.label("drop").emit(mov(0, Imm{uapi::kDrop})).emit(Exit{});
  return finish(s);
}

std::vector<Insn> pass_insns() { return {mov(0, Imm{uapi::kPass}), Exit{}}; }

}  // namespace xo::guest
