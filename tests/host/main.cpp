// Every host test process runs in a fresh network namespace: taps, veths
// and tc filters it creates cannot touch the machine's real interfaces, and
// vanish with the process even if a test dies. bpffs and BPF ids are global,
// so names and pins are still unique per process.
#include <gtest/gtest.h>
#include <sched.h>

#include <cstdio>
#include <cstring>

#include "tests/host/netdev.hpp"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // Listing tests (gtest_discover_tests) needs no namespace.
  if (!GTEST_FLAG_GET(list_tests)) {
    if (unshare(CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "host tests need root (unshare CLONE_NEWNET): %s\n", std::strerror(errno));
      return 1;
    }
    xo::test::set_up("lo");
    // No IPv6 autoconfiguration chatter (router/neighbour solicitations) on
    // test devices: counts in tests must equal exactly the frames sent.
    for (const char* p : {"/proc/sys/net/ipv6/conf/default/disable_ipv6",
                          "/proc/sys/net/ipv6/conf/all/disable_ipv6"})
      if (FILE* f = std::fopen(p, "w")) {
        std::fputs("1", f);
        std::fclose(f);
      }
  }
  return RUN_ALL_TESTS();
}
