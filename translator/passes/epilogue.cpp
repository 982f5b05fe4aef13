#include "translator/passes/epilogue.hpp"

#include "core/diagnostics.hpp"

namespace xo::translator {

Snippet& Snippet::emit(isa::Insn insn) {
  items_.push_back({std::move(insn), {}});
  return *this;
}

Snippet& Snippet::jump(isa::Insn insn, const std::string& label) {
  items_.push_back({std::move(insn), label});
  return *this;
}

Snippet& Snippet::label(const std::string& name) {
  labels_.emplace_back(name, items_.size());
  return *this;
}

Snippet& Snippet::append(const Snippet& other) {
  const std::size_t base = items_.size();
  for (const auto& [name, at] : other.labels_) labels_.emplace_back(name, base + at);
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  return *this;
}

Snippet Snippet::scoped(const std::string& prefix) const {
  Snippet out = *this;
  for (auto& [name, at] : out.labels_) name = prefix + name;
  for (auto& item : out.items_)
    if (!item.target.empty()) item.target = prefix + item.target;
  return out;
}

std::vector<isa::Emit> Snippet::build() const {
  std::vector<std::size_t> slot(items_.size() + 1, 0);
  for (std::size_t i = 0; i < items_.size(); ++i) slot[i + 1] = slot[i] + isa::slot_width(items_[i].insn);
  auto slot_of_label = [&](const std::string& name) -> std::size_t {
    for (const auto& [n, at] : labels_)
      if (n == name) return slot[at];
    return slot.back();  // unreachable for well-formed snippets: jump to the end
  };
  std::vector<isa::Emit> out;
  out.reserve(items_.size());
  for (std::size_t i = 0; i < items_.size(); ++i) {
    isa::Insn insn = items_[i].insn;
    if (!items_[i].target.empty()) {
      auto off = static_cast<std::int64_t>(slot_of_label(items_[i].target)) -
                 static_cast<std::int64_t>(slot[i] + 1);
      if (auto* j = std::get_if<isa::Jmp>(&insn)) j->off = static_cast<std::int16_t>(off);
      if (auto* a = std::get_if<isa::Ja>(&insn)) a->off = static_cast<std::int32_t>(off);
    }
    out.push_back(isa::Emit{insn});
  }
  return out;
}

// The counter is this CPU's own row of the stats map, so a plain
// load/add/store is exact: BPF programs run with migration disabled, and
// the two hooks that run our programs do not nest on a CPU (XDP runs in
// NAPI softirq, tc egress under rcu_read_lock_bh; neither is entered from
// hard irq, and PREEMPT_RT serialises bh sections per CPU). A locked
// `atomic add` would buy nothing there and costs ~1 ns per frame in the
// data-path benchmark (docs/PERFORMANCE.md, docs/DECISIONS.md). The one
// place two runs can interleave on a CPU is BPF_PROG_TEST_RUN on a
// preemptible kernel (test runs only disable migration): at worst a test
// run's count is one short, never a live frame's.
//
// No stack: a map lookup needs its key in memory, and a key slot would give
// the main program a frame it may not have had, which the kernel adds to
// every call chain's 512 bytes (a subprogram using all 512 was refused,
// "combined stack size of 2 calls is 528"). The value is addressed directly
// instead (BPF_PSEUDO_MAP_VALUE on a one-value ARRAY):
//   w6 = w0
//   call bpf_get_smp_processor_id        ; inlined by the verifier on x86-64 (6.10+)
//   if r0 >= cpus goto counted           ; never, with a map of this host's size
//   r0 *= 64 ; r1 = map_value(stats) ll ; r1 += r0
//   if w6 == 0 goto bump ; r1 += 8 ; ... if w6 == 4 goto bump ; r1 += 8
//   bump: r2 = *(u64 *)(r1 + 0) ; r2 += 1 ; *(u64 *)(r1 + 0) = r2
//   counted: w0 = w6
// The slot is added as immediates, one compare at a time, not as a
// register: guest programs are verified without pointer-leak rights, and
// the kernel then refuses a pointer plus a register whose bounds differ
// between the paths that reach it ("different maps, paths or scalars"), as
// the action's do (a constant on one path, a range on another). The CPU
// offset has the same bounds on every path.
Snippet count_action(std::uint32_t cpus) {
  using namespace isa;
  Snippet s;
  s.emit(Bin{AluOp::Mov, false, 6, Reg{0}})  // w6 = w0: the action
      .emit(Call{uapi::kGetSmpProcessorId})
      .jump(Jmp{Cond::Ge, false, 0, Imm{static_cast<std::int32_t>(cpus)}, 0}, "counted")
      .emit(Bin{AluOp::Mul, true, 0, Imm{kStatsRowBytes}})
      .emit(LoadMapValue{1, static_cast<std::int32_t>(kStatsMapHandle), 0})
      .emit(Bin{AluOp::Add, true, 1, Reg{0}});
  for (std::int32_t slot = 0; slot < std::int32_t(kStatsSlotUnknown); ++slot)
    s.jump(Jmp{Cond::Eq, true, 6, Imm{slot}, 0}, "bump").emit(Bin{AluOp::Add, true, 1, Imm{8}});
  s.label("bump")
      .emit(Load{Size::DW, false, 2, 1, 0})  // r2 = *(u64 *)(r1 + 0)
      .emit(Bin{AluOp::Add, true, 2, Imm{1}})  // r2 += 1
      .emit(Store{Size::DW, 1, 0, Reg{2}})  // *(u64 *)(r1 + 0) = r2
      .label("counted")
      .emit(Bin{AluOp::Mov, false, 0, Reg{6}});
  return s;
}

Status route_main_exits(isa::Rewriter& rw, const std::vector<isa::Insn>& insns,
                        const isa::Structure& st, const Snippet& epilogue, PassContext& ctx) {
  const std::size_t main_end = st.subprograms.empty() ? insns.size() : st.subprograms[0].end;
  std::vector<std::size_t> exits;
  for (std::size_t i = 0; i < main_end; ++i)
    if (std::holds_alternative<isa::Exit>(insns[i])) exits.push_back(i);
  if (exits.empty()) return ctx.diag.whole("the main program has no exit instruction");

  // The last exit becomes the epilogue; jumps that went there now enter it.
  const std::size_t anchor = exits.back();
  exits.pop_back();
  for (std::size_t i : exits)
    rw.replace(i, {isa::Emit{isa::Ja{0, false}, isa::Target{isa::ToOriginal{anchor}}}});
  rw.replace(anchor, epilogue.build());
  return Ok{};
}

Snippet redirect_and_exit(std::uint32_t ifindex, std::int32_t flags) {
  using namespace isa;
  Snippet s;
  s.emit(Bin{AluOp::Mov, true, 1, Imm{static_cast<std::int32_t>(ifindex)}})
      .emit(Bin{AluOp::Mov, true, 2, Imm{flags}})
      .emit(Call{uapi::kRedirect})  // returns TC_ACT_REDIRECT / XDP_REDIRECT
      .emit(Exit{});
  return s;
}

}  // namespace xo::translator
