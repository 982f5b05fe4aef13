// analyze_frames(): register kinds to a fixpoint, then one sweep that
// records stack accesses and escapes, then the slots that can be promoted.
#include "translator/ir/frame.hpp"

#include <algorithm>
#include <bitset>
#include <deque>
#include <string>
#include <variant>

namespace xo::ir {
namespace {

constexpr int kStack = 512;

struct Effects {
  std::bitset<kStack> escaped;  // byte b = fp offset b - 512
  bool escape_all = false;
  // (offset, size) -> count of plain loads/stores; atomics mark escaped.
  std::map<std::pair<std::int32_t, std::uint8_t>, unsigned> accesses;
  int32_t lowest = 0;  // lowest fp offset accessed or escaped
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

// The kinds after `insn`, and (with `fx`) what it does to the frame.
RegKinds transfer(const isa::Insn& insn, RegKinds k, Effects* fx) {
  auto escape_all = [&] {
    if (fx) fx->escape_all = true;
  };
  // Any register operand holding an fp address used as a plain value.
  auto value_use = [&](const isa::Value& v) {
    if (is_fp(kind_of(k, v))) escape_all();
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
          if (is_fp(d) && i.is64 && imm && (i.op == isa::AluOp::Add || i.op == isa::AluOp::Sub)) {
            k[i.dst] = d + (i.op == isa::AluOp::Add ? imm->v : -std::int64_t(imm->v));
            return;
          }
          if (is_fp(d) || is_fp(s)) escape_all();
          k[i.dst] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::Un>) {
          if (is_fp(k[i.dst])) escape_all();
          k[i.dst] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::Jmp>) {
          // A comparison reads no memory: an fp operand stays where it is.
        } else if constexpr (std::is_same_v<T, isa::Load>) {
          if (fx && is_fp(k[i.base])) fx->access(k[i.base] + i.off, std::uint8_t(i.size), true);
          k[i.dst] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::Store>) {
          value_use(i.src);
          if (fx && is_fp(k[i.base])) fx->access(k[i.base] + i.off, std::uint8_t(i.size), true);
        } else if constexpr (std::is_same_v<T, isa::Atomic>) {
          if (is_fp(k[i.src])) escape_all();
          if (fx && is_fp(k[i.base])) fx->access(k[i.base] + i.off, std::uint8_t(i.size), false);
          if (i.fetch || i.op == isa::AtomicOp::Xchg) k[i.src] = kUnknown;
          if (i.op == isa::AtomicOp::CmpXchg) k[0] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::Call>) {
          // A helper sees memory from its pointer arguments down to fp.
          for (int r = 1; r <= 5; ++r)
            if (is_fp(k[r]) && fx) fx->escape_from(k[r]);
          k[0] = kUnknown;
          for (int r = 1; r <= 5; ++r) k[r] = kUninit;
        } else if constexpr (std::is_same_v<T, isa::CallLocal> || std::is_same_v<T, isa::CallKfunc>) {
          for (int r = 1; r <= 5; ++r)
            if (is_fp(k[r])) escape_all();
          k[0] = kUnknown;
          for (int r = 1; r <= 5; ++r) k[r] = kUninit;
        } else if constexpr (std::is_same_v<T, isa::LoadImm64> || std::is_same_v<T, isa::LoadMapFd> ||
                             std::is_same_v<T, isa::LoadMapValue> || std::is_same_v<T, isa::LoadBtfId> ||
                             std::is_same_v<T, isa::LoadFunc> || std::is_same_v<T, isa::LoadMapIdx> ||
                             std::is_same_v<T, isa::LoadMapIdxValue>) {
          k[i.dst] = kUnknown;
        } else if constexpr (std::is_same_v<T, isa::LegacyLoad>) {
          k[0] = kUnknown;
        }
        // Ja, MayGoto, Exit: no register changes.
      },
      insn);
  k[isa::kFramePointer] = 0;
  return k;
}

}  // namespace

Result<FrameAnalysis> analyze_frames(const std::vector<isa::Insn>& insns, const isa::Structure& st) {
  FrameAnalysis out;
  RegKinds uninit;
  uninit.fill(kUninit);
  out.before.assign(insns.size(), uninit);
  out.reached.assign(insns.size(), false);

  for (std::size_t f = 0; f < st.subprograms.size(); ++f) {
    const isa::Subprogram& sp = st.subprograms[f];
    Effects fx;
    // Forward dataflow to a fixpoint. Kinds only ever go up (uninit ->
    // a value -> unknown), so it ends.
    RegKinds entry = uninit;
    entry[isa::kFramePointer] = 0;
    for (int r = 1; r <= 5; ++r) entry[r] = kUnknown;
    if (f == 0) entry[1] = kCtx;
    std::deque<std::size_t> work{sp.first};
    out.before[sp.first] = entry;
    out.reached[sp.first] = true;
    while (!work.empty()) {
      const std::size_t i = work.front();
      work.pop_front();
      const RegKinds after = transfer(insns[i], out.before[i], nullptr);
      for (std::size_t s : st.succ[i]) {
        if (s == isa::kNoInsn || s < sp.first || s >= sp.end) continue;
        bool changed = !out.reached[s];
        RegKinds& into = out.before[s];
        if (!out.reached[s]) {
          into = after;
        } else {
          for (int r = 0; r < 11; ++r) {
            if (into[r] == after[r] || after[r] == kUninit) continue;
            if (into[r] == kUninit) {
              into[r] = after[r];
            } else {
              // Two different fp offsets (or fp and something else) meet:
              // an access through this register could touch any slot.
              if (is_fp(into[r]) || is_fp(after[r])) fx.escape_all = true;
              if (into[r] == kUnknown) continue;
              into[r] = kUnknown;
            }
            changed = true;
          }
        }
        out.reached[s] = true;
        if (changed) work.push_back(s);
      }
    }
    // One sweep for the effects, on the converged kinds.
    for (std::size_t i = sp.first; i < sp.end; ++i)
      if (out.reached[i]) transfer(insns[i], out.before[i], &fx);
    // Merges of fp offsets found during the fixpoint were recorded in fx too.
    if (fx.error) return Error{*fx.error, std::nullopt, EINVAL};

    Frame frame;
    std::int32_t lowest = fx.lowest;
    if (fx.escape_all) {
      lowest = -kStack;
    } else {
      // A slot is promoted when every access that touches its bytes is
      // exactly it and none of its bytes escapes.
      std::bitset<kStack> touched_other;
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
    out.frames.push_back(std::move(frame));
  }
  return out;
}

}  // namespace xo::ir
