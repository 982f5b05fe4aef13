// main_stack_depth: see stack_depth.hpp.
//
//   r2 = r10            r2: {0}
//   r2 += -16           r2: {-16}
//   *(u64 *)(r2 + 8) = 0    access at fp-8
//   call map_lookup     argument at fp-16 (helpers access upward)  -> depth 16
#include "translator/passes/stack_depth.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <set>
#include <type_traits>

namespace xo::translator {
namespace {

using namespace isa;

constexpr std::size_t kMaxOffsets = 64;  // per register; more is not a pattern worth following

// Per register: the fp offsets it may hold; nullopt = not a stack pointer on
// any path reaching here.
using Offsets = std::optional<std::set<std::int64_t>>;
using State = std::array<Offsets, 11>;

bool join(Offsets& into, const Offsets& from) {
  if (!from) return false;
  if (!into) {
    into = from;
    return true;
  }
  const std::size_t before = into->size();
  into->insert(from->begin(), from->end());
  return into->size() != before;
}

struct Walk {
  std::int64_t deepest = 0;  // most negative offset reached
  bool unknown = false;

  void access(const Offsets& base, std::int64_t off) {
    if (!base) return;
    for (std::int64_t o : *base) deepest = std::min(deepest, o + off);
  }
  bool is_fp(const State& s, Reg r) const { return r < s.size() && s[r].has_value(); }

  // The state after `insn`.
  void step(State& s, const Insn& insn) {
    std::visit(
        [&](const auto& i) {
          using T = std::decay_t<decltype(i)>;
          if constexpr (std::is_same_v<T, Bin>) {
            const Reg* src = std::get_if<Reg>(&i.src);
            const bool src_fp = src && is_fp(s, *src);
            if (i.op == AluOp::Mov && (!src_fp || i.is64)) {
              if (src) s[i.dst] = s[*src];  // a copy (of a stack pointer or not)
              else s[i.dst].reset();        // overwritten by a constant
            } else if (i.is64 && (i.op == AluOp::Add || i.op == AluOp::Sub) && !src && is_fp(s, i.dst)) {
              const std::int64_t c = std::get<Imm>(i.src).v;
              std::set<std::int64_t> moved;
              for (std::int64_t o : *s[i.dst]) moved.insert(i.op == AluOp::Add ? o + c : o - c);
              s[i.dst] = std::move(moved);
              if (s[i.dst]->size() > kMaxOffsets) unknown = true;
            } else if (is_fp(s, i.dst) || src_fp) {
              unknown = true;  // pointer arithmetic the pass does not follow
            } else {
              s[i.dst].reset();
            }
          } else if constexpr (std::is_same_v<T, Un>) {
            if (is_fp(s, i.dst)) unknown = true;
            s[i.dst].reset();
          } else if constexpr (std::is_same_v<T, Load>) {
            access(s[i.base], i.off);
            s[i.dst].reset();  // a spilled stack pointer would be unknown already
          } else if constexpr (std::is_same_v<T, Store>) {
            access(s[i.base], i.off);
            if (const Reg* r = std::get_if<Reg>(&i.src); r && is_fp(s, *r)) unknown = true;  // spilled
          } else if constexpr (std::is_same_v<T, Atomic>) {
            access(s[i.base], i.off);
            if (is_fp(s, i.src)) unknown = true;
            if (i.fetch) s[i.op == AtomicOp::CmpXchg ? 0 : i.src].reset();
          } else if constexpr (std::is_same_v<T, Call> || std::is_same_v<T, CallKfunc>) {
            for (Reg r = 1; r <= 5; ++r) access(s[r], 0);  // helpers access upward from a pointer
            for (Reg r = 0; r <= 5; ++r) s[r].reset();
          } else if constexpr (std::is_same_v<T, CallLocal>) {
            for (Reg r = 1; r <= 5; ++r)
              if (is_fp(s, r)) unknown = true;  // the callee may address below it
            for (Reg r = 0; r <= 5; ++r) s[r].reset();
          } else if constexpr (std::is_same_v<T, LegacyLoad>) {
            for (Reg r = 0; r <= 5; ++r) s[r].reset();
          } else if constexpr (std::is_same_v<T, LoadImm64> || std::is_same_v<T, LoadMapFd> ||
                               std::is_same_v<T, LoadMapValue> || std::is_same_v<T, LoadBtfId> ||
                               std::is_same_v<T, LoadFunc> || std::is_same_v<T, LoadMapIdx> ||
                               std::is_same_v<T, LoadMapIdxValue>) {
            s[i.dst].reset();
          }
          // Jmp, Ja, MayGoto, Exit: no register changes.
        },
        insn);
  }
};

}  // namespace

std::optional<std::uint32_t> main_stack_depth(const std::vector<Insn>& insns, const Structure& structure) {
  if (structure.subprograms.empty() || insns.empty()) return std::nullopt;
  const Subprogram& main = structure.subprograms.front();
  std::vector<std::optional<State>> in(insns.size());
  State entry{};
  entry[kFramePointer] = std::set<std::int64_t>{0};
  in[main.first] = entry;
  std::deque<std::size_t> work{main.first};
  Walk walk;
  std::size_t steps = 0;
  while (!work.empty()) {
    if (++steps > insns.size() * 64) return std::nullopt;  // offsets that keep growing: not followed
    const std::size_t i = work.front();
    work.pop_front();
    State s = *in[i];
    walk.step(s, insns[i]);
    if (walk.unknown) return std::nullopt;
    for (std::size_t next : structure.succ[i]) {
      if (next == kNoInsn || next < main.first || next >= main.end) continue;
      bool changed = !in[next];
      if (!in[next]) in[next] = s;
      else
        for (std::size_t r = 0; r < s.size(); ++r) changed |= join((*in[next])[r], s[r]);
      if (changed) work.push_back(next);
    }
  }
  if (walk.deepest < -512 || walk.deepest > 0) return std::nullopt;
  return std::uint32_t(-walk.deepest);
}

}  // namespace xo::translator
