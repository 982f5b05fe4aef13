// analyze_frames(): register kinds to a fixpoint per subprogram, then which
// subprograms keep their arguments' addresses tame, then one sweep per
// subprogram that records stack accesses and escapes, then the slots that
// can be promoted.
#include "translator/ir/frame.hpp"

#include <algorithm>
#include <bitset>
#include <deque>
#include <optional>
#include <string>
#include <variant>

namespace xo::ir {
namespace {

constexpr int kStack = 512;

struct Effects {
  std::bitset<kStack> escaped;  // byte b = fp offset b - 512
  bool escape_all = false;
  bool param_arith = false;  // an argument address went somewhere a caller cannot bound
  // (offset, size) -> count of plain loads/stores; atomics mark escaped.
  std::map<std::pair<std::int32_t, std::uint8_t>, unsigned> accesses;
  std::int32_t lowest = 0;  // lowest fp offset accessed or escaped
  std::optional<std::string> error;

  void escape_from(std::int64_t c) {
    if (c >= 0 || c < -kStack) {
      escape_all = true;
      return;
    }
    for (std::int64_t b = c; b < 0; ++b) escaped.set(std::size_t(b + kStack));
    lowest = std::min<std::int32_t>(lowest, std::int32_t(c));
  }
  void access(std::int64_t a, std::uint8_t size, bool promotable) {
    if (a < -kStack || a + size > 0) {
      if (!error) error = "stack access at fp" + std::to_string(a) + " outside the 512-byte frame";
      return;
    }
    lowest = std::min<std::int32_t>(lowest, std::int32_t(a));
    if (!promotable)
      for (std::int64_t b = a; b < a + size; ++b) escaped.set(std::size_t(b + kStack));
    else
      ++accesses[{std::int32_t(a), size}];
  }
};

Kind kind_of(const RegKinds& k, const isa::Value& v) {
  if (auto* r = std::get_if<isa::Reg>(&v)) return k[*r];
  return kUnknown;
}

struct Context {
  const std::function<unsigned(std::int32_t)>& nargs_of;
  // Per subprogram entry insn: whether it keeps its argument addresses tame
  // (nullopt while unknown: treated as not).
  const std::map<std::size_t, bool>* tame_callee = nullptr;
  const isa::Structure& st;
};

// The kinds after insn i, and (with `fx`) what it does to the frame.
RegKinds transfer(const std::vector<isa::Insn>& insns, std::size_t i_, RegKinds k, Effects* fx, const Context& cx) {
  const isa::Insn& insn = insns[i_];
  auto escape_all = [&] {
    if (fx) fx->escape_all = true;
  };
  auto param_arith = [&] {
    if (fx) fx->param_arith = true;
  };
  // A register operand used as a plain value (stored, combined).
  auto value_use = [&](Kind s) {
    if (is_fp(s) || s == kMixed) escape_all();
    if (s == kParam || s == kMixed) param_arith();
  };
  // A memory access through a register that is an fp address on some paths only.
  auto base_use = [&](isa::Reg r) {
    if (r != isa::kFramePointer && k[r] == kMixed) {
      escape_all();
      param_arith();
    }
  };
  std::visit(
      [&](const auto& i) {
        using T = std::decay_t<decltype(i)>;
        if constexpr (std::is_same_v<T, isa::Bin>) {
          const Kind d = k[i.dst];
          const Kind s = kind_of(k, i.src);
          if (i.op == isa::AluOp::Mov && i.is64) {
            k[i.dst] = std::holds_alternative<isa::Reg>(i.src) ? s : kUnknown;
            return;
          }
          const auto* imm = std::get_if<isa::Imm>(&i.src);
          const bool add_sub = i.is64 && imm && (i.op == isa::AluOp::Add || i.op == isa::AluOp::Sub);
          if (is_fp(d) && add_sub) {
            k[i.dst] = d + (i.op == isa::AluOp::Add ? imm->v : -std::int64_t(imm->v));
            return;
          }
          if (d == kParam && i.is64 && imm && i.op == isa::AluOp::Add && imm->v >= 0) return;
          // A 32-bit result is a number: the verifier never lets one
          // address memory, whatever it was computed from.
          if (i.is64) {
            if (i.op != isa::AluOp::Mov) value_use(d);
            value_use(s);
          }
          k[i.dst] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::Un>) {
          value_use(k[i.dst]);
          k[i.dst] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::Jmp>) {
          // A comparison reads no memory: an fp operand stays where it is.
        } else if constexpr (std::is_same_v<T, isa::Load>) {
          base_use(i.base);
          if (fx && is_fp(k[i.base])) fx->access(k[i.base] + i.off, std::uint8_t(i.size), true);
          k[i.dst] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::Store>) {
          value_use(kind_of(k, i.src));
          base_use(i.base);
          if (fx && is_fp(k[i.base])) fx->access(k[i.base] + i.off, std::uint8_t(i.size), true);
        } else if constexpr (std::is_same_v<T, isa::Atomic>) {
          value_use(k[i.src]);
          base_use(i.base);
          if (fx && is_fp(k[i.base])) fx->access(k[i.base] + i.off, std::uint8_t(i.size), false);
          if (i.fetch || i.op == isa::AtomicOp::Xchg) k[i.src] = kUnknown;
          if (i.op == isa::AtomicOp::CmpXchg) k[0] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::Call> || std::is_same_v<T, isa::CallLocal>) {
          // A helper, or a tame subprogram, sees memory from its pointer
          // arguments up to fp; other subprograms could go anywhere.
          unsigned n = 5;
          bool tame = true;
          if constexpr (std::is_same_v<T, isa::Call>) {
            n = cx.nargs_of(i.helper);
          } else {
            const std::size_t callee = cx.st.callee[i_];
            tame = false;
            if (cx.tame_callee)
              if (auto it = cx.tame_callee->find(callee); it != cx.tame_callee->end()) tame = it->second;
            // A caller's argument handed on: the callee's tameness is not
            // followed further.
            for (unsigned r = 1; r <= 5; ++r)
              if (k[r] == kParam) param_arith();
          }
          for (unsigned r = 1; r <= n && r <= 5; ++r) {
            if (is_fp(k[r]) && fx) {
              if (tame)
                fx->escape_from(k[r]);
              else
                fx->escape_all = true;
            }
            if (k[r] == kMixed) {
              escape_all();
              param_arith();
            }
          }
          k[0] = kUnknown;
          for (int r = 1; r <= 5; ++r) k[r] = kUninit;
        } else if constexpr (std::is_same_v<T, isa::CallKfunc>) {
          for (int r = 1; r <= 5; ++r) value_use(k[r]);
          k[0] = kUnknown;
          for (int r = 1; r <= 5; ++r) k[r] = kUninit;
        } else if constexpr (std::is_same_v<T, isa::LoadImm64> || std::is_same_v<T, isa::LoadMapFd> ||
                             std::is_same_v<T, isa::LoadMapValue> || std::is_same_v<T, isa::LoadBtfId> ||
                             std::is_same_v<T, isa::LoadFunc> || std::is_same_v<T, isa::LoadMapIdx> ||
                             std::is_same_v<T, isa::LoadMapIdxValue>) {
          k[i.dst] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::LegacyLoad>) {
          k[0] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::Exit>) {
          // A returned address leaves the function.
          value_use(k[0]);
        }
        // Ja, MayGoto: no register changes.
      },
      insn);
  k[isa::kFramePointer] = 0;
  return k;
}

Kind join(Kind a, Kind b) {
  if (a == b || b == kUninit) return a;
  if (a == kUninit) return b;
  // Two different addresses (or an address and something else) meet: a
  // later use through this register could touch any slot.
  const bool address = [](Kind x) { return is_fp(x) || x == kMixed || x == kParam; }(a) ||
                       [](Kind x) { return is_fp(x) || x == kMixed || x == kParam; }(b);
  return address ? kMixed : kUnknown;
}

// Kinds before every insn of subprogram f, to a fixpoint. Kinds only go up
// (uninit -> a value -> unknown/mixed), so it ends.
void fixpoint(const std::vector<isa::Insn>& insns, std::size_t f, bool ctx_arg, const Context& cx,
              FrameAnalysis& out) {
  const isa::Subprogram& sp = cx.st.subprograms[f];
  for (std::size_t i = sp.first; i < sp.end; ++i) {
    out.before[i].fill(kUninit);
    out.reached[i] = false;
  }
  RegKinds entry;
  entry.fill(kUninit);
  entry[isa::kFramePointer] = 0;
  for (int r = 1; r <= 5; ++r) entry[r] = f == 0 ? kUnknown : kParam;
  if (f == 0 || ctx_arg) entry[1] = kCtx;
  std::deque<std::size_t> work{sp.first};
  out.before[sp.first] = entry;
  out.reached[sp.first] = true;
  while (!work.empty()) {
    const std::size_t i = work.front();
    work.pop_front();
    const RegKinds after = transfer(insns, i, out.before[i], nullptr, cx);
    for (std::size_t s : cx.st.succ[i]) {
      if (s == isa::kNoInsn || s < sp.first || s >= sp.end) continue;
      bool changed = !out.reached[s];
      RegKinds& into = out.before[s];
      if (!out.reached[s]) {
        into = after;
      } else {
        for (int r = 0; r < 11; ++r) {
          const Kind merged = join(into[r], after[r]);
          if (merged != into[r]) {
            into[r] = merged;
            changed = true;
          }
        }
      }
      out.reached[s] = true;
      if (changed) work.push_back(s);
    }
  }
}

Effects sweep(const std::vector<isa::Insn>& insns, std::size_t f, const Context& cx, const FrameAnalysis& out) {
  Effects fx;
  const isa::Subprogram& sp = cx.st.subprograms[f];
  for (std::size_t i = sp.first; i < sp.end; ++i)
    if (out.reached[i]) transfer(insns, i, out.before[i], &fx, cx);
  return fx;
}

Frame frame_of(const Effects& fx) {
  Frame frame;
  std::int32_t lowest = fx.lowest;
  if (fx.escape_all) {
    lowest = -kStack;
  } else {
    // A slot is promoted when every access that touches its bytes is
    // exactly it and none of its bytes escapes.
    for (const auto& [slot, n] : fx.accesses) {
      (void)n;
      const auto [a, size] = slot;
      bool ok = true;
      for (std::int32_t b = a; b < a + size; ++b)
        if (fx.escaped.test(std::size_t(b + kStack))) ok = false;
      for (const auto& [other, m] : fx.accesses) {
        (void)m;
        if (other == slot) continue;
        if (other.first < a + size && a < other.first + other.second) ok = false;
      }
      if (ok) frame.promoted[a] = size;
    }
    // The frame alloca covers what is not promoted.
    lowest = 0;
    for (int b = 0; b < kStack; ++b)
      if (fx.escaped.test(std::size_t(b))) {
        lowest = b - kStack;
        break;
      }
    for (const auto& [slot, n] : fx.accesses) {
      (void)n;
      if (!frame.promoted.count(slot.first)) lowest = std::min(lowest, slot.first);
    }
  }
  frame.size = std::uint32_t(((-lowest) + 7) / 8 * 8);
  if (frame.size == 0) frame.size = 8;
  return frame;
}

}  // namespace

Result<FrameAnalysis> analyze_frames(const std::vector<isa::Insn>& insns, const isa::Structure& st,
                                     const std::function<unsigned(std::int32_t)>& nargs_of) {
  FrameAnalysis out;
  RegKinds uninit;
  uninit.fill(kUninit);
  out.before.assign(insns.size(), uninit);
  out.reached.assign(insns.size(), false);
  Context cx{nargs_of, nullptr, st};
  // Subprograms that every caller hands the ctx in r1 read it as ctx too
  // (lift.cpp treats ctx fields specially); found by iterating, callers first.
  std::vector<bool> ctx_arg(st.subprograms.size(), false);
  for (int round = 0; round < 8; ++round) {
    for (std::size_t f = 0; f < st.subprograms.size(); ++f) fixpoint(insns, f, ctx_arg[f], cx, out);
    std::vector<int> verdict(st.subprograms.size(), -1);  // -1 no call seen, 1 all ctx, 0 not
    for (std::size_t i = 0; i < insns.size(); ++i) {
      if (!out.reached[i] || !std::holds_alternative<isa::CallLocal>(insns[i])) continue;
      std::size_t callee = 0;
      while (callee < st.subprograms.size() && st.subprograms[callee].first != st.callee[i]) ++callee;
      if (callee == st.subprograms.size()) continue;
      const bool is_ctx = out.before[i][1] == kCtx;
      verdict[callee] = verdict[callee] == -1 ? int(is_ctx) : int(verdict[callee] == 1 && is_ctx);
    }
    bool changed = false;
    for (std::size_t f = 1; f < st.subprograms.size(); ++f)
      if ((verdict[f] == 1) != ctx_arg[f]) {
        ctx_arg[f] = verdict[f] == 1;
        changed = true;
      }
    if (!changed) break;
  }
  // Which subprograms keep their arguments' addresses tame.
  std::map<std::size_t, bool> tame;
  for (std::size_t f = 1; f < st.subprograms.size(); ++f)
    tame[st.subprograms[f].first] = !sweep(insns, f, cx, out).param_arith;
  cx.tame_callee = &tame;
  for (std::size_t f = 0; f < st.subprograms.size(); ++f) {
    const Effects fx = sweep(insns, f, cx, out);
    if (fx.error) return Error{*fx.error, std::nullopt, EINVAL};
    out.frames.push_back(frame_of(fx));
  }
  return out;
}

}  // namespace xo::ir
