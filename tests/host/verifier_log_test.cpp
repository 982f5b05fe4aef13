// The kernel refuses a host program; its log comes back in guest terms.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include "host/core/btf_loader.hpp"
#include "host/core/kernel_prog.hpp"
#include "host/core/verifier_log.hpp"
#include "tests/host/raw_progs.hpp"

namespace xo::host {
namespace {

using test::exit_insn;
using test::ldxw;
using test::mov64_imm;

TEST(VerifierLog, KernelRefusalMapsBackToGuestInsnAndSourceLine) {
  auto t = test::make_test_btf();
  auto btf = load_btf(t.blob);
  ASSERT_TRUE(btf) << btf.error().message;

  // Guest:  0: r0 = 0          (prog.c:10)
  //         1: r0 = *(u32*)(r2+0)   (prog.c:42)  <- r2 never written
  //         2: exit
  // Host: a translator inserted one instruction at host slot 1.
  std::vector<isa::RawInsn> host{mov64_imm(0, 0), mov64_imm(3, 0), ldxw(0, 2, 0), exit_insn()};
  isa::IndexMap map;
  map.old_to_new = {0, 2, 3, 4};
  map.new_to_old = {0, std::nullopt, 1, 2};
  std::vector<LineInfo> guest_lines{test::line_at(t, 0, 10), test::line_at(t, 1, 42)};
  std::vector<LineInfo> host_lines{test::line_at(t, 0, 10), test::line_at(t, 2, 42)};
  std::vector<FuncInfo> funcs{{0, t.func_id}};

  KernelProgSpec spec;
  spec.kernel_name = "xo_vlog_test";
  spec.type = BPF_PROG_TYPE_XDP;
  spec.insns = host;
  spec.btf_fd = btf->fd.get();
  spec.func_info = funcs;
  spec.line_info = host_lines;
  auto loaded = load_kernel_prog(spec);
  ASSERT_TRUE(std::holds_alternative<KernelRefusal>(loaded)) << "kernel accepted a bad program";
  auto& refusal = std::get<KernelRefusal>(loaded);
  EXPECT_EQ(refusal.error, EACCES);
  ASSERT_NE(refusal.log.find("2: (61)"), std::string::npos) << refusal.log;

  Submission guest;
  guest.btf = t.blob;
  guest.line_info = guest_lines;
  GuestLocator where(&map, guest);
  auto mapped = map_verifier_log(refusal.log, where);
  EXPECT_EQ(mapped.guest_pc, std::optional<std::size_t>(1));
  EXPECT_EQ(mapped.summary, "guest insn 1 (prog.c:42): R2 !read_ok") << mapped.log;
  EXPECT_NE(mapped.log.find("2: (61) r0 = *(u32 *)(r2 +0)"), std::string::npos) << mapped.log;
  EXPECT_NE(mapped.log.find("// guest insn 1 (prog.c:42)"), std::string::npos) << mapped.log;
}

TEST(VerifierLog, HostInsertedCodeIsNamedAsSuch) {
  isa::IndexMap map;
  map.new_to_old = {0, std::nullopt};
  Submission guest;
  GuestLocator where(&map, guest);
  auto mapped = map_verifier_log("0: (b7) r0 = 0\n1: (95) exit\nR0 !read_ok\nprocessed 2 insns\n", where);
  EXPECT_EQ(mapped.guest_pc, std::nullopt);
  EXPECT_EQ(mapped.summary, "host-inserted code at host insn 1 (no guest insn): R0 !read_ok");
}

TEST(KernelProg, LoadsAcceptedProgramsWithDebugInfo) {
  auto t = test::make_test_btf();
  auto btf = load_btf(t.blob);
  ASSERT_TRUE(btf);
  auto insns = test::return_imm(2);
  std::vector<LineInfo> lines{test::line_at(t, 0, 7)};
  std::vector<FuncInfo> funcs{{0, t.func_id}};
  KernelProgSpec spec;
  spec.kernel_name = "xo_ok_test";
  spec.insns = insns;
  spec.btf_fd = btf->fd.get();
  spec.func_info = funcs;
  spec.line_info = lines;
  auto loaded = load_kernel_prog(spec);
  ASSERT_TRUE(std::holds_alternative<KernelProg>(loaded)) << std::get<KernelRefusal>(loaded).log;
  auto& p = std::get<KernelProg>(loaded);
  EXPECT_NE(p.id, 0u);
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(p.fd.get(), &info, &len), 0);
  EXPECT_EQ(info.btf_id, btf->id);
  EXPECT_EQ(info.nr_line_info, 1u);
  EXPECT_STREQ(info.name, "xo_ok_test");
}

}  // namespace
}  // namespace xo::host
