// tc and chain attachment on real taps and veths (fresh netns per process).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <sys/stat.h>

#include <cstring>

#include "host/core/attach_chain.hpp"
#include "host/core/attach_egress.hpp"
#include "host/core/attach_tc.hpp"
#include "host/core/attach_tcx.hpp"
#include "host/core/kernel_prog.hpp"
#include "host/core/names.hpp"
#include "tests/host/ingress.hpp"
#include "tests/host/netdev.hpp"
#include "tests/host/raw_progs.hpp"

namespace xo::host {
namespace {

KernelProg load_raw(bpf_prog_type type, std::int32_t ret, const char* name,
                    bpf_attach_type attach = static_cast<bpf_attach_type>(0)) {
  auto insns = test::return_imm(ret);
  KernelProgSpec spec;
  spec.kernel_name = name;
  spec.type = type;
  spec.expected_attach_type = attach;
  spec.insns = insns;
  auto r = load_kernel_prog(spec);
  if (auto* refusal = std::get_if<KernelRefusal>(&r)) ADD_FAILURE() << refusal->log;
  return std::move(std::get<KernelProg>(r));
}

std::string tc_filters(const test::Tap& tap) {
  return test::run("tc filter show dev " + tap.name() + " egress");
}
bool has_clsact(const std::string& dev) {
  return test::run("tc qdisc show dev " + dev).find("clsact") != std::string::npos;
}

TEST(TcAttach, AttachReplaceDetachOnARealTap) {
  test::Tap tap;
  auto first = load_raw(BPF_PROG_TYPE_SCHED_CLS, 2 /* TC_ACT_SHOT */, "xo_tc_first");
  auto second = load_raw(BPF_PROG_TYPE_SCHED_CLS, 0 /* TC_ACT_OK */, "xo_tc_second");
  ASSERT_FALSE(has_clsact(tap.name()));
  {
    auto a = TcAttachment::attach(tap.ifindex(), first.fd.get());
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_TRUE(a->created_clsact());
    EXPECT_EQ(a->attached_prog_id(), first.id);
    std::string f = tc_filters(tap);
    EXPECT_NE(f.find("xo_tc_first"), std::string::npos) << f;
    EXPECT_NE(f.find("handle 0x58"), std::string::npos) << f;
    std::string net = test::run("bpftool net show dev " + tap.name());
    EXPECT_NE(net.find("xo_tc_first:[" + std::to_string(first.id) + "]"), std::string::npos) << net;

    // A second attach on the same tap is refused, not a silent takeover.
    auto again = TcAttachment::attach(tap.ifindex(), second.fd.get());
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("EEXIST"), std::string::npos) << again.error().message;
    EXPECT_EQ(a->attached_prog_id(), first.id) << "a refused attach removed the filter in its way";

    ASSERT_TRUE(a->replace(second.fd.get()));
    EXPECT_EQ(a->attached_prog_id(), second.id);
    f = tc_filters(tap);
    EXPECT_EQ(f.find("xo_tc_first"), std::string::npos) << f;
    EXPECT_NE(f.find("xo_tc_second"), std::string::npos) << f;
    // Exactly one filter: replace did not add a second one.
    EXPECT_EQ(f.find("handle 0x58", f.find("handle 0x58") + 1), std::string::npos) << f;
  }
  EXPECT_EQ(tc_filters(tap), "");
  EXPECT_FALSE(has_clsact(tap.name())) << "clsact we created survived detach";
}

TEST(TcAttach, LeavesAClsactItDidNotCreate) {
  test::Tap tap;
  ASSERT_EQ(test::run("tc qdisc add dev " + tap.name() + " clsact"), "");
  auto prog = load_raw(BPF_PROG_TYPE_SCHED_CLS, 0, "xo_tc_keep");
  {
    auto a = TcAttachment::attach(tap.ifindex(), prog.fd.get());
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_FALSE(a->created_clsact());
  }
  EXPECT_EQ(tc_filters(tap), "");
  EXPECT_TRUE(has_clsact(tap.name()));
}

TEST(TcAttach, ErrorsNameTheDevice) {
  auto prog = load_raw(BPF_PROG_TYPE_SCHED_CLS, 0, "xo_tc_err");
  auto a = TcAttachment::attach(999999, prog.fd.get());
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("ifindex 999999"), std::string::npos) << a.error().message;
}

// The tc flavor's attachment on this kernel: a tcx link, pinned, updated in
// place, and gone with its pin (what makes a daemon crash recoverable).
TEST(TcxAttach, PinnedLinkOutlivesItsFdAndDiesWithItsPin) {
  ASSERT_EQ(system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"), 0);
  test::Tap tap;
  auto first = load_raw(BPF_PROG_TYPE_SCHED_CLS, 2 /* TC_ACT_SHOT */, "xo_tcx_first");
  auto second = load_raw(BPF_PROG_TYPE_SCHED_CLS, 0 /* TC_ACT_OK */, "xo_tcx_second");
  std::string session = "ttcx" + std::to_string(getpid());
  auto pins = SessionPins::create(session);
  ASSERT_TRUE(pins) << pins.error().message;
  const std::string pin = pins->path(kTcxEgressLeaf);
  std::uint32_t link_id = 0;
  {
    std::string note;
    auto a = TapEgress::attach(tap.ifindex(), first.fd.get(), pin, &note);
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE(a->is_link()) << "this kernel has tcx; the cls_bpf fallback was used: " << note;
    EXPECT_EQ(note, "");
    link_id = a->link_id();
    EXPECT_NE(link_id, 0u);
    EXPECT_EQ(test::egress_hook(tap.name()),
              "tcx link " + std::to_string(link_id) + " id " + std::to_string(first.id) + "\n");
    EXPECT_EQ(tc_filters(tap), "") << "no cls_bpf filter beside the link";

    // One offload per tap: a second xoffload program is refused, not appended.
    auto again = TapEgress::attach(tap.ifindex(), second.fd.get(), "");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, EEXIST) << again.error().message;

    ASSERT_TRUE(a->replace(second.fd.get()));
    EXPECT_EQ(a->attached_prog_id(), second.id);
    EXPECT_EQ(test::egress_hook(tap.name()),
              "tcx link " + std::to_string(link_id) + " id " + std::to_string(second.id) + "\n");
    a->release();  // as a daemon killed with -9 would: the pin keeps it
  }
  EXPECT_EQ(test::egress_hook(tap.name()),
            "tcx link " + std::to_string(link_id) + " id " + std::to_string(second.id) + "\n");
  {
    // A restart adopts it through the pin, but only for the program it runs.
    auto wrong = TapEgress::adopt(tap.ifindex(), first.id, pin);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ESTALE);
    auto a = TapEgress::adopt(tap.ifindex(), second.id, pin);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->link_id(), link_id);
  }
  EXPECT_EQ(test::egress_hook(tap.name()), "") << "detach removed the link with its pin";
  struct stat st {};
  EXPECT_NE(::stat(pin.c_str(), &st), 0);
}

TEST(ChainAttach, SlotDecidesWhetherFramesReachTheTap) {
  ASSERT_EQ(system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"), 0);
  test::Tap tap;
  test::Veth veth;
  std::string session = "tchain" + std::to_string(getpid());
  auto pins = SessionPins::create(session);
  ASSERT_TRUE(pins) << pins.error().message;
  auto slot = ChainSlot::create(session, tap.name(), *pins);
  ASSERT_TRUE(slot) << slot.error().message;
  std::string pin = pins->path(slot->pin_leaf());
  struct stat st {};
  ASSERT_EQ(stat(pin.c_str(), &st), 0) << pin;

  test::IngressProgram ing;
  test::load_ingress(ing, pin, tap.ifindex(), veth.ifindex());
  if (HasFatalFailure()) return;

  test::PacketSocket sender(veth.peer_ifindex());
  const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
  auto frame = test::ipv4_frame(17, dst, src);
  auto send_n = [&](int n) {
    for (int i = 0; i < n; ++i) ASSERT_EQ(sender.send(frame), 0);
  };
  auto frames_at_tap = [&] {
    int n = 0;
    for (auto& f : tap.read_frames(300)) n += f == frame;
    return n;
  };

  // No offload: the ingress program redirects into the tap.
  send_n(5);
  EXPECT_EQ(frames_at_tap(), 5);

  // libbpf loads SEC("xdp") programs with expected_attach_type BPF_XDP, and
  // the kernel requires tail-call targets to match it.
  auto drop = load_raw(BPF_PROG_TYPE_XDP, 1 /* XDP_DROP */, "xo_chain_drop", BPF_XDP);
  auto wrong_attach = load_raw(BPF_PROG_TYPE_XDP, 1, "xo_chain_att0");
  EXPECT_FALSE(slot->set(wrong_attach.fd.get()));
  auto set = slot->set(drop.fd.get());
  ASSERT_TRUE(set) << set.error().message;
  send_n(5);
  EXPECT_EQ(frames_at_tap(), 0);

  ASSERT_TRUE(slot->clear());
  send_n(3);
  EXPECT_EQ(frames_at_tap(), 3);

  // A program of the wrong type cannot enter the slot.
  auto tc = load_raw(BPF_PROG_TYPE_SCHED_CLS, 0, "xo_chain_tc");
  auto bad = slot->set(tc.fd.get());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("must be XDP"), std::string::npos);
}

TEST(ChainAttach, PinIsRemovedWithTheSession) {
  ASSERT_EQ(system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"), 0);
  std::string session = "tchainp" + std::to_string(getpid());
  std::string pin;
  {
    auto pins = SessionPins::create(session);
    ASSERT_TRUE(pins);
    auto slot = ChainSlot::create(session, "tap0", *pins);
    ASSERT_TRUE(slot) << slot.error().message;
    pin = pins->path(slot->pin_leaf());
    EXPECT_EQ(pin, "/sys/fs/bpf/xoffload/" + session + "/chain_tap0");
    struct stat st {};
    EXPECT_EQ(stat(pin.c_str(), &st), 0);
  }
  struct stat st {};
  EXPECT_NE(stat(pin.c_str(), &st), 0);
}

}  // namespace
}  // namespace xo::host
