#include <gtest/gtest.h>

#include <regex>
#include <set>

#include <string>
#include <vector>

#include "core/policy.hpp"
#include "host/core/names.hpp"
#include "host/core/offload.hpp"

namespace xo::host {
namespace {

TEST(Names, KernelObjectNamesFitAndKeepSessionAndGuestName) {
  EXPECT_EQ(kernel_object_name("vm1", "rxcnt"), "xovm1_rxcnt");
  EXPECT_EQ(kernel_object_name("vm1", "xdp_prog1"), "xovm1_xdp_prog1");
  // Shortened: the session first, then the name, and a hash tag ends it.
  const std::regex tagged("xo[A-Za-z0-9_.]+_[A-Za-z0-9_.]*[0-9a-f]{4}");
  const std::string g = kernel_object_name("guest42", "counters");
  EXPECT_EQ(g.substr(0, 10), "xogue_coun") << g;
  EXPECT_TRUE(std::regex_match(g, tagged)) << g;
  EXPECT_EQ(kernel_object_name("session", "a_very_long_map_name").substr(0, 11), "xoses_a_ver");
  // Characters the kernel refuses become '_'; a rewritten session is tagged.
  EXPECT_EQ(kernel_object_name("vm1", "x/y"), "xovm1_x_y");
  EXPECT_EQ(kernel_object_name("vm-1", "x/y").substr(0, 10), "xovm_1_x_y");
  // Names that read alike once shortened or rewritten stay distinct: two
  // sessions sharing a long prefix, two maps sharing a long prefix, and
  // "vm-1" against "vm_1".
  std::set<std::string> seen;
  for (const char* session : {"production_vm_01", "production_vm_02", "vm-1", "vm_1"})
    for (const char* map : {"counters_ipv4_ingress", "counters_ipv4_egress", "rxcnt", "x"})
      EXPECT_TRUE(seen.insert(kernel_object_name(session, map)).second) << session << " " << map;
  EXPECT_EQ(kernel_object_name("guest42", "counters"), g) << "stable";
  for (auto [s, n] : {std::pair{"a", ""}, {"abcdefghijklmnopqrst", "b"}, {"x", ".data"}})
    EXPECT_LE(kernel_object_name(s, n).size(), kKernelNameMax) << s << " " << n;
}

TEST(Names, SessionNamesAreSinglePathComponents) {
  EXPECT_TRUE(validate_session_name("vm1"));
  EXPECT_TRUE(validate_session_name("vm-1_tap0_x"));
  // bpffs refuses '.' in any name: "vm-1.tap0" could never be created.
  for (const char* bad : {"", ".", "..", "../etc", "a/b", "-rf", ".hidden", "a b", "vm\n1", "vm-1.tap0"}) {
    auto s = validate_session_name(bad);
    ASSERT_FALSE(s) << "accepted '" << bad << "'";
    EXPECT_NE(s.error().message.find("session name"), std::string::npos);
  }
  EXPECT_FALSE(validate_session_name(std::string(49, 'a')));
}

// Every pin leaf made from a guest name is one bpffs accepts: no '.', 48
// chars at most. Global data maps (".rodata") used to pin as "map_.rodata".
TEST(Names, PinLeavesFromGuestNamesAreValid) {
  EXPECT_EQ(pin_leaf("map_", "rxcnt"), "map_rxcnt");
  EXPECT_EQ(pin_leaf("map_", ".rodata"), "map__rodata");
  EXPECT_EQ(pin_leaf("map_", ".rodata.str1.1"), "map__rodata_str1_1");
  EXPECT_EQ(pin_leaf("prog3_", "a/b c"), "prog3_a_b_c");
  EXPECT_EQ(pin_leaf("stats3", ""), "stats3");
  for (const std::string& name : std::vector<std::string>{".data", ".bss", "..", std::string(100, 'x'),
                                                         std::string("a\0b", 3), std::string("\xff.")}) {
    std::string leaf = pin_leaf("map7_", name);
    EXPECT_TRUE(validate_pin_leaf(leaf)) << leaf;
    EXPECT_EQ(leaf.find('.'), std::string::npos) << leaf;
    EXPECT_LE(leaf.size(), kPinNameMax);
  }
  EXPECT_FALSE(validate_pin_leaf("map_.rodata")) << "bpffs refuses it: EPERM";
}

// Offload::check: what load refuses before any kernel object exists, which
// `xoffload verify` runs too. No kernel involved.
Submission with_maps(std::vector<MapDef> maps) {
  Submission s;
  s.name = "prog";
  s.license = "GPL";
  s.insns = {isa::RawInsn::make(0xb7, 0, 0, 0, 2), isa::RawInsn::make(0x95, 0, 0, 0, 0)};
  s.maps = std::move(maps);
  return s;
}

MapDef array_map(std::uint32_t handle, std::string name, std::uint32_t entries = 1) {
  return MapDef{handle, MapType::Array, 4, 8, entries, 0, std::move(name), 0, 0, {}, false};
}

TEST(OffloadCheck, MapPinNamesAreBpffsSafeAndDistinct) {
  OffloadOptions o;
  o.session = "vm1";
  DefaultPolicy policy;
  EXPECT_EQ(map_pin_leaf(array_map(1, ".rodata")), "map__rodata");
  EXPECT_TRUE(Offload::check(o, with_maps({array_map(1, ".data"), array_map(2, ".rodata")}), policy));
  // ".data" and "_data" would share a pin: refused up front, not half loaded.
  auto clash = Offload::check(o, with_maps({array_map(1, ".data"), array_map(2, "_data")}), policy);
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().message.find("maps '.data' and '_data' would both be pinned as map__data"),
            std::string::npos)
      << clash.error().message;
  EXPECT_EQ(clash.error().code, EEXIST);
  EXPECT_EQ(clash.error().stage, Stage::HostObjects);
}

TEST(OffloadCheck, MapLimitsSessionAndFlavorWithoutKernel) {
  OffloadOptions o;
  o.session = "vm1";
  DefaultPolicy policy;
  auto zero = Offload::check(o, with_maps({array_map(1, "sized", 0)}), policy);
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("--map-size sized=N"), std::string::npos) << zero.error().message;
  auto big = Offload::check(o, with_maps({array_map(1, "big", 2u << 20)}), policy);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("outside 1..1048576"), std::string::npos) << big.error().message;
  o.session = "vm.1";
  EXPECT_FALSE(Offload::check(o, with_maps({}), policy)) << "bpffs would refuse the session directory";
  o.session = "vm1";
  o.flavor = Flavor::Devmap;
  EXPECT_FALSE(Offload::check(o, with_maps({}), policy));
}

}  // namespace
}  // namespace xo::host
