// What a guest submits: its program with map references by guest handle,
// the maps those handles name, BTF and debug info. Both the guest builder
// (guest/) and the host (host/) speak this; transport/ carries it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/uapi.hpp"
#include "translator/isa/raw.hpp"

namespace xo {

// The enum bpf_map_type values of the types a guest may ask for.
enum class MapType : std::uint32_t {
  Hash = BPF_MAP_TYPE_HASH,
  Array = BPF_MAP_TYPE_ARRAY,
  ProgArray = BPF_MAP_TYPE_PROG_ARRAY,
  PercpuHash = BPF_MAP_TYPE_PERCPU_HASH,
  PercpuArray = BPF_MAP_TYPE_PERCPU_ARRAY,
  LruHash = BPF_MAP_TYPE_LRU_HASH,
  LruPercpuHash = BPF_MAP_TYPE_LRU_PERCPU_HASH,
  LpmTrie = BPF_MAP_TYPE_LPM_TRIE,
  ArrayOfMaps = BPF_MAP_TYPE_ARRAY_OF_MAPS,
  HashOfMaps = BPF_MAP_TYPE_HASH_OF_MAPS,
  Queue = BPF_MAP_TYPE_QUEUE,
  Stack = BPF_MAP_TYPE_STACK,
  BloomFilter = BPF_MAP_TYPE_BLOOM_FILTER,
  // Guest-side types (protocol version 2, PROTOCOL.md 8): their entries name
  // objects only the guest has, so the host keeps no kernel map for them.
  PerfEventArray = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
  Devmap = BPF_MAP_TYPE_DEVMAP,
  Cpumap = BPF_MAP_TYPE_CPUMAP,
  Xskmap = BPF_MAP_TYPE_XSKMAP,
  DevmapHash = BPF_MAP_TYPE_DEVMAP_HASH,
};

// The map types a guest may create, in CAPS order. The builder, the host's
// map checks and CAPS all read this one list.
inline constexpr MapType kOffloadMapTypes[] = {
    MapType::Hash,    MapType::Array,       MapType::ProgArray,  MapType::PercpuHash, MapType::PercpuArray,
    MapType::LruHash, MapType::LruPercpuHash, MapType::LpmTrie, MapType::ArrayOfMaps, MapType::HashOfMaps,
    MapType::Queue,   MapType::Stack,       MapType::BloomFilter,
};
bool offload_map_type(std::uint32_t type);

// The guest-side map types, in CAPS order (version 2): redirect targets
// (DEVMAP, DEVMAP_HASH, CPUMAP, XSKMAP) and perf event rings. A program may
// name one only as the map argument of a deferred helper; the guest's
// trampoline makes the call on the guest's own map (PROTOCOL.md 8).
inline constexpr MapType kGuestSideMapTypes[] = {
    MapType::Devmap, MapType::DevmapHash, MapType::Cpumap, MapType::Xskmap, MapType::PerfEventArray,
};
bool guest_side_map_type(std::uint32_t type);
inline bool guest_side_map_type(MapType t) { return guest_side_map_type(static_cast<std::uint32_t>(t)); }

// bpftool's spelling ("array", "percpu_hash"); "type N" for a kernel map
// type xoffload does not model, so kernel-reported types print too.
std::string map_type_name(MapType t);
// Per-CPU maps read and write one value slot per possible CPU from user space.
bool map_type_is_percpu(MapType t);
// QUEUE, STACK and BLOOM_FILTER have no keys (key_size 0): user space pushes
// with update(NULL key), pops with lookup_and_delete, peeks with lookup.
bool map_type_is_keyless(MapType t);
// ARRAY_OF_MAPS / HASH_OF_MAPS: values are maps (a guest sends a map handle,
// the host stores its own fd; the kernel answers lookups with a map id).
bool map_type_holds_maps(MapType t);
// Values that name kernel objects (maps or programs), never plain bytes.
bool map_type_holds_objects(MapType t);

struct MapDef {
  std::uint32_t handle;  // guest handle: what LoadMapFd/LoadMapValue carry in `fd`
  MapType type;
  std::uint32_t key_size;
  std::uint32_t value_size;
  std::uint32_t max_entries;
  std::uint32_t flags;
  std::string name;                  // e.g. "rxcnt", ".data"
  std::uint32_t btf_key_type_id = 0;  // ids into Submission::btf, 0 = none
  std::uint32_t btf_value_type_id = 0;
  std::vector<std::uint8_t> initial_value;  // global data (.data/.rodata): key 0 contents
  bool frozen = false;                      // .rodata
  // BLOOM_FILTER: the number of hash functions (low 4 bits; 0 = kernel's 5).
  std::uint64_t map_extra = 0;
  // ARRAY_OF_MAPS / HASH_OF_MAPS: the handle of the map whose shape (type,
  // key/value size, flags) every inner map must have; it precedes this map.
  std::uint32_t inner_map = 0;
  bool operator==(const MapDef&) const = default;
};

// Same layout as struct bpf_func_info / bpf_line_info; offsets in slots.
struct FuncInfo {
  std::uint32_t insn_off;
  std::uint32_t type_id;
  bool operator==(const FuncInfo&) const = default;
};
struct LineInfo {
  std::uint32_t insn_off;
  std::uint32_t file_name_off;  // into BTF string section
  std::uint32_t line_off;
  std::uint32_t line_col;  // line << 10 | col
  bool operator==(const LineInfo&) const = default;
};

struct Submission {
  std::string name;      // program name (kernel truncates to 15 chars)
  std::string license;   // e.g. "GPL"
  std::uint32_t guest_ifindex = 0;
  std::vector<isa::RawInsn> insns;  // map refs by guest handle (BPF_PSEUDO_MAP_FD/_VALUE)
  std::vector<MapDef> maps;
  std::vector<std::uint8_t> btf;  // raw BTF blob, may be empty
  std::vector<FuncInfo> func_info;
  std::vector<LineInfo> line_info;
  bool operator==(const Submission&) const = default;
};

// True when the program may defer work to the guest's trampoline
// (PROTOCOL.md 8): it has a guest-side map or calls bpf_redirect. A guest
// gives such a program a cookie; the host decides exactly (the translator).
bool may_defer(const Submission& sub);

// The subprogram entries func_info declares, in slots and in order: the
// declared entries of isa::build_cfg / isa::analyze.
std::vector<std::size_t> declared_entries(const Submission& sub);

}  // namespace xo
