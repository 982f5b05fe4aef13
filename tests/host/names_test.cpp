#include <gtest/gtest.h>

#include "host/core/names.hpp"

namespace xo::host {
namespace {

TEST(Names, KernelObjectNamesFitAndKeepSessionAndGuestName) {
  EXPECT_EQ(kernel_object_name("vm1", "rxcnt"), "xovm1_rxcnt");
  EXPECT_EQ(kernel_object_name("vm1", "xdp_prog1"), "xovm1_xdp_prog1");
  EXPECT_EQ(kernel_object_name("guest42", "counters"), "xogues_counters");
  // Long guest names: session keeps 3 chars, name is cut to fit.
  EXPECT_EQ(kernel_object_name("session", "a_very_long_map_name"), "xoses_a_very_lo");
  // Characters the kernel refuses become '_'.
  EXPECT_EQ(kernel_object_name("vm-1", "x/y"), "xovm_1_x_y");
  for (auto [s, n] : {std::pair{"a", ""}, {"abcdefghijklmnopqrst", "b"}, {"x", ".data"}})
    EXPECT_LE(kernel_object_name(s, n).size(), kKernelNameMax) << s << " " << n;
}

TEST(Names, SessionNamesAreSinglePathComponents) {
  EXPECT_TRUE(validate_session_name("vm1"));
  EXPECT_TRUE(validate_session_name("vm-1.tap0_x"));
  for (const char* bad : {"", ".", "..", "../etc", "a/b", "-rf", ".hidden", "a b", "vm\n1"}) {
    auto s = validate_session_name(bad);
    ASSERT_FALSE(s) << "accepted '" << bad << "'";
    EXPECT_NE(s.error().message.find("session name"), std::string::npos);
  }
  EXPECT_FALSE(validate_session_name(std::string(49, 'a')));
}

}  // namespace
}  // namespace xo::host
