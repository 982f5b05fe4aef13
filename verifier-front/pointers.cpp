// Pointer-flow pass: can a kernel address reach anything the guest observes?
// It does not reject; it decides whether the host may verify the program
// with pointer-leak rights (Report::pointer_safe).
//
// Why: the host kernel gives a loader either both or neither of
// allow_ptr_leaks and bypass_spec_v1 (both follow CAP_PERFMON). Guest code is
// loaded without them (host/core/load_caps.hpp), but without bypass_spec_v1
// the kernel also refuses every variable offset added to a packet pointer
// ("pointer arithmetic with it prohibited for !root"), and so most real XDP
// parsers (xdp1's VLAN walk). Such a program may be loaded with the
// privileges when this pass proves that, whatever the kernel would then
// allow, no address escapes:
//   * pointer values stay pointers: no ALU other than pointer +- scalar (and
//     packet - packet, a length, in 64 or 32 bits), no 32-bit copies, no
//     comparison other than a 64-bit NULL check or packet against packet,
//     never returned;
//   * pointers are stored only to the stack (8-byte, aligned spills), never
//     to a map, the packet or the context, and reach helpers only as the
//     pointer arguments of their prototypes (policy: HelperPointers);
//   * memory the guest can see is never filled from a spilled pointer or
//     from stack never written (a privileged load may read uninitialised
//     stack, which holds old kernel data): helper reads of the stack, partial
//     reads of a spill.
// Path-insensitive (kinds joined over paths), so it may say "not proven"
// for a leak-free program, never "safe" for a leaking one.
// Subprograms (bpf-to-bpf calls) are analysed in the context of each call,
// as if inlined, with one stack frame per call depth, as at run time: a
// callee starts with its own frame unwritten and the caller's frames as the
// caller left them (it may read or write them through a pointer argument);
// the caller resumes with the callee's effect on its frames, r0 from the
// callee, r1-r5 unreadable and r6-r9 kept. A callee may not return a
// pointer, nor store a stack pointer into a caller's frame (where it would
// outlive its frame). Callbacks (ld_imm64 of a function: bpf_loop, timers,
// for_each_map_elem) are not analysed (not proven).
//
//   2: r4 = r1          ; packet
//   3: r4 += r5         ; packet + scalar: still a packet pointer
//   7: *(u64 *)(r0 +0) = r4   ; r0 a map value: "stores a pointer into non-stack memory"
#include <array>
#include <bitset>
#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

#include "verifier-front/checks.hpp"

namespace xo::verifier {
namespace {

// What a register or stack slot may hold, joined over paths.
enum Kind : std::uint8_t {
  kScalar = 1,
  kCtx = 2,
  kPkt = 4,      // data, data_meta
  kPktEnd = 8,   // data_end
  kStack = 16,   // into this program's frame
  kMapValue = 32,
  kMap = 64,
  kOther = 128,  // any other pointer
};
using Kinds = std::uint8_t;
constexpr Kinds kPointers = Kinds(~kScalar);
constexpr Kinds kPacket = kPkt | kPktEnd;
constexpr int kRegs = 11;
constexpr int kSlots = 64;  // 512-byte frame in 8-byte slots; slot i = [-8(i+1), -8i)
constexpr int kMaxFrames = 8;  // the kernel's MAX_CALL_FRAMES

bool pointer(Kinds k) { return k & kPointers; }

struct Reg {
  Kinds kinds = 0;             // 0: never written
  std::int8_t frame = -1;      // kinds == kStack: the call depth of its frame, -1 unknown
  bool frame_known = false;    // kinds == kStack at a known offset,
  std::int32_t frame_off = 0;  //   r10 + frame_off of that frame
  std::int64_t map = -1;       // kinds == kMap: the guest map handle, when one
  bool operator==(const Reg&) const = default;
};

// One stack frame (of main or of a called subprogram).
struct Frame {
  std::array<Kinds, kSlots> slot{};  // kinds a slot may hold (spilled pointers, scalars)
  std::bitset<512> unwritten;        // byte fp-512+i may be unwritten
  Frame() { unwritten.set(); }
  bool operator==(const Frame&) const = default;
};

struct State {
  std::array<Reg, kRegs> r{};
  std::vector<Frame> frames;  // [0] main's; back() the running function's
  bool operator==(const State&) const = default;
  int depth() const { return int(frames.size()) - 1; }
  void join(const State& o) {
    for (int i = 0; i < kRegs; ++i) {
      Reg& a = r[i];
      const Reg& b = o.r[i];
      const bool same_frame = a.frame == b.frame;
      const bool same_off = a.frame_known && b.frame_known && a.frame_off == b.frame_off;
      const bool same_map = a.map == b.map;
      a.kinds |= b.kinds;
      a.frame = same_frame && a.kinds == kStack ? a.frame : std::int8_t(-1);
      a.frame_known = same_off && a.frame >= 0;
      if (!same_map || a.kinds != kMap) a.map = -1;
    }
    // States joined at a block share its call context: as many frames.
    for (std::size_t f = 0; f < frames.size() && f < o.frames.size(); ++f) {
      for (int i = 0; i < kSlots; ++i) frames[f].slot[i] |= o.frames[f].slot[i];
      frames[f].unwritten |= o.frames[f].unwritten;
    }
  }
};

Reg scalar() { return Reg{kScalar, -1, false, 0, -1}; }
Reg kind(Kinds k) { return Reg{k, -1, false, 0, -1}; }
Reg frame(int depth, std::int32_t off) { return Reg{kStack, std::int8_t(depth), true, off, -1}; }

// Bounds on the work: a program over kMaxInsns, or a fixpoint that takes
// more than kStepsPerInsn block visits per instruction, is "not proven"
// (never refused): a hostile program cannot make this pass expensive.
constexpr std::size_t kMaxInsns = 200'000;
constexpr std::size_t kStepsPerInsn = 16;

class PointerFlow {
 public:
  explicit PointerFlow(const Context& cx) : cx_(cx), n_(cx.size()) {}

  // nullopt: proven; otherwise the first reason it is not.
  std::optional<std::string> run() {
    if (n_ > kMaxInsns) return "it is too large to analyse";
    for (std::size_t i = 0; i < n_; ++i)
      if (std::holds_alternative<isa::LoadFunc>(cx_.insns[i]) && cx_.cfg.reachable[i])
        return at(i, "passes a callback (callbacks are not analysed)");
    budget_ = kStepsPerInsn * n_ + 1024;
    State entry;
    entry.r[1] = kind(kCtx);
    entry.r[isa::kFramePointer] = frame(0, 0);
    entry.frames.resize(1);
    std::optional<State> exit;
    return function(0, std::move(entry), exit);
  }

 private:
  std::string at(std::size_t i, const std::string& why) const {
    return "insn " + std::to_string(i < cx_.cfg.layout.size() ? cx_.cfg.layout[i] : i) + ": " + why;
  }

  // Runs the function whose entry is insn `first` from `entry` to a
  // fixpoint; `exit` becomes the join of its states at its exits (none when
  // it never returns). States are kept per basic block of the one CFG
  // (isa::Structure); a function's blocks are consecutive.
  std::optional<std::string> function(std::size_t first, State entry, std::optional<State>& exit) {
    const auto& blocks = cx_.cfg.blocks;
    const auto& sub = cx_.cfg.subprogram_at(first);
    const std::size_t b0 = cx_.cfg.block_of[sub.first], b1 = cx_.cfg.block_of[sub.end - 1] + 1;
    std::vector<std::optional<State>> in(b1 - b0);
    in[cx_.cfg.block_of[first] - b0] = std::move(entry);
    std::vector<std::size_t> work{cx_.cfg.block_of[first]};
    while (!work.empty()) {
      if (budget_ == 0) return "its analysis did not settle within its budget";
      --budget_;
      const std::size_t b = work.back();
      work.pop_back();
      State s = *in[b - b0];
      bool falls_off = true;
      for (std::size_t i = blocks[b].first; i <= blocks[b].last; ++i) {
        if (std::holds_alternative<isa::Exit>(cx_.insns[i])) {
          if (pointer(s.r[0].kinds)) return at(i, "may return a pointer");
          if (exit) exit->join(s);
          else exit = s;
          falls_off = false;
          break;
        }
        bool returns = true;
        if (auto why = step(i, s, returns)) return why;
        if (!returns) {  // a callee that never returns: nothing follows
          falls_off = false;
          break;
        }
      }
      if (!falls_off) continue;
      for (std::size_t tb : blocks[b].successors) {
        if (tb < b0 || tb >= b1) continue;  // not of this function (the CFG is intraprocedural)
        auto& slot = in[tb - b0];
        if (!slot) {
          slot = s;
          work.push_back(tb);
        } else {
          State joined = *slot;
          joined.join(s);
          if (!(joined == *slot)) {
            slot = std::move(joined);
            work.push_back(tb);
          }
        }
      }
    }
    return std::nullopt;
  }

  // A bpf-to-bpf call, analysed in this caller's context.
  std::optional<std::string> call_local(std::size_t i, State& s, bool& returns) {
    const std::size_t callee = cx_.cfg.callee[i];
    if (callee == isa::kNoInsn) return at(i, "a call whose target is unknown");
    if (s.depth() + 1 >= kMaxFrames) return at(i, "calls nest deeper than the kernel's 8 frames");
    State in;
    for (int a = 1; a <= 5; ++a) in.r[a] = s.r[a];
    in.frames = s.frames;
    in.frames.emplace_back();
    in.r[isa::kFramePointer] = frame(in.depth(), 0);
    std::optional<State> out;
    if (auto why = function(callee, std::move(in), out)) return why;
    if (!out) {
      returns = false;
      return std::nullopt;
    }
    // The caller's frames as the callee left them; r0 the callee's.
    out->frames.pop_back();
    s.frames = std::move(out->frames);
    s.r[0] = out->r[0];
    for (int a = 1; a <= 5; ++a) s.r[a] = Reg{};
    return std::nullopt;
  }

  // Slots and bytes [lo, hi) of the frame, clamped.
  static bool in_frame(std::int64_t lo, std::int64_t hi) { return lo >= -512 && hi <= 0 && lo < hi; }

  // May any byte of [lo, hi) of frame f hold a pointer's bytes or unwritten stack?
  static bool unsafe_bytes(const Frame& f, std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b) {
      if (f.unwritten[std::size_t(b + 512)]) return true;
      if (pointer(f.slot[std::size_t((-b - 1) / 8)])) return true;
    }
    return false;
  }
  static bool unsafe_unwritten(const Frame& f, std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b)
      if (f.unwritten[std::size_t(b + 512)]) return true;
    return false;
  }
  // Is anything a stack pointer `r` may reach unsafe? [lo, hi) when its
  // frame and offset are known and the range lies in it; else its whole
  // frame, or every frame when its frame is unknown.
  static bool unsafe_at(const State& s, const Reg& r, std::int64_t lo, std::int64_t hi) {
    if (r.frame >= 0 && r.frame <= s.depth()) {
      const Frame& f = s.frames[std::size_t(r.frame)];
      return r.frame_known && in_frame(lo, hi) ? unsafe_bytes(f, lo, hi) : unsafe_bytes(f, -512, 0);
    }
    for (const Frame& f : s.frames)
      if (unsafe_bytes(f, -512, 0)) return true;
    return false;
  }

  static void write_bytes(Frame& f, std::int64_t lo, std::int64_t hi, Kinds kinds) {
    for (std::int64_t b = lo; b < hi; ++b) f.unwritten[std::size_t(b + 512)] = false;
    const bool whole_slot = hi - lo == 8 && lo % 8 == 0;
    for (std::int64_t sl = (-hi) / 8; sl <= (-lo - 1) / 8; ++sl) {
      auto& k = f.slot[std::size_t(sl)];
      k = whole_slot ? kinds : Kinds(k | kinds);  // a partial write keeps what it did not overwrite
    }
  }

  // --- one instruction: check, then transfer ----------------------------------
  std::optional<std::string> step(std::size_t i, State& s, bool& returns) {
    const auto& insn = cx_.insns[i];
    if (auto* b = std::get_if<isa::Bin>(&insn)) return alu(i, *b, s);
    if (auto* u = std::get_if<isa::Un>(&insn)) {
      if (pointer(s.r[u->dst].kinds)) return at(i, "arithmetic on a pointer turns an address into a number");
      s.r[u->dst] = scalar();
      return std::nullopt;
    }
    if (auto* j = std::get_if<isa::Jmp>(&insn)) return jump(i, *j, s);
    if (auto* c = std::get_if<isa::Call>(&insn)) return call(i, *c, s);
    if (std::holds_alternative<isa::CallLocal>(insn)) return call_local(i, s, returns);
    if (auto* l = std::get_if<isa::Load>(&insn)) return load(i, *l, s);
    if (auto* st = std::get_if<isa::Store>(&insn)) return store(i, *st, s);
    if (auto* a = std::get_if<isa::Atomic>(&insn)) return atomic(i, *a, s);
    if (auto* m = std::get_if<isa::LoadImm64>(&insn)) {
      s.r[m->dst] = scalar();
      return std::nullopt;
    }
    if (auto* m = std::get_if<isa::LoadMapFd>(&insn)) {
      s.r[m->dst] = kind(kMap);
      s.r[m->dst].map = m->fd;
      return std::nullopt;
    }
    if (auto* m = std::get_if<isa::LoadMapValue>(&insn)) {
      s.r[m->dst] = kind(kMapValue);
      return std::nullopt;
    }
    // may_goto's counter lives in a hidden slot the program cannot address.
    if (std::holds_alternative<isa::Ja>(insn) || std::holds_alternative<isa::MayGoto>(insn)) return std::nullopt;
    return at(i, "an instruction form this check does not model");
  }

  std::optional<std::string> alu(std::size_t i, const isa::Bin& b, State& s) const {
    Reg& d = s.r[b.dst];
    const Reg* src = nullptr;
    if (auto* r = std::get_if<isa::Reg>(&b.src)) src = &s.r[*r];
    const bool src_ptr = src && pointer(src->kinds), dst_ptr = pointer(d.kinds);
    const bool mov = b.op == isa::AluOp::Mov || b.op == isa::AluOp::MovSx8 || b.op == isa::AluOp::MovSx16 ||
                     b.op == isa::AluOp::MovSx32;
    if (mov) {
      if (src_ptr && (b.op != isa::AluOp::Mov || !b.is64)) return at(i, "copies part of a pointer");
      d = src ? *src : scalar();
      return std::nullopt;
    }
    if (!dst_ptr && !src_ptr) {
      d = scalar();
      return std::nullopt;
    }
    const bool add = b.op == isa::AluOp::Add, sub = b.op == isa::AluOp::Sub;
    // packet - packet: a length, the one pointer difference that is no
    // address. In 32 bits too (w4 = data - data_end, as clang emits for a
    // __u32 length): the low 32 bits of a difference are the difference of
    // the low 32 bits, so still a function of the length alone.
    if (dst_ptr && src_ptr && sub && !(d.kinds & ~kPacket) && !(src->kinds & ~kPacket)) {
      d = scalar();
      return std::nullopt;
    }
    if (!b.is64 || !(add || sub)) return at(i, "arithmetic on a pointer turns an address into a number");
    if (dst_ptr && src_ptr) return at(i, "combines two pointers into a number");
    if (src_ptr) {  // scalar + pointer
      if (sub) return at(i, "subtracts a pointer from a number");
      d = *src;
      d.frame_known = false;
      d.map = -1;
      return std::nullopt;
    }
    // pointer +- scalar: the same object, the offset known only for an immediate.
    const auto* imm = std::get_if<isa::Imm>(&b.src);
    if (d.frame_known && imm) {
      d.frame_off = add ? d.frame_off + imm->v : d.frame_off - imm->v;
      if (d.frame_off < -(1 << 20) || d.frame_off > (1 << 20)) d.frame_known = false;
    } else {
      d.frame_known = false;
    }
    return std::nullopt;
  }

  std::optional<std::string> jump(std::size_t i, const isa::Jmp& j, const State& s) const {
    const Reg& d = s.r[j.dst];
    if (auto* imm = std::get_if<isa::Imm>(&j.src)) {
      if (!pointer(d.kinds)) return std::nullopt;
      const bool null_check = imm->v == 0 && (j.cond == isa::Cond::Eq || j.cond == isa::Cond::Ne);
      if (null_check && !j.is32) return std::nullopt;
      // w6 == 0 on a packet pointer (clang, for `if (!eth)` after a 32-bit
      // ctx->data): true when the address is 4 GiB-aligned, one address bit.
      if (null_check) return at(i, "compares the low 32 bits of a pointer with 0 (whether it is 4 GiB-aligned)");
      return at(i, "compares a pointer with a number");
    }
    const Reg& r = s.r[std::get<isa::Reg>(j.src)];
    if (!pointer(d.kinds) && !pointer(r.kinds)) return std::nullopt;
    if (!j.is32 && !(d.kinds & ~kPacket) && !(r.kinds & ~kPacket)) return std::nullopt;  // bounds checks
    return at(i, "compares a pointer with something other than a packet pointer");
  }

  // The value `mov r, imm` (or ld_imm64) gives r in call i's basic block,
  // when that is the last write to r before the call; nullopt otherwise.
  std::optional<std::uint32_t> constant_in_block(std::size_t i, isa::Reg r) const {
    const std::size_t first = cx_.cfg.blocks[cx_.cfg.block_of[i]].first;
    for (std::size_t j = i; j-- > first;) {
      const isa::Insn& in = cx_.insns[j];
      if (const auto* b = std::get_if<isa::Bin>(&in); b && b->dst == r) {
        const auto* imm = std::get_if<isa::Imm>(&b->src);
        if (b->op == isa::AluOp::Mov && imm && imm->v >= 0) return std::uint32_t(imm->v);
        return std::nullopt;
      }
      if (const auto* l = std::get_if<isa::LoadImm64>(&in); l && l->dst == r)
        return l->imm <= 0xffffffffu ? std::optional<std::uint32_t>(std::uint32_t(l->imm)) : std::nullopt;
      const bool clobbers = std::visit(
          [&](const auto& x) -> bool {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, isa::Call> || std::is_same_v<T, isa::CallLocal> ||
                          std::is_same_v<T, isa::CallKfunc> || std::is_same_v<T, isa::LegacyLoad>)
              return r <= 5;
            else if constexpr (std::is_same_v<T, isa::Atomic>)
              return (x.op == isa::AtomicOp::CmpXchg && r == 0) || (x.fetch && x.src == r);
            else if constexpr (requires { x.dst; } && !std::is_same_v<T, isa::Jmp>)
              return x.dst == r;
            else
              return false;
          },
          in);
      if (clobbers) return std::nullopt;
    }
    return std::nullopt;
  }

  std::optional<std::string> call(std::size_t i, const isa::Call& c, State& s) const {
    const HelperProto* proto = cx_.policy.helper(c.helper);
    if (!proto) return at(i, "an unknown helper");
    const HelperPointers& hp = proto->pointers;
    // Registers past the prototype's arguments are not read (and clobbered).
    for (int a = 1; a <= proto->nargs && a <= 5; ++a) {
      const std::uint8_t bit = std::uint8_t(1u << (a - 1));
      const Reg& r = s.r[a];
      if (!pointer(r.kinds)) continue;
      if (!(hp.args & bit)) return at(i, "passes a pointer to " + proto->name + " as a number (r" + std::to_string(a) + ")");
      if (!(hp.reads & bit) || !(r.kinds & kStack)) continue;  // maps and packets never hold pointers
      // The helper copies stack bytes somewhere the guest may see them.
      std::optional<std::uint32_t> size;
      const MapDef* m = s.r[1].map >= 0 ? cx_.maps.find(std::uint32_t(s.r[1].map)) : nullptr;
      if (m && (a == hp.key_arg || a == hp.value_arg)) size = a == hp.key_arg ? m->key_size : m->value_size;
      if (!size && hp.size_arg) size = constant_in_block(i, isa::Reg(hp.size_arg));
      const bool exact = r.kinds == kStack && r.frame_known;
      const std::int64_t lo = exact ? r.frame_off : -512;
      const std::int64_t hi = exact && size ? lo + *size : 0;
      if (unsafe_at(s, r, lo, hi))
        return at(i, proto->name + " reads stack (r" + std::to_string(a) +
                         ") that may hold a spilled pointer or unwritten bytes");
    }
    for (int a = 1; a <= 5; ++a) s.r[a] = Reg{};
    s.r[0] = hp.returns_pointer ? kind(kMapValue | kScalar) : scalar();
    return std::nullopt;
  }

  std::optional<std::string> load(std::size_t i, const isa::Load& l, State& s) const {
    const Reg& base = s.r[l.base];
    const std::int64_t size = std::int64_t(l.size);
    Kinds out = 0;
    if (base.kinds & kCtx) {  // struct xdp_md: data, data_end, data_meta are pointers
      out |= Kinds(l.off == 0 || l.off == 8 ? kPkt : l.off == 4 ? kPktEnd : kScalar);
    }
    if (base.kinds & kStack) {
      const bool exact = base.kinds == kStack && base.frame >= 0 && base.frame_known;
      const std::int64_t lo = exact ? std::int64_t(base.frame_off) + l.off : -512;
      const std::int64_t hi = exact ? lo + size : 0;
      const Frame* f = exact ? &s.frames[std::size_t(base.frame)] : nullptr;
      if (!exact || !in_frame(lo, hi)) {
        if (unsafe_at(s, base, lo, hi))
          return at(i, "reads the stack at an unknown offset where pointers or unwritten bytes may be");
        out |= kScalar;
      } else if (size == 8 && lo % 8 == 0 && !unsafe_unwritten(*f, lo, hi)) {
        out |= f->slot[std::size_t((-lo - 1) / 8)];  // a whole spill comes back as it went
      } else if (unsafe_bytes(*f, lo, hi)) {
        return at(i, "reads part of a spilled pointer or stack never written");
      } else {
        out |= kScalar;
      }
    }
    if (base.kinds & (kPacket | kMapValue | kMap | kScalar)) out |= kScalar;  // they never hold pointers
    if (base.kinds & kOther) out |= kOther | kScalar;
    s.r[l.dst] = kind(out ? out : Kinds(kScalar));
    return std::nullopt;
  }

  std::optional<std::string> store(std::size_t i, const isa::Store& st, State& s) const {
    const Reg& base = s.r[st.base];
    Kinds kinds = kScalar;
    if (auto* r = std::get_if<isa::Reg>(&st.src)) kinds = s.r[*r].kinds ? s.r[*r].kinds : Kinds(kScalar);
    const std::int64_t size = std::int64_t(st.size);
    const bool exact = base.kinds == kStack && base.frame >= 0 && base.frame_known;
    const std::int64_t lo = std::int64_t(base.frame_off) + st.off;
    if (pointer(kinds)) {
      const bool spill = exact && size == 8 && lo % 8 == 0 && in_frame(lo, lo + 8);
      if (!spill) return at(i, "stores a pointer where it is not an aligned 8-byte stack spill");
      // The kernel's rule too: a frame's address must not outlive the frame.
      if ((kinds & kStack) && base.frame < s.depth())
        return at(i, "stores a stack pointer into a caller's frame");
    }
    if (exact && in_frame(lo, lo + size)) write_bytes(s.frames[std::size_t(base.frame)], lo, lo + size, kinds);
    // Unknown frame or offset: nothing is known written, nothing is cleared.
    return std::nullopt;
  }

  std::optional<std::string> atomic(std::size_t i, const isa::Atomic& a, State& s) const {
    if (pointer(s.r[a.src].kinds) || (a.op == isa::AtomicOp::CmpXchg && pointer(s.r[0].kinds)))
      return at(i, "an atomic operation on a pointer");
    const Reg& base = s.r[a.base];
    if (base.kinds & kStack) {
      const std::int64_t lo = base.frame_known ? std::int64_t(base.frame_off) + a.off : -512;
      const std::int64_t hi = base.frame_known ? lo + std::int64_t(a.size) : 0;
      if (unsafe_at(s, base, lo, hi))
        return at(i, "an atomic operation on stack that may hold a spilled pointer or unwritten bytes");
    }
    if (a.op == isa::AtomicOp::CmpXchg) s.r[0] = scalar();
    else if (a.fetch) s.r[a.src] = scalar();
    return std::nullopt;
  }

  const Context& cx_;
  const std::size_t n_;
  std::size_t budget_ = 0;  // block visits left, over every call
};

}  // namespace

void check_pointer_flow(Context& cx) {
  auto why = PointerFlow(cx).run();
  cx.report.pointer_safe = !why;
  if (why) cx.report.pointer_note = *why;
}

}  // namespace xo::verifier
