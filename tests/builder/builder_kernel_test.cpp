// Kernel cross-check: what the builder produced is faithful if this kernel
// loads it (with BTF, func_info and line_info) and runs it to the same result
// as the source says. A tiny local loader plays the host: create each map,
// patch guest handles to real fds, load BTF and the program, test-run.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <initializer_list>
#include <map>
#include <utility>

#include "core/unique_fd.hpp"
#include "tests/builder/test_support.hpp"

namespace xo::guest {
namespace {

using testing::build_ok;
using testing::prog_obj;

using UniqueFd = UniqueFd;

struct Loaded {
  UniqueFd btf;
  std::map<std::uint32_t, UniqueFd> maps;  // guest handle -> kernel map
  UniqueFd prog;
  std::string log;
};

// Everything a host loader does, minimally, with the kernel's log on failure.
::testing::AssertionResult load_into_kernel(const Submission& s, Loaded& out) {
  std::vector<char> log(1 << 20);
  if (!s.btf.empty()) {
    LIBBPF_OPTS(bpf_btf_load_opts, bopts, .log_buf = log.data(), .log_level = 1, .log_size = static_cast<__u32>(log.size()));
    out.btf = UniqueFd(bpf_btf_load(s.btf.data(), s.btf.size(), &bopts));
    if (out.btf.get() < 0) return ::testing::AssertionFailure() << "BTF load: " << strerror(errno) << "\n" << log.data();
  }
  for (const MapDef& m : s.maps) {
    LIBBPF_OPTS(bpf_map_create_opts, mopts, .btf_fd = static_cast<__u32>(out.btf.get() < 0 ? 0 : out.btf.get()),
                .btf_key_type_id = m.btf_key_type_id, .btf_value_type_id = m.btf_value_type_id,
                .map_flags = m.flags);
    if (out.btf.get() < 0) mopts.btf_value_type_id = mopts.btf_key_type_id = 0;
    UniqueFd fd(bpf_map_create(static_cast<bpf_map_type>(m.type), m.name.c_str(), m.key_size, m.value_size, m.max_entries, &mopts));
    if (fd.get() < 0) return ::testing::AssertionFailure() << "map '" << m.name << "' create: " << strerror(errno);
    if (!m.initial_value.empty()) {
      std::uint32_t zero = 0;
      if (bpf_map_update_elem(fd.get(), &zero, m.initial_value.data(), 0))
        return ::testing::AssertionFailure() << "map '" << m.name << "' init: " << strerror(errno);
    }
    if (m.frozen && bpf_map_freeze(fd.get()))
      return ::testing::AssertionFailure() << "map '" << m.name << "' freeze: " << strerror(errno);
    out.maps.emplace(m.handle, std::move(fd));
  }
  auto insns = s.insns;
  auto bound = isa::rebind_map_refs(insns, [&](std::size_t pc, std::int32_t handle) -> Result<std::int32_t> {
    auto it = out.maps.find(static_cast<std::uint32_t>(handle));
    if (it == out.maps.end()) return err_at(pc, "unknown handle " + std::to_string(handle));
    return it->second.get();
  });
  if (!bound) return ::testing::AssertionFailure() << bound.error().describe();
  LIBBPF_OPTS(bpf_prog_load_opts, popts, .log_level = 1, .log_size = static_cast<__u32>(log.size()), .log_buf = log.data());
  if (out.btf.get() >= 0) {
    popts.prog_btf_fd = out.btf.get();
    popts.func_info = s.func_info.data();
    popts.func_info_cnt = static_cast<__u32>(s.func_info.size());
    popts.func_info_rec_size = sizeof(FuncInfo);
    popts.line_info = s.line_info.data();
    popts.line_info_cnt = static_cast<__u32>(s.line_info.size());
    popts.line_info_rec_size = sizeof(LineInfo);
  }
  out.prog = UniqueFd(bpf_prog_load(BPF_PROG_TYPE_XDP, s.name.c_str(), s.license.c_str(),
                              reinterpret_cast<const bpf_insn*>(insns.data()), insns.size(), &popts));
  out.log = log.data();
  if (out.prog.get() < 0) return ::testing::AssertionFailure() << "prog load: " << strerror(errno) << "\n" << out.log;
  return ::testing::AssertionSuccess();
}

// Ethernet + IPv4 + UDP, 64 bytes.
std::vector<std::uint8_t> udp_packet() {
  std::vector<std::uint8_t> pkt(64, 0);
  auto* eth = reinterpret_cast<ethhdr*>(pkt.data());
  std::memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", 6);
  std::memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", 6);
  eth->h_proto = htons(ETH_P_IP);
  auto* ip = reinterpret_cast<iphdr*>(pkt.data() + sizeof(ethhdr));
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->tot_len = htons(static_cast<std::uint16_t>(pkt.size() - sizeof(ethhdr)));
  ip->saddr = htonl(0x0a000001);
  ip->daddr = htonl(0x0a000002);
  auto* udp = reinterpret_cast<udphdr*>(pkt.data() + sizeof(ethhdr) + sizeof(iphdr));
  udp->source = htons(1234);
  udp->dest = htons(5678);
  udp->len = htons(static_cast<std::uint16_t>(pkt.size() - sizeof(ethhdr) - sizeof(iphdr)));
  return pkt;
}

struct RunResult {
  std::uint32_t retval = 0;
  std::vector<std::uint8_t> data_out;
};

::testing::AssertionResult test_run(int prog_fd, std::vector<std::uint8_t> in, RunResult& r) {
  r.data_out.assign(in.size() + 256, 0);
  LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in.data(), .data_out = r.data_out.data(),
              .data_size_in = static_cast<__u32>(in.size()), .data_size_out = static_cast<__u32>(r.data_out.size()),
              .repeat = 1);
  if (bpf_prog_test_run_opts(prog_fd, &t)) return ::testing::AssertionFailure() << "test_run: " << strerror(errno);
  r.retval = t.retval;
  r.data_out.resize(t.data_size_out);
  return ::testing::AssertionSuccess();
}

std::uint64_t percpu_sum(int map_fd, std::uint32_t key) {
  int ncpu = libbpf_num_possible_cpus();
  std::vector<std::uint64_t> vals(ncpu > 0 ? ncpu : 1, 0);
  if (bpf_map_lookup_elem(map_fd, &key, vals.data())) return ~0ull;
  std::uint64_t sum = 0;
  for (auto v : vals) sum += v;
  return sum;
}

class BuilderKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_FAIL() << "kernel cross-check needs root (BPF_PROG_LOAD)";
  }
};

TEST_F(BuilderKernel, Xdp1LoadsAndDropsCountingUdp) {
  auto s = build_ok(XO_XDP1_OBJ);
  Loaded l;
  ASSERT_TRUE(load_into_kernel(s, l));
  RunResult r;
  ASSERT_TRUE(test_run(l.prog.get(), udp_packet(), r));
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_DROP));
  int rxcnt = l.maps.at(1).get();
  EXPECT_EQ(percpu_sum(rxcnt, IPPROTO_UDP), 1u);
  EXPECT_EQ(percpu_sum(rxcnt, IPPROTO_TCP), 0u);
  // The kernel kept our func_info/line_info: the program has BTF attached.
  bpf_prog_info info{};
  __u32 len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(l.prog.get(), &info, &len), 0);
  EXPECT_NE(info.btf_id, 0u);
  EXPECT_EQ(info.nr_func_info, s.func_info.size());
  EXPECT_EQ(info.nr_line_info, s.line_info.size());
}

// Two VLAN tags (802.1AD outer, 802.1Q inner) around IPv6/TCP: the example
// parses like samples/bpf and counts protocol 6.
TEST_F(BuilderKernel, Xdp1CountsThroughTwoVlanTagsIpv6) {
  auto s = build_ok(XO_XDP1_OBJ);
  Loaded l;
  ASSERT_TRUE(load_into_kernel(s, l));
  std::vector<std::uint8_t> pkt(14 + 8 + 40 + 20, 0);
  std::memcpy(pkt.data(), "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
  const std::uint8_t tags[] = {0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x86, 0xdd};
  std::memcpy(pkt.data() + 12, tags, sizeof tags);
  pkt[22] = 0x60;                 // IPv6 version
  pkt[22 + 6] = IPPROTO_TCP;      // next header
  RunResult r;
  ASSERT_TRUE(test_run(l.prog.get(), pkt, r));
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_DROP));
  EXPECT_EQ(percpu_sum(l.maps.at(1).get(), IPPROTO_TCP), 1u);
  EXPECT_EQ(percpu_sum(l.maps.at(1).get(), 0), 0u);
}

TEST_F(BuilderKernel, Xdp2SwapsMacsAndBounces) {
  auto s = build_ok(XO_XDP2_OBJ);
  Loaded l;
  ASSERT_TRUE(load_into_kernel(s, l));
  auto in = udp_packet();
  RunResult r;
  ASSERT_TRUE(test_run(l.prog.get(), in, r));
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_TX));
  ASSERT_EQ(r.data_out.size(), in.size());
  EXPECT_EQ(0, std::memcmp(r.data_out.data(), in.data() + 6, 6));
  EXPECT_EQ(0, std::memcmp(r.data_out.data() + 6, in.data(), 6));
  EXPECT_EQ(percpu_sum(l.maps.at(1).get(), IPPROTO_UDP), 1u);
}

TEST_F(BuilderKernel, GlobalDataRunsWithRightValues) {
  auto s = build_ok(prog_obj("globals"));
  Loaded l;
  ASSERT_TRUE(load_into_kernel(s, l));
  RunResult r;
  ASSERT_TRUE(test_run(l.prog.get(), udp_packet(), r));
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_PASS)) << "a wrong handle or offset changes the sum";
  // .bss got bss_hits = 1 and bss_last = data_a = 11.
  const MapDef* bss = testing::map_named(s, ".bss");
  ASSERT_TRUE(bss);
  std::vector<std::uint8_t> v(bss->value_size);
  std::uint32_t zero = 0;
  ASSERT_EQ(bpf_map_lookup_elem(l.maps.at(bss->handle).get(), &zero, v.data()), 0);
  std::uint64_t sum = 0;  // byte sum is layout-independent: 1 + 11
  for (auto b : v) sum += b;
  EXPECT_EQ(sum, 12u);
}

// Each program of progs/<obj>.bpf.c loads and returns its XDP action on a UDP packet.
void expect_actions(const char* obj, std::initializer_list<std::pair<const char*, std::uint32_t>> expected) {
  for (auto [name, action] : expected) {
    auto s = build_ok(prog_obj(obj), name);
    Loaded l;
    ASSERT_TRUE(load_into_kernel(s, l)) << name;
    RunResult r;
    ASSERT_TRUE(test_run(l.prog.get(), udp_packet(), r)) << name;
    EXPECT_EQ(r.retval, action) << name;
  }
}

TEST_F(BuilderKernel, BpfToBpfCallsRun) {
  expect_actions("calls", {{"xdp_calls", XDP_TX}, {"xdp_calls_other", XDP_PASS}});
}

TEST_F(BuilderKernel, HashLruArrayProgramsLoad) {
  expect_actions("maps", {{"xdp_flows", XDP_PASS}, {"xdp_recent", XDP_DROP}});
}

TEST_F(BuilderKernel, CallbackAndStringLiteralRun) {
  auto s = build_ok(prog_obj("loop"));
  Loaded l;
  ASSERT_TRUE(load_into_kernel(s, l));
  RunResult r;
  ASSERT_TRUE(test_run(l.prog.get(), udp_packet(), r));
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_PASS));
}

// Pre-libbpf-1.0 objects run as their source says: the legacy maps are the
// right ones (rxcnt[17] counts the packet), the BTF with its DATASEC "maps"
// sized by us is accepted by the kernel, and code without a function symbol
// is the same program.
TEST_F(BuilderKernel, LegacyObjectsRun) {
  for (const char* obj : {"legacy_maps", "legacy_nobtf", "legacy_nofunc"}) {
    auto s = build_ok(prog_obj(obj));
    Loaded l;
    ASSERT_TRUE(load_into_kernel(s, l)) << obj;
    RunResult r;
    ASSERT_TRUE(test_run(l.prog.get(), udp_packet(), r)) << obj;
    EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_DROP)) << obj;
    const MapDef* rxcnt = testing::map_named(s, "rxcnt");
    ASSERT_TRUE(rxcnt) << obj;
    EXPECT_EQ(percpu_sum(l.maps.at(rxcnt->handle).get(), 17), 1u) << obj;
  }
  auto s = build_ok(prog_obj("legacy_iproute2"));
  Loaded l;
  ASSERT_TRUE(load_into_kernel(s, l));
  RunResult r;
  ASSERT_TRUE(test_run(l.prog.get(), udp_packet(), r));
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_PASS));
  std::uint32_t key = 2;
  std::uint64_t v = 0;
  ASSERT_EQ(bpf_map_lookup_elem(l.maps.at(1).get(), &key, &v), 0);
  EXPECT_EQ(v, 5u);
}

TEST_F(BuilderKernel, OptionalUnusedDevmapAndSizedMapProgramsRun) {
  expect_actions("optional", {{"xdp_optional", XDP_TX}});
  expect_actions("unused_devmap", {{"xdp_count", XDP_PASS}});
  auto built = build_program_from_file(prog_obj("sized_by_user"), {.map_sizes = {{"flows", 16}}});
  ASSERT_TRUE(built) << built.error().message;
  Loaded l;
  ASSERT_TRUE(load_into_kernel(built->submission, l));
  RunResult r;
  ASSERT_TRUE(test_run(l.prog.get(), udp_packet(), r));
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_PASS));
}

}  // namespace
}  // namespace xo::guest
