// Dataflow pass: what the kernel's do_check() rejects on every path, found
// with a path-insensitive analysis that over-approximates every path:
//   * reads of registers that no path initialises ("R3 !read_ok"), helper
//     arguments r1..r(nargs) included;
//   * writes to r10 ("frame pointer is read only");
//   * stack accesses at a constant offset from r10 outside [-512, 0)
//     (the access size counts: r10 - 4 with a DW store crosses 0);
//   * division or modulo by the constant 0 ("div by zero").
// "Maybe initialised" joins by union and "r10 + k" holds only when every path
// agrees, so a fact reported here holds on every path the kernel could take.
// It is reported only at instructions the kernel is certain to visit
// (coverage.cpp): dead code is the kernel's to prune, not ours to reject.
//
//   0: r2 = r10
//   1: r2 += -8
//   2: *(u64 *)(r2 + 8) = r1    ; [0, 8) is above the frame
//   -> prog 'p': insn 2: stack access [0, 8) through r2 = r10+0 is outside the 512-byte frame [-512, 0)
//
// It also tracks constants (mov/ld_imm64 and simple ALU on them) and
// subprogram addresses (ld_imm64 BPF_PSEUDO_FUNC), and records, at every
// reachable call of a loop helper, the count and callback it is given
// (Context::loop_calls, bounded by loops.cpp).
//
// Calls: after a helper or bpf-to-bpf call r0 holds the result and r1-r5 are
// clobbered; a subprogram starts with r1-r5 possibly initialised (its
// callers' arguments), r10 set, and r0, r6-r9 uninitialised. The main
// program starts with r1 (ctx) and r10.
#include <algorithm>
#include <array>
#include <optional>
#include <variant>

#include "verifier-front/checks.hpp"

namespace xo::verifier {
namespace {

#define TRY(expr)                  \
  do {                             \
    if (auto s_ = (expr); !s_) return s_; \
  } while (0)

constexpr int kRegs = 11;
constexpr std::int64_t kStackSize = 512;
constexpr std::int64_t kMaxTrackedOffset = std::int64_t(1) << 29;

// What we know of a register's value, agreed by every path that sets it.
// Const is one value on every path; AtMost is "one of several constants,
// the largest being off" (paths that set different constants joined; any
// arithmetic on it gives Any, so joins cannot climb forever).
struct Val {
  enum Kind : std::uint8_t { NoInfo, Frame, Const, AtMost, Func, Any } kind = NoInfo;
  std::int64_t off = 0;  // Frame: r10 + off; Const, AtMost: the value (as u64); Func: entry insn index
  bool operator==(const Val&) const = default;
};

Val constant(std::uint64_t v) { return Val{Val::Const, static_cast<std::int64_t>(v)}; }

// dst op imm on a known constant; nullopt for ops not folded (they make Any).
std::optional<std::uint64_t> fold(isa::AluOp op, bool is64, std::uint64_t a, std::int32_t imm) {
  const std::uint64_t b = is64 ? std::uint64_t(std::int64_t(imm)) : std::uint32_t(imm);
  if (!is64) a = std::uint32_t(a);
  const unsigned width = is64 ? 64 : 32;
  std::uint64_t r = 0;
  switch (op) {
    case isa::AluOp::Add: r = a + b; break;
    case isa::AluOp::Sub: r = a - b; break;
    case isa::AluOp::Mul: r = a * b; break;
    case isa::AluOp::Or: r = a | b; break;
    case isa::AluOp::And: r = a & b; break;
    case isa::AluOp::Xor: r = a ^ b; break;
    case isa::AluOp::Lsh: r = (b < width) ? a << b : 0; break;
    case isa::AluOp::Rsh: r = (b < width) ? a >> b : 0; break;
    default: return std::nullopt;
  }
  return is64 ? r : std::uint32_t(r);
}

Val join(Val a, Val b) {
  if (a.kind == Val::NoInfo) return b;
  if (b.kind == Val::NoInfo || a == b) return a;
  const bool numbers = (a.kind == Val::Const || a.kind == Val::AtMost) && (b.kind == Val::Const || b.kind == Val::AtMost);
  if (numbers) return Val{Val::AtMost, std::int64_t(std::max(std::uint64_t(a.off), std::uint64_t(b.off)))};
  return Val{Val::Any, 0};
}

struct State {
  std::uint16_t init = 0;  // bit r: maybe initialised on some path
  std::array<Val, kRegs> val{};

  bool is_init(isa::Reg r) const { return init & (1u << r); }
  void set(isa::Reg r, Val v) {
    init |= std::uint16_t(1u << r);
    val[r] = v;
  }
  void clobber(isa::Reg r) {
    init &= std::uint16_t(~(1u << r));
    val[r] = Val{};
  }
  bool join_from(const State& o) {
    State before = *this;
    init |= o.init;
    for (int r = 0; r < kRegs; ++r) val[r] = join(val[r], o.val[r]);
    return !(before.init == init && before.val == val);
  }
};

State entry_state(bool main_program) {
  State s;
  s.set(isa::kFramePointer, Val{Val::Frame, 0});
  s.set(1, Val{Val::Any, 0});
  if (!main_program)
    for (isa::Reg r = 2; r <= 5; ++r) s.set(r, Val{Val::Any, 0});
  return s;
}

std::string reg(isa::Reg r) { return "r" + std::to_string(r); }

std::int64_t size_bytes(isa::Size s) { return static_cast<std::int64_t>(s); }

class Dataflow {
 public:
  explicit Dataflow(Context& cx) : cx_(cx) {}

  Status run() {
    in_.assign(blocks().size(), State{});
    has_in_.assign(blocks().size(), false);
    solve();
    record_loop_calls();
    return check();
  }

 private:
  // Basic blocks of the one CFG, ordered by their first instruction.
  const std::vector<isa::BasicBlock>& blocks() const { return cx_.cfg.blocks; }

  // --- transfer ---------------------------------------------------------------
  void transfer(std::size_t i, State& s) const {
    if (auto* f = std::get_if<isa::LoadFunc>(&cx_.insns[i])) {
      s.set(f->dst, Val{Val::Func, static_cast<std::int64_t>(cx_.cfg.callee[i])});
      return;
    }
    std::visit([&](const auto& insn) { step(insn, s); }, cx_.insns[i]);
  }

  static void clobber_call(State& s) {
    s.set(0, Val{Val::Any, 0});
    for (isa::Reg r = 1; r <= 5; ++r) s.clobber(r);
  }

  static void step(const isa::Bin& b, State& s) {
    if (b.op == isa::AluOp::Mov) {
      if (auto* r = std::get_if<isa::Reg>(&b.src)) {
        const Val v = s.val[*r];
        if (s.is_init(*r) && b.is64)
          s.set(b.dst, v);
        else if (s.is_init(*r) && v.kind == Val::Const)
          s.set(b.dst, constant(std::uint32_t(v.off)));  // w-mov zero-extends
        else if (s.is_init(*r))
          s.set(b.dst, Val{Val::Any, 0});
        else
          s.clobber(b.dst);
      } else {
        const std::int32_t imm = std::get<isa::Imm>(b.src).v;
        s.set(b.dst, constant(b.is64 ? std::uint64_t(std::int64_t(imm)) : std::uint32_t(imm)));
      }
      return;
    }
    Val out{Val::Any, 0};
    const Val cur = s.val[b.dst];
    const auto* imm = std::get_if<isa::Imm>(&b.src);
    if (b.is64 && cur.kind == Val::Frame && imm &&
        (b.op == isa::AluOp::Add || b.op == isa::AluOp::Sub)) {
      const std::int64_t off = b.op == isa::AluOp::Add ? cur.off + imm->v : cur.off - imm->v;
      if (off > -kMaxTrackedOffset && off < kMaxTrackedOffset) out = Val{Val::Frame, off};
    } else if (cur.kind == Val::Const && imm) {
      if (auto r = fold(b.op, b.is64, std::uint64_t(cur.off), imm->v)) out = constant(*r);
    }
    s.set(b.dst, out);
  }
  static void step(const isa::Un& u, State& s) { s.set(u.dst, Val{Val::Any, 0}); }
  static void step(const isa::Call&, State& s) { clobber_call(s); }
  static void step(const isa::CallLocal&, State& s) { clobber_call(s); }
  static void step(const isa::CallKfunc&, State& s) { clobber_call(s); }
  static void step(const isa::LegacyLoad&, State& s) { clobber_call(s); }
  static void step(const isa::Load& l, State& s) { s.set(l.dst, Val{Val::Any, 0}); }
  static void step(const isa::Atomic& a, State& s) {
    if (a.op == isa::AtomicOp::CmpXchg)
      s.set(0, Val{Val::Any, 0});
    else if (a.fetch)
      s.set(a.src, Val{Val::Any, 0});
  }
  static void step(const isa::LoadImm64& l, State& s) { s.set(l.dst, constant(l.imm)); }
  template <typename T>
  static void step(const T& insn, State& s) {
    if constexpr (requires { insn.dst; }) s.set(insn.dst, Val{Val::Any, 0});  // other ld_imm64 forms
  }
  static void step(const isa::Store&, State&) {}
  static void step(const isa::Jmp&, State&) {}
  static void step(const isa::Ja&, State&) {}
  static void step(const isa::MayGoto&, State&) {}
  static void step(const isa::Exit&, State&) {}

  // --- fixpoint -------------------------------------------------------------
  void propagate(std::size_t to, const State& s, std::vector<std::size_t>& work) {
    const std::size_t b = cx_.cfg.block_of[to];
    if (!has_in_[b]) {
      has_in_[b] = true;
      in_[b] = s;
      work.push_back(b);
    } else if (in_[b].join_from(s)) {
      work.push_back(b);
    }
  }

  void solve() {
    std::vector<std::size_t> work;
    for (std::size_t sp = 0; sp < cx_.cfg.subprograms.size(); ++sp) {
      const std::size_t b = cx_.cfg.block_of[cx_.cfg.subprograms[sp].first];
      in_[b] = entry_state(sp == 0);
      has_in_[b] = true;
      work.push_back(b);
    }
    while (!work.empty()) {
      const std::size_t b = work.back();
      work.pop_back();
      State s = in_[b];
      const isa::BasicBlock& block = blocks()[b];
      for (std::size_t i = block.first; i <= block.last; ++i) transfer(i, s);
      for (std::size_t t : cx_.cfg.succ[block.last])
        if (t != kNone) propagate(t, s, work);
    }
  }

  // --- loop helpers -------------------------------------------------------------
  // Every path agrees on a Const / Func value (or sets one of several
// constants: AtMost), or the record says unknown.
  void record_loop_calls() {
    for (std::size_t b = 0; b < blocks().size(); ++b) {
      if (!has_in_[b]) continue;
      State s = in_[b];
      for (std::size_t i = blocks()[b].first; i <= blocks()[b].last; ++i) {
        if (auto* c = std::get_if<isa::Call>(&cx_.insns[i])) {
          const HelperProto* proto = cx_.policy.helper(c->helper);
          if (proto && proto->loop_count_arg >= 1 && proto->loop_count_arg <= 5) {
            LoopCall lc;
            lc.insn = i;
            lc.helper = proto;
            const Val n = s.val[proto->loop_count_arg];
            if (s.is_init(proto->loop_count_arg) && n.kind == Val::Const) lc.count = std::uint64_t(n.off);
            if (s.is_init(proto->loop_count_arg) && n.kind == Val::AtMost) {
              lc.count = std::uint64_t(n.off);
              lc.count_is_bound = true;
            }
            if (proto->loop_callback_arg >= 1 && proto->loop_callback_arg <= 5) {
              const Val f = s.val[proto->loop_callback_arg];
              if (s.is_init(proto->loop_callback_arg) && f.kind == Val::Func) lc.callback = std::size_t(f.off);
            }
            cx_.loop_calls.push_back(lc);
          }
        }
        transfer(i, s);
      }
    }
    std::sort(cx_.loop_calls.begin(), cx_.loop_calls.end(),
              [](const LoopCall& a, const LoopCall& b) { return a.insn < b.insn; });
  }

  // --- checks -----------------------------------------------------------------
  Status need(std::size_t i, const State& s, isa::Reg r, const std::string& what) const {
    if (s.is_init(r)) return Ok{};
    return reject_insn(cx_, i, what + reg(r) + ", which no path initialises (kernel: R" +
                                   std::to_string(r) + " !read_ok)");
  }
  Status need(std::size_t i, const State& s, isa::Reg r) const {
    return need(i, s, r, "reads ");
  }
  Status write(std::size_t i, isa::Reg r) const {
    if (r != isa::kFramePointer) return Ok{};
    return reject_insn(cx_, i, "writes r10, the read-only frame pointer (kernel: frame pointer "
                               "is read only)");
  }
  Status stack(std::size_t i, const State& s, isa::Reg base, std::int16_t off,
               isa::Size size) const {
    const Val v = s.val[base];
    if (v.kind != Val::Frame) return Ok{};
    const std::int64_t lo = v.off + off, hi = lo + size_bytes(size);
    if (lo >= -kStackSize && hi <= 0) return Ok{};
    std::string through = base == isa::kFramePointer
                              ? "r10"
                              : reg(base) + " = r10" + (v.off < 0 ? "" : "+") + std::to_string(v.off);
    return reject_insn(cx_, i, "stack access [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                   ") through " + through +
                                   " is outside the 512-byte frame [-512, 0) (kernel: invalid "
                                   "stack access)");
  }

  Status check_insn(std::size_t i, const State& s) const {
    const auto& insn = cx_.insns[i];
    if (auto* b = std::get_if<isa::Bin>(&insn)) {
      if (auto* r = std::get_if<isa::Reg>(&b->src)) TRY(need(i, s, *r));
      const bool mov = b->op == isa::AluOp::Mov || b->op == isa::AluOp::MovSx8 ||
                       b->op == isa::AluOp::MovSx16 || b->op == isa::AluOp::MovSx32;
      if (!mov) TRY(need(i, s, b->dst));
      const bool div = b->op == isa::AluOp::Div || b->op == isa::AluOp::SDiv ||
                       b->op == isa::AluOp::Mod || b->op == isa::AluOp::SMod;
      if (auto* imm = std::get_if<isa::Imm>(&b->src); div && imm && imm->v == 0) {
        const bool mod = b->op == isa::AluOp::Mod || b->op == isa::AluOp::SMod;
        return reject_insn(cx_, i, std::string(mod ? "modulo" : "division") +
                                       " by the constant 0 (kernel: div by zero)");
      }
      return write(i, b->dst);
    }
    if (auto* u = std::get_if<isa::Un>(&insn)) {
      TRY(need(i, s, u->dst));
      return write(i, u->dst);
    }
    if (auto* j = std::get_if<isa::Jmp>(&insn)) {
      TRY(need(i, s, j->dst));
      if (auto* r = std::get_if<isa::Reg>(&j->src)) TRY(need(i, s, *r));
      return Ok{};
    }
    if (auto* c = std::get_if<isa::Call>(&insn)) {
      const HelperProto* proto = cx_.policy.helper(c->helper);
      if (!proto) return Ok{};  // helpers.cpp rejected it already
      const std::string what = "helper " + proto->name + " (" + std::to_string(c->helper) +
                               ") takes " + std::to_string(proto->nargs) + " arguments but reads ";
      for (isa::Reg r = 1; r <= proto->nargs && r <= 5; ++r) TRY(need(i, s, r, what));
      return Ok{};
    }
    if (std::holds_alternative<isa::Exit>(insn)) {
      // Only the main program's exit reads r0 for sure: a static subprogram
      // may return garbage its caller never reads.
      if (cx_.cfg.subprogram_of[i] == 0) return need(i, s, 0, "exits with r0 unset: reads ");
      return Ok{};
    }
    if (auto* l = std::get_if<isa::Load>(&insn)) {
      TRY(need(i, s, l->base));
      TRY(write(i, l->dst));
      return stack(i, s, l->base, l->off, l->size);
    }
    if (auto* st = std::get_if<isa::Store>(&insn)) {
      TRY(need(i, s, st->base));
      if (auto* r = std::get_if<isa::Reg>(&st->src)) TRY(need(i, s, *r));
      return stack(i, s, st->base, st->off, st->size);
    }
    if (auto* a = std::get_if<isa::Atomic>(&insn)) {
      TRY(need(i, s, a->base));
      TRY(need(i, s, a->src));
      if (a->op == isa::AtomicOp::CmpXchg) TRY(need(i, s, 0));
      if (a->fetch && a->op != isa::AtomicOp::CmpXchg) TRY(write(i, a->src));
      return stack(i, s, a->base, a->off, a->size);
    }
    return std::visit(
        [&](const auto& x) -> Status {
          if constexpr (requires { x.dst; }) return write(i, x.dst);  // ld_imm64 forms
          return Ok{};
        },
        insn);
  }

  Status check() const {
    for (std::size_t b = 0; b < blocks().size(); ++b) {
      if (!has_in_[b]) continue;
      State s = in_[b];
      for (std::size_t i = blocks()[b].first; i <= blocks()[b].last; ++i) {
        if (cx_.surely_visited[i])
          if (auto st = check_insn(i, s); !st) return st;
        transfer(i, s);
      }
    }
    return Ok{};
  }

  Context& cx_;
  std::vector<State> in_;  // per block
  std::vector<bool> has_in_;
};

#undef TRY

}  // namespace

Status check_dataflow(Context& cx) { return Dataflow(cx).run(); }

}  // namespace xo::verifier
