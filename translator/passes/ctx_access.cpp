// Forward dataflow over the whole program (all subprograms), one small
// lattice per register: bit 0 "may hold something else", bit 1 "may hold the
// ctx pointer". Join is bitwise or; the lattice has height 2, so the worklist
// terminates after at most 2 * 11 changes per instruction.
#include "translator/passes/ctx_access.hpp"

#include <array>
#include <string>

#include "core/diagnostics.hpp"

namespace xo::translator {
namespace {

using RegBits = std::uint32_t;
constexpr RegBits kOther = 1, kCtx = 2;

// Two bits per register r0..r10, packed: joins and comparisons are one
// instruction each, which keeps this pass cheap next to the kernel's load.
class State {
 public:
  static State all_other() {
    State s;
    for (int r = 0; r <= 10; ++r) s.set(r, kOther);
    return s;
  }
  RegBits operator[](unsigned r) const { return (bits_ >> (2 * r)) & 3u; }
  void set(unsigned r, RegBits v) { bits_ = (bits_ & ~(3u << (2 * r))) | (v << (2 * r)); }
  bool join(State o) {  // true when this state grew
    const std::uint32_t m = bits_ | o.bits_;
    const bool grew = m != bits_;
    bits_ = m;
    return grew;
  }

 private:
  std::uint32_t bits_ = 0;
};

std::string reg_name(isa::Reg r) { return "r" + std::to_string(r); }

void clobber_caller_saved(State& s) {
  for (unsigned r = 0; r <= 5; ++r) s.set(r, kOther);
}

class CtxFlow {
 public:
  CtxFlow(const std::vector<isa::Insn>& insns, const isa::Structure& st)
      : insns_(insns), st_(st), in_(insns.size()), reached_(insns.size(), false),
        queued_(insns.size(), false) {}

  Status run() {
    State entry = State::all_other();
    entry.set(1, kCtx);
    merge(0, entry);
    while (!work_.empty()) {
      std::size_t i = work_.back();
      work_.pop_back();
      queued_[i] = false;
      step(i);
    }
    return Ok{};
  }

  bool reached(std::size_t i) const { return reached_[i]; }
  const State& in(std::size_t i) const { return in_[i]; }

 private:
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
            s.set(x.dst, (x.op == isa::AluOp::Mov && x.is64 && src && *src <= 10) ? s[*src] : kOther);
          } else if constexpr (std::is_same_v<T, isa::Un> || std::is_same_v<T, isa::Load>) {
            s.set(x.dst, kOther);
          } else if constexpr (std::is_same_v<T, isa::Atomic>) {
            if (x.op == isa::AtomicOp::CmpXchg) s.set(0, kOther);
            else if (x.fetch) s.set(x.src, kOther);
          } else if constexpr (std::is_same_v<T, isa::LegacyLoad> || std::is_same_v<T, isa::Call> ||
                               std::is_same_v<T, isa::CallKfunc>) {
            clobber_caller_saved(s);
          } else if constexpr (std::is_same_v<T, isa::CallLocal>) {
            State callee_state = State::all_other();
            for (unsigned r = 1; r <= 5; ++r) callee_state.set(r, s[r]);
            merge(callee, callee_state);
            clobber_caller_saved(s);
          } else if constexpr (std::is_same_v<T, isa::LoadFunc>) {
            // A callback: the kernel calls it with its own arguments, never our ctx.
            merge(callee, State::all_other());
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

  const std::vector<isa::Insn>& insns_;
  const isa::Structure& st_;
  std::vector<State> in_;
  std::vector<bool> reached_;
  std::vector<bool> queued_;
  std::vector<std::size_t> work_;
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
      if (s[l->base] == (kCtx | kOther)) return ambiguous(l->base, "a load");
      if (s[l->base] != kCtx) continue;
      if (auto c = check_ctx_load(*l, pc, ctx); !c) return c.error();
      loads.push_back({i, l->off});
    } else if (auto* st_ = std::get_if<isa::Store>(&insns[i])) {
      if (st_->base <= 10 && (s[st_->base] & kCtx))
        return ctx.diag.at(pc, "write to the ctx (struct xdp_md) is not allowed");
      const isa::Reg* src = std::get_if<isa::Reg>(&st_->src);
      if (src && *src <= 10 && (s[*src] & kCtx))
        return ctx.diag.at(pc, "the ctx pointer (" + reg_name(*src) +
                                   ") is stored to memory; the translator cannot follow it there");
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

}  // namespace xo::translator
