// The session's scrubber (host/session/scrub.hpp): what a guest must never
// read in a reply, and what it must still read.
#include <gtest/gtest.h>

#include <cstdint>

#include "host/core/names.hpp"
#include "host/session/scrub.hpp"

namespace xo::session {
namespace {

namespace ts = xo::transport;

const HostIdentity kVm1{"vm1", "tap0", {"/sys/fs/bpf/xoffload", "/run/xoffload/vm1.sock"}};

std::string scrub(std::string_view s, const HostIdentity& h = kVm1) { return scrub_for_guest(s, h); }

TEST(Scrub, KernelAddressesInTheirForms) {
  EXPECT_EQ(scrub("0: (18) r1 = 0xffff8881047c8800\n"), "0: (18) r1 = <kernel address>\n");
  EXPECT_EQ(scrub("R2=0xFFFFC90000A1B000 x"), "R2=<kernel address> x");
  EXPECT_EQ(scrub("at ffff8881047c8800:"), "at <kernel address>:");
  EXPECT_EQ(scrub("text 0xffffffff81a00000"), "text <kernel address>");
  // 0xffff888100000000 as a signed decimal.
  const std::string dec = std::to_string(std::int64_t(0xffff888100000000ull));
  ASSERT_EQ(dec.front(), '-');
  EXPECT_EQ(scrub("R1_w=" + dec + " "), "R1_w=<kernel address> ");
}

TEST(Scrub, OrdinaryNumbersStay) {
  for (const char* s : {"r1 = 0xffffffff", "r0 = -1", "r2 = 0xffffffffffffffff", "if r0 > 0x7fffffff goto pc+2",
                        "r3 = -2147483648", "R1=4294967296", "processed 12 insns (limit 1000000)",
                        "abcdef0123456789ab", "r4 = 0xfffffffffffff000"})
    EXPECT_EQ(scrub(s), s);
}

TEST(Scrub, KernelObjectNamesBecomeTheGuestsNames) {
  EXPECT_EQ(scrub("R1=map_ptr(map=xovm1_rxcnt,ks=4,vs=8)"), "R1=map_ptr(map=rxcnt,ks=4,vs=8)");
  const HostIdentity long_name{"guest42", "vnet7", {}};
  // names.hpp shortens the session first and tags the name with a hash of
  // the host's session name: both go.
  const std::string shortened = host::kernel_object_name("guest42", "counters");
  ASSERT_EQ(shortened.size(), host::kKernelNameMax);
  EXPECT_EQ(scrub("map=" + shortened + ",ks=4", long_name), "map=count,ks=4");
  EXPECT_EQ(scrub("map=xoguest42_x", long_name), "map=x");
  const HostIdentity dashed{"vm-1", "vnet7", {}};
  EXPECT_EQ(scrub("map=" + host::kernel_object_name("vm-1", "rx") + ")", dashed), "map=rx)");
  // A guest's own name that merely contains the letters stays.
  EXPECT_EQ(scrub("map=myxovm1_a"), "map=myxovm1_a");
}

TEST(Scrub, HostPathsNamesAndIdentifiers) {
  EXPECT_EQ(scrub("cannot pin /sys/fs/bpf/xoffload/vm1/map3_rx: EEXIST"), "cannot pin <host path>: EEXIST");
  EXPECT_EQ(scrub("slot '/sys/fs/bpf/other/x'"), "slot '<host path>'");
  EXPECT_EQ(scrub("socket /run/xoffload/vm1.sock closed"), "socket <host path> closed");
  EXPECT_EQ(scrub("tc attach: cannot create clsact on tap0 (ifindex 7): EPERM"),
            "tc attach: cannot create clsact on <tap> (ifindex <host>): EPERM");
  EXPECT_EQ(scrub("session vm1 is full"), "session <session> is full");
  EXPECT_EQ(scrub("tap01 and vm12 are other words"), "tap01 and vm12 are other words");
  EXPECT_EQ(scrub("map id 12, prog_id:5, btf_id=9, map[id:3]"),
            "map id <host>, prog_id:<host>, btf_id=<host>, map[id:<host>]");
  EXPECT_EQ(scrub("type_id=3 and id 4"), "type_id=3 and id 4") << "BTF type ids are the guest's own";
}

TEST(Scrub, HostInsertedInstructionsAreHidden) {
  const std::string log =
      "12: (b7) r0 = 2\t// guest insn 12 (x.c:4)\n"
      "13: (b7) r1 = 7 ; R1_w=7\t// host-inserted code at host insn 13 (no guest insn)\n"
      "14: (85) call bpf_redirect#23\t// host-inserted code at host insn 14 (no guest insn)\n"
      "R0 invalid mem access\n";
  EXPECT_EQ(scrub(log),
            "12: (b7) r0 = 2\t// guest insn 12 (x.c:4)\n"
            "13: (host-inserted instruction)\n"
            "14: (host-inserted instruction)\n"
            "R0 invalid mem access\n");
}

TEST(Scrub, GuestTextStays) {
  const std::string s =
      "prog 'xdp_prog1': insn 17 (/home/me/src/xdp1_kern.c:42): R0 invalid mem access 'map_value_or_null'";
  EXPECT_EQ(scrub(s), s);
}

TEST(Scrub, EveryTextFieldOfAMessage) {
  ts::ProgLoadReply r;
  r.status = ts::ReplyStatus{-13, "prog 'p': tap0 refused 0xffff8881047c8800"};
  r.log = "3: (18) r1 = 0xffff8881047c8800 ; R1=map_ptr(map=xovm1_vals)\n";
  ts::Message m = r;
  scrub_for_guest(m, kVm1);
  const auto& out = std::get<ts::ProgLoadReply>(m);
  EXPECT_EQ(out.status.message, "prog 'p': <tap> refused <kernel address>");
  EXPECT_EQ(out.log, "3: (18) r1 = <kernel address> ; R1=map_ptr(map=vals)\n");
  ts::Message e = ts::Event{ts::EventKind::OffloadLost, 1, "tap0 is gone"};
  scrub_for_guest(e, kVm1);
  EXPECT_EQ(std::get<ts::Event>(e).text, "<tap> is gone");
}

}  // namespace
}  // namespace xo::session
