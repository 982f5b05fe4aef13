// Guest programs are verified without pointer-leak rights (load_caps.hpp)
// and charged what the kernel charges (kernel_memory.hpp): checked on this
// host's kernel, with a privileged load of the same code as the control.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "host/core/kernel_memory.hpp"
#include "host/core/kernel_prog.hpp"
#include "host/core/load_caps.hpp"

namespace xo::host {
namespace {

constexpr std::uint64_t kSysAdmin = 1ull << 21, kPerfmon = 1ull << 38, kBpf = 1ull << 39, kNetAdmin = 1ull << 12;

isa::RawInsn I(int code, int dst, int src, int off, int imm) {
  return isa::RawInsn::make(std::uint8_t(code), std::uint8_t(dst), std::uint8_t(src), std::int16_t(off), imm);
}

// v = lookup(map, 0); if (v) *v = <what>; return XDP_PASS
std::vector<isa::RawInsn> store_into_map(int map_fd, int what_reg) {
  return {I(0x62, 10, 0, -4, 0),  I(0xbf, 2, 10, 0, 0),           I(0x07, 2, 0, 0, -4),
          I(0x18, 1, BPF_PSEUDO_MAP_FD, 0, map_fd), I(0, 0, 0, 0, 0), I(0x85, 0, 0, 0, 1),
          I(0x15, 0, 0, 1, 0),    I(0x7b, 0, what_reg, 0, 0),     I(0xb7, 0, 0, 0, 2),
          I(0x95, 0, 0, 0, 0)};
}

TEST(GuestLoadCaps, LowersSysAdminAndPerfmonOnThisThreadOnly) {
  const std::uint64_t before = thread_effective_caps();
  ASSERT_TRUE(before & kSysAdmin) << "the tests run as root";
  std::mutex mu;
  std::condition_variable cv;
  int phase = 0;
  std::uint64_t other = 0;
  std::thread t([&] {  // started before the guard: keeps its own credentials
    std::unique_lock l(mu);
    cv.wait(l, [&] { return phase == 1; });
    other = thread_effective_caps();
    phase = 2;
    cv.notify_all();
  });
  {
    auto guard = GuestLoadCaps::enter();
    ASSERT_TRUE(guard) << guard.error().message;
    const std::uint64_t inside = thread_effective_caps();
    EXPECT_FALSE(inside & kSysAdmin);
    EXPECT_FALSE(inside & kPerfmon);
    EXPECT_TRUE(inside & kBpf) << "loading needs CAP_BPF";
    EXPECT_TRUE(inside & kNetAdmin) << "XDP and SCHED_CLS need CAP_NET_ADMIN";
    std::unique_lock l(mu);
    phase = 1;
    cv.notify_all();
    cv.wait(l, [&] { return phase == 2; });
  }
  t.join();
  EXPECT_EQ(other, before) << "another thread of the process kept its capabilities";
  EXPECT_EQ(thread_effective_caps(), before) << "restored after the load";
}

class PointerLeak : public testing::TestWithParam<int> {};

TEST_P(PointerLeak, RefusedForTheGuestAcceptedForAPrivilegedLoader) {
  UniqueFd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, "leak", 4, 8, 1, nullptr));
  ASSERT_TRUE(map);
  const auto insns = store_into_map(map.get(), GetParam());
  // The control: this process, privileged, loads it directly.
  UniqueFd privileged(bpf_prog_load(BPF_PROG_TYPE_XDP, "leak", "GPL", reinterpret_cast<const bpf_insn*>(insns.data()),
                                    insns.size(), nullptr));
  ASSERT_TRUE(privileged) << "with CAP_PERFMON the kernel lets r" << GetParam() << " leak";
  KernelProgSpec spec;
  spec.kernel_name = "leak";
  spec.insns = insns;
  auto r = load_kernel_prog(spec);
  auto* refusal = std::get_if<KernelRefusal>(&r);
  ASSERT_NE(refusal, nullptr) << "the guest's load stored a kernel pointer in a map";
  EXPECT_EQ(refusal->error, EACCES);
  EXPECT_NE(refusal->log.find("leaks addr into map"), std::string::npos) << refusal->log;
  // Without pointer-leak rights the kernel prints the map reference as 0.
  EXPECT_NE(refusal->log.find("(18) r1 = 0x0"), std::string::npos) << refusal->log;
  EXPECT_EQ(refusal->log.find("0xffff"), std::string::npos) << refusal->log;
}

// r0: the map value's address; r10: the stack's.
INSTANTIATE_TEST_SUITE_P(Registers, PointerLeak, testing::Values(0, 10));

TEST(KernelMemory, MemlockIsTheKernelsMapFigure) {
  UniqueFd small(bpf_map_create(BPF_MAP_TYPE_HASH, "m", 4, 8, 64, nullptr));
  UniqueFd large(bpf_map_create(BPF_MAP_TYPE_HASH, "m", 4, 8, 128, nullptr));
  ASSERT_TRUE(small && large);
  auto a = fd_memlock(small.get()), b = fd_memlock(large.get());
  ASSERT_TRUE(a && b);
  EXPECT_GT(*b, *a + 64 * (4 + 8)) << "64 more entries cost at least their keys and values";
  EXPECT_FALSE(fd_memlock(-1));
  const std::uint8_t blob[64] = {};
  EXPECT_GE(btf_kernel_bytes(blob), sizeof blob + 4096);
}

}  // namespace
}  // namespace xo::host
