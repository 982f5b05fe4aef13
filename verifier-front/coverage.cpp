// Coverage: which instructions the kernel verifier is certain to visit.
//
// The kernel simulates only feasible paths: a branch whose outcome it can
// prove (constants, ranges, packet bounds) leaves the other side unvisited,
// and unvisited ("dead") code is never checked for uninitialised reads,
// stack bounds, division by zero or r10 writes; it is patched out instead.
// Its knowledge of values is far richer than ours, so we cannot tell which
// branches it will prune. What we can tell: before accepting a program, the
// kernel follows at least one complete path from the entry to an exit, and
// such a path passes every instruction that dominates all exits. So:
//
//   surely_visited(main)   = dominators of the virtual sink behind main's exits
//   surely_visited(callee) = the same within a subprogram called from a
//                            surely visited bpf-to-bpf call
//
// Callbacks reached only through BPF_PSEUDO_FUNC (bpf_loop) are left out: the
// kernel visits them only when the helper call that takes them is reached
// with that very function pointer.
//
//   0: r0 = 0
//   1: if r0 != 0 goto +1   ; the kernel proves this never jumps
//   2: exit                 ; visited
//   3: r0 = r5              ; dead: r5 uninitialised but the kernel accepts
//   4: exit
#include <cstdint>
#include <utility>
#include <variant>

#include "verifier-front/checks.hpp"

namespace xo::verifier {
namespace {

// Instructions of the subprogram at `entry` that lie on every path from its
// entry to any of its exits (Cooper, Harvey, Kennedy: "A Simple, Fast
// Dominance Algorithm", over reverse postorder, with a virtual sink after
// every exit). Empty when no exit is reachable.
std::vector<std::size_t> on_every_path_to_exit(const Context& cx, std::size_t sp) {
  const isa::Structure& cfg = cx.cfg;
  const std::size_t first = cfg.subprograms[sp].first;
  const std::size_t end = cfg.subprograms[sp].end;
  constexpr std::uint32_t kUnseen = UINT32_MAX;

  // Postorder by iterative DFS over intraprocedural successors.
  std::vector<std::uint32_t> post_no(end - first, kUnseen);
  std::vector<std::size_t> postorder;
  std::vector<std::uint8_t> visited(end - first, 0);
  std::vector<std::pair<std::size_t, std::uint8_t>> stack{{first, 0}};
  visited[0] = 1;
  while (!stack.empty()) {
    auto& [u, e] = stack.back();
    if (e == 2) {
      post_no[u - first] = static_cast<std::uint32_t>(postorder.size());
      postorder.push_back(u);
      stack.pop_back();
      continue;
    }
    const std::size_t v = cfg.succ[u][e++];
    if (v != kNone && !visited[v - first]) {
      visited[v - first] = 1;
      stack.push_back({v, 0});
    }
  }
  // Node numbering: reverse postorder 0..m-1 (0 = entry), sink = m.
  const std::size_t m = postorder.size();
  auto rpo = [&](std::size_t insn) { return m - 1 - post_no[insn - first]; };
  std::vector<std::vector<std::uint32_t>> preds(m + 1);
  bool has_exit = false;
  for (std::size_t u : postorder) {
    if (std::holds_alternative<isa::Exit>(cx.insns[u])) {
      preds[m].push_back(static_cast<std::uint32_t>(rpo(u)));
      has_exit = true;
    }
    for (std::size_t v : cfg.succ[u])
      if (v != kNone) preds[rpo(v)].push_back(static_cast<std::uint32_t>(rpo(u)));
  }
  if (!has_exit) return {};

  std::vector<std::uint32_t> idom(m + 1, kUnseen);
  idom[0] = 0;
  auto intersect = [&](std::uint32_t a, std::uint32_t b) {
    while (a != b) {
      while (a > b) a = idom[a];
      while (b > a) b = idom[b];
    }
    return a;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t b = 1; b <= m; ++b) {
      std::uint32_t next = kUnseen;
      for (std::uint32_t p : preds[b]) {
        if (idom[p] == kUnseen) continue;
        next = next == kUnseen ? p : intersect(p, next);
      }
      if (next != kUnseen && idom[b] != next) {
        idom[b] = next;
        changed = true;
      }
    }
  }

  std::vector<std::size_t> out;
  for (std::uint32_t x = idom[m];; x = idom[x]) {
    out.push_back(postorder[m - 1 - x]);
    if (x == 0) break;
  }
  return out;
}

}  // namespace

void compute_coverage(Context& cx) {
  const isa::Structure& cfg = cx.cfg;
  cx.surely_visited.assign(cx.size(), false);
  std::vector<bool> entered(cfg.subprograms.size(), false);
  std::vector<std::size_t> work{0};
  entered[0] = true;
  while (!work.empty()) {
    const std::size_t sp = work.back();
    work.pop_back();
    for (std::size_t i : on_every_path_to_exit(cx, sp)) {
      cx.surely_visited[i] = true;
      if (!std::holds_alternative<isa::CallLocal>(cx.insns[i])) continue;
      const std::size_t callee = cfg.subprogram_of[cfg.callee[i]];
      if (!entered[callee]) {
        entered[callee] = true;
        work.push_back(callee);
      }
    }
  }
}

}  // namespace xo::verifier
