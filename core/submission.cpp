#include "core/submission.hpp"

namespace xo {

std::string map_type_name(MapType t) {
  switch (t) {
    case MapType::Hash: return "hash";
    case MapType::Array: return "array";
    case MapType::ProgArray: return "prog_array";
    case MapType::PercpuHash: return "percpu_hash";
    case MapType::PercpuArray: return "percpu_array";
    case MapType::LruHash: return "lru_hash";
    case MapType::LruPercpuHash: return "lru_percpu_hash";
  }
  return "type " + std::to_string(static_cast<std::uint32_t>(t));
}

bool map_type_is_percpu(MapType t) {
  return t == MapType::PercpuArray || t == MapType::PercpuHash || t == MapType::LruPercpuHash;
}

std::vector<std::size_t> declared_entries(const Submission& sub) {
  std::vector<std::size_t> out;
  out.reserve(sub.func_info.size());
  for (const FuncInfo& f : sub.func_info) out.push_back(f.insn_off);
  return out;
}

}  // namespace xo
