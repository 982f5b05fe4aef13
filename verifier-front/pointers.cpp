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
//     packet - packet, a length), no 32-bit copies, no comparison other than
//     a NULL check or packet against packet, never returned;
//   * pointers are stored only to the stack (8-byte, aligned spills), never
//     to a map, the packet or the context, and reach helpers only as the
//     pointer arguments of their prototypes (policy: HelperPointers);
//   * memory the guest can see is never filled from a spilled pointer or
//     from stack never written (a privileged load may read uninitialised
//     stack, which holds old kernel data): helper reads of the stack, partial
//     reads of a spill.
// Path-insensitive (kinds joined over paths), so it may say "not proven"
// for a leak-free program, never "safe" for a leaking one. Programs with
// subprograms or callbacks are not analysed (not proven).
//
//   2: r4 = r1          ; packet
//   3: r4 += r5         ; packet + scalar: still a packet pointer
//   7: *(u64 *)(r0 +0) = r4   ; r0 a map value: "stores a pointer into non-stack memory"
#include <array>
#include <bitset>
#include <optional>
#include <variant>

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
constexpr std::uint8_t kPointers = std::uint8_t(~kScalar);
constexpr std::uint8_t kPacket = kPkt | kPktEnd;
constexpr int kRegs = 11;
constexpr int kSlots = 64;  // 512-byte frame in 8-byte slots; slot i = [-8(i+1), -8i)

bool pointer(std::uint8_t k) { return k & kPointers; }

struct Reg {
  std::uint8_t kinds = 0;      // 0: never written
  bool frame_known = false;    // kinds == kStack at a known offset,
  std::int32_t frame_off = 0;  //   r10 + frame_off
  std::int64_t map = -1;       // kinds == kMap: the guest map handle, when one
  bool operator==(const Reg&) const = default;
};

struct State {
  std::array<Reg, kRegs> r{};
  std::array<std::uint8_t, kSlots> slot{};  // kinds a slot may hold (spilled pointers, scalars)
  std::bitset<512> unwritten;               // byte fp-512+i may be unwritten

  bool operator==(const State&) const = default;
  void join(const State& o) {
    for (int i = 0; i < kRegs; ++i) {
      Reg& a = r[i];
      const Reg& b = o.r[i];
      const bool same_frame = a.frame_known && b.frame_known && a.frame_off == b.frame_off;
      const bool same_map = a.map == b.map;
      a.kinds |= b.kinds;
      a.frame_known = same_frame && a.kinds == kStack;
      if (!same_map || a.kinds != kMap) a.map = -1;
    }
    for (int i = 0; i < kSlots; ++i) slot[i] |= o.slot[i];
    unwritten |= o.unwritten;
  }
};

Reg scalar() { return Reg{kScalar, false, 0, -1}; }
Reg kind(std::uint8_t k) { return Reg{k, false, 0, -1}; }
Reg frame(std::int32_t off) { return Reg{kStack, true, off, -1}; }

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
    if (cx_.cfg.subprograms.size() > 1) return "it has subprograms or callbacks (not analysed)";
    if (n_ > kMaxInsns) return "it is too large to analyse";
    State entry;
    entry.r[1] = kind(kCtx);
    entry.r[isa::kFramePointer] = frame(0);
    entry.unwritten.set();
    // States are kept per basic block of the one CFG (isa::Structure).
    const auto& blocks = cx_.cfg.blocks;
    in_.assign(blocks.size(), std::nullopt);
    in_[cx_.cfg.block_of[0]] = entry;
    std::vector<std::size_t> work{cx_.cfg.block_of[0]};
    std::size_t budget = kStepsPerInsn * n_ + 1024;
    while (!work.empty()) {
      if (budget-- == 0) return "its analysis did not settle within its budget";
      const std::size_t b = work.back();
      work.pop_back();
      State s = *in_[b];
      for (std::size_t i = blocks[b].first; i <= blocks[b].last; ++i)
        if (auto why = step(i, s)) return why;
      for (std::size_t tb : blocks[b].successors) {
        if (!in_[tb]) {
          in_[tb] = s;
          work.push_back(tb);
        } else {
          State joined = *in_[tb];
          joined.join(s);
          if (!(joined == *in_[tb])) {
            in_[tb] = std::move(joined);
            work.push_back(tb);
          }
        }
      }
    }
    return std::nullopt;
  }

 private:
  std::string at(std::size_t i, const std::string& why) const {
    return "insn " + std::to_string(i < cx_.cfg.layout.size() ? cx_.cfg.layout[i] : i) + ": " + why;
  }

  // Slots and bytes [lo, hi) of the frame, clamped.
  static bool in_frame(std::int64_t lo, std::int64_t hi) { return lo >= -512 && hi <= 0 && lo < hi; }

  // May any byte of [lo, hi) hold a pointer's bytes or unwritten stack?
  static bool unsafe_bytes(const State& s, std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b) {
      if (s.unwritten[std::size_t(b + 512)]) return true;
      if (pointer(s.slot[std::size_t((-b - 1) / 8)])) return true;
    }
    return false;
  }
  static bool any_unsafe(const State& s) { return unsafe_bytes(s, -512, 0); }

  void write_bytes(State& s, std::int64_t lo, std::int64_t hi, std::uint8_t kinds) const {
    for (std::int64_t b = lo; b < hi; ++b) s.unwritten[std::size_t(b + 512)] = false;
    const bool whole_slot = hi - lo == 8 && lo % 8 == 0;
    for (std::int64_t sl = (-hi) / 8; sl <= (-lo - 1) / 8; ++sl) {
      auto& k = s.slot[std::size_t(sl)];
      k = whole_slot ? kinds : std::uint8_t(k | kinds);  // a partial write keeps what it did not overwrite
    }
  }

  // --- one instruction: check, then transfer ----------------------------------
  std::optional<std::string> step(std::size_t i, State& s) const {
    const auto& insn = cx_.insns[i];
    if (auto* b = std::get_if<isa::Bin>(&insn)) return alu(i, *b, s);
    if (auto* u = std::get_if<isa::Un>(&insn)) {
      if (pointer(s.r[u->dst].kinds)) return at(i, "arithmetic on a pointer turns an address into a number");
      s.r[u->dst] = scalar();
      return std::nullopt;
    }
    if (auto* j = std::get_if<isa::Jmp>(&insn)) return jump(i, *j, s);
    if (auto* c = std::get_if<isa::Call>(&insn)) return call(i, *c, s);
    if (std::holds_alternative<isa::Exit>(insn)) {
      if (pointer(s.r[0].kinds)) return at(i, "may return a pointer");
      return std::nullopt;
    }
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
    if (std::holds_alternative<isa::Ja>(insn)) return std::nullopt;
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
    if (!b.is64 || !(add || sub)) return at(i, "arithmetic on a pointer turns an address into a number");
    if (dst_ptr && src_ptr) {
      // packet - packet: a length, the one pointer difference that is no address.
      if (sub && !(d.kinds & ~kPacket) && !(src->kinds & ~kPacket)) {
        d = scalar();
        return std::nullopt;
      }
      return at(i, "combines two pointers into a number");
    }
    if (src_ptr) {  // scalar + pointer
      if (sub) return at(i, "subtracts a pointer from a number");
      d = kind(src->kinds);
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
      if (imm->v == 0 && !j.is32 && (j.cond == isa::Cond::Eq || j.cond == isa::Cond::Ne)) return std::nullopt;
      return at(i, "compares a pointer with a number");
    }
    const Reg& r = s.r[std::get<isa::Reg>(j.src)];
    if (!pointer(d.kinds) && !pointer(r.kinds)) return std::nullopt;
    if (!j.is32 && !(d.kinds & ~kPacket) && !(r.kinds & ~kPacket)) return std::nullopt;  // bounds checks
    return at(i, "compares a pointer with something other than a packet pointer");
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
      const bool exact = r.kinds == kStack && r.frame_known;
      const std::int64_t lo = exact ? r.frame_off : -512;
      const std::int64_t hi = exact && size ? lo + *size : 0;
      if (!in_frame(lo, hi) ? any_unsafe(s) : unsafe_bytes(s, lo, hi))
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
    std::uint8_t out = 0;
    if (base.kinds & kCtx) {  // struct xdp_md: data, data_end, data_meta are pointers
      out |= std::uint8_t(l.off == 0 || l.off == 8 ? kPkt : l.off == 4 ? kPktEnd : kScalar);
    }
    if (base.kinds & kStack) {
      const std::int64_t lo = base.frame_known ? std::int64_t(base.frame_off) + l.off : -512;
      const std::int64_t hi = base.frame_known ? lo + size : 0;
      if (!in_frame(lo, hi)) {
        if (any_unsafe(s)) return at(i, "reads the stack at an unknown offset where pointers or unwritten bytes may be");
        out |= kScalar;
      } else if (size == 8 && lo % 8 == 0 && !unsafe_bytes_unwritten(s, lo, hi)) {
        out |= s.slot[std::size_t((-lo - 1) / 8)];  // a whole spill comes back as it went
      } else if (unsafe_bytes(s, lo, hi)) {
        return at(i, "reads part of a spilled pointer or stack never written");
      } else {
        out |= kScalar;
      }
    }
    if (base.kinds & (kPacket | kMapValue | kMap | kScalar)) out |= kScalar;  // they never hold pointers
    if (base.kinds & kOther) out |= kOther | kScalar;
    s.r[l.dst] = kind(out ? out : std::uint8_t(kScalar));
    return std::nullopt;
  }
  static bool unsafe_bytes_unwritten(const State& s, std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b)
      if (s.unwritten[std::size_t(b + 512)]) return true;
    return false;
  }

  std::optional<std::string> store(std::size_t i, const isa::Store& st, State& s) const {
    const Reg& base = s.r[st.base];
    std::uint8_t kinds = kScalar;
    if (auto* r = std::get_if<isa::Reg>(&st.src)) kinds = s.r[*r].kinds ? s.r[*r].kinds : std::uint8_t(kScalar);
    const std::int64_t size = std::int64_t(st.size);
    if (pointer(kinds)) {
      const bool spill = base.kinds == kStack && base.frame_known && size == 8 &&
                         (std::int64_t(base.frame_off) + st.off) % 8 == 0 &&
                         in_frame(std::int64_t(base.frame_off) + st.off, std::int64_t(base.frame_off) + st.off + 8);
      if (!spill) return at(i, "stores a pointer where it is not an aligned 8-byte stack spill");
    }
    if (base.kinds & kStack) {
      if (base.frame_known) {
        const std::int64_t lo = std::int64_t(base.frame_off) + st.off;
        if (in_frame(lo, lo + size)) write_bytes(s, lo, lo + size, kinds);
      }
      // Unknown offset: nothing is known written, nothing is cleared.
    }
    return std::nullopt;
  }

  std::optional<std::string> atomic(std::size_t i, const isa::Atomic& a, State& s) const {
    if (pointer(s.r[a.src].kinds) || (a.op == isa::AtomicOp::CmpXchg && pointer(s.r[0].kinds)))
      return at(i, "an atomic operation on a pointer");
    const Reg& base = s.r[a.base];
    if (base.kinds & kStack) {
      const std::int64_t lo = base.frame_known ? std::int64_t(base.frame_off) + a.off : -512;
      const std::int64_t hi = base.frame_known ? lo + std::int64_t(a.size) : 0;
      if (in_frame(lo, hi) ? unsafe_bytes(s, lo, hi) : any_unsafe(s))
        return at(i, "an atomic operation on stack that may hold a spilled pointer or unwritten bytes");
    }
    if (a.op == isa::AtomicOp::CmpXchg) s.r[0] = scalar();
    else if (a.fetch) s.r[a.src] = scalar();
    return std::nullopt;
  }

  const Context& cx_;
  const std::size_t n_;
  std::vector<std::optional<State>> in_;  // per block
};

}  // namespace

void check_pointer_flow(Context& cx) {
  auto why = PointerFlow(cx).run();
  cx.report.pointer_safe = !why;
  if (why) cx.report.pointer_note = *why;
}

}  // namespace xo::verifier
