// The control-flow graph (cfg.hpp), built in the kernel's order:
//   1. call targets (CallLocal, LoadFunc) and declared entries -> subprograms
//   2. jump targets, each inside its own subprogram
//   3. per-insn successors and callees
//   4. the depth-first walk: reachability and back edges
//   5. basic blocks
#include "translator/isa/cfg.hpp"

#include <algorithm>

namespace xo::isa {

std::vector<std::size_t> slot_layout(std::span<const Insn> insns) {
  std::vector<std::size_t> layout(insns.size() + 1);
  std::size_t slot = 0;
  for (std::size_t i = 0; i < insns.size(); ++i) {
    layout[i] = slot;
    slot += slot_width(insns[i]);
  }
  layout[insns.size()] = slot;
  return layout;
}

std::optional<std::size_t> index_at_slot(std::span<const std::size_t> layout, std::size_t slot) {
  if (layout.size() < 2) return std::nullopt;
  const auto starts = layout.first(layout.size() - 1);
  const auto it = std::lower_bound(starts.begin(), starts.end(), slot);
  if (it == starts.end() || *it != slot) return std::nullopt;
  return static_cast<std::size_t>(it - starts.begin());
}

bool is_jump(const Insn& insn) {
  return std::holds_alternative<Jmp>(insn) || std::holds_alternative<Ja>(insn) ||
         std::holds_alternative<MayGoto>(insn);
}

std::optional<std::int64_t> branch_offset(const Insn& insn) {
  if (const auto* j = std::get_if<Jmp>(&insn)) return j->off;
  if (const auto* j = std::get_if<Ja>(&insn)) return j->off;
  if (const auto* m = std::get_if<MayGoto>(&insn)) return m->off;
  if (const auto* c = std::get_if<CallLocal>(&insn)) return c->off;
  if (const auto* f = std::get_if<LoadFunc>(&insn)) return f->off;
  return std::nullopt;
}

const char* branch_kind(const Insn& insn) {
  if (std::holds_alternative<CallLocal>(insn)) return "call";
  if (std::holds_alternative<LoadFunc>(insn)) return "ld_imm64 func";
  return "jump";
}

namespace {

struct Target {
  std::int64_t slot;
  std::size_t index;  // kNoInsn when slot is not an instruction start
};

Target target_of(std::span<const std::size_t> layout, std::size_t i, std::int64_t off) {
  const std::int64_t slot = static_cast<std::int64_t>(layout[i]) + 1 + off;
  std::optional<std::size_t> index;
  if (slot >= 0) index = index_at_slot(layout, static_cast<std::size_t>(slot));
  return {slot, index.value_or(kNoInsn)};
}

bool in_range(std::int64_t slot, std::size_t first, std::size_t end) {
  return slot >= static_cast<std::int64_t>(first) && slot < static_cast<std::int64_t>(end);
}

// Steps 1 and 2: subprograms, callees and jump targets, or the first fault.
class Targets {
 public:
  Targets(std::span<const Insn> insns, Structure& s) : insns_(insns), n_(insns.size()), s_(s) {}

  std::optional<BranchFault> find_subprograms(std::span<const std::size_t> declared) {
    const std::size_t total = s_.layout.back();
    std::vector<std::size_t> entries{0};
    for (std::size_t slot : declared) {
      if (auto i = index_at_slot(s_.layout, slot)) {
        entries.push_back(*i);
        roots_.push_back(*i);
      }
    }
    s_.callee.assign(n_, kNoInsn);
    for (std::size_t i = 0; i < n_; ++i) {
      if (!std::holds_alternative<CallLocal>(insns_[i]) &&
          !std::holds_alternative<LoadFunc>(insns_[i]))
        continue;
      const Target t = target_of(s_.layout, i, *branch_offset(insns_[i]));
      if (!in_range(t.slot, 0, total)) return fault(BranchFault::Kind::CallOutside, i, t, 0, total);
      if (t.index == kNoInsn) return fault(BranchFault::Kind::CallIntoLdImm64, i, t, 0, total);
      s_.callee[i] = t.index;
      entries.push_back(t.index);
    }
    std::sort(entries.begin(), entries.end());
    entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
    s_.subprogram_of.assign(n_, 0);
    for (std::size_t k = 0; k < entries.size(); ++k) {
      const std::size_t end = k + 1 < entries.size() ? entries[k + 1] : n_;
      s_.subprograms.push_back({entries[k], end});
      std::fill(s_.subprogram_of.begin() + static_cast<std::ptrdiff_t>(entries[k]),
                s_.subprogram_of.begin() + static_cast<std::ptrdiff_t>(end),
                static_cast<std::uint32_t>(k));
    }
    return std::nullopt;
  }

  std::optional<BranchFault> find_jump_targets() {
    jump_to_.assign(n_, kNoInsn);
    s_.is_jump_target.assign(n_, false);
    for (std::size_t i = 0; i < n_; ++i) {
      if (!is_jump(insns_[i])) continue;
      const Target t = target_of(s_.layout, i, *branch_offset(insns_[i]));
      const Subprogram& sp = s_.subprogram_at(i);
      const std::size_t first = s_.layout[sp.first], end = s_.layout[sp.end];
      if (!in_range(t.slot, first, end))
        return fault(BranchFault::Kind::JumpOutside, i, t, first, end);
      if (t.index == kNoInsn) return fault(BranchFault::Kind::JumpIntoLdImm64, i, t, first, end);
      jump_to_[i] = t.index;
      s_.is_jump_target[t.index] = true;
    }
    return std::nullopt;
  }

  const std::vector<std::size_t>& jump_to() const { return jump_to_; }
  const std::vector<std::size_t>& declared_roots() const { return roots_; }

 private:
  BranchFault fault(BranchFault::Kind kind, std::size_t i, const Target& t, std::size_t first,
                    std::size_t end) const {
    return {kind, i, s_.layout[i], t.slot, s_.layout.back(), first, end};
  }

  std::span<const Insn> insns_;
  const std::size_t n_;
  Structure& s_;
  std::vector<std::size_t> jump_to_;  // per insn: jump target index, else kNoInsn
  std::vector<std::size_t> roots_;    // declared entries, in declaration order
};

// Step 3.
void link_successors(std::span<const Insn> insns, const std::vector<std::size_t>& jump_to,
                     Structure& s) {
  const std::size_t n = insns.size();
  s.succ.assign(n, {kNoInsn, kNoInsn});
  for (std::size_t i = 0; i < n; ++i) {
    const Insn& insn = insns[i];
    if (std::holds_alternative<Exit>(insn)) continue;
    if (std::holds_alternative<Ja>(insn)) {
      s.succ[i][0] = jump_to[i];
      continue;
    }
    const std::size_t next = i + 1 < n ? i + 1 : kNoInsn;
    s.succ[i][0] = next;
    if (jump_to[i] != next) s.succ[i][1] = jump_to[i];
  }
}

// Step 4: iterative DFS through successors and callee edges, from the main
// entry first, then from each declared entry in declaration order, as the
// kernel's check_cfg() walks. An edge to an insn still on the stack closes a
// cycle; call edges never do (recursion is the kernel's to reject).
void walk(const std::vector<std::size_t>& declared, Structure& s) {
  const std::size_t n = s.succ.size();
  enum : std::uint8_t { kWhite, kGray, kBlack };
  std::vector<std::uint8_t> color(n, kWhite);
  struct Frame {
    std::size_t node;
    std::uint8_t next_edge;  // 0, 1: successors; 2: callee; 3: done
  };
  std::vector<Frame> stack;
  std::vector<std::size_t> roots(declared.rbegin(), declared.rend());
  roots.push_back(0);  // explored first
  while (!roots.empty() || !stack.empty()) {
    if (stack.empty()) {
      const std::size_t r = roots.back();
      roots.pop_back();
      if (color[r] == kWhite) {
        color[r] = kGray;
        stack.push_back({r, 0});
      }
      continue;
    }
    Frame& f = stack.back();
    const std::size_t u = f.node;
    if (f.next_edge == 3) {
      color[u] = kBlack;
      stack.pop_back();
      continue;
    }
    const std::uint8_t e = f.next_edge++;
    const std::size_t v = e < 2 ? s.succ[u][e] : s.callee[u];
    if (v == kNoInsn) continue;
    if (color[v] == kWhite) {
      color[v] = kGray;
      stack.push_back({v, 0});
    } else if (color[v] == kGray && e < 2) {
      s.back_edges.push_back({u, v});
    }
  }
  s.reachable.assign(n, false);
  for (std::size_t i = 0; i < n; ++i) s.reachable[i] = color[i] != kWhite;
}

// Step 5. A block starts at an entry, a jump target, or after a jump or exit;
// a call does not end a block.
void find_blocks(std::span<const Insn> insns, Structure& s) {
  const std::size_t n = insns.size();
  std::vector<bool> leader(n, false);
  for (const Subprogram& sp : s.subprograms) leader[sp.first] = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (s.is_jump_target[i]) leader[i] = true;
    if ((is_jump(insns[i]) || std::holds_alternative<Exit>(insns[i])) && i + 1 < n)
      leader[i + 1] = true;
  }
  s.block_of.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (leader[i]) s.blocks.push_back({i, i, {}});
    s.blocks.back().last = i;
    s.block_of[i] = s.blocks.size() - 1;
  }
  for (BasicBlock& block : s.blocks) {
    for (std::size_t v : s.succ[block.last]) {
      if (v == kNoInsn) continue;
      const std::size_t to = s.block_of[v];
      if (std::find(block.successors.begin(), block.successors.end(), to) ==
          block.successors.end())
        block.successors.push_back(to);
    }
  }
}

}  // namespace

std::string describe(const BranchFault& f, const Insn& insn) {
  const std::string what = std::string(branch_kind(insn)) + " target " + std::to_string(f.target);
  switch (f.kind) {
    case BranchFault::Kind::CallIntoLdImm64:
    case BranchFault::Kind::JumpIntoLdImm64:
      return what + " is the second slot of ld_imm64 at insn " + std::to_string(f.target - 1);
    case BranchFault::Kind::CallOutside:
      return what + " is outside the program (" + std::to_string(f.total) + " slots)";
    case BranchFault::Kind::JumpOutside:
      if (!in_range(f.target, 0, f.total))
        return what + " is outside the program (" + std::to_string(f.total) + " slots)";
      return what + " is outside its subprogram [insn " + std::to_string(f.first) + ", " +
             std::to_string(f.end) + ")";
  }
  return what + " is invalid";
}

Result<std::optional<std::size_t>> branch_target(std::span<const Insn> insns,
                                                 std::span<const std::size_t> layout,
                                                 std::size_t i) {
  const std::optional<std::int64_t> off = branch_offset(insns[i]);
  if (!off) return std::optional<std::size_t>{};
  const std::size_t total = layout.back();
  const Target t = target_of(layout, i, *off);
  const bool call = !is_jump(insns[i]);
  using Kind = BranchFault::Kind;
  if (!in_range(t.slot, 0, total) || t.index == kNoInsn) {
    const Kind kind = !in_range(t.slot, 0, total) ? (call ? Kind::CallOutside : Kind::JumpOutside)
                                                  : (call ? Kind::CallIntoLdImm64
                                                          : Kind::JumpIntoLdImm64);
    return err_at(layout[i], describe({kind, i, layout[i], t.slot, total, 0, total}, insns[i]));
  }
  return std::optional<std::size_t>{t.index};
}

std::variant<Structure, BranchFault> build_cfg(std::span<const Insn> insns,
                                               std::span<const std::size_t> declared_entries) {
  Structure s;
  s.layout = slot_layout(insns);
  if (insns.empty()) return s;
  Targets targets(insns, s);
  if (auto f = targets.find_subprograms(declared_entries)) return *f;
  if (auto f = targets.find_jump_targets()) return *f;
  link_successors(insns, targets.jump_to(), s);
  walk(targets.declared_roots(), s);
  find_blocks(insns, s);
  return s;
}

Result<Structure> analyze(std::span<const Insn> insns,
                          std::span<const std::size_t> declared_entries) {
  if (insns.empty()) return err("empty program");
  auto built = build_cfg(insns, declared_entries);
  if (auto* f = std::get_if<BranchFault>(&built)) return err_at(f->pc, describe(*f, insns[f->index]));
  return std::get<Structure>(std::move(built));
}

}  // namespace xo::isa
