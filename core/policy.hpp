// Policy is injected, never global: which helpers a guest may call, with
// which argument counts, under which host flavor; which map handles exist.
// The host advertises the same policy in CAPS, so guests negotiate it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/submission.hpp"

namespace xo {

enum class Flavor : std::uint8_t { Tc = 0, Chain = 1, Devmap = 2, Tun = 3 };
std::string_view flavor_name(Flavor f);
std::optional<Flavor> parse_flavor(std::string_view s);

// One bit per Flavor.
using FlavorSet = std::uint8_t;
inline constexpr FlavorSet flavor_bit(Flavor f) { return FlavorSet(1u << unsigned(f)); }
inline constexpr FlavorSet kAllFlavors = 0x0f;

// How the kernel treats a helper's arguments and result where pointers are
// concerned (its bpf_func_proto arg/ret types), for the pointer-flow check
// (verifier-front/pointers.cpp). Bit i of a mask is r(i+1).
struct HelperPointers {
  std::uint8_t args = 0;       // arguments that are pointers (ctx, map, memory)
  std::uint8_t reads = 0;      // memory arguments the helper reads (key, value, source buffer)
  std::uint8_t key_arg = 0;    // r<key_arg> points to the key of the map in r1: key_size bytes
  std::uint8_t value_arg = 0;  // r<value_arg> points to a value of the map in r1: value_size bytes
  bool returns_pointer = false;  // r0 is a map value pointer (or NULL)
  // r<size_arg> is the byte count of the memory the helper reads (its one
  // read argument), when the program sets it to a constant.
  std::uint8_t size_arg = 0;
  bool operator==(const HelperPointers&) const = default;
};

struct HelperProto {
  std::int32_t id;        // enum bpf_func_id
  std::string name;       // "bpf_map_lookup_elem"
  std::uint8_t nargs;     // r1..r(nargs) must be initialised at the call
  FlavorSet flavors;      // where an offloaded program may call it
  // Loop helpers (bpf_loop): r<loop_count_arg> is how often the helper calls
  // the subprogram in r<loop_callback_arg>. 0 = not a loop helper. The
  // count must be a constant, and nested counts multiplied stay under
  // Policy::max_loop_iterations() (verifier-front/loops.cpp).
  std::uint8_t loop_count_arg = 0;
  std::uint8_t loop_callback_arg = 0;
  HelperPointers pointers{};
  // Map-walk helpers (bpf_for_each_map_elem): r<loop_map_arg> is a map, and
  // the callback runs at most once per element, so the map's max_entries is
  // the count (bounded like loop_count_arg). 0 = not a map walk.
  std::uint8_t loop_map_arg = 0;
  // The host never calls it: the translator records the call and the
  // guest's trampoline makes it on the guest's own objects (redirect,
  // redirect_map, perf_event_output; protocol version 2, PROTOCOL.md 8).
  // Only a session that speaks version 2 may use it (TranslateOptions::defer).
  bool deferred = false;
  bool is_loop() const { return loop_count_arg != 0 || loop_map_arg != 0; }
  bool operator==(const HelperProto&) const = default;
};

// A kernel function (kfunc) a guest may call. Guests name kfuncs, never
// BTF ids of a kernel: a kfunc call's imm is the id of an extern
// BTF_KIND_FUNC in the submission's own BTF, and the host resolves the name
// in its own vmlinux BTF (translator/passes/kfuncs.cpp).
struct KfuncProto {
  std::string name;    // "bpf_dynptr_slice"
  std::uint8_t nargs;  // r1..r(nargs) must be initialised at the call
  FlavorSet flavors;
  bool operator==(const KfuncProto&) const = default;
};

// A guest program's loop helpers may run their callbacks at most this often
// per program run, nesting multiplied: about 0.5 ms per packet for an empty
// callback on this host class (bpf_loop costs ~8 ns an iteration), against
// the kernel's own bound of 8M (~67 ms).
inline constexpr std::uint64_t kDefaultMaxLoopIterations = 65536;

class Policy {
 public:
  virtual ~Policy() = default;
  // nullptr when the helper is not on the allowlist at all (deny by default).
  virtual const HelperProto* helper(std::int32_t id) const = 0;
  // All allowlisted helpers, for CAPS.
  virtual std::vector<HelperProto> helpers() const = 0;
  virtual FlavorSet flavors() const = 0;
  // Upper bound on callback calls per program run (see HelperProto).
  virtual std::uint64_t max_loop_iterations() const { return kDefaultMaxLoopIterations; }
  // nullptr when the kfunc is not allowed (deny by default).
  virtual const KfuncProto* kfunc(std::string_view /*name*/) const { return nullptr; }
};

// What map handles a session owns. Map references may name only these.
class MapTable {
 public:
  virtual ~MapTable() = default;
  virtual const MapDef* find(std::uint32_t handle) const = 0;
};

// The default allowlist: packet and map helpers only; nothing that reads host
// state (fib_lookup, get_current_*, perf_event_output, trace_printk, ...).
class DefaultPolicy final : public Policy {
 public:
  DefaultPolicy();
  explicit DefaultPolicy(std::vector<HelperProto> helpers, FlavorSet flavors = kAllFlavors);
  const HelperProto* helper(std::int32_t id) const override;
  std::vector<HelperProto> helpers() const override { return helpers_; }
  FlavorSet flavors() const override { return flavors_; }
  const KfuncProto* kfunc(std::string_view name) const override;

 private:
  std::vector<HelperProto> helpers_;
  std::vector<KfuncProto> kfuncs_;
  FlavorSet flavors_;
};

// A MapTable over a Submission's own map list.
class SubmissionMaps final : public MapTable {
 public:
  explicit SubmissionMaps(const Submission& s) : s_(s) {}
  const MapDef* find(std::uint32_t handle) const override {
    for (const auto& m : s_.maps)
      if (m.handle == handle) return &m;
    return nullptr;
  }

 private:
  const Submission& s_;
};

}  // namespace xo
