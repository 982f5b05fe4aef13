// Test (b): the patched kernel (kernel-patches/linux-6.12) booted as a "host"
// in a TCG VM. This process plays xoffloadd's first half: it builds the
// Submission from tun_probe.bpf.c and runs the real pipeline (preverify +
// translate, tun flavor, stats on) to the program bytes the host would load.
// The guest side (tun_probe_guest, static) plays the rest: the tap's reader
// (QEMU) and the attach through host/core's TunTxXdp, then checks exactly
// which frames the hook dropped, passed and bounced (XDP_TX), and the counts.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "core/policy.hpp"
#include "guest/builder/elf_builder.hpp"
#include "host/core/pipeline.hpp"
#include "tests/e2e/vm_boot_harness.hpp"

namespace xo {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kGuestIfindex = 7;  // tun_probe.bpf.c's GUEST_IFINDEX
constexpr std::uint32_t kStatsCpus = 4;     // >= the VM's possible CPUs (NR_CPUS=4)

Result<host::Prepared> translate_probe() {
  auto sub = guest::build_submission_from_file(XO_TUN_PROBE_OBJ);
  if (!sub) return sub.error();
  sub->guest_ifindex = kGuestIfindex;
  host::PipelineOptions o;
  o.flavor = Flavor::Tun;
  o.stats = true;
  o.stats_cpus = kStatsCpus;
  return host::prepare(*sub, DefaultPolicy{}, o);
}

TEST(TunFlavor, StaysXdpWithIfindexConstantAndBpfXdpAttachType) {
  auto p = translate_probe();
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->translated.prog_type, std::uint32_t{BPF_PROG_TYPE_XDP});
  EXPECT_EQ(p->translated.expected_attach_type, std::uint32_t{BPF_XDP});
  // No ctx load of ingress_ifindex (offset 12) survives: it reads the constant.
  bool ifindex_load = false, constant = false;
  for (const auto& in : p->translated.encode_symbolic()) {
    if (in.code == (BPF_LDX | BPF_MEM | BPF_W) && in.off == 12) ifindex_load = true;
    if ((in.code == (BPF_ALU | BPF_MOV | BPF_K)) && in.imm == std::int32_t(kGuestIfindex)) constant = true;
  }
  EXPECT_FALSE(ifindex_load);
  EXPECT_TRUE(constant);
}

std::string kernel_image() {
  // XO_PATCHED_KERNEL overrides (e.g. a kernel with the hook broken on
  // purpose, to see this test fail).
  if (const char* k = std::getenv("XO_PATCHED_KERNEL"); k && *k) return k;
  // A cache hit after the patched_kernel_build fixture: prints the path.
  std::string cmd = std::string(XO_KERNEL_BUILD) + " --print-path";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {};
  char line[4096] = {};
  std::string path;
  while (std::fgets(line, sizeof line, p)) path = line;
  ::pclose(p);
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  return path;
}

TEST(TunFlavorVm, DropsPassesAndBouncesExactlyTheRightFrames) {
  const std::string kernel = kernel_image();
  ASSERT_FALSE(kernel.empty());
  ASSERT_TRUE(std::ifstream(kernel).good()) << "no patched kernel at " << kernel
                                            << " (ctest runs patched_kernel_build first)";
  auto vm_dir = e2e::ensure_vm_image();
  ASSERT_TRUE(vm_dir.ok()) << vm_dir.error().describe();

  auto p = translate_probe();
  ASSERT_TRUE(p.ok()) << p.error().describe();
  const auto insns = p->translated.encode_symbolic();
  char dir[] = "/tmp/xo-tunprobe-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string image = std::string(dir) + "/tun_probe.img";
  {
    std::ofstream f(image, std::ios::binary);
    const std::uint32_t head[5] = {0x50544f58, p->translated.prog_type, p->translated.expected_attach_type,
                                   kStatsCpus, static_cast<std::uint32_t>(insns.size())};
    f.write(reinterpret_cast<const char*>(head), sizeof head);
    f.write(reinterpret_cast<const char*>(insns.data()), std::streamsize(insns.size() * sizeof insns[0]));
  }

  e2e::GuestVmOptions o;
  o.vm_dir = *vm_dir;
  o.cmd = "/xo/tun_probe_guest /xo/tun_probe.img";
  o.adds = {XO_TUN_PROBE_GUEST, image};
  o.extra_args = {"--kernel", kernel};
  o.timeout_s = 300;
  auto vm = e2e::GuestVm::start(o);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  auto rc = (*vm)->wait(320s);
  const std::string console = (*vm)->console();
  std::remove(image.c_str());
  ::rmdir(dir);
  ASSERT_TRUE(rc.has_value()) << "VM did not finish\n" << console;
  EXPECT_EQ(*rc, 0) << console << "\n" << (*vm)->runner_output();
  EXPECT_NE(console.find("RESULT ok"), std::string::npos) << console;
  EXPECT_EQ(console.find("FAIL"), std::string::npos) << console;
  for (const char* c : {"tungetfeatures", "attached_id", "reader_got_exactly_pass", "bounced_exactly_tx",
                        "stats_counted", "detached", "after_detach_reader_gets_all"})
    EXPECT_NE(console.find(std::string("check ") + c + " ok"), std::string::npos) << c << "\n" << console;
}

}  // namespace
}  // namespace xo
