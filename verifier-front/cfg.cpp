// Control-flow pass: the static checks the kernel makes in check_subprogs()
// and check_cfg() before it simulates anything, so every violation here is a
// certain kernel rejection:
//   * call and jump targets exist, land on an instruction start (never the
//     second slot of ld_imm64) and, for jumps, stay inside their subprogram;
//   * each subprogram ends in exit or ja, so control cannot fall off the end;
//   * every instruction is reachable from the entry (through calls);
//   * the main program can reach an exit.
// Back-edges are not errors (a privileged loader may use bounded loops; the
// kernel decides): they become "loop candidate" notes.
//
//   0: r0 = 0            ; jump to insn 3 = the middle of the ld_imm64 at 2
//   1: if r1 > 0 goto +1
//   2: r2 = 0x1 ll
//   4: exit
//   -> prog 'p': insn 1: jump target insn 3 is the middle of the ld_imm64 at insn 2
#include <algorithm>
#include <variant>

#include "verifier-front/checks.hpp"

namespace xo::verifier {
namespace {

constexpr std::size_t kMaxLoopNotes = 64;

// Relative target of a control transfer, in slots from the next slot; nullopt
// for instructions that do not transfer control.
std::optional<std::int64_t> relative_target(const isa::Insn& insn) {
  if (auto* j = std::get_if<isa::Jmp>(&insn)) return j->off;
  if (auto* j = std::get_if<isa::Ja>(&insn)) return j->off;
  if (auto* c = std::get_if<isa::CallLocal>(&insn)) return c->off;
  if (auto* f = std::get_if<isa::LoadFunc>(&insn)) return f->off;
  return std::nullopt;
}

bool is_jump(const isa::Insn& insn) {
  return std::holds_alternative<isa::Jmp>(insn) || std::holds_alternative<isa::Ja>(insn);
}

struct Target {
  std::int64_t slot;
  std::size_t index;  // kNone when slot is not an instruction start
};

class CfgBuilder {
 public:
  explicit CfgBuilder(Context& cx) : cx_(cx), n_(cx.size()), cfg_(cx.cfg) {}

  Status run() {
    if (auto s = find_subprograms(); !s) return s;
    if (auto s = check_jumps(); !s) return s;
    if (auto s = check_subprogram_ends(); !s) return s;
    link_successors();
    walk_from_entry();
    if (auto s = check_all_reachable(); !s) return s;
    return check_exit_reachable();
  }

 private:
  Target target_of(std::size_t i, std::int64_t rel) const {
    const std::int64_t slot = static_cast<std::int64_t>(cx_.slot_of[i]) + 1 + rel;
    Target t{slot, kNone};
    if (slot < 0 || slot >= static_cast<std::int64_t>(cx_.slot_of.back())) return t;
    auto it = std::lower_bound(cx_.slot_of.begin(), cx_.slot_of.end() - 1,
                               static_cast<std::size_t>(slot));
    if (*it == static_cast<std::size_t>(slot))
      t.index = static_cast<std::size_t>(it - cx_.slot_of.begin());
    return t;
  }
  bool in_program(const Target& t) const {
    return t.slot >= 0 && t.slot < static_cast<std::int64_t>(cx_.slot_of.back());
  }
  std::string middle_of_ldimm64(const Target& t) const {
    return "insn " + std::to_string(t.slot) + " is the middle of the ld_imm64 at insn " +
           std::to_string(t.slot - 1);
  }

  // Subprogram entries: 0 and every bpf-to-bpf call / BPF_PSEUDO_FUNC target,
  // plus every function func_info declares (that lands on an instruction).
  // Extra entries can only make us agree with the kernel or lose to its own
  // check that func_info matches the subprogram layout; they also become DFS
  // roots, like the exception callback the kernel explores uncalled.
  Status find_subprograms() {
    std::vector<std::size_t>& entries = cfg_.subprog_entries;
    entries = {0};
    for (const auto& f : cx_.sub.func_info) {
      const Target t = target_of(0, static_cast<std::int64_t>(f.insn_off) - 1);
      if (t.index != kNone) {
        entries.push_back(t.index);
        declared_.push_back(t.index);
      }
    }
    cfg_.callee.assign(n_, kNone);
    for (std::size_t i = 0; i < n_; ++i) {
      const auto& insn = cx_.insns[i];
      if (!std::holds_alternative<isa::CallLocal>(insn) &&
          !std::holds_alternative<isa::LoadFunc>(insn))
        continue;
      const Target t = target_of(i, *relative_target(insn));
      if (!in_program(t))
        return reject_insn(cx_, i, "call to invalid destination: insn " + std::to_string(t.slot) +
                                       " is outside the program (" +
                                       std::to_string(cx_.slot_of.back()) + " insns)");
      if (t.index == kNone)
        return reject_insn(cx_, i, "call target " + middle_of_ldimm64(t));
      cfg_.callee[i] = t.index;
      entries.push_back(t.index);
    }
    std::sort(entries.begin(), entries.end());
    entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
    cfg_.subprog_of.assign(n_, 0);
    for (std::size_t sp = 0; sp < entries.size(); ++sp)
      for (std::size_t i = entries[sp]; i < cfg_.subprog_end(sp, n_); ++i)
        cfg_.subprog_of[i] = static_cast<std::uint32_t>(sp);
    return Ok{};
  }

  // Kernel: "jump out of range from insn %d to %d", "jump into the middle of
  // ldimm64 insn %d".
  Status check_jumps() {
    for (std::size_t i = 0; i < n_; ++i) {
      if (!is_jump(cx_.insns[i])) continue;
      const Target t = target_of(i, *relative_target(cx_.insns[i]));
      const std::size_t sp = cfg_.subprog_of[i];
      const auto first = static_cast<std::int64_t>(cx_.slot_of[cfg_.subprog_entries[sp]]);
      const auto end = static_cast<std::int64_t>(cx_.slot_of[cfg_.subprog_end(sp, n_)]);
      if (t.slot < first || t.slot >= end) {
        const bool same_prog = sp == 0 && cfg_.subprog_entries.size() == 1;
        return reject_insn(cx_, i, "jump out of range: target insn " + std::to_string(t.slot) +
                                       (same_prog ? " is outside the program"
                                                  : " is outside this subprogram [insn " +
                                                        std::to_string(first) + ", " +
                                                        std::to_string(end) + ")"));
      }
      if (t.index == kNone) return reject_insn(cx_, i, "jump target " + middle_of_ldimm64(t));
    }
    return Ok{};
  }

  // Kernel: "last insn is not an exit or jmp".
  Status check_subprogram_ends() {
    for (std::size_t sp = 0; sp < cfg_.subprog_entries.size(); ++sp) {
      const std::size_t last = cfg_.subprog_end(sp, n_) - 1;
      const auto& insn = cx_.insns[last];
      if (std::holds_alternative<isa::Exit>(insn) || std::holds_alternative<isa::Ja>(insn))
        continue;
      const bool final = sp + 1 == cfg_.subprog_entries.size();
      return reject_insn(cx_, last,
                         std::string("last instruction is not an exit or jump: control falls off "
                                     "the end of ") +
                             (final ? "the program" : "the subprogram into the next one"));
    }
    return Ok{};
  }

  void link_successors() {
    cfg_.succ.assign(n_, {kNone, kNone});
    for (std::size_t i = 0; i < n_; ++i) {
      const auto& insn = cx_.insns[i];
      auto& s = cfg_.succ[i];
      if (std::holds_alternative<isa::Exit>(insn)) continue;
      if (std::holds_alternative<isa::Ja>(insn)) {
        s[0] = target_of(i, *relative_target(insn)).index;
        continue;
      }
      s[0] = i + 1;  // in range: a subprogram never ends in a fall-through insn
      if (std::holds_alternative<isa::Jmp>(insn)) {
        const std::size_t t = target_of(i, *relative_target(insn)).index;
        if (t != s[0]) s[1] = t;
      }
    }
  }

  // Iterative DFS from insn 0 through jumps and call edges, as check_cfg does.
  // An edge to an instruction still on the DFS stack closes a cycle.
  void walk_from_entry() {
    enum : std::uint8_t { kWhite, kGray, kBlack };
    std::vector<std::uint8_t> color(n_, kWhite);
    struct Frame {
      std::size_t node;
      std::uint8_t next_edge;
    };
    std::vector<Frame> stack;
    std::vector<std::size_t> roots(declared_.rbegin(), declared_.rend());
    roots.push_back(0);  // explored first
    std::size_t loops = 0;
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
      const std::size_t v = e < 2 ? cfg_.succ[u][e] : cfg_.callee[u];
      if (v == kNone) continue;
      if (color[v] == kWhite) {
        color[v] = kGray;
        stack.push_back({v, 0});
      } else if (color[v] == kGray && e < 2) {
        if (loops++ < kMaxLoopNotes)
          cx_.report.notes.push_back(note_insn(
              cx_, u,
              "loop candidate: back-edge to insn " + std::to_string(cx_.slot_of[v]) +
                  "; the kernel must prove the loop bounded"));
      }
    }
    if (loops > kMaxLoopNotes)
      cx_.report.notes.push_back(note_insn(cx_, 0, std::to_string(loops - kMaxLoopNotes) +
                                                       " more loop candidates not listed"));
    cfg_.reachable.assign(n_, false);
    for (std::size_t i = 0; i < n_; ++i) cfg_.reachable[i] = color[i] != kWhite;
  }

  // Kernel: "unreachable insn %d".
  Status check_all_reachable() {
    for (std::size_t i = 0; i < n_; ++i)
      if (!cfg_.reachable[i])
        return reject_insn(cx_, i,
                           "unreachable instruction: no path from the program entry reaches it "
                           "(the kernel rejects unreachable code)");
    return Ok{};
  }

  // Without a reachable exit every path of the main program runs forever or
  // stays in a callee that never returns: the kernel can never accept that.
  Status check_exit_reachable() {
    std::vector<bool> seen(n_, false);
    std::vector<std::size_t> work{0};
    seen[0] = true;
    while (!work.empty()) {
      const std::size_t u = work.back();
      work.pop_back();
      if (std::holds_alternative<isa::Exit>(cx_.insns[u])) return Ok{};
      for (std::size_t v : cfg_.succ[u])
        if (v != kNone && !seen[v]) {
          seen[v] = true;
          work.push_back(v);
        }
    }
    return reject_insn(cx_, 0, "no exit is reachable from the program entry: every path loops "
                               "forever");
  }

  Context& cx_;
  const std::size_t n_;
  Cfg& cfg_;
  std::vector<std::size_t> declared_;  // func_info entries, as insn indexes
};

}  // namespace

Status check_cfg(Context& cx) { return CfgBuilder(cx).run(); }

}  // namespace xo::verifier
