// deferred: see deferred.hpp. The tail-position proof, the call-site
// records, the entry and the descriptor epilogue.
//
//   before (guest XDP)                  after (host, main program)
//   r1 = map[devmap] ll                 r1 = <handle>         ; no host object
//   r2 = 3 ; r3 = 0                     r2 = 3 ; r3 = 0
//   call bpf_redirect_map               *(u32 *)(r10 - d-20) = w2 ; *(u32 *)(r10 - d-24) = w1
//                                       *(u64 *)(r10 - d-32) = r3 ; *(u8 *)(r10 - d-16) = 1
//                                       r0 = XDP_REDIRECT     ; the trampoline's call decides
//   exit                                goto epilogue         ; -> descriptor, delivered
//
// The proof: a forward dataflow over every subprogram tracks, per register,
// a guest-side map reference (Map), the result of a bpf_redirect_map call
// (Tok) and constants (a sample's size). A Tok may be copied between
// registers and returned by the main program; anything else that reads it
// (a compare, arithmetic, a store, a helper argument) or loses the last copy
// of it is refused, naming the call. A guest-side map may only be the map
// argument of a deferred helper.
#include "translator/passes/deferred.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <type_traits>

#include "core/uapi.hpp"
#include "translator/passes/stack_depth.hpp"

namespace xo::translator {
namespace {

using namespace isa;

// Map: one guest-side map (c = handle); MapAny: one of several guest-side
// maps of one class (c = kRedirectClass or kPerfClass), known only at run
// time (the map load leaves the handle in the register); Tainted: maybe a
// guest-side map, maybe not.
enum class K : std::uint8_t { Other, Const, Map, MapAny, Tainted, Tok, MaybeTok };
struct V {
  K k = K::Other;
  std::int64_t c = 0;  // Const: value; Map: handle; MapAny: class; Tok/MaybeTok: insn index of the call
  bool operator==(const V&) const = default;
};
constexpr std::int64_t kRedirectClass = 1, kPerfClass = 2;
using State = std::array<V, 11>;

bool is_tok(const V& v) { return v.k == K::Tok || v.k == K::MaybeTok; }
bool is_map(const V& v) { return v.k == K::Map || v.k == K::MapAny || v.k == K::Tainted; }

bool redirect_target_type(MapType t) {
  return t == MapType::Devmap || t == MapType::DevmapHash || t == MapType::Cpumap || t == MapType::Xskmap;
}

std::int64_t class_of(MapType t) { return redirect_target_type(t) ? kRedirectClass : kPerfClass; }

// `cls` gives a Map value's class (from its handle).
template <typename ClassOf>
V join(const V& a, const V& b, const ClassOf& cls) {
  if (a == b) return a;
  if (is_tok(a) || is_tok(b)) return V{K::MaybeTok, is_tok(a) ? a.c : b.c};
  auto class_or_none = [&](const V& v) -> std::int64_t {
    return v.k == K::Map ? cls(v.c) : v.k == K::MapAny ? v.c : 0;
  };
  const std::int64_t ca = class_or_none(a), cb = class_or_none(b);
  if (ca && ca == cb) return V{K::MapAny, ca};
  if (is_map(a) || is_map(b)) return V{K::Tainted, is_map(a) ? a.c : b.c};
  return V{};
}

// Registers an instruction reads.
std::vector<Reg> reads_of(const Insn& insn, const Policy& policy) {
  return std::visit(
      [&](const auto& x) -> std::vector<Reg> {
        using T = std::decay_t<decltype(x)>;
        std::vector<Reg> r;
        auto src = [&](const Value& v) {
          if (auto* s = std::get_if<Reg>(&v)) r.push_back(*s);
        };
        if constexpr (std::is_same_v<T, Bin>) {
          src(x.src);
          if (x.op != AluOp::Mov) r.push_back(x.dst);
        } else if constexpr (std::is_same_v<T, Un>) {
          r.push_back(x.dst);
        } else if constexpr (std::is_same_v<T, Jmp>) {
          r.push_back(x.dst);
          src(x.src);
        } else if constexpr (std::is_same_v<T, Load>) {
          r.push_back(x.base);
        } else if constexpr (std::is_same_v<T, Store>) {
          r.push_back(x.base);
          src(x.src);
        } else if constexpr (std::is_same_v<T, Atomic>) {
          r.push_back(x.base);
          r.push_back(x.src);
          if (x.op == AtomicOp::CmpXchg) r.push_back(0);
        } else if constexpr (std::is_same_v<T, LegacyLoad>) {
          r.push_back(6);
          if (x.indirect) r.push_back(x.src);
        } else if constexpr (std::is_same_v<T, Call>) {
          const HelperProto* p = policy.helper(x.helper);
          for (Reg a = 1; a <= (p ? p->nargs : 5) && a <= 5; ++a) r.push_back(a);
        } else if constexpr (std::is_same_v<T, CallLocal> || std::is_same_v<T, CallKfunc>) {
          for (Reg a = 1; a <= 5; ++a) r.push_back(a);
        } else if constexpr (std::is_same_v<T, Exit>) {
          r.push_back(0);
        }
        return r;
      },
      insn);
}

bool is_deferred_call(const Insn& insn) {
  const auto* c = std::get_if<Call>(&insn);
  return c && (c->helper == BPF_FUNC_redirect || c->helper == BPF_FUNC_redirect_map ||
               c->helper == BPF_FUNC_perf_event_output);
}

class Prover {
 public:
  Prover(const std::vector<Insn>& insns, const Structure& st, PassContext& ctx)
      : insns_(insns), st_(st), ctx_(ctx), in_(insns.size()) {}

  Status run(DeferPlan& plan) {
    std::deque<std::size_t> work;
    for (const Subprogram& sp : st_.subprograms) {
      in_[sp.first] = State{};
      work.push_back(sp.first);
    }
    while (!work.empty()) {
      const std::size_t i = work.front();
      work.pop_front();
      State s = *in_[i];
      if (auto r = step(i, s, plan); !r) return r;
      for (std::size_t n : st_.succ[i]) {
        if (n == kNoInsn) continue;
        if (!in_[n]) {
          in_[n] = s;
          work.push_back(n);
          continue;
        }
        bool changed = false;
        for (std::size_t r = 0; r < s.size(); ++r) {
          V j = join((*in_[n])[r], s[r], [&](std::int64_t h) {
            const MapDef* m = guest_map(std::uint32_t(h));
            return m ? class_of(m->type) : 0;
          });
          if (!(j == (*in_[n])[r])) {
            (*in_[n])[r] = j;
            changed = true;
          }
        }
        if (changed) work.push_back(n);
      }
    }
    return Ok{};
  }

 private:
  std::size_t pc(std::size_t i) const { return st_.layout[i]; }
  // "insn 9 (file.c:43)": the second place a message names.
  std::string place(std::size_t i) const {
    const std::string w = ctx_.diag.where(pc(i));
    const std::size_t cut = ctx_.diag.label().size() + 2;
    return w.size() > cut ? w.substr(cut) : w;
  }
  std::string map_text(std::int64_t h) const {
    const MapDef* m = SubmissionMaps(ctx_.submission).find(std::uint32_t(h));
    return m ? "map '" + m->name + "' (" + map_type_name(m->type) + ")" : "a guest-side map";
  }
  const MapDef* guest_map(std::uint32_t h) const {
    const MapDef* m = SubmissionMaps(ctx_.submission).find(h);
    return m && guest_side_map_type(m->type) ? m : nullptr;
  }
  Error refuse_use(std::size_t i, const V& v) const {
    if (is_tok(v))
      return ctx_.diag.at(pc(std::size_t(v.c)),
                          "the result of bpf_redirect_map is used at " + place(i) +
                              "; a redirect through a guest-side map is made by the guest, so its result must flow "
                              "unchanged to the program's exit (return bpf_redirect_map(...))",
                          EPERM);
    return ctx_.diag.at(pc(i),
                        (v.k == K::Map ? map_text(v.c) : std::string("a guest-side map")) +
                            " lives in the guest: it may only be the map argument of bpf_redirect_map "
                            "or bpf_perf_event_output, which the guest's trampoline makes",
                        EPERM);
  }
  static bool holds_tok(const State& s) {
    return std::any_of(s.begin(), s.end(), [](const V& v) { return is_tok(v); });
  }
  static std::int64_t tok_call(const State& s) {
    for (const V& v : s)
      if (is_tok(v)) return v.c;
    return 0;
  }

  Status step(std::size_t i, State& s, DeferPlan& plan) {
    const Insn& insn = insns_[i];
    const bool main = st_.subprogram_of[i] == 0;
    const bool had_tok = holds_tok(s);
    const std::int64_t tok_from = tok_call(s);

    // Guest-side map references.
    if (const auto* l = std::get_if<LoadMapFd>(&insn); l && guest_map(std::uint32_t(l->fd))) {
      if (std::find(plan.map_loads.begin(), plan.map_loads.end(), i) == plan.map_loads.end())
        plan.map_loads.push_back(i);
      s[l->dst] = V{K::Map, std::uint32_t(l->fd)};
      return discard_check(i, s, had_tok, tok_from);
    }
    if (const auto* l = std::get_if<LoadMapValue>(&insn); l && guest_map(std::uint32_t(l->fd)))
      return ctx_.diag.at(pc(i), map_text(std::uint32_t(l->fd)) + " lives in the guest; its values cannot be addressed",
                          EPERM);

    // Register copies carry what they copy.
    if (const auto* b = std::get_if<Bin>(&insn); b && b->op == AluOp::Mov) {
      if (const auto* r = std::get_if<Reg>(&b->src)) {
        const V v = s[*r];
        if (is_map(v) && !b->is64) return refuse_use(i, v);
        s[b->dst] = v;  // 32-bit copies keep an XDP action: the kernel reads it as u32
        return discard_check(i, s, had_tok, tok_from);
      }
      s[b->dst] = V{K::Const, b->is64 ? std::int64_t(std::get<Imm>(b->src).v)
                                      : std::int64_t(std::uint32_t(std::get<Imm>(b->src).v))};
      return discard_check(i, s, had_tok, tok_from);
    }
    if (const auto* l = std::get_if<LoadImm64>(&insn)) {
      s[l->dst] = V{K::Const, std::int64_t(l->imm)};
      return discard_check(i, s, had_tok, tok_from);
    }

    // A deferred call: check its arguments, record the site.
    if (is_deferred_call(insn)) {
      const std::int32_t helper = std::get<Call>(insn).helper;
      const std::string name = kernel_helper_name(helper);
      if (!main)
        return ctx_.diag.at(pc(i), name + " in a subprogram (bpf-to-bpf call) cannot be deferred to the guest: the "
                                          "record lives in the main program's frame; inline it",
                            EPERM);
      const Reg map_arg = helper == BPF_FUNC_redirect_map ? 1 : helper == BPF_FUNC_perf_event_output ? 2 : 0;
      for (Reg a : reads_of(insn, ctx_.policy))
        if (a != map_arg && (is_map(s[a]) || is_tok(s[a]))) return refuse_use(i, s[a]);
      DeferredSite site;
      site.index = i;
      site.helper = helper;
      if (map_arg) {
        // The handle is in the register at run time (the map load put it
        // there): paths may bring different maps of the right class.
        const V& m = s[map_arg];
        const MapDef* def = m.k == K::Map ? guest_map(std::uint32_t(m.c)) : nullptr;
        const std::int64_t want = helper == BPF_FUNC_redirect_map ? kRedirectClass : kPerfClass;
        const bool right = def ? class_of(def->type) == want : m.k == K::MapAny && m.c == want;
        if (!right)
          return ctx_.diag.at(pc(i), name + "'s map (r" + std::to_string(map_arg) + ") must be a guest-side " +
                                         (helper == BPF_FUNC_redirect_map ? "DEVMAP, DEVMAP_HASH, CPUMAP or XSKMAP"
                                                                          : "PERF_EVENT_ARRAY") +
                                         " on every path" + (def ? ", not " + map_text(m.c) : std::string()),
                              EPERM);
        site.map = def ? def->handle : 0;  // 0: known at run time only
      }
      if (helper == BPF_FUNC_redirect_map && had_tok)
        return ctx_.diag.at(pc(i), "a second bpf_redirect_map while the result of the one at " +
                                       place(std::size_t(tok_from)) + " is still live cannot be deferred",
                            EPERM);
      if (helper == BPF_FUNC_perf_event_output) {
        const V& size = s[5];
        if (size.k != K::Const || size.c < 0 || size.c > std::int64_t(descriptor::kMaxSampleData))
          return ctx_.diag.at(pc(i), "bpf_perf_event_output's size (r5) must be a constant of at most " +
                                         std::to_string(descriptor::kMaxSampleData) +
                                         " bytes: the sample travels in the frame's descriptor to the guest",
                              EPERM);
        site.size = std::uint32_t(size.c);
      }
      auto it = std::find_if(plan.sites.begin(), plan.sites.end(), [&](const DeferredSite& d) { return d.index == i; });
      if (it == plan.sites.end()) {
        plan.sites.push_back(site);
      } else if (it->size != site.size) {
        return ctx_.diag.at(pc(i), name + " is reached with different sizes on different paths; "
                                          "its sample record cannot be laid out",
                            EPERM);
      }
      for (Reg r = 0; r <= 5; ++r) s[r] = V{};
      if (helper == BPF_FUNC_redirect_map) s[0] = V{K::Tok, std::int64_t(i)};
      return discard_check(i, s, had_tok, tok_from);
    }

    // Every other instruction: what it reads must be plain.
    for (Reg r : reads_of(insn, ctx_.policy)) {
      if (std::holds_alternative<Exit>(insn) && r == 0 && main && is_tok(s[0])) continue;
      if (is_map(s[r]) || is_tok(s[r])) return refuse_use(i, s[r]);
    }
    if (std::holds_alternative<Exit>(insn)) {
      if (had_tok && !is_tok(s[0]))
        return ctx_.diag.at(pc(std::size_t(tok_from)),
                            "the result of bpf_redirect_map is not what the program returns at " + place(i) +
                                "; a redirect through a guest-side map is made by the guest, so its result must flow "
                                "unchanged to the program's exit",
                            EPERM);
      return Ok{};
    }
    // Writes.
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, Call> || std::is_same_v<T, CallLocal> || std::is_same_v<T, CallKfunc> ||
                        std::is_same_v<T, LegacyLoad>) {
            for (Reg r = 0; r <= 5; ++r) s[r] = V{};
          } else if constexpr (std::is_same_v<T, Atomic>) {
            if (x.op == AtomicOp::CmpXchg) s[0] = V{};
            if (x.fetch) s[x.src] = V{};
          } else if constexpr (requires { x.dst; }) {
            if constexpr (!std::is_same_v<T, Jmp>) s[x.dst] = V{};
          }
        },
        insn);
    return discard_check(i, s, had_tok, tok_from);
  }

  // The last copy of a redirect_map result was overwritten.
  Status discard_check(std::size_t i, const State& s, bool had_tok, std::int64_t from) const {
    if (!had_tok || holds_tok(s)) return Ok{};
    return ctx_.diag.at(pc(std::size_t(from)),
                        "the result of bpf_redirect_map is overwritten at " + place(i) +
                            "; a redirect through a guest-side map is made by the guest, so its result must flow "
                            "unchanged to the program's exit (return bpf_redirect_map(...))",
                        EPERM);
  }

  const std::vector<Insn>& insns_;
  const Structure& st_;
  PassContext& ctx_;
  std::vector<std::optional<State>> in_;
};

Status lay_out(const std::vector<Insn>& insns, const Structure& st, PassContext& ctx, DeferPlan& plan) {
  std::sort(plan.sites.begin(), plan.sites.end(),
            [](const DeferredSite& a, const DeferredSite& b) { return a.index < b.index; });
  std::sort(plan.map_loads.begin(), plan.map_loads.end());
  if (!plan.defers()) return Ok{};
  const std::size_t first = plan.sites.front().index;
  if (!ctx.options.defer)
    return ctx.diag.at(st.layout[first], kernel_helper_name(std::get<Call>(insns[first]).helper) +
                                             " is deferred to the guest's trampoline, which needs protocol version 2 "
                                             "(CAPS)",
                       EPERM);
  if (ctx.options.cookie == 0)
    return ctx.diag.at(st.layout[first], kernel_helper_name(std::get<Call>(insns[first]).helper) +
                                             " defers work to the guest, and PROG_LOAD carries no cookie for its "
                                             "trampoline",
                       EINVAL);
  std::int32_t records = 0;
  unsigned samples = 0;
  for (DeferredSite& d : plan.sites) {
    if (d.helper != BPF_FUNC_perf_event_output) continue;
    if (++samples > descriptor::kMaxSamples)
      return ctx.diag.at(st.layout[d.index], "more than " + std::to_string(descriptor::kMaxSamples) +
                                                 " bpf_perf_event_output call sites: a descriptor carries at most " +
                                                 std::to_string(descriptor::kMaxSamples) + " samples",
                         EPERM);
    d.bit = samples - 1;
    records += d.record_bytes();
    if (descriptor::kFixedBytes + records > descriptor::kMaxBytes)
      return ctx.diag.at(st.layout[d.index], "the samples of this program's bpf_perf_event_output calls need " +
                                                 std::to_string(descriptor::kFixedBytes + records) +
                                                 " descriptor bytes, over the " +
                                                 std::to_string(descriptor::kMaxBytes) + " the headroom guarantees",
                         EPERM);
  }
  for (std::size_t i = 0; i < insns.size(); ++i)
    for (std::size_t n : st.succ[i])
      if (n == st.subprograms.front().first)
        return ctx.diag.at(st.layout[i], "a jump back to the program's first instruction in a program that defers "
                                         "to the guest cannot be lowered (the record is cleared there)",
                           EPERM);
  const auto depth = main_stack_depth(insns, st);
  plan.reserved = 32 + records;
  if (!depth || (*depth + 7) / 8 * 8 + std::uint32_t(plan.reserved) > 512)
    return ctx.diag.at(st.layout[first], "deferring to the guest needs " + std::to_string(plan.reserved) +
                                             " bytes of stack below the main program's, and " +
                                             (depth ? "it uses " + std::to_string(*depth) + " of 512"
                                                    : std::string("its stack use could not be followed")),
                       EPERM);
  const std::int32_t base = std::int32_t((*depth + 7) / 8 * 8);
  plan.ctx_slot = std::int16_t(-(base + 8));
  plan.state_slot = std::int16_t(-(base + 16));
  plan.target_slot = std::int16_t(-(base + 24));
  plan.flags_slot = std::int16_t(-(base + 32));
  std::int32_t at = base + 32;
  for (DeferredSite& d : plan.sites) {
    if (d.helper != BPF_FUNC_perf_event_output) continue;
    at += d.record_bytes();
    d.record = std::int16_t(-at);
  }
  return Ok{};
}

Insn mov64(Reg d, std::int32_t v) { return Bin{AluOp::Mov, true, d, Imm{v}}; }
Insn st(Size sz, std::int16_t off, std::int32_t v) { return Store{sz, kFramePointer, off, Imm{v}}; }
Insn stx(Size sz, Reg base, std::int16_t off, Reg src) { return Store{sz, base, off, Reg{src}}; }
Insn ldx(Size sz, Reg dst, Reg base, std::int16_t off) { return Load{sz, false, dst, base, off}; }

std::vector<Emit> emits(const Snippet& s) { return s.build(); }

std::vector<Emit> redirect_map_site(const DeferPlan& p, const DeferredSite& d) {
  return {Emit{stx(Size::W, kFramePointer, std::int16_t(p.target_slot + 4), 2)},
          Emit{stx(Size::W, kFramePointer, p.target_slot, 1)},  // the handle the map load left in r1
          Emit{stx(Size::DW, kFramePointer, p.flags_slot, 3)},
          Emit{st(Size::B, p.state_slot, descriptor::kRedirectMap)},
          Emit{mov64(0, uapi::kRedirectAct)}};
}

// The kernel's bpf_redirect for XDP: flags other than 0 are XDP_ABORTED and
// record nothing.
std::vector<Emit> redirect_site(const DeferPlan& p) {
  Snippet s;
  s.jump(Jmp{Cond::Ne, false, 2, Imm{0}, 0}, "aborted")
      .emit(stx(Size::W, kFramePointer, std::int16_t(p.target_slot + 4), 1))
      .emit(st(Size::W, p.target_slot, 0))
      .emit(st(Size::DW, p.flags_slot, 0))
      .emit(st(Size::B, p.state_slot, descriptor::kRedirect))
      .emit(mov64(0, uapi::kRedirectAct))
      .jump(Ja{0, false}, "done")
      .label("aborted")
      .emit(mov64(0, uapi::kAborted))
      .label("done");
  return emits(s);
}

// The record in its wire layout; the data copied a byte at a time, since
// its pointer (stack, map value, packet) may have any alignment. A site
// that runs again in the same frame keeps its last sample.
std::vector<Emit> sample_site(const DeferPlan& p, const DeferredSite& d) {
  std::vector<Emit> out{Emit{ldx(Size::B, 0, kFramePointer, std::int16_t(p.state_slot + 1))},
                        Emit{Bin{AluOp::Or, true, 0, Imm{std::int32_t(1u << d.bit)}}},
                        Emit{stx(Size::B, kFramePointer, std::int16_t(p.state_slot + 1), 0)},
                        Emit{stx(Size::W, kFramePointer, d.record, 2)},  // the handle in r2
                        Emit{st(Size::W, std::int16_t(d.record + 4), std::int32_t(d.size))},
                        Emit{stx(Size::DW, kFramePointer, std::int16_t(d.record + 8), 3)}};
  for (std::uint32_t j = 0; j < d.size; ++j) {
    out.push_back(Emit{ldx(Size::B, 0, 4, std::int16_t(j))});
    out.push_back(Emit{stx(Size::B, kFramePointer, std::int16_t(d.record + 16 + std::int32_t(j)), 0)});
  }
  out.push_back(Emit{mov64(0, 0)});
  return out;
}

// The entry: keep ctx, clear the record, drop a frame that already carries
// the descriptor's ethertype (only the host makes descriptors; the cookie
// guards the frames no host program sees).
std::vector<Emit> entry(const DeferPlan& p, const TranslateOptions& o, std::size_t anchor) {
  const bool tc = o.flavor == Flavor::Tc;
  const std::int32_t ethertype_le = std::int32_t((descriptor::kEthertype >> 8) | ((descriptor::kEthertype & 0xff) << 8));
  Snippet s;
  s.emit(stx(Size::DW, kFramePointer, p.ctx_slot, 1))
      .emit(st(Size::DW, p.state_slot, 0))
      .emit(st(Size::DW, p.target_slot, 0))
      .emit(st(Size::DW, p.flags_slot, 0));
  for (const DeferredSite* d : p.samples())
    for (std::int32_t q = 0; q < d->record_bytes(); q += 8) s.emit(st(Size::DW, std::int16_t(d->record + q), 0));
  if (tc) {
    // Exact whatever the skb's linear part holds: bytes 12..13 into the
    // target slot, cleared again below.
    s.emit(mov64(2, 12))
        .emit(Bin{AluOp::Mov, true, 3, Reg{kFramePointer}})
        .emit(Bin{AluOp::Add, true, 3, Imm{p.target_slot}})
        .emit(mov64(4, 2))
        .emit(Call{uapi::kSkbLoadBytes})
        .emit(ldx(Size::DW, 1, kFramePointer, p.ctx_slot))
        .jump(Jmp{Cond::Ne, false, 0, Imm{0}, 0}, "ok")
        .emit(ldx(Size::H, 4, kFramePointer, p.target_slot))
        .emit(st(Size::DW, p.target_slot, 0));
  } else {
    s.emit(ldx(Size::W, 2, 1, uapi::kXdpData))
        .emit(ldx(Size::W, 3, 1, uapi::kXdpDataEnd))
        .emit(Bin{AluOp::Mov, true, 4, Reg{2}})
        .emit(Bin{AluOp::Add, true, 4, Imm{14}})
        .jump(Jmp{Cond::Gt, false, 4, Reg{3}, 0}, "ok")
        .emit(ldx(Size::H, 4, 2, 12));
  }
  s.jump(Jmp{Cond::Ne, true, 4, Imm{ethertype_le}, 0}, "ok")
      .emit(Bin{AluOp::Mov, false, 0, Imm{std::int32_t(kStatsSlotUnknown)}})  // a policy drop
      .emit(Ja{0, false})  // -> the epilogue, which counts and drops it (target set below)
      .label("ok");
  std::vector<Emit> out = emits(s);
  for (auto it = out.rbegin(); it != out.rend(); ++it)
    if (std::holds_alternative<Ja>(it->insn)) {
      it->target = Target{ToOriginal{anchor}};
      break;
    }
  return out;
}

// Bump the stats slot `slot` of this CPU's row; keeps w0. Uses r0-r2, r6.
Snippet bump_slot(std::uint32_t cpus, std::int32_t slot) {
  Snippet s;
  s.emit(Bin{AluOp::Mov, false, 6, Reg{0}})
      .emit(Call{uapi::kGetSmpProcessorId})
      .jump(Jmp{Cond::Ge, false, 0, Imm{std::int32_t(cpus)}, 0}, "bumped")
      .emit(Bin{AluOp::Mul, true, 0, Imm{std::int32_t(kStatsRowBytes)}})
      .emit(LoadMapValue{1, std::int32_t(kStatsMapHandle), std::uint32_t(slot) * 8})
      .emit(Bin{AluOp::Add, true, 1, Reg{0}})
      .emit(ldx(Size::DW, 2, 1, 0))
      .emit(Bin{AluOp::Add, true, 2, Imm{1}})
      .emit(stx(Size::DW, 1, 0, 2))
      .label("bumped")
      .emit(Bin{AluOp::Mov, false, 0, Reg{6}});
  return s;
}

// One descriptor layout: the samples of `mask` fired. r8 = mask, r9 = the
// version/verdict/action word, r7 = the action to count.
Snippet combo(const DeferPlan& p, const TranslateOptions& o, unsigned mask, const std::string& done,
              const std::string& refuse) {
  const bool tc = o.flavor == Flavor::Tc;
  std::int32_t len = descriptor::kFixedBytes;
  unsigned n = 0;
  for (const DeferredSite* d : p.samples())
    if (mask & (1u << d->bit)) {
      len += d->record_bytes();
      ++n;
    }
  Snippet s;
  s.emit(ldx(Size::DW, 1, kFramePointer, p.ctx_slot));
  if (tc) {
    // skb_change_head pushes zeroed linear bytes; skb_pull_data makes the
    // inner frame's MACs linear too.
    s.emit(mov64(2, len)).emit(mov64(3, 0)).emit(Call{BPF_FUNC_skb_change_head});
    s.jump(Jmp{Cond::Ne, false, 0, Imm{0}, 0}, refuse);
    s.emit(ldx(Size::DW, 1, kFramePointer, p.ctx_slot)).emit(mov64(2, len + 14)).emit(Call{BPF_FUNC_skb_pull_data});
  } else {
    s.emit(mov64(2, -len)).emit(Call{uapi::kXdpAdjustHead});
  }
  s.jump(Jmp{Cond::Ne, false, 0, Imm{0}, 0}, refuse).emit(ldx(Size::DW, 1, kFramePointer, p.ctx_slot));
  s.emit(ldx(Size::W, 2, 1, tc ? uapi::kSkbData : std::int16_t(uapi::kXdpData)))
      .emit(ldx(Size::W, 3, 1, tc ? uapi::kSkbDataEnd : std::int16_t(uapi::kXdpDataEnd)))
      .emit(Bin{AluOp::Mov, true, 4, Reg{2}})
      .emit(Bin{AluOp::Add, true, 4, Imm{len + 14}})
      .jump(Jmp{Cond::Gt, false, 4, Reg{3}, 0}, refuse);
  for (std::int16_t q = 0; q < 12; q += 4)
    s.emit(ldx(Size::W, 4, 2, std::int16_t(len + q))).emit(stx(Size::W, 2, q, 4));
  const std::int32_t ethertype_le = std::int32_t((descriptor::kEthertype >> 8) | ((descriptor::kEthertype & 0xff) << 8));
  s.emit(Store{Size::H, 2, 12, Imm{ethertype_le}})
      .emit(Store{Size::W, 2, descriptor::kCookieAt, Imm{std::int32_t(std::uint32_t(o.cookie))}})
      .emit(Store{Size::W, 2, std::int16_t(descriptor::kCookieAt + 4), Imm{std::int32_t(std::uint32_t(o.cookie >> 32))}})
      .emit(Bin{AluOp::Mov, true, 4, Reg{9}});
  if (n) s.emit(Bin{AluOp::Or, true, 4, Imm{std::int32_t(n << 24)}});
  s.emit(stx(Size::W, 2, descriptor::kWordAt, 4))
      .emit(ldx(Size::DW, 4, kFramePointer, p.target_slot))
      .emit(stx(Size::DW, 2, descriptor::kMapAt, 4))
      .emit(Store{Size::W, 2, descriptor::kPadAt, Imm{0}})
      .emit(ldx(Size::DW, 4, kFramePointer, p.flags_slot))
      .emit(stx(Size::DW, 2, descriptor::kFlagsAt, 4));
  std::int16_t at = descriptor::kFixedBytes;
  for (const DeferredSite* d : p.samples()) {
    if (!(mask & (1u << d->bit))) continue;
    for (std::int32_t q = 0; q < d->record_bytes(); q += 8)
      s.emit(ldx(Size::DW, 4, kFramePointer, std::int16_t(d->record + q))).emit(stx(Size::DW, 2, std::int16_t(at + q), 4));
    at = std::int16_t(at + d->record_bytes());
  }
  s.jump(Ja{0, false}, done);
  return s;
}

}  // namespace

std::vector<const DeferredSite*> DeferPlan::samples() const {
  std::vector<const DeferredSite*> out;
  for (const DeferredSite& d : sites)
    if (d.helper == BPF_FUNC_perf_event_output) out.push_back(&d);
  return out;
}

Result<DeferPlan> plan_deferred(const std::vector<Insn>& insns, const Structure& st, PassContext& ctx) {
  DeferPlan plan;
  Prover prover(insns, st, ctx);
  if (auto s = prover.run(plan); !s) return s.error();
  if (auto s = lay_out(insns, st, ctx, plan); !s) return s.error();
  return plan;
}

std::size_t main_exit_anchor(const std::vector<Insn>& insns, const Structure& st) {
  const std::size_t main_end = st.subprograms.empty() ? insns.size() : st.subprograms[0].end;
  std::size_t anchor = kNoInsn;
  for (std::size_t i = 0; i < main_end; ++i)
    if (std::holds_alternative<Exit>(insns[i])) anchor = i;
  return anchor;
}

void lower_deferred(Rewriter& rw, const Structure& st, const DeferPlan& plan, const TranslateOptions& o,
                    std::size_t anchor) {
  // A guest-side map has no host object: its load leaves the handle, a
  // plain number, for the call site to record.
  for (std::size_t i : plan.map_loads) {
    const auto& l = std::get<LoadMapFd>(rw.original()[i]);
    rw.replace(i, {Emit{mov64(l.dst, l.fd)}});
  }
  if (!plan.defers()) return;
  for (const DeferredSite& d : plan.sites) {
    switch (d.helper) {
      case BPF_FUNC_redirect_map: rw.replace(d.index, redirect_map_site(plan, d)); break;
      case BPF_FUNC_redirect: rw.replace(d.index, redirect_site(plan)); break;
      default: rw.replace(d.index, sample_site(plan, d)); break;
    }
  }
  rw.insert_before(st.subprograms.front().first, entry(plan, o, anchor));
}

Snippet deferred_exit(const DeferPlan& p, const TranslateOptions& o) {
  Snippet s;
  if (!p.defers()) return s;
  const bool tc = o.flavor == Flavor::Tc;
  const unsigned nsamples = unsigned(p.samples().size());
  auto mask_to_r8 = [&] {
    s.emit(Bin{AluOp::Mov, true, 8, Reg{7}}).emit(Bin{AluOp::Rsh, true, 8, Imm{8}}).emit(Bin{AluOp::And, true, 8, Imm{3}});
  };
  s.emit(ldx(Size::DW, 7, kFramePointer, p.state_slot))
      .jump(Jmp{Cond::Eq, true, 0, Imm{uapi::kRedirectAct}, 0}, "d_redirect")
      .jump(Jmp{Cond::Gt, true, 0, Imm{uapi::kPass}, 0}, "d_tx");
  // ABORTED, DROP, PASS: a descriptor only when samples fired.
  mask_to_r8();
  s.jump(Jmp{Cond::Eq, false, 8, Imm{0}, 0}, "d_plain")
      .emit(st(Size::DW, p.target_slot, 0))
      .emit(st(Size::DW, p.flags_slot, 0))
      .emit(Bin{AluOp::Mov, false, 7, Reg{0}})
      .emit(mov64(9, descriptor::kVersion | (uapi::kDrop << 16)))
      .jump(Jmp{Cond::Ne, true, 0, Imm{uapi::kPass}, 0}, "d_combos")
      .emit(mov64(9, descriptor::kVersion | (uapi::kPass << 16)))
      .jump(Ja{0, false}, "d_combos")
      // XDP_REDIRECT: the recorded call's verdict, or a policy drop.
      .label("d_redirect")
      .emit(Bin{AluOp::Mov, true, 9, Reg{7}})
      .emit(Bin{AluOp::And, true, 9, Imm{0xff}})
      .jump(Jmp{Cond::Eq, false, 9, Imm{0}, 0}, "d_policy");
  mask_to_r8();
  s.emit(Bin{AluOp::Lsh, true, 9, Imm{8}})
      .emit(Bin{AluOp::Or, true, 9, Imm{descriptor::kVersion}})
      .emit(Bin{AluOp::Mov, false, 7, Imm{uapi::kRedirectAct}})
      .jump(Ja{0, false}, "d_combos")
      // XDP_TX leaves by the host's uplink: its samples are lost, counted.
      .label("d_tx")
      .jump(Jmp{Cond::Ne, true, 0, Imm{uapi::kTx}, 0}, "d_plain");
  mask_to_r8();
  s.jump(Jmp{Cond::Eq, false, 8, Imm{0}, 0}, "d_plain");
  if (o.stats) {
    for (unsigned b = 0; b < nsamples; ++b) {
      const std::string skip = "d_lost" + std::to_string(b);
      s.jump(Jmp{Cond::Set, false, 8, Imm{std::int32_t(1u << b)}, 0}, "d_bump" + std::to_string(b))
          .jump(Ja{0, false}, skip)
          .label("d_bump" + std::to_string(b));
      s.append(bump_slot(o.stats_cpus, std::int32_t(kStatsSlotSampleLost)).scoped("d_b" + std::to_string(b) + "_"))
          .label(skip);
    }
  }
  s.jump(Ja{0, false}, "d_plain").label("d_combos");
  const unsigned combos = 1u << nsamples;
  for (unsigned m = 0; m < combos; ++m) s.jump(Jmp{Cond::Eq, false, 8, Imm{std::int32_t(m)}, 0}, "d_combo" + std::to_string(m));
  s.jump(Ja{0, false}, "d_policy");
  for (unsigned m = 0; m < combos; ++m)
    s.label("d_combo" + std::to_string(m)).append(combo(p, o, m, "d_deliver", "d_policy"));
  s.label("d_deliver").emit(Bin{AluOp::Mov, false, 0, Reg{7}});
  if (o.stats) s.append(count_action(o.stats_cpus).scoped("d_"));
  if (tc) {
    s.emit(mov64(0, uapi::kTcActOk)).emit(Exit{});
  } else {
    s.append(redirect_and_exit(o.tap_ifindex, 0));
  }
  s.label("d_policy").emit(Bin{AluOp::Mov, false, 0, Imm{std::int32_t(kStatsSlotUnknown)}}).label("d_plain");
  return s;
}

}  // namespace xo::translator
