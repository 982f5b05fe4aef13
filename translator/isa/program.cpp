// The Rewriter that every inserting pass goes through.
//
// Rewriter example: insert `r0 = 0` before insn 2, which a jump targets.
//
//   before                         after
//   0: if r1 == 0 goto +1  (->2)   0: if r1 == 0 goto +1  (->2, the inserted code)
//   1: r0 = 1                      1: r0 = 1
//   2: exit                        2: r0 = 0              (new_to_old[2] = 2)
//                                  3: exit                (new_to_old[3] = 2)
//
// Semantics, in one place:
// * A jump or call into original insn i lands on the first instruction emitted
//   for i: its insert_before() code, else its replacement, else i itself; when
//   i was removed with nothing inserted, on whatever comes next.
// * Original jumps (Jmp/Ja/MayGoto), CallLocal and LoadFunc keep their original target (mapped as
//   above); offsets are recomputed in slots of the new program.
// * Emit with a target gets its offset computed; Emit without one keeps its
//   offset as written (relative, in slots, within the new program).
// * old_to_new[s] for the first slot of original insn i is where jumps to i
//   land; the second slot of a kept ld_imm64 maps to its new second slot (of
//   a replaced one, to the first). old_to_new[old_total] is the start of the
//   appended code (the end of the rewritten original).
// * new_to_old[s]: kept insns map to their own old slot; code inserted before
//   or replacing original insn i maps to i's old slot (it acts for i, so a host
//   verifier error in it is reported at i); appended code maps to nullopt.
#include "translator/isa/program.hpp"

#include <iterator>
#include <limits>
#include <string>

namespace xo::isa {

namespace {

// Sets the offset of a branching instruction; an error text when it does not fit.
std::optional<std::string> set_branch_offset(Insn& insn, std::int64_t off) {
  const auto fits = [&](std::int64_t lo, std::int64_t hi) { return off >= lo && off <= hi; };
  constexpr std::int64_t k16lo = std::numeric_limits<std::int16_t>::min();
  constexpr std::int64_t k16hi = std::numeric_limits<std::int16_t>::max();
  constexpr std::int64_t k32lo = std::numeric_limits<std::int32_t>::min();
  constexpr std::int64_t k32hi = std::numeric_limits<std::int32_t>::max();
  const auto too_far = [&](const char* field) {
    return "offset " + std::to_string(off) + " does not fit in " + field;
  };
  if (auto* j = std::get_if<Jmp>(&insn)) {
    if (!fits(k16lo, k16hi)) return too_far("the 16-bit off of a conditional jump");
    j->off = static_cast<std::int16_t>(off);
  } else if (auto* m = std::get_if<MayGoto>(&insn)) {
    if (!fits(k16lo, k16hi)) return too_far("the 16-bit off of may_goto");
    m->off = static_cast<std::int16_t>(off);
  } else if (auto* a = std::get_if<Ja>(&insn)) {
    if (!a->wide && !fits(k16lo, k16hi)) return too_far("the 16-bit off of ja (use gotol)");
    if (a->wide && !fits(k32lo, k32hi)) return too_far("the 32-bit imm of gotol");
    a->off = static_cast<std::int32_t>(off);
  } else if (auto* c = std::get_if<CallLocal>(&insn)) {
    if (!fits(k32lo, k32hi)) return too_far("the 32-bit imm of call");
    c->off = static_cast<std::int32_t>(off);
  } else if (auto* f = std::get_if<LoadFunc>(&insn)) {
    if (!fits(k32lo, k32hi)) return too_far("the 32-bit imm of ld_imm64 func");
    f->off = static_cast<std::int32_t>(off);
  } else {
    return std::string("a target was given for an instruction that does not branch");
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------

Rewriter::Rewriter(std::vector<Insn> original)
    : original_(std::move(original)), replaced_(original_.size()), inserted_(original_.size()) {}

void Rewriter::replace(std::size_t index, std::vector<Emit> with) {
  if (misuse_) return;
  if (index >= original_.size()) {
    misuse_ = err("rewriter: replace(" + std::to_string(index) + ") is past the end (" +
                  std::to_string(original_.size()) + " insns)");
  } else if (replaced_[index]) {
    misuse_ = err("rewriter: insn " + std::to_string(index) + " is replaced twice");
  } else {
    replaced_[index] = std::move(with);
  }
}

void Rewriter::insert_before(std::size_t index, std::vector<Emit> seq) {
  if (misuse_) return;
  if (index >= original_.size()) {
    misuse_ = err("rewriter: insert_before(" + std::to_string(index) + ") is past the end (" +
                  std::to_string(original_.size()) + " insns)");
    return;
  }
  auto& at = inserted_[index];
  at.insert(at.end(), std::make_move_iterator(seq.begin()), std::make_move_iterator(seq.end()));
}

std::size_t Rewriter::append(std::vector<Emit> block) {
  appended_.push_back(std::move(block));
  return appended_.size() - 1;
}

Result<Rewritten> Rewriter::finish() const {
  if (misuse_) return *misuse_;
  const std::size_t n = original_.size();
  const std::vector<std::size_t> old_layout = slot_layout(original_);
  constexpr std::size_t kAppended = std::numeric_limits<std::size_t>::max();

  // Where each new instruction comes from.
  struct Source {
    std::size_t orig;  // original index it stands for; kAppended for appended code
    bool kept;         // the original instruction itself
    const Emit* emit;  // emitted code (inserted, replacement, appended)
  };
  std::vector<Insn> out;
  std::vector<Source> from;
  std::vector<std::size_t> lands(n + 1);  // original index -> new index jumps land on
  const auto emit_all = [&](const std::vector<Emit>& seq, std::size_t orig) {
    for (const Emit& e : seq) {
      out.push_back(e.insn);
      from.push_back({orig, false, &e});
    }
  };
  for (std::size_t i = 0; i < n; ++i) {
    lands[i] = out.size();
    emit_all(inserted_[i], i);
    if (replaced_[i]) {
      emit_all(*replaced_[i], i);
    } else {
      out.push_back(original_[i]);
      from.push_back({i, true, nullptr});
    }
  }
  lands[n] = out.size();
  std::vector<std::size_t> block_start;
  for (const auto& block : appended_) {
    block_start.push_back(out.size());
    emit_all(block, kAppended);
  }

  const std::vector<std::size_t> new_layout = slot_layout(out);
  const auto where = [&](std::size_t k) {
    std::string s = "rewritten insn " + std::to_string(k);
    if (from[k].orig != kAppended)
      s += " (for original insn " + std::to_string(from[k].orig) + ")";
    else
      s += " (appended)";
    return s;
  };

  for (std::size_t k = 0; k < out.size(); ++k) {
    std::optional<std::size_t> to;  // new target index
    if (from[k].kept) {
      const std::size_t i = from[k].orig;
      auto t = branch_target(original_, old_layout, i);
      if (!t.ok()) return t.error();
      if (!t->has_value()) continue;
      to = lands[**t];
    } else if (from[k].emit->target) {
      const Target& target = *from[k].emit->target;
      if (const auto* o = std::get_if<ToOriginal>(&target)) {
        if (o->index > n) {
          return err(where(k) + ": target original insn " + std::to_string(o->index) +
                     " is past the end (" + std::to_string(n) + " insns)");
        }
        to = lands[o->index];
      } else {
        const auto& a = std::get<ToAppended>(target);
        if (a.block >= appended_.size() || a.pos >= appended_[a.block].size()) {
          return err(where(k) + ": target appended block " + std::to_string(a.block) + " pos " +
                     std::to_string(a.pos) + " does not exist");
        }
        to = block_start[a.block] + a.pos;
      }
    } else {
      continue;  // emitted without a target: offset kept as written
    }
    if (*to >= out.size()) {
      return err(where(k) + ": " + branch_kind(out[k]) +
                 " target was removed and nothing follows it");
    }
    const std::int64_t off =
        static_cast<std::int64_t>(new_layout[*to]) - static_cast<std::int64_t>(new_layout[k]) - 1;
    if (auto problem = set_branch_offset(out[k], off)) return err(where(k) + ": " + *problem);
  }

  IndexMap map;
  map.old_to_new.resize(old_layout.back() + 1);
  for (std::size_t i = 0; i < n; ++i) {
    map.old_to_new[old_layout[i]] = new_layout[lands[i]];
    if (slot_width(original_[i]) == 2) {
      const bool kept = !replaced_[i];
      map.old_to_new[old_layout[i] + 1] =
          kept ? new_layout[lands[i] + inserted_[i].size()] + 1 : new_layout[lands[i]];
    }
  }
  map.old_to_new[old_layout.back()] = new_layout[lands[n]];
  map.new_to_old.resize(new_layout.back());
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (from[k].orig == kAppended) continue;  // stays nullopt
    const std::size_t old_slot = old_layout[from[k].orig];
    map.new_to_old[new_layout[k]] = old_slot;
    if (slot_width(out[k]) == 2)
      map.new_to_old[new_layout[k] + 1] = from[k].kept ? old_slot + 1 : old_slot;
  }
  return Rewritten{std::move(out), std::move(map)};
}

}  // namespace xo::isa
