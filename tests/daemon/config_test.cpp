// Config file and --session parsing (host data, but typos must not
// silently drop a quota).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "host/session/config.hpp"
#include "host/session/session.hpp"
#include "tests/host/netdev.hpp"

namespace xo::session {
namespace {

TEST(DaemonConfig, ParsesSessionsQuotasAndPolicy) {
  auto c = parse_config(R"(
# comment
[daemon]
log_level = debug

[session vm1]
tap = tap0
socket = /run/xoffload/vm1.sock   ; trailing comment
flavor = chain
flavors = tc, chain
max_maps = 3
max_map_bytes = 65536
max_progs = 2
max_insns = 500
requests_per_sec = 10
request_burst = 5
deny_helpers = 5, 7
guest_mac = 52:54:00:AB:cd:0f
chain_tx = guest-mac
tier = auto
socket_owner = libvirt-qemu
socket_group = 64055
socket_mode = 0600

[session vm2]
tap = tap1
socket = /tmp/vm2.sock
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->log_level, "debug");
  ASSERT_EQ(c->sessions.size(), 2u);
  const auto& s = c->sessions[0];
  EXPECT_EQ(s.name, "vm1");
  EXPECT_EQ(s.tap, "tap0");
  EXPECT_EQ(s.socket, "/run/xoffload/vm1.sock");
  EXPECT_EQ(s.flavor, Flavor::Chain);
  EXPECT_EQ(s.quotas.max_maps, 3u);
  EXPECT_EQ(s.quotas.max_map_bytes, 65536u);
  EXPECT_EQ(s.quotas.max_progs, 2u);
  EXPECT_EQ(s.quotas.max_insns, 500u);
  EXPECT_EQ(s.quotas.requests_per_sec, 10u);
  EXPECT_EQ(s.quotas.request_burst, 5u);
  EXPECT_EQ(s.deny_helpers, (std::vector<std::int32_t>{5, 7}));
  ASSERT_TRUE(s.guest_mac);
  EXPECT_EQ(*s.guest_mac, (std::array<std::uint8_t, 6>{0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f}));
  EXPECT_EQ(s.chain_tx, translator::ChainTx::GuestMac);
  EXPECT_EQ(s.tier, translator::Tier::Auto);
  EXPECT_FALSE(s.reemit) << "the daemon injects the IR tier; the parser does not";
  EXPECT_EQ(c->sessions[1].tier, translator::Tier::Direct) << "the default";
  EXPECT_EQ(s.socket_owner, "libvirt-qemu");
  EXPECT_EQ(s.socket_group, "64055");
  EXPECT_EQ(s.socket_mode, 0600u);
  EXPECT_EQ(c->sessions[1].quotas.max_maps, SessionQuotas{}.max_maps);
  EXPECT_FALSE(c->sessions[1].guest_mac);
  EXPECT_EQ(c->sessions[1].chain_tx, translator::ChainTx::GuestMac) << "the default";
  EXPECT_EQ(c->sessions[1].socket_mode, 0660u);
  for (const char* bad : {"guest_mac = 52:54:00:ab:cd", "guest_mac = 01:00:5e:00:00:01", "guest_mac = 52-54-00-ab-cd-ef",
                          "guest_mac = 52:54:00:ab:cd:ef:00", "chain_tx = maybe", "tier = llvm", "socket_mode = 0800",
                          "socket_mode = 01777", "socket_mode = rw"}) {
    auto b = parse_config(std::string("[session a]\ntap = t\n") + bad + "\n", "x.conf");
    EXPECT_FALSE(b) << bad;
    if (!b) {
      EXPECT_NE(b.error().message.find("x.conf:3:"), std::string::npos) << b.error().message;
    }
  }
  EXPECT_TRUE(validate_config(*c));
}

TEST(DaemonConfig, ErrorsNameFileLineAndKey) {
  auto c = parse_config("[session a]\ntap = t\nmax_mpas = 3\n", "x.conf");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "x.conf:3: [session a] unknown key 'max_mpas' in a session section");
  auto n = parse_config("[session a]\nmax_maps = lots\n", "x.conf");
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find("x.conf:2:"), std::string::npos);
  EXPECT_FALSE(parse_config("[sessions a]\n"));
  EXPECT_FALSE(parse_config("tap = x\n"));
  EXPECT_FALSE(parse_config("[session a]\nflavor = warp\n"));
}

TEST(DaemonConfig, ValidationRejectsDuplicatesAndBadNames) {
  DaemonConfig c;
  auto a = parse_session_spec("vm1:tap0:/tmp/a:b.sock");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->socket, "/tmp/a:b.sock");
  c.sessions.push_back(*a);
  EXPECT_TRUE(validate_config(c));
  c.sessions.push_back(*a);
  EXPECT_FALSE(validate_config(c));
  c.sessions.pop_back();
  c.sessions[0].name = "../etc";
  EXPECT_FALSE(validate_config(c));
  EXPECT_FALSE(parse_session_spec("vm1:tap0"));
  EXPECT_FALSE(validate_config(DaemonConfig{}));
}

// The early estimate (a lower bound of the kernel's figure; checked against
// the kernel in hostile_test.cpp): per hash element a node, the key and the
// value rounded up to 8 and a bucket; per-CPU values once per CPU.
TEST(DaemonQuota, MapBytesEstimateCountsElementsAndCpus) {
  MapDef d{1, MapType::Hash, 4, 60, 1000, 0, "h"};
  EXPECT_EQ(charged_map_bytes(d, 8), (16 + 8 + 64 + 8) * 1000u);
  d.type = MapType::PercpuArray;
  EXPECT_EQ(charged_map_bytes(d, 8), (64 * 8 + 8) * 1000u);
  d.type = MapType::Array;
  EXPECT_EQ(charged_map_bytes(d, 8), 64 * 1000u) << "arrays store no keys";
  d.type = MapType::PercpuHash;
  d.key_size = d.value_size = d.max_entries = 0xffffffffu;
  EXPECT_EQ(charged_map_bytes(d, 4096), ~std::uint64_t(0)) << "saturates, never wraps under the quota";
}

// xoffloadd's command line (the one parser, core/args.hpp): --help and
// --version exit 0, usage errors exit 2, --check validates and exits.
xo::test::CommandResult run_daemon(const std::string& args) {
  return xo::test::run_command(std::string(XOFFLOADD_BIN) + " " + args);
}

TEST(DaemonCommandLine, HelpVersionCheckAndUsageErrors) {
  auto help = run_daemon("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out.rfind("usage: xoffloadd ", 0), 0u) << help.out;
  EXPECT_NE(help.out.find("--session N:T:S"), std::string::npos) << help.out;
  auto version = run_daemon("--version");
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out.rfind("xoffloadd ", 0), 0u) << version.out;
  auto check = run_daemon("--check --session a:tap0:/tmp/xo-a.sock --session=b:tap1:/tmp/xo-b.sock");
  EXPECT_EQ(check.code, 0) << check.out;
  EXPECT_EQ(check.out, "xoffloadd: configuration OK (2 sessions)\n");
  for (const char* bad : {"--bogus", "--config", "stray", "--session nocolons --check", "--check --log-level loud"}) {
    auto r = run_daemon(bad);
    EXPECT_EQ(r.code, 2) << bad << "\n" << r.out;
  }
  EXPECT_NE(run_daemon("--bogus").out.find("xoffloadd: unknown option '--bogus'"), std::string::npos);
  auto dup = run_daemon("--check --session a:tap0:/tmp/xo-a.sock --session a:tap1:/tmp/xo-b.sock");
  EXPECT_EQ(dup.code, 1) << "an invalid configuration is not a usage error: " << dup.out;
}

}  // namespace
}  // namespace xo::session
