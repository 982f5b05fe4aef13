// Every daemon test process runs in a fresh network namespace (its taps and
// tc filters cannot touch the machine's devices and vanish with it); the
// xoffloadd children inherit it. bpffs and BPF ids are global, so session
// names and pins are unique per process.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>

#include <cstdio>
#include <cstring>

#include "tests/host/netdev.hpp"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  signal(SIGPIPE, SIG_IGN);
  if (!GTEST_FLAG_GET(list_tests)) {
    if (unshare(CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "daemon tests need root (unshare CLONE_NEWNET): %s\n", std::strerror(errno));
      return 1;
    }
    xo::test::set_up("lo");
    for (const char* p : {"/proc/sys/net/ipv6/conf/default/disable_ipv6", "/proc/sys/net/ipv6/conf/all/disable_ipv6"})
      if (FILE* f = std::fopen(p, "w")) {
        std::fputs("1", f);
        std::fclose(f);
      }
  }
  return RUN_ALL_TESTS();
}
