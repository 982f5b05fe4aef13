// Forward dataflow over the whole program (all subprograms), one small
// lattice per register and per 8-byte stack slot: "may hold something
// else", "may hold the ctx pointer", "may point into a stack frame". Join is
// bitwise or; the lattice is finite and only grows, so the worklist
// terminates.
//
// Stack slots, as the kernel tracks spills: an 8-byte aligned store of a
// register at a constant r10 offset keeps its bits in the slot, and an
// 8-byte load from there gives them back, so ctx spilled and filled (as
// xdp-filter does) is still the ctx:
//   *(u64 *)(r10 - 8) = r1     ; spill: slot 0 holds ctx
//   r6 = *(u64 *)(r10 - 8)     ; fill: r6 is ctx
//   r2 = *(u32 *)(r6 + 4)      ; a ctx load (data_end), rewritten by the lowering
// Whatever may overwrite a slot otherwise (a store, an atomic or a call
// through a pointer that may point into the frame) adds "something else" to
// every slot, so a fill from it is then ambiguous and a load through it is
// refused rather than mistranslated.
#include "translator/passes/ctx_access.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "core/diagnostics.hpp"

namespace xo::translator {
namespace {

using RegBits = std::uint32_t;
constexpr RegBits kOther = 1, kCtx = 2, kFrame = 4;
// The 512-byte frame holds 64 slots; slot i = [r10 - 8(i+1), r10 - 8i).

// Three bits per register r0..r10 and per stack slot, packed: joins and
// comparisons are a few instructions, which keeps this pass cheap next to the
// kernel's load.
class State {
 public:
  // A function's entry: r1-r5 as given, r10 its frame, slots never written.
  static State entry() {
    State s;
    for (int r = 0; r <= 9; ++r) s.set(r, kOther);
    s.set(10, kFrame);
    s.slots_[0] = ~std::uint64_t{0};  // unwritten stack: "something else"
    return s;
  }
  RegBits operator[](unsigned r) const { return RegBits(regs_ >> (3 * r)) & 7u; }
  void set(unsigned r, RegBits v) { regs_ = (regs_ & ~(std::uint64_t{7} << (3 * r))) | (std::uint64_t(v) << (3 * r)); }

  RegBits slot(int i) const {
    RegBits b = 0;
    for (int k = 0; k < 3; ++k) b |= RegBits((slots_[k] >> i) & 1u) << k;
    return b;
  }
  void set_slot(int i, RegBits v) {
    for (int k = 0; k < 3; ++k) {
      slots_[k] &= ~(std::uint64_t{1} << i);
      slots_[k] |= std::uint64_t((v >> k) & 1u) << i;
    }
  }
  // Every slot may now hold something else too.
  void taint_slots() { slots_[0] = ~std::uint64_t{0}; }
  RegBits any_slot() const {
    RegBits b = 0;
    for (int k = 0; k < 3; ++k) b |= RegBits(slots_[k] != 0) << k;
    return b;
  }
  // What the slots of the frames below this function's (its callers', or a
  // callback's caller's) may hold: reachable through pointer arguments.
  RegBits outer() const { return outer_; }
  void set_outer(RegBits b) { outer_ = b; }

  bool join(const State& o) {  // true when this state grew
    bool grew = (regs_ | o.regs_) != regs_ || (outer_ | o.outer_) != outer_;
    regs_ |= o.regs_;
    outer_ |= o.outer_;
    for (int k = 0; k < 3; ++k) {
      grew |= (slots_[k] | o.slots_[k]) != slots_[k];
      slots_[k] |= o.slots_[k];
    }
    return grew;
  }

 private:
  std::uint64_t regs_ = 0;
  std::array<std::uint64_t, 3> slots_{};  // per bit (kOther, kCtx, kFrame): one bit per slot
  RegBits outer_ = 0;
};

std::string reg_name(isa::Reg r) { return "r" + std::to_string(r); }

// The slot an 8-byte aligned access at r10 + off names, if it is one.
std::optional<int> r10_slot(isa::Reg base, std::int16_t off, isa::Size size) {
  if (base != isa::kFramePointer || size != isa::Size::DW || off % 8 != 0 || off > -8 || off < -512)
    return std::nullopt;
  return (-off - 1) / 8;
}

// A call may write the caller's frame through any pointer it is given. A
// kfunc may return one (bpf_dynptr_slice returns its buffer, maybe on the
// stack); helpers and subprograms never do.
void call_effects(State& s, RegBits result = kOther) {
  for (unsigned r = 1; r <= 5; ++r)
    if (s[r] & kFrame) s.taint_slots();
  for (unsigned r = 0; r <= 5; ++r) s.set(r, kOther);
  s.set(0, result);
}

class CtxFlow {
 public:
  CtxFlow(const std::vector<isa::Insn>& insns, const isa::Structure& st)
      : insns_(insns), st_(st), in_(insns.size()), reached_(insns.size(), false),
        queued_(insns.size(), false) {}

  // A callback is given a pointer its caller chose (bpf_loop's callback_ctx),
  // maybe into a frame holding a spilled ctx. Whether any frame ever holds
  // one is known only after a run: run again, callbacks assuming it, if so.
  Status run() {
    solve();
    if (ctx_on_stack_ || !ctx_spilled()) return Ok{};
    ctx_on_stack_ = true;
    in_.assign(insns_.size(), State{});
    reached_.assign(insns_.size(), false);
    solve();
    return Ok{};
  }

  bool reached(std::size_t i) const { return reached_[i]; }
  const State& in(std::size_t i) const { return in_[i]; }

 private:
  void solve() {
    State entry = State::entry();
    entry.set(1, kCtx);
    merge(0, entry);
    while (!work_.empty()) {
      std::size_t i = work_.back();
      work_.pop_back();
      queued_[i] = false;
      step(i);
    }
  }

  bool ctx_spilled() const {
    for (std::size_t i = 0; i < insns_.size(); ++i)
      if (reached_[i] && ((in_[i].any_slot() | in_[i].outer()) & kCtx)) return true;
    return false;
  }

  void merge(std::size_t i, const State& s) {
    if (i == isa::kNoInsn) return;  // no such edge
    const bool first = !reached_[i];
    reached_[i] = true;
    if ((in_[i].join(s) || first) && !queued_[i]) {
      queued_[i] = true;
      work_.push_back(i);
    }
  }

  void step(std::size_t i) {
    State s = in_[i];
    const std::size_t callee = st_.callee[i];
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, isa::Bin>) {
            const isa::Reg* src = std::get_if<isa::Reg>(&x.src);
            RegBits out = kOther;
            if (x.op == isa::AluOp::Mov && x.is64 && src && *src <= 10) {
              out = s[*src];
            } else if (x.is64 && (x.op == isa::AluOp::Add || x.op == isa::AluOp::Sub)) {
              // A frame pointer moved along is still one (r2 = r10; r2 += -8).
              const RegBits frame = (s[x.dst] | (src && *src <= 10 ? s[*src] : 0)) & kFrame;
              out = kOther | frame;
            }
            s.set(x.dst, out);
          } else if constexpr (std::is_same_v<T, isa::Load>) {
            RegBits out = kOther;
            if (auto slot = r10_slot(x.base, x.off, x.size)) {
              out = s.slot(*slot);  // a fill
            } else if (x.base <= 10 && x.base != isa::kFramePointer && (s[x.base] & kFrame)) {
              // Through a copy of r10 or a pointer argument: whatever any slot
              // of this frame or the frames below may hold.
              out = kOther | s.any_slot() | s.outer();
            }
            s.set(x.dst, out);
          } else if constexpr (std::is_same_v<T, isa::Store>) {
            if (auto slot = r10_slot(x.base, x.off, x.size)) {
              const isa::Reg* src = std::get_if<isa::Reg>(&x.src);
              s.set_slot(*slot, src && *src <= 10 ? s[*src] : kOther);  // a spill
            } else if (x.base == isa::kFramePointer) {
              overwrite(s, x.off, std::int64_t(x.size));
            } else if (x.base <= 10 && (s[x.base] & kFrame)) {
              s.taint_slots();
            }
          } else if constexpr (std::is_same_v<T, isa::Un>) {
            s.set(x.dst, kOther);
          } else if constexpr (std::is_same_v<T, isa::Atomic>) {
            if (x.base == isa::kFramePointer)
              overwrite(s, x.off, std::int64_t(x.size));
            else if (x.base <= 10 && (s[x.base] & kFrame))
              s.taint_slots();
            if (x.op == isa::AtomicOp::CmpXchg) s.set(0, kOther);
            else if (x.fetch) s.set(x.src, kOther);
          } else if constexpr (std::is_same_v<T, isa::LegacyLoad> || std::is_same_v<T, isa::Call>) {
            call_effects(s);
          } else if constexpr (std::is_same_v<T, isa::CallKfunc>) {
            call_effects(s, kOther | kFrame);
          } else if constexpr (std::is_same_v<T, isa::CallLocal>) {
            State callee_state = State::entry();  // its own frame; ours below it
            for (unsigned r = 1; r <= 5; ++r) callee_state.set(r, s[r]);
            callee_state.set_outer(s.outer() | s.any_slot());
            merge(callee, callee_state);
            call_effects(s);
          } else if constexpr (std::is_same_v<T, isa::LoadFunc>) {
            // A callback: the kernel calls it with its own arguments, never our
            // ctx; but one may point into a frame below (callback_ctx).
            State callback = State::entry();
            for (unsigned r = 1; r <= 5; ++r) callback.set(r, kOther | kFrame);
            callback.set_outer(kOther | kFrame | (ctx_on_stack_ ? kCtx : 0));
            merge(callee, callback);
            s.set(x.dst, kOther);
          } else if constexpr (std::is_same_v<T, isa::LoadImm64> ||
                               std::is_same_v<T, isa::LoadMapFd> ||
                               std::is_same_v<T, isa::LoadMapValue> ||
                               std::is_same_v<T, isa::LoadBtfId> ||
                               std::is_same_v<T, isa::LoadMapIdx> ||
                               std::is_same_v<T, isa::LoadMapIdxValue>) {
            s.set(x.dst, kOther);
          }
        },
        insns_[i]);
    for (std::size_t next : st_.succ[i]) merge(next, s);
  }

  // A narrower or misaligned write at r10 + off: the slots it touches hold a
  // number now (the kernel turns a partly overwritten spill into one too).
  static void overwrite(State& s, std::int64_t off, std::int64_t size) {
    for (std::int64_t b = std::max<std::int64_t>(off, -512); b < std::min<std::int64_t>(off + size, 0); ++b)
      s.set_slot(int((-b - 1) / 8), kOther);
  }

  const std::vector<isa::Insn>& insns_;
  const isa::Structure& st_;
  std::vector<State> in_;
  std::vector<bool> reached_;
  std::vector<bool> queued_;
  std::vector<std::size_t> work_;
  bool ctx_on_stack_ = false;  // some frame may hold a spilled ctx (callbacks assume it)
};

bool is_main_program(const isa::Structure& st, std::size_t i) {
  return st.subprogram_of[i] == 0;
}

// A ctx load the XDP verifier accepts: u32, at a field offset, not sign-extended.
Status check_ctx_load(const isa::Load& l, std::size_t pc, PassContext& ctx) {
  if (l.off < 0 || l.off > uapi::kXdpEgressIfindex || l.off % 4 != 0)
    return ctx.diag.at(pc, "ctx access at offset " + std::to_string(l.off) +
                               " is not a field of struct xdp_md");
  if (l.size != isa::Size::W || l.sign_extend)
    return ctx.diag.at(pc, "ctx field at offset " + std::to_string(l.off) +
                               " must be read as an unsigned 32-bit load (xdp_md fields are u32)");
  return Ok{};
}

}  // namespace

Result<std::vector<CtxLoad>> find_ctx_loads(const std::vector<isa::Insn>& insns,
                                            const isa::Structure& st, PassContext& ctx) {
  CtxFlow flow(insns, st);
  if (auto s = flow.run(); !s) return s.error();

  std::vector<CtxLoad> loads;
  for (std::size_t i = 0; i < insns.size(); ++i) {
    if (!flow.reached(i)) continue;
    const State& s = flow.in(i);
    const std::size_t pc = st.layout[i];
    auto ambiguous = [&](isa::Reg r, const char* what) {
      return ctx.diag.at(pc, reg_name(r) + " holds the ctx pointer on some paths only; " + what +
                                 " through it cannot be translated");
    };
    if (auto* l = std::get_if<isa::Load>(&insns[i])) {
      if (l->base > 10) continue;
      if ((s[l->base] & kCtx) && s[l->base] != kCtx) return ambiguous(l->base, "a load");
      if (s[l->base] != kCtx) continue;
      if (auto c = check_ctx_load(*l, pc, ctx); !c) return c.error();
      loads.push_back({i, l->off});
    } else if (auto* st_ = std::get_if<isa::Store>(&insns[i])) {
      if (st_->base <= 10 && (s[st_->base] & kCtx))
        return ctx.diag.at(pc, "write to the ctx (struct xdp_md) is not allowed");
      const isa::Reg* src = std::get_if<isa::Reg>(&st_->src);
      // A spill (8 bytes, aligned, at a constant r10 offset) is followed; anywhere else not.
      if (src && *src <= 10 && (s[*src] & kCtx) && !r10_slot(st_->base, st_->off, st_->size))
        return ctx.diag.at(pc, "the ctx pointer (" + reg_name(*src) +
                                   ") is stored to memory other than an aligned 8-byte stack slot at a "
                                   "constant r10 offset; the translator cannot follow it there");
    } else if (auto* a = std::get_if<isa::Atomic>(&insns[i])) {
      if ((a->base <= 10 && (s[a->base] & kCtx)) || (a->src <= 10 && (s[a->src] & kCtx)))
        return ctx.diag.at(pc, "atomic operation on or with the ctx pointer is not allowed");
    } else if (std::holds_alternative<isa::Exit>(insns[i]) && !is_main_program(st, i)) {
      if (s[0] & kCtx)
        return ctx.diag.at(pc, "a subprogram returns the ctx pointer; the translator cannot "
                               "follow it back into the caller");
    }
  }
  return loads;
}

// Shared by the XDP -> XDP lowerings (chain, tun): the frame is the same, so
// data, data_end and data_meta stay; what the host kernel would answer about
// itself (its ifindex, its queue) becomes what the guest would have read.
Status lower_xdp_ctx_loads(isa::Rewriter& rw, const std::vector<isa::Insn>& insns,
                           const isa::Structure& st, PassContext& ctx) {
  auto loads = find_ctx_loads(insns, st, ctx);
  if (!loads) return loads.error();
  for (const CtxLoad& c : *loads) {
    const auto& l = std::get<isa::Load>(insns[c.index]);
    auto set_constant = [&](std::uint32_t v) {
      rw.replace(c.index, {isa::Emit{isa::Bin{isa::AluOp::Mov, false, l.dst, isa::Imm{static_cast<std::int32_t>(v)}}}});
    };
    switch (c.field) {
      case uapi::kXdpIngressIfindex: set_constant(ctx.options.guest_ifindex); break;
      case uapi::kXdpRxQueueIndex: set_constant(0); break;
      case uapi::kXdpEgressIfindex:
        return ctx.diag.at(st.layout[c.index],
                           "ctx->egress_ifindex is readable only by devmap programs");
      default: break;  // data, data_end, data_meta: the same frame, the same fields
    }
  }
  return Ok{};
}

}  // namespace xo::translator
