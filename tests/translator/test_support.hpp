// Shared fixtures for translator tests: a submission with two maps, a
// permissive test policy, and readable dumps of instruction lists.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "tests/translator/insn_dsl.hpp"
#include "translator/passes/passes.hpp"
#include "core/policy.hpp"

namespace xo::test {

// Everything the test programs call, in every flavor, except:
//   7 (get_prandom_u32) is allowed in chain only; 69 (fib_lookup) nowhere.
class TestPolicy final : public Policy {
 public:
  TestPolicy() {
    auto all = kAllFlavors;
    protos_ = {
        {1, "bpf_map_lookup_elem", 2, all},   {2, "bpf_map_update_elem", 4, all},
        {3, "bpf_map_delete_elem", 2, all},   {5, "bpf_ktime_get_ns", 0, all},
        {7, "bpf_get_prandom_u32", 0, flavor_bit(Flavor::Chain)},
        {8, "bpf_get_smp_processor_id", 0, all},
        {28, "bpf_csum_diff", 5, all},        {44, "bpf_xdp_adjust_head", 2, all},
        {54, "bpf_xdp_adjust_meta", 2, all},  {65, "bpf_xdp_adjust_tail", 2, all},
        {188, "bpf_xdp_get_buff_len", 1, all}, {189, "bpf_xdp_load_bytes", 4, all},
        {190, "bpf_xdp_store_bytes", 4, all},  {163, "bpf_check_mtu", 5, all},
        {181, "bpf_loop", 4, all},
    };
  }
  // The default policy's kfuncs (the packet dynptr ones).
  const KfuncProto* kfunc(std::string_view name) const override { return defaults_.kfunc(name); }
  const HelperProto* helper(std::int32_t id) const override {
    for (const auto& p : protos_)
      if (p.id == id) return &p;
    return nullptr;
  }
  std::vector<HelperProto> helpers() const override { return protos_; }
  FlavorSet flavors() const override { return kAllFlavors; }

 private:
  std::vector<HelperProto> protos_;
  DefaultPolicy defaults_;
};

inline std::string hex_slots(const std::vector<isa::RawInsn>& raw) {
  std::string s;
  char buf[64];
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::snprintf(buf, sizeof buf, "  %3zu: %02x %02x %04x %08x\n", i, raw[i].code, raw[i].regs,
                  static_cast<std::uint16_t>(raw[i].off), static_cast<std::uint32_t>(raw[i].imm));
    s += buf;
  }
  return s;
}

}  // namespace xo::test
