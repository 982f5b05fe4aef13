// Loop helpers pass: a guest program must not stall a host CPU. bpf_loop
// calls its callback up to 8M times per program run (the kernel's own
// bound, ~67 ms for an empty callback); the host's policy allows far fewer:
//   * the count is a constant on every path (dataflow.cpp; paths that set
//     different constants count as the largest); for a map walk
//     (bpf_for_each_map_elem, HelperProto::loop_map_arg) it is the walked
//     map's max_entries, the most elements the kernel can visit;
//   * the callback is a known subprogram;
//   * a loop inside a callback (directly or through bpf-to-bpf calls)
//     multiplies: the product of nested counts stays under
//     Policy::max_loop_iterations();
//   * a callback that can reach its own loop again is unbounded.
// This is policy, so it applies to every reachable call (EPERM).
//
//   0: r1 = 8388608
//   1: r2 = ll <subprog at 6>      ; ld_imm64 BPF_PSEUDO_FUNC
//   3: r3 = 0
//   4: r4 = 0
//   5: call bpf_loop#181
//   -> prog 'p': insn 5: bpf_loop (181) runs its callback 8388608 times, over this host's
//      limit of 65536 loop iterations per program run
//
// Cost: each subprogram's nested product is computed once (memoised over
// the call graph), so the pass is linear in calls.
#include <algorithm>
#include <map>

#include "verifier-front/checks.hpp"

namespace xo::verifier {
namespace {

constexpr std::uint64_t kUnbounded = std::numeric_limits<std::uint64_t>::max();
// The kernel's BPF_MAX_SUBPROGS ("too many subprograms", E2BIG). It also
// bounds the recursion depth of this pass.
constexpr std::size_t kMaxSubprogs = 256;

#define TRY_STATUS(expr)                  \
  do {                                    \
    if (auto s_ = (expr); !s_) return s_; \
  } while (0)

std::uint64_t times(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > kUnbounded / a) return kUnbounded;
  return a * b;
}

class LoopBounds {
 public:
  explicit LoopBounds(Context& cx) : cx_(cx), limit_(cx.policy.max_loop_iterations()) {
    const std::size_t nsp = cx.cfg.subprograms.size();
    calls_.resize(nsp);
    callees_.resize(nsp);
    for (const auto& lc : cx.loop_calls) calls_[cx.cfg.subprogram_of[lc.insn]].push_back(&lc);
    for (std::size_t i = 0; i < cx.size(); ++i)
      if (std::holds_alternative<isa::CallLocal>(cx.insns[i]) && cx.cfg.reachable[i] &&
          cx.cfg.callee[i] != kNone)
        callees_[cx.cfg.subprogram_of[i]].push_back(subprog(cx.cfg.callee[i]));
    state_.assign(nsp, State::Unvisited);
    inner_.assign(nsp, 1);
  }

  Status run() {
    if (cx_.loop_calls.empty()) return Ok{};
    if (inner_.size() > kMaxSubprogs)
      return reject_program(cx_, "too many subprograms: " + std::to_string(inner_.size()) + " > " +
                                     std::to_string(kMaxSubprogs) + " (kernel: too many subprograms)",
                            E2BIG);
    // Every loop call: a known count and callback, no recursion.
    for (const auto& lc : cx_.loop_calls) TRY_STATUS(known(lc));
    for (std::size_t sp = 0; sp < inner_.size(); ++sp) TRY_STATUS(nested(sp).status);
    // The outermost loops: those in code that runs once per program run
    // (the main program and what it calls directly). Each bounds all the
    // loops nested under it.
    std::vector<bool> top(inner_.size(), false);
    mark_top(0, top);
    for (const auto& lc : cx_.loop_calls)
      if (top[cx_.cfg.subprogram_of[lc.insn]] && product(lc) > limit_) return reject(culprit(lc));
    return Ok{};
  }

 private:
  enum class State : std::uint8_t { Unvisited, Active, Done };
  struct Nested {
    Status status = Ok{};
    std::uint64_t value = 1;
  };

  std::size_t subprog(std::size_t entry_insn) const { return cx_.cfg.subprogram_of[entry_insn]; }

  std::string helper_text(const LoopCall& lc) const {
    return lc.helper->name + " (" + std::to_string(lc.helper->id) + ")";
  }

  Status known(const LoopCall& lc) const {
    if (!lc.count && lc.helper->loop_map_arg)
      return reject_insn(cx_, lc.insn,
                         helper_text(lc) + ": the map in r" + std::to_string(lc.helper->loop_map_arg) +
                             " is not one map of this program on every path; the host bounds a map walk by "
                             "its map's max_entries (limit " + std::to_string(limit_) +
                             " iterations per program run)",
                         EPERM);
    if (!lc.count)
      return reject_insn(cx_, lc.insn,
                         helper_text(lc) + ": the iteration count in r" + std::to_string(lc.helper->loop_count_arg) +
                             " is not a constant on every path; the host bounds loops (limit " +
                             std::to_string(limit_) + " iterations per program run) and needs a constant count",
                         EPERM);
    if (lc.callback == kNone)
      return reject_insn(cx_, lc.insn,
                         helper_text(lc) + ": the callback in r" + std::to_string(lc.helper->loop_callback_arg) +
                             " is not a known subprogram on every path; the host cannot bound what it runs",
                         EPERM);
    return Ok{};
  }

  // The kernel reads the count as a u32 (bpf_loop's nr_loops): the low half
  // of an exact constant; a bound past 32 bits bounds nothing.
  static std::uint64_t count_of(const LoopCall& lc) {
    if (lc.count_is_bound && *lc.count > 0xffffffffu) return 0xffffffffu;
    return std::uint32_t(*lc.count);
  }

  // The most iterations loops in `sp` (and what it calls) can run per call
  // of `sp`: 1 when it has none.
  Nested nested(std::size_t sp) {
    if (state_[sp] == State::Done) return Nested{Ok{}, inner_[sp]};
    if (state_[sp] == State::Active) return Nested{Ok{}, kUnbounded};  // recursion: reported by the caller
    state_[sp] = State::Active;
    std::uint64_t worst = 1;
    for (std::size_t callee : callees_[sp]) {
      Nested n = nested(callee);
      if (!n.status) return n;
      worst = std::max(worst, n.value);
    }
    for (const LoopCall* lc : calls_[sp]) {
      Nested n = nested(subprog(lc->callback));
      if (!n.status) return n;
      if (n.value == kUnbounded)
        return Nested{reject_insn(cx_, lc->insn,
                                  helper_text(*lc) + ": its callback can reach this loop again (recursion), so "
                                                     "the number of iterations is unbounded",
                                  EPERM),
                      kUnbounded};
      worst = std::max(worst, times(count_of(*lc), n.value));
    }
    state_[sp] = State::Done;
    inner_[sp] = worst;
    return Nested{Ok{}, worst};
  }

  std::uint64_t product(const LoopCall& lc) const { return times(count_of(lc), inner_[subprog(lc.callback)]); }

  void mark_top(std::size_t sp, std::vector<bool>& top) const {
    if (top[sp]) return;
    top[sp] = true;
    for (std::size_t c : callees_[sp]) mark_top(c, top);
  }

  // The innermost loop that is over the limit on its own; the outer one
  // when only the nesting is.
  const LoopCall& culprit(const LoopCall& lc) const {
    std::vector<bool> seen(inner_.size(), false);
    std::vector<std::size_t> work{subprog(lc.callback)};
    while (!work.empty()) {
      std::size_t sp = work.back();
      work.pop_back();
      if (seen[sp]) continue;
      seen[sp] = true;
      for (const LoopCall* inner : calls_[sp])
        if (product(*inner) > limit_) return culprit(*inner);
      for (std::size_t c : callees_[sp]) work.push_back(c);
    }
    return lc;
  }

  Status reject(const LoopCall& lc) const {
    const std::uint64_t n = count_of(lc), nested = inner_[subprog(lc.callback)];
    std::string why = helper_text(lc) + " runs its callback " + std::to_string(n) + " times";
    if (nested > 1)
      why += " and the loops nested in it up to " + std::to_string(nested) + " times per call: " +
             (product(lc) == kUnbounded ? std::string("more than 2^64") : std::to_string(product(lc))) +
             " iterations per program run";
    return reject_insn(cx_, lc.insn, why + ", over this host's limit of " + std::to_string(limit_) +
                                         " loop iterations per program run",
                       EPERM);
  }

  Context& cx_;
  const std::uint64_t limit_;
  std::vector<std::vector<const LoopCall*>> calls_;  // per subprog: its loop calls
  std::vector<std::vector<std::size_t>> callees_;    // per subprog: bpf-to-bpf callees
  std::vector<State> state_;
  std::vector<std::uint64_t> inner_;
};

#undef TRY_STATUS

}  // namespace

Status check_loop_bounds(Context& cx) { return LoopBounds(cx).run(); }

}  // namespace xo::verifier
