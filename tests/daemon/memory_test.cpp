// Break 4 of issue 10, measured on the host: a session that fills its
// memory quota lowers the host's available memory (MemAvailable) by no more
// than the quota plus a stated slack. Before the fix, the quota charged
// (key + value) x entries: the same guest took ~40x its quota.
//
// Other processes allocate and free memory meanwhile (the machine is
// shared), so the drop is measured up to three times and the smallest
// counts: noise can hide a leak of a few MiB, never the 40x of the bug
// (here ~900 MiB against a 64 MiB quota). Run serially (RUN_SERIAL).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

#include "tests/daemon/harness.hpp"
#include "tests/host/netdev.hpp"

namespace xo::dtest {
namespace {

namespace ts = xo::transport;

std::int64_t mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return -1;
}

TEST(DaemonMemory, FillingTheQuotaCostsTheHostNoMoreThanTheQuota) {
  constexpr std::int64_t kQuota = 64 << 20;
  // Kernel allocations the memlock figure rounds away (vmalloc pages,
  // slab headers), the daemon's own heap, and measurement noise.
  constexpr std::int64_t kSlack = 32 << 20;
  test::Tap tap;
  SessionSpec spec{unique_name("mq"), tap.name(), "",
                   "max_maps = 64\nmax_map_bytes = " + std::to_string(kQuota) +
                       "\nrequests_per_sec = 100000\nrequest_burst = 100000\n"};
  Daemon daemon({spec}, "warn");

  // Hash maps, key 1 and value 1: the old charge was 2 bytes an entry, the
  // kernel's is ~90 (element, bucket).
  ts::MapCreateRequest m;
  m.type = MapType::Hash;
  m.key_size = 1;
  m.value_size = 1;
  m.max_entries = 150000;
  m.name = "fill";

  std::int64_t best = std::numeric_limits<std::int64_t>::max();
  int best_maps = 0;
  for (int attempt = 0; attempt < 3 && best > kQuota + kSlack; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::int64_t before = mem_available();
    ASSERT_GT(before, 0);
    int created = 0;
    {
      auto c = connect_guest(daemon.session(0).socket);
      ASSERT_TRUE(c) << c.error().message;
      for (int i = 0; i < 64; ++i) {
        auto h = c->map_create(m);
        if (!h) {
          EXPECT_EQ(c->last_status(), ts::status::kEDQUOT) << h.error().message;
          break;
        }
        ++created;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const std::int64_t drop = before - mem_available();
      std::printf("attempt %d: %d maps, MemAvailable dropped %lld KiB (quota %lld KiB + slack %lld KiB)\n",
                  attempt, created, (long long)(drop >> 10), (long long)(kQuota >> 10), (long long)(kSlack >> 10));
      if (drop < best) {
        best = drop;
        best_maps = created;
      }
    }  // the guest hangs up: the daemon frees its maps
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!bpf_objects_held_by(daemon.pid()).empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(bpf_objects_held_by(daemon.pid()).empty());
  }
  EXPECT_GE(best_maps, 2) << "the session filled (most of) its quota";
  EXPECT_LE(best, kQuota + kSlack) << best_maps << " maps took " << (best >> 20) << " MiB of host memory, quota "
                                   << (kQuota >> 20) << " MiB + " << (kSlack >> 20) << " MiB slack";
  EXPECT_TRUE(daemon.running());
}

}  // namespace
}  // namespace xo::dtest
