// The sample host ingress XDP program (examples/chain), loaded and attached
// the way a host admin would: its xo_chain map reuses the session's pinned
// prog array, tap_ifindex is set in .rodata before load.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"

namespace xo::test {

struct IngressProgram {
  bpf_object* obj = nullptr;
  int ifindex = 0;
  ~IngressProgram() {
    if (ifindex) bpf_xdp_detach(ifindex, 0, nullptr);
    bpf_object__close(obj);
  }
};

inline void load_ingress(IngressProgram& ing, const std::string& pin, int tap_ifindex, int veth_ifindex) {
  std::string path = std::string(XO_EXAMPLES_BIN) + "/chain/chain_ingress.o";
  ing.obj = bpf_object__open_file(path.c_str(), nullptr);
  ASSERT_TRUE(ing.obj) << path;
  bpf_map* chain = bpf_object__find_map_by_name(ing.obj, "xo_chain");
  ASSERT_TRUE(chain);
  UniqueFd pinned(bpf_obj_get(pin.c_str()));
  ASSERT_TRUE(pinned.valid()) << pin;
  ASSERT_EQ(bpf_map__reuse_fd(chain, pinned.get()), 0);
  bpf_map* rodata = nullptr;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, ing.obj) if (std::strstr(bpf_map__name(m), ".rodata")) rodata = m;
  ASSERT_TRUE(rodata);
  std::size_t sz = 0;
  const void* init = bpf_map__initial_value(rodata, &sz);
  ASSERT_TRUE(init && sz >= 4);
  std::vector<std::uint8_t> bytes(static_cast<const std::uint8_t*>(init),
                                  static_cast<const std::uint8_t*>(init) + sz);
  std::uint32_t idx = static_cast<std::uint32_t>(tap_ifindex);
  std::memcpy(bytes.data(), &idx, 4);  // tap_ifindex is the only .rodata variable
  ASSERT_EQ(bpf_map__set_initial_value(rodata, bytes.data(), bytes.size()), 0);
  ASSERT_EQ(bpf_object__load(ing.obj), 0);
  bpf_program* prog = bpf_object__find_program_by_name(ing.obj, "xo_chain_ingress");
  ASSERT_TRUE(prog);
  ASSERT_EQ(bpf_xdp_attach(veth_ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, nullptr), 0);
  ing.ifindex = veth_ifindex;
}

// A pass-through XDP program on a device (gives veth peers their NAPI, so
// XDP_TX toward them works), detached on destruction.
struct XdpPass {
  explicit XdpPass(int ifindex) : ifindex_(ifindex) {
    const bpf_insn prog[] = {{0xb7, 0, 0, 0, 2 /* XDP_PASS */}, {0x95, 0, 0, 0, 0}};
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_XDP);
    fd_.reset(bpf_prog_load(BPF_PROG_TYPE_XDP, "xo_test_pass", "GPL", prog, 2, &opts));
    EXPECT_TRUE(fd_.valid());
    EXPECT_EQ(bpf_xdp_attach(ifindex_, fd_.get(), XDP_FLAGS_DRV_MODE, nullptr), 0);
  }
  ~XdpPass() { bpf_xdp_detach(ifindex_, XDP_FLAGS_DRV_MODE, nullptr); }
  int ifindex_;
  UniqueFd fd_;
};

}  // namespace xo::test
