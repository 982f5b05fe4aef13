// Data-driven translator cases: one scenario per case, the input program,
// and either the exact host program expected or a fragment of the expected
// one-line refusal.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tests/translator/func_btf.hpp"
#include "tests/translator/test_support.hpp"
#include "translator/isa/codec.hpp"
#include "translator/isa/program.hpp"
#include "translator/passes/passes.hpp"
#include "verifier-front/preverify.hpp"

namespace xo::test {
namespace {

constexpr std::uint32_t kTap = 7;
constexpr std::uint32_t kGuestIfindex = 3;

// Hand-written expected epilogues (tap 7), one per flavor.
const std::vector<Insn> kTcEpilogue = {
    jmp32(Cond::Eq, 0, 2, 3),  // PASS -> ok
    jmp32(Cond::Eq, 0, 3, 4),  // TX -> redirect
    mov64(0, 2),               // TC_ACT_SHOT
    exit_(),
    mov64(0, 0),  // TC_ACT_OK
    exit_(),
    mov64(1, kTap), mov64(2, 1), call(23), exit_(),
};
const std::vector<Insn> kChainEpilogue = {
    jmp32(Cond::Eq, 0, 2, 4),  // PASS -> redirect to the tap
    jmp32(Cond::Gt, 0, 3, 1),  // REDIRECT, unknown -> drop
    exit_(),
    mov64(0, 1), exit_(),
    mov64(1, kTap), mov64(2, 0), call(23), exit_(),
};
// stats_cpus 4: this CPU's row of one ARRAY value, addressed directly (no stack).
const std::vector<Insn> kCountAction55 = {
    mov32r(6, 0), call(8), jmp(Cond::Ge, 0, 4, 17),  // bpf_get_smp_processor_id; a row of the map?
    alu64(AluOp::Mul, 0, 64), ld_map_value(1, 55, 0), alu64r(AluOp::Add, 1, 0),
    jmp32(Cond::Eq, 6, 0, 9), alu64(AluOp::Add, 1, 8), jmp32(Cond::Eq, 6, 1, 7), alu64(AluOp::Add, 1, 8),
    jmp32(Cond::Eq, 6, 2, 5), alu64(AluOp::Add, 1, 8), jmp32(Cond::Eq, 6, 3, 3), alu64(AluOp::Add, 1, 8),
    jmp32(Cond::Eq, 6, 4, 1), alu64(AluOp::Add, 1, 8),  // slot 5: anything else
    ldx(Size::DW, 2, 1, 0), alu64(AluOp::Add, 2, 1),
    stx(Size::DW, 1, 0, 2),  // this CPU's row: a plain add is exact (epilogue.cpp)
    mov32r(0, 6),
};
// The XDP argument checks around skb_load_bytes / skb_store_bytes (lower_tc.cpp).
const std::vector<Insn> kCheckedLoadBytes = {
    mov32r(0, 2), jmp(Cond::Gt, 0, 0xffff, 7), mov32r(5, 4), jmp(Cond::Gt, 5, 0xffff, 5),
    alu64r(AluOp::Add, 0, 5), ldx(Size::W, 5, 1, 0), jmpr(Cond::Gt, 0, 5, 4),
    call(26), ja(3), mov64(0, -14), ja(1), mov64(0, -22),
};
const std::vector<Insn> kCheckedStoreBytes = {
    mov32r(0, 2), jmp(Cond::Gt, 0, 0xffff, 8), mov32r(5, 4), jmp(Cond::Gt, 5, 0xffff, 6),
    alu64r(AluOp::Add, 0, 5), ldx(Size::W, 5, 1, 0), jmpr(Cond::Gt, 0, 5, 5),
    mov64(5, 0), call(9), ja(3), mov64(0, -14), ja(1), mov64(0, -22),
};
// adjust_tail: XDP's 14-byte floor and the end of its frame (3520 bytes with
// nothing pushed; + cb[0], the bytes pushed, in programs that push).
const std::vector<Insn> kCheckedTail = {
    alu64(AluOp::Lsh, 2, 32), alu64(AluOp::Arsh, 2, 32), ldx(Size::W, 3, 1, 0), alu64r(AluOp::Add, 3, 2),
    jmp(Cond::SLt, 3, 14, 5), jmp(Cond::SGt, 3, 3520, 4),
    mov64r(2, 3), mov64(3, 0), call(38), ja(1), mov64(0, -22),
};
const std::vector<Insn> kCheckedTailAfterPushes = {
    alu64(AluOp::Lsh, 2, 32), alu64(AluOp::Arsh, 2, 32), ldx(Size::W, 3, 1, 0), alu64r(AluOp::Add, 3, 2),
    jmp(Cond::SLt, 3, 14, 7), ldx(Size::W, 0, 1, 48), alu64(AluOp::Add, 0, 3520), jmpr(Cond::SGt, 3, 0, 4),
    mov64r(2, 3), mov64(3, 0), call(38), ja(1), mov64(0, -22),
};
// cb[0] = 0 at entry, and a push of 14 within XDP's 216 bytes of headroom.
const std::vector<Insn> kHeadPrologue = {mov64(0, 0), stx(Size::W, 1, 48, 0)};
const std::vector<Insn> kCheckedPush14 = {
    ldx(Size::W, 0, 1, 48), alu32(AluOp::Add, 0, 14), jmp32(Cond::Gt, 0, 216, 5), stx(Size::W, 1, 48, 0),
    mov64(2, 14), mov64(3, 0), call(43), ja(1), mov64(0, -22),
};

std::vector<Insn> cat(std::vector<Insn> a, const std::vector<Insn>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Case {
  const char* name;
  Flavor flavor;
  std::vector<Insn> in;
  std::vector<Insn> expect;  // when `error` is empty
  std::string error = {};    // a fragment of the refusal
  int stats_map_fd = -1;
  std::vector<std::string> kfuncs = {};  // extern functions of the submission's BTF: ids 2, 3, ...
  bool resolve_kfuncs = true;            // a host BTF to resolve them (kHostKfuncIds)
};

// The host kernel's kfunc ids in these cases.
std::optional<std::int32_t> host_kfunc_id(const std::string& name) {
  if (name == "bpf_dynptr_from_xdp") return 50001;
  if (name == "bpf_dynptr_from_skb") return 50002;
  if (name == "bpf_dynptr_slice") return 50003;
  return std::nullopt;
}

Submission submission_of(const std::vector<Insn>& prog, const std::vector<std::string>& kfuncs = {}) {
  Submission s;
  if (!kfuncs.empty()) s.btf = func_btf(kfuncs);
  s.name = "case";
  s.license = "GPL";
  s.guest_ifindex = kGuestIfindex;
  s.insns = raw(prog);
  s.maps.push_back(MapDef{1, MapType::Array, 4, 8, 4, 0, "counters"});
  s.maps.push_back(MapDef{2, MapType::Hash, 4, 8, 16, 0, "flows"});
  s.maps.push_back(MapDef{3, MapType::Array, 4, 8, 1, 0, "orphan"});  // no host map
  return s;
}

std::optional<int> host_fd(std::uint32_t handle) {
  if (handle == 1) return 101;
  if (handle == 2) return 102;
  return std::nullopt;
}

translator::TranslateOptions options_of(const Case& c) {
  translator::TranslateOptions o;
  o.flavor = c.flavor;
  o.tap_ifindex = kTap;
  o.guest_ifindex = kGuestIfindex;
  o.stats = c.stats_map_fd >= 0;
  if (c.resolve_kfuncs) o.kfunc_id = host_kfunc_id;
  o.stats_cpus = 4;
  return o;
}

// A translation and its host bytes, encoded with host_fd (and the case's stats fd).
struct Encoded {
  translator::Translated tr;
  std::vector<isa::RawInsn> insns;
};

Result<Encoded> encode(const Submission& sub, Result<translator::Translated> tr, int stats_fd) {
  if (!tr) return tr.error();
  auto bytes = tr->encode(sub, [stats_fd](std::uint32_t h) -> std::optional<int> {
    if (h == translator::kStatsMapHandle) return stats_fd;
    return host_fd(h);
  });
  if (!bytes) return bytes.error();
  return Encoded{std::move(*tr), std::move(*bytes)};
}

Result<Encoded> run(const Case& c) {
  TestPolicy policy;
  const Submission sub = submission_of(c.in, c.kfuncs);
  return encode(sub, translator::translate(sub, policy, options_of(c)), c.stats_map_fd);
}

class TranslatorCase : public ::testing::TestWithParam<Case> {};

TEST_P(TranslatorCase, Translates) {
  const Case& c = GetParam();
  auto r = run(c);
  if (!c.error.empty()) {
    ASSERT_FALSE(r.ok()) << "expected a refusal containing: " << c.error << "\ngot:\n"
                         << hex_slots(r->insns);
    EXPECT_NE(r.error().message.find(c.error), std::string::npos)
        << "message: " << r.error().message << "\nexpected fragment: " << c.error;
    EXPECT_EQ(r.error().message.rfind("prog 'case': ", 0), 0u) << r.error().message;
    return;
  }
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto want = raw(c.expect);
  EXPECT_EQ(r->insns, want) << "got:\n" << hex_slots(r->insns) << "want:\n" << hex_slots(want);
  EXPECT_EQ(r->tr.prog_type, c.flavor == Flavor::Tc ? std::uint32_t{BPF_PROG_TYPE_SCHED_CLS}
                                                    : std::uint32_t{BPF_PROG_TYPE_XDP});
  // chain: tail-called by a BPF_XDP ingress program, so BPF_XDP as well.
  EXPECT_EQ(r->tr.expected_attach_type, c.flavor == Flavor::Chain ? std::uint32_t{BPF_XDP} : 0u);
}

using enum Flavor;
using isa::UnOp;
// Program fragments.
const std::vector<Insn> kRet2 = {mov64(0, 2), exit_()};

const Case kCases[] = {
    // ---- map_refs -------------------------------------------------------
    {"map_fd_handle_becomes_host_fd", Chain, {ld_map(1, 1), mov64(0, 2), exit_()},
     cat({ld_map(1, 101), mov64(0, 2)}, kChainEpilogue)},
    {"map_value_handle_becomes_host_fd", Chain, {ld_map_value(1, 2, 4), mov64(0, 2), exit_()},
     cat({ld_map_value(1, 102, 4), mov64(0, 2)}, kChainEpilogue)},
    {"map_unknown_handle_refused", Tc, {ld_map(1, 9), mov64(0, 2), exit_()}, {},
     "insn 0: map handle 9 is not a map of this submission"},
    {"map_value_offset_outside_value", Tc, {ld_map_value(1, 1, 8), mov64(0, 2), exit_()}, {},
     "map value offset 8 is outside the value of map 'counters' (8 bytes)"},
    {"map_without_host_map_refused", Tc, {mov64(0, 2), ld_map(1, 3), exit_()}, {},
     "insn 1: map handle 3 has no host map in this session"},
    {"map_idx_refused", Tc, {isa::LoadMapIdx{1, 0}, mov64(0, 2), exit_()}, {},
     "BPF_PSEUDO_MAP_IDX is not supported"},

    // ---- helper_allowlist -----------------------------------------------
    {"helper_allowed", Chain, {call(5), mov64(0, 2), exit_()},
     cat({call(5), mov64(0, 2)}, kChainEpilogue)},
    {"helper_not_on_allowlist", Tc, {call(69), mov64(0, 2), exit_()}, {},
     "insn 0: helper 69 is not allowed for offloaded programs"},
    {"helper_not_in_this_flavor", Tc, {call(7), mov64(0, 2), exit_()}, {},
     "helper bpf_get_prandom_u32 (7) is not allowed in the tc flavor"},
    {"helper_flavor_allows_it", Chain, {call(7), mov64(0, 2), exit_()},
     cat({call(7), mov64(0, 2)}, kChainEpilogue)},
    {"kfunc_refused", Chain, {isa::CallKfunc{1234, 0}, mov64(0, 2), exit_()}, {},
     "kfunc call (BTF id 1234) is not allowed"},
    {"btf_id_refused", Chain, {isa::LoadBtfId{1, 77, 0}, mov64(0, 2), exit_()}, {},
     "insn 0: ld_imm64 BTF_ID (BTF id 77) is not allowed"},

    // ---- lower_tc: context ----------------------------------------------
    {"tc_ctx_packet_pointers", Tc,
     {ldx(Size::W, 2, 1, 0), ldx(Size::W, 3, 1, 4), ldx(Size::W, 4, 1, 8), mov64(0, 2), exit_()},
     cat({ldx(Size::W, 2, 1, 76), ldx(Size::W, 3, 1, 80), ldx(Size::W, 4, 1, 140), mov64(0, 2)},
         kTcEpilogue)},
    {"tc_ctx_ingress_ifindex_is_guest_constant", Tc, {ldx(Size::W, 0, 1, 12), exit_()},
     cat({mov32(0, kGuestIfindex)}, kTcEpilogue)},
    {"tc_ctx_rx_queue_is_queue_mapping", Tc, {ldx(Size::W, 0, 1, 16), exit_()},
     cat({ldx(Size::W, 0, 1, 12)}, kTcEpilogue)},
    {"tc_ctx_egress_ifindex_refused", Tc, {ldx(Size::W, 0, 1, 20), exit_()}, {},
     "insn 0: ctx->egress_ifindex is readable only by devmap programs"},
    {"tc_ctx_followed_through_mov", Tc,
     {mov64r(6, 1), mov64(1, 0), ldx(Size::W, 2, 6, 0), ldx(Size::W, 3, 1, 0), mov64(0, 2), exit_()},
     cat({mov64r(6, 1), mov64(1, 0), ldx(Size::W, 2, 6, 76), ldx(Size::W, 3, 1, 0), mov64(0, 2)},
         kTcEpilogue)},
    {"tc_ctx_truncated_copy_is_not_ctx", Tc,
     {mov32r(6, 1), ldx(Size::W, 2, 6, 0), mov64(0, 2), exit_()},
     cat({mov32r(6, 1), ldx(Size::W, 2, 6, 0), mov64(0, 2)}, kTcEpilogue)},
    {"tc_ctx_survives_helper_call_in_callee_saved", Tc,
     {mov64r(6, 1), call(5), ldx(Size::W, 2, 6, 4), mov64(0, 2), exit_()},
     cat({mov64r(6, 1), call(5), ldx(Size::W, 2, 6, 80), mov64(0, 2)}, kTcEpilogue)},
    {"tc_ctx_clobbered_by_call_in_r1", Tc,
     {call(5), mov64r(1, 0), ldx(Size::W, 2, 1, 0), mov64(0, 2), exit_()},
     cat({call(5), mov64r(1, 0), ldx(Size::W, 2, 1, 0), mov64(0, 2)}, kTcEpilogue)},
    {"tc_ctx_into_subprogram", Tc,
     {call_local(2), mov64(0, 2), exit_(), ldx(Size::W, 0, 1, 4), exit_()},
     cat(cat({call_local(11), mov64(0, 2)}, kTcEpilogue), {ldx(Size::W, 0, 1, 80), exit_()})},
    // ctx spilled to a fixed stack slot and filled back (issue 11, item 5).
    {"tc_ctx_spilled_and_filled", Tc,
     {stx(Size::DW, 10, -8, 1), mov64(1, 0), ldx(Size::DW, 6, 10, -8), ldx(Size::W, 2, 6, 4),
      ldx(Size::W, 3, 6, 12), mov64(0, 2), exit_()},
     cat({stx(Size::DW, 10, -8, 1), mov64(1, 0), ldx(Size::DW, 6, 10, -8), ldx(Size::W, 2, 6, 80),
          mov32(3, kGuestIfindex), mov64(0, 2)},
         kTcEpilogue)},
    {"chain_ctx_spilled_and_filled", Chain,
     {stx(Size::DW, 10, -16, 1), ldx(Size::DW, 7, 10, -16), ldx(Size::W, 3, 7, 16), mov64(0, 2), exit_()},
     cat({stx(Size::DW, 10, -16, 1), ldx(Size::DW, 7, 10, -16), mov32(3, 0), mov64(0, 2)}, kChainEpilogue)},
    // A helper call in between leaves the slot alone (no pointer into the frame given).
    {"tc_ctx_spill_survives_a_call", Tc,
     {stx(Size::DW, 10, -8, 1), call(5), ldx(Size::DW, 1, 10, -8), ldx(Size::W, 0, 1, 0), exit_()},
     cat({stx(Size::DW, 10, -8, 1), call(5), ldx(Size::DW, 1, 10, -8), ldx(Size::W, 0, 1, 76)}, kTcEpilogue)},
    // The slot overwritten by a number: what is filled is no ctx, the load stays.
    {"tc_ctx_spill_overwritten", Tc,
     {stx(Size::DW, 10, -8, 1), st(Size::DW, 10, -8, 0), ldx(Size::DW, 1, 10, -8), mov64(0, 2), exit_()},
     cat({stx(Size::DW, 10, -8, 1), st(Size::DW, 10, -8, 0), ldx(Size::DW, 1, 10, -8), mov64(0, 2)},
         kTcEpilogue)},
    // A store through a copy of r10 may hit the slot: a fill is ambiguous.
    {"tc_ctx_spill_maybe_overwritten_refused", Tc,
     {stx(Size::DW, 10, -8, 1), mov64r(2, 10), alu64(AluOp::Add, 2, -8), st(Size::DW, 2, 0, 0),
      ldx(Size::DW, 6, 10, -8), ldx(Size::W, 0, 6, 0), exit_()},
     {}, "insn 5: r6 holds the ctx pointer on some paths only"},
    // A helper given a pointer into the frame may write the slot.
    {"tc_ctx_spill_helper_may_write_refused", Tc,
     {stx(Size::DW, 10, -8, 1), mov64(2, 0), mov64r(3, 10), alu64(AluOp::Add, 3, -8), mov64(4, 8), call(189),
      ldx(Size::DW, 6, 10, -8), ldx(Size::W, 0, 6, 0), exit_()},
     {}, "insn 7: r6 holds the ctx pointer on some paths only"},
    // bpf_dynptr_slice may return its (stack) buffer: a store through it may hit the slot.
    {"tc_ctx_spill_store_through_a_kfunc_result_refused", Tc,
     {stx(Size::DW, 10, -8, 1), isa::CallKfunc{2, 0}, st(Size::DW, 0, 0, 0), ldx(Size::DW, 6, 10, -8),
      ldx(Size::W, 0, 6, 0), exit_()},
     {}, "insn 4: r6 holds the ctx pointer on some paths only", -1, {"bpf_dynptr_slice"}},
    // ctx spilled, a pointer to its slot handed to a subprogram, which fills
    // it from there: the callee cannot tell ctx from anything else it reads
    // through the pointer, so a load through the fill is refused, never
    // left as an XDP offset.
    {"tc_ctx_filled_through_a_pointer_argument_refused", Tc,
     {stx(Size::DW, 10, -8, 1), mov64r(2, 10), alu64(AluOp::Add, 2, -8), call_local(2), mov64(0, 2), exit_(),
      ldx(Size::DW, 1, 2, 0), ldx(Size::W, 0, 1, 0), exit_()},
     {}, "insn 7: r1 holds the ctx pointer on some paths only"},
    // The same through bpf_loop's callback_ctx.
    {"tc_ctx_filled_through_callback_ctx_refused", Tc,
     {stx(Size::DW, 10, -8, 1), mov64(1, 1), isa::LoadFunc{2, 7}, mov64r(3, 10), alu64(AluOp::Add, 3, -8),
      mov64(4, 0), call(181), mov64(0, 2), exit_(), ldx(Size::DW, 1, 2, 0), ldx(Size::W, 0, 1, 0), exit_()},
     {}, "insn 11: r1 holds the ctx pointer on some paths only"},
    // Without a spilled ctx, what a callback reads through callback_ctx is no ctx.
    {"tc_callback_ctx_without_spilled_ctx", Tc,
     {st(Size::DW, 10, -8, 0), mov64(1, 1), isa::LoadFunc{2, 7}, mov64r(3, 10), alu64(AluOp::Add, 3, -8),
      mov64(4, 0), call(181), mov64(0, 2), exit_(), ldx(Size::DW, 1, 2, 0), ldx(Size::W, 0, 1, 0), exit_()},
     cat(cat({st(Size::DW, 10, -8, 0), mov64(1, 1), isa::LoadFunc{2, 16}, mov64r(3, 10),
              alu64(AluOp::Add, 3, -8), mov64(4, 0), call(181), mov64(0, 2)},
             kTcEpilogue),
         {ldx(Size::DW, 1, 2, 0), ldx(Size::W, 0, 1, 0), exit_()})},
    // Spilled on one path, a number on the other.
    {"tc_ctx_spilled_on_one_path_refused", Tc,
     {st(Size::DW, 10, -8, 0), jmp(Cond::Eq, 2, 0, 1), stx(Size::DW, 10, -8, 1), ldx(Size::DW, 6, 10, -8),
      ldx(Size::W, 0, 6, 0), exit_()},
     {}, "insn 4: r6 holds the ctx pointer on some paths only"},
    {"tc_ctx_stored_to_a_map_value_refused", Tc,
     {ld_map_value(2, 3, 0), stx(Size::DW, 2, 0, 1), mov64(0, 2), exit_()}, {},
     "insn 2: the ctx pointer (r1) is stored to memory other than an aligned 8-byte stack slot"},
    {"tc_ctx_misaligned_spill_refused", Tc, {stx(Size::DW, 10, -12, 1), mov64(0, 2), exit_()}, {},
     "insn 0: the ctx pointer (r1) is stored to memory other than"},

    // ---- bpf_check_mtu: the tap's MTU, whatever ifindex the guest names ----
    {"chain_check_mtu_asks_the_tap", Chain,
     {mov64(2, 0), mov64r(3, 10), alu64(AluOp::Add, 3, -4), mov64(4, 0), mov64(5, 0), call(163), exit_()},
     cat({mov64(2, 0), mov64r(3, 10), alu64(AluOp::Add, 3, -4), mov64(4, 0), mov64(5, 0),
          jmp32(Cond::Eq, 2, 0, 3), jmp32(Cond::Eq, 2, kGuestIfindex, 2), mov32(2, -1), ja(1), mov32(2, kTap),
          call(163)},
         kChainEpilogue)},
    {"tc_check_mtu_asks_the_tap_and_refuses_flags", Tc,
     {mov64(2, 0), mov64r(3, 10), alu64(AluOp::Add, 3, -4), mov64(4, 0), mov64(5, 0), call(163), exit_()},
     cat({mov64(2, 0), mov64r(3, 10), alu64(AluOp::Add, 3, -4), mov64(4, 0), mov64(5, 0),
          jmp(Cond::Ne, 5, 0, 7), jmp32(Cond::Eq, 2, 0, 3), jmp32(Cond::Eq, 2, kGuestIfindex, 2), mov32(2, -1),
          ja(1), mov32(2, kTap), call(163), ja(1), mov64(0, -EINVAL)},
         kTcEpilogue)},

    // ---- kfuncs: named in the submission's BTF, resolved on the host ---------
    {"chain_kfunc_resolved_by_name", Chain,
     {mov64(2, 0), mov64r(3, 10), alu64(AluOp::Add, 3, -16), isa::CallKfunc{2, 0}, mov64(0, 2), exit_()},
     cat({mov64(2, 0), mov64r(3, 10), alu64(AluOp::Add, 3, -16), isa::CallKfunc{50001, 0}, mov64(0, 2)},
         kChainEpilogue),
     "", -1, {"bpf_dynptr_from_xdp"}},
    {"tc_kfunc_dynptr_from_xdp_becomes_from_skb", Tc,
     {mov64(2, 0), mov64r(3, 10), alu64(AluOp::Add, 3, -16), isa::CallKfunc{3, 0}, mov64(0, 2), exit_()},
     cat({mov64(2, 0), mov64r(3, 10), alu64(AluOp::Add, 3, -16), isa::CallKfunc{50002, 0}, mov64(0, 2)},
         kTcEpilogue),
     "", -1, {"bpf_dynptr_slice", "bpf_dynptr_from_xdp"}},
    {"kfunc_not_on_the_allowlist_refused", Chain, {isa::CallKfunc{2, 0}, mov64(0, 2), exit_()}, {},
     "kfunc call (BTF id 2) is not allowed for offloaded programs", -1, {"bpf_xo_made_up"}},
    {"kfunc_without_host_btf_refused", Chain, {isa::CallKfunc{2, 0}, mov64(0, 2), exit_()}, {},
     "kfunc bpf_dynptr_slice is not in this host kernel's BTF (no host BTF to resolve kfuncs)", -1,
     {"bpf_dynptr_slice"}, false},
    {"kfunc_missing_on_this_host_refused", Chain, {isa::CallKfunc{2, 0}, mov64(0, 2), exit_()}, {},
     "kfunc bpf_dynptr_slice_rdwr is not in this host kernel's BTF", -1, {"bpf_dynptr_slice_rdwr"}},
    {"tc_ctx_on_some_paths_refused", Tc,
     {jmp(Cond::Eq, 2, 0, 1), mov64(1, 0), ldx(Size::W, 3, 1, 0), mov64(0, 2), exit_()}, {},
     "insn 2: r1 holds the ctx pointer on some paths only"},
    {"tc_ctx_write_refused", Tc, {st(Size::W, 1, 0, 0), mov64(0, 2), exit_()}, {},
     "write to the ctx (struct xdp_md) is not allowed"},
    {"tc_ctx_narrow_load_refused", Tc, {ldx(Size::H, 0, 1, 0), exit_()}, {},
     "must be read as an unsigned 32-bit load"},
    {"tc_ctx_offset_outside_xdp_md", Tc, {ldx(Size::W, 0, 1, 24), exit_()}, {},
     "ctx access at offset 24 is not a field of struct xdp_md"},
    {"tc_ctx_returned_from_subprogram_refused", Tc,
     {call_local(2), mov64(0, 2), exit_(), mov64r(0, 1), exit_()}, {},
     "a subprogram returns the ctx pointer"},

    // ---- lower_tc: exits --------------------------------------------------
    {"tc_every_main_exit_goes_to_one_epilogue", Tc,
     {jmp(Cond::Eq, 1, 0, 2), mov64(0, 1), exit_(), mov64(0, 3), exit_()},
     cat({jmp(Cond::Eq, 1, 0, 2), mov64(0, 1), ja(1), mov64(0, 3)}, kTcEpilogue)},
    {"tc_epilogue_inside_main_before_subprogram", Tc,
     {call_local(2), exit_(), exit_(), mov64(0, 2), exit_()},
     cat(cat({call_local(11), ja(0)}, kTcEpilogue), {mov64(0, 2), exit_()})},
    // may_goto is a conditional jump: its offset is recomputed across the
    // inserted mov r5 (xdp_store_bytes -> skb_store_bytes).
    {"tc_may_goto_keeps_its_target", Tc,
     {may_goto(2), call(190), mov64(0, 1), mov64(0, 2), exit_()},
     cat(cat({may_goto(14)}, kCheckedStoreBytes), cat({mov64(0, 1), mov64(0, 2)}, kTcEpilogue))},
    {"chain_may_goto_over_an_exit", Chain,
     {may_goto(2), mov64(0, 1), exit_(), mov64(0, 2), exit_()},
     cat({may_goto(2), mov64(0, 1), ja(1), mov64(0, 2)}, kChainEpilogue)},
    {"tc_stats_count_each_action", Tc, kRet2,
     cat(cat({mov64(0, 2)}, kCountAction55), kTcEpilogue), "", 55},

    // ---- lower_tc: helpers ----------------------------------------------
    {"tc_xdp_load_bytes_is_checked_skb_load_bytes", Tc, {call(189), mov64(0, 2), exit_()},
     cat(cat(kCheckedLoadBytes, {mov64(0, 2)}), kTcEpilogue)},
    {"tc_xdp_store_bytes_is_checked_skb_store_bytes", Tc, {call(190), mov64(0, 2), exit_()},
     cat(cat(kCheckedStoreBytes, {mov64(0, 2)}), kTcEpilogue)},
    {"tc_xdp_get_buff_len_reads_skb_len", Tc, {call(188), exit_()},
     cat({ldx(Size::W, 0, 1, 0)}, kTcEpilogue)},
    {"tc_xdp_adjust_tail_is_checked_change_tail", Tc, {mov64(2, -4), call(65), mov64(0, 2), exit_()},
     cat(cat({mov64(2, -4)}, kCheckedTail), cat({mov64(0, 2)}, kTcEpilogue))},
    {"tc_xdp_adjust_head_push_is_checked_change_head", Tc,
     {mov32(2, -14), call(44), mov64(0, 2), exit_()},
     cat(cat(cat(kHeadPrologue, {mov32(2, -14)}), kCheckedPush14), cat({mov64(0, 2)}, kTcEpilogue))},
    {"tc_shrink_before_push_tracks_the_head", Tc,
     {mov64(2, -4), call(65), mov64(2, -14), call(44), mov64(0, 2), exit_()},
     cat(cat(cat(kHeadPrologue, {mov64(2, -4)}), cat(kCheckedTailAfterPushes, {mov64(2, -14)})),
         cat(cat(kCheckedPush14, {mov64(0, 2)}), kTcEpilogue))},
    {"tc_shrink_after_push_refused", Tc,
     {mov64(2, -8), call(44), mov64(2, -4), call(65), mov64(0, 2), exit_()}, {},
     "insn 3: bpf_xdp_adjust_tail may shrink the frame after the head push at insn 1: in tc, "
     "skb_change_head leaves the network header in place"},
    {"tc_grow_after_push_lowered", Tc,
     {mov64(2, -14), call(44), mov64(2, 4), call(65), mov64(0, 2), exit_()},
     cat(cat(cat(kHeadPrologue, {mov64(2, -14)}), cat(kCheckedPush14, {mov64(2, 4)})),
         cat(cat(kCheckedTailAfterPushes, {mov64(0, 2)}), kTcEpilogue))},
    {"tc_jump_to_first_insn_with_pushes_refused", Tc,
     {mov64(2, -8), call(44), jmp(Cond::Eq, 0, 0, -3), mov64(0, 2), exit_()}, {},
     "insn 2: a jump back to the program's first instruction"},
    {"tc_xdp_adjust_head_pop_refused", Tc, {mov64(2, 14), call(44), mov64(0, 2), exit_()}, {},
     "insn 1: bpf_xdp_adjust_head(14) pops the head: no tc helper removes bytes from the front"},
    {"tc_xdp_adjust_head_unknown_delta_refused", Tc,
     {ldx(Size::W, 2, 10, -8), call(44), mov64(0, 2), exit_()}, {},
     "bpf_xdp_adjust_head with a delta that is not a constant"},
    {"tc_xdp_adjust_head_delta_from_another_block_refused", Tc,
     {mov64(2, -4), jmp(Cond::Eq, 3, 0, 0), call(44), mov64(0, 2), exit_()}, {},
     "not a constant in its basic block"},
    {"tc_xdp_adjust_meta_refused", Tc, {mov64(2, -4), call(54), mov64(0, 2), exit_()}, {},
     "bpf_xdp_adjust_meta (54) cannot be lowered to tc"},

    // ---- lower_chain ------------------------------------------------------
    {"chain_ctx_constants", Chain,
     {ldx(Size::W, 2, 1, 12), ldx(Size::W, 3, 1, 16), ldx(Size::W, 4, 1, 0), mov64(0, 2), exit_()},
     cat({mov32(2, kGuestIfindex), mov32(3, 0), ldx(Size::W, 4, 1, 0), mov64(0, 2)},
         kChainEpilogue)},
    {"chain_helpers_stay_native", Chain, {mov64(2, 4), call(44), call(54), mov64(0, 2), exit_()},
     cat({mov64(2, 4), call(44), call(54), mov64(0, 2)}, kChainEpilogue)},
    {"chain_stats", Chain, kRet2, cat(cat({mov64(0, 2)}, kCountAction55), kChainEpilogue), "", 55},
    {"chain_egress_ifindex_refused", Chain, {ldx(Size::W, 0, 1, 20), exit_()}, {},
     "ctx->egress_ifindex is readable only by devmap programs"},

    // ---- pipeline ---------------------------------------------------------
    {"devmap_flavor_not_supported", Devmap, kRet2, {},
     "flavor devmap is not supported by this translator"},
    {"no_exit_in_main_refused", Tc, {mov64(0, 2), ja(-1)}, {}, "main program has no exit"},
};

INSTANTIATE_TEST_SUITE_P(Passes, TranslatorCase, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- translate() on an already decoded program ---------------------------
// The host decodes and analyzes a guest program once (in preverify) and hands
// the result to translate(); that must change nothing but the time spent.

void expect_same(const Result<Encoded>& a, const Result<Encoded>& b) {
  ASSERT_EQ(a.ok(), b.ok()) << (a.ok() ? b.error().message : a.error().message);
  if (!a.ok()) {
    EXPECT_EQ(a.error().message, b.error().message);
    EXPECT_EQ(a.error().pc, b.error().pc);
    return;
  }
  EXPECT_EQ(a->insns, b->insns) << "raw path:\n" << hex_slots(a->insns) << "decoded path:\n"
                                << hex_slots(b->insns);
  EXPECT_EQ(a->tr.prog_type, b->tr.prog_type);
  EXPECT_EQ(a->tr.func_info, b->tr.func_info);
  EXPECT_EQ(a->tr.line_info, b->tr.line_info);
  EXPECT_EQ(a->tr.index_map.old_to_new, b->tr.index_map.old_to_new);
  EXPECT_EQ(a->tr.index_map.new_to_old, b->tr.index_map.new_to_old);
  EXPECT_EQ(a->tr.notes, b->tr.notes);
}

TEST_P(TranslatorCase, DecodedOverloadGivesTheSameResult) {
  const Case& c = GetParam();
  const Submission sub = submission_of(c.in, c.kfuncs);
  auto insns = isa::decode(sub.insns);
  ASSERT_TRUE(insns.ok()) << insns.error().message;
  auto structure = isa::analyze(*insns, declared_entries(sub));
  ASSERT_TRUE(structure.ok()) << structure.error().message;
  TestPolicy policy;
  expect_same(run(c), encode(sub, translator::translate(sub, isa::Decoded{*insns, *structure}, policy, options_of(c)),
                             c.stats_map_fd));
}

// The real sequence: preverify, then translate on preverify's Report.
TEST(DecodedOnce, PreverifyReportFeedsTranslate) {
  TestPolicy policy;
  std::size_t accepted = 0;
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const Submission sub = submission_of(c.in, c.kfuncs);
    auto pre = preverify(sub, policy, SubmissionMaps(sub), c.flavor);
    if (!pre) continue;  // refused before translation: nothing to compare
    ++accepted;
    auto insns = isa::decode(sub.insns);
    ASSERT_TRUE(insns.ok());
    auto structure = isa::analyze(*insns, declared_entries(sub));
    ASSERT_TRUE(structure.ok());
    // The Report carries exactly what decode + analyze give: one CFG.
    const isa::Decoded& d = pre->decoded;
    EXPECT_EQ(d.insns, *insns);
    EXPECT_EQ(d.structure.layout, structure->layout);
    EXPECT_EQ(d.structure.subprograms, structure->subprograms);
    EXPECT_EQ(d.structure.subprogram_of, structure->subprogram_of);
    EXPECT_EQ(d.structure.succ, structure->succ);
    EXPECT_EQ(d.structure.callee, structure->callee);
    EXPECT_EQ(d.structure.reachable, structure->reachable);
    EXPECT_EQ(d.structure.back_edges, structure->back_edges);
    EXPECT_EQ(d.structure.blocks, structure->blocks);
    EXPECT_EQ(d.structure.block_of, structure->block_of);
    EXPECT_EQ(d.structure.is_jump_target, structure->is_jump_target);
    expect_same(run(c), encode(sub, translator::translate(sub, std::move(pre->decoded), policy, options_of(c)),
                               c.stats_map_fd));
  }
  EXPECT_GE(accepted, std::size(kCases) / 2) << "most cases should pass preverify";
}

TEST(DecodedOnce, AnotherProgramsDecodingIsRefused) {
  const Submission small = submission_of(kRet2);
  const Submission bigger = submission_of({mov64(0, 1), mov64(0, 2), exit_()});
  TestPolicy policy;
  auto pre = preverify(small, policy, SubmissionMaps(small), Flavor::Tc);
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  auto r = translator::translate(bigger, std::move(pre->decoded), policy, options_of(Case{"x", Flavor::Tc, {}, {}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("is not this submission's"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().message.rfind("prog 'case': ", 0), 0u) << r.error().message;
}

TEST(DecodedOnce, EmptyDecodingIsRefused) {
  const Submission sub = submission_of(kRet2);
  TestPolicy policy;
  auto r = translator::translate(sub, isa::Decoded{}, policy, options_of(Case{"x", Flavor::Tc, {}, {}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("is not this submission's"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace xo::test
