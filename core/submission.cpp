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
    case MapType::LpmTrie: return "lpm_trie";
    case MapType::ArrayOfMaps: return "array_of_maps";
    case MapType::HashOfMaps: return "hash_of_maps";
    case MapType::Queue: return "queue";
    case MapType::Stack: return "stack";
    case MapType::BloomFilter: return "bloom_filter";
    case MapType::PerfEventArray: return "perf_event_array";
    case MapType::Devmap: return "devmap";
    case MapType::Cpumap: return "cpumap";
    case MapType::Xskmap: return "xskmap";
    case MapType::DevmapHash: return "devmap_hash";
  }
  return "type " + std::to_string(static_cast<std::uint32_t>(t));
}

bool map_type_is_percpu(MapType t) {
  return t == MapType::PercpuArray || t == MapType::PercpuHash || t == MapType::LruPercpuHash;
}

bool offload_map_type(std::uint32_t type) {
  for (MapType t : kOffloadMapTypes)
    if (static_cast<std::uint32_t>(t) == type) return true;
  return false;
}

bool guest_side_map_type(std::uint32_t type) {
  for (MapType t : kGuestSideMapTypes)
    if (static_cast<std::uint32_t>(t) == type) return true;
  return false;
}

bool map_type_is_keyless(MapType t) {
  return t == MapType::Queue || t == MapType::Stack || t == MapType::BloomFilter;
}

bool map_type_holds_maps(MapType t) { return t == MapType::ArrayOfMaps || t == MapType::HashOfMaps; }

bool map_type_holds_objects(MapType t) { return map_type_holds_maps(t) || t == MapType::ProgArray; }

bool may_defer(const Submission& sub) {
  for (const MapDef& m : sub.maps)
    if (guest_side_map_type(m.type)) return true;
  for (const isa::RawInsn& i : sub.insns)
    if (i.code == (BPF_JMP | BPF_CALL) && i.src() == 0 && i.imm == BPF_FUNC_redirect) return true;
  return false;
}

std::vector<std::size_t> declared_entries(const Submission& sub) {
  std::vector<std::size_t> out;
  out.reserve(sub.func_info.size());
  for (const FuncInfo& f : sub.func_info) out.push_back(f.insn_off);
  return out;
}

}  // namespace xo
