// Config file and --session parsing (host data, but typos must not
// silently drop a quota).
#include <gtest/gtest.h>

#include "host/session/config.hpp"
#include "host/session/session.hpp"

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
  EXPECT_EQ(c->sessions[1].quotas.max_maps, SessionQuotas{}.max_maps);
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

}  // namespace
}  // namespace xo::session
