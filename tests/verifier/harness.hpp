// Small helpers shared by the verifier tests.
#pragma once

#include <string>
#include <vector>

#include "tests/verifier/insn_macros.hpp"
#include "core/policy.hpp"
#include "verifier-front/preverify.hpp"

namespace xo::test {

inline Submission make_sub(ins::Slots insns, std::vector<MapDef> maps = {},
                           std::string name = "t_prog") {
  Submission s;
  s.name = std::move(name);
  s.license = "GPL";
  s.insns = std::move(insns);
  s.maps = std::move(maps);
  return s;
}

inline Result<Report> preverify_default(const Submission& sub, Flavor flavor = Flavor::Chain) {
  static const DefaultPolicy policy;
  SubmissionMaps maps(sub);
  return preverify(sub, policy, maps, flavor);
}

inline MapDef array_map(std::uint32_t handle, std::uint32_t value_size, std::uint32_t max_entries,
                        std::string name = "arr") {
  return MapDef{handle, MapType::Array, 4, value_size, max_entries, 0, std::move(name)};
}
inline MapDef hash_map(std::uint32_t handle, std::string name = "hash") {
  return MapDef{handle, MapType::Hash, 4, 8, 16, 0, std::move(name)};
}

}  // namespace xo::test
