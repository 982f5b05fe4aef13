// Offload: one guest XDP program running on the host for one tap, with
// every kernel object it needs, owned in one place:
//
//   SessionPins  /sys/fs/bpf/xoffload/<session>/{prog,stats,map_<name>,chain_<tap>}
//                (<name> through names.hpp pin_leaf: ".rodata" pins as map__rodata)
//   LoadedBtf    the guest's BTF (kernel-validated)
//   HostMaps     the guest's maps, by handle; fds never leave the host
//   stats map    per-CPU rows of per-action counters (stats_map.hpp, translator/passes.hpp)
//   program      preverified, translated for the flavor, kernel-verified
//   attachment   tc: tcx link on the tap's egress, pinned as link_egress
//                (cls_bpf filter only on kernels without tcx) | chain: prog array slot 0
//
// Destruction tears down in reverse: detach, close program and maps, remove
// pins. A failed load leaves nothing behind. persist() is the deliberate
// exception: it hands everything over to the pins and the attachment. The daemon and the CLI call
// this; lower-level pieces (host_maps.hpp, attach_*.hpp) stay public for
// front ends that manage maps separately.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/core/attach_chain.hpp"
#include "host/core/attach_tun.hpp"
#include "host/core/attach_egress.hpp"
#include "host/core/btf_loader.hpp"
#include "host/core/host_maps.hpp"
#include "host/core/kernel_census.hpp"
#include "host/core/pins.hpp"
#include "translator/passes/passes.hpp"
#include "translator/passes/tier.hpp"
#include "core/unique_fd.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "core/policy.hpp"

namespace xo::host {

struct OffloadOptions {
  std::string session;  // safe path component (names.hpp); one per VM NIC
  std::string tap;      // host tap ifname the VM NIC is fed by
  Flavor flavor = Flavor::Tc;
  bool stats = true;  // per-action counters (costs one percpu increment per packet)
  bool attach = true;  // false: load and pin only (xoffload run / tests)
  std::string pin_root = std::string(kDefaultPinRoot);
  BtfQuota btf_quota{};
  MapQuota map_quota{};
  std::size_t max_insns = 1'000'000;  // guest slots, checked before parsing
  translator::ChainTx chain_tx = translator::ChainTx::Any;  // chain: XDP_TX source policy
  std::array<std::uint8_t, 6> guest_mac{};
  // Translator tier (pipeline.hpp); the IR tier comes from the door.
  translator::Tier tier = translator::Tier::Direct;
  translator::Reemit reemit;
  // A program that defers to the guest's trampoline (protocol version 2,
  // transport/PROTOCOL.md 8) writes this cookie in its descriptors; 0: load()
  // draws a random one when the program may defer (status().cookie says it).
  std::uint64_t cookie = 0;
};

// What a load says besides yes/no: warnings from every stage and, when the
// kernel verifier refused, its log mapped to guest instructions.
struct LoadReport {
  std::vector<std::string> notes;
  std::string verifier_log;
  // The loaded program: whose tier, how long (slots), and the pipeline's
  // time (PipelineReport).
  translator::Tier tier = translator::Tier::Direct;
  std::size_t host_slots = 0;
  std::uint64_t prepare_ns = 0, kernel_ns = 0;
};

// XDP actions as counted by the stats map; index = action value, 5 = other.
inline constexpr std::array<std::string_view, 6> kActionNames = {
    "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT", "UNKNOWN"};

struct ActionStats {
  std::array<std::uint64_t, 6> count{};  // summed over CPUs
};

struct TestRunResult {
  std::string guest_action;   // "XDP_DROP", ...; from the stats delta, else from the verdict
  std::uint32_t host_retval = 0;
  std::string host_verdict;   // "TC_ACT_SHOT" (tc) or "XDP_TX" (chain)
  std::vector<std::uint8_t> packet;  // packet after the run
  std::uint32_t ns_per_run = 0;
};

struct MapStatus {
  std::uint32_t handle;
  std::string name, kernel_name, type, pin;
  std::uint32_t key_size, value_size, max_entries, id;
  bool btf_typed;
};

// Where Offload pins a guest map in its session directory: "map_<name>",
// the name made bpffs-safe by names.hpp pin_leaf (".rodata" -> map__rodata).
std::string map_pin_leaf(const MapDef& d);

struct OffloadStatus {
  std::string session, tap, flavor, prog_name, prog_kernel_name, pin_dir, attach;
  int tap_ifindex = 0;
  std::uint32_t prog_id = 0, btf_id = 0, stats_map_id = 0, chain_map_id = 0, tcx_link_id = 0;
  std::uint64_t cookie = 0;  // the trampoline's cookie, 0 when the program defers nothing
  std::vector<MapStatus> maps;
  std::optional<ActionStats> stats;
  std::vector<std::string> pins;
  std::string to_json() const;
};

class Offload {
 public:
  static Result<Offload> load(const OffloadOptions& options, const Submission& submission,
                              const Policy& policy, LoadReport* report = nullptr);

  // What load() and reload() check before any kernel object exists, and
  // needs no kernel: the session name, the flavor against the policy, the
  // BTF and map quotas and map definitions (host_maps.hpp), and every map's
  // pin name (valid for bpffs, unique). `xoffload verify` runs the same
  // function, so it never says OK to what load refuses here.
  static Status check(const OffloadOptions& options, const Submission& submission, const Policy& policy);

  Offload(Offload&&) noexcept = default;
  Offload& operator=(Offload&&) = delete;  // teardown order matters: destroy, then emplace
  Offload(const Offload&) = delete;
  Offload& operator=(const Offload&) = delete;
  ~Offload() = default;  // members are declared in creation order

  // Loads `submission` completely (BTF, fresh maps, program) beside the
  // running one, then swaps the attachment atomically (tc replace / slot
  // update). On error the running program is untouched.
  Status reload(const Submission& submission, const Policy& policy, LoadReport* report = nullptr);

  // Hands the offload over to the kernel on purpose, for a front end that
  // exits and leaves the program running (`xoffload load`): the pins, the
  // tc filter or chain slot stay, this object forgets them and closes its
  // fds, and its destruction then tears nothing down. The pins alone find
  // the session again (`xoffload status/unload`, remove_stale_session).
  // Refused, with nothing released, when a pin is missing (pinning only
  // warns during load): what nothing pins could never be unloaded.
  // Afterwards the object owns nothing; only destruction is meaningful.
  Status persist();

  const HostMaps& maps() const { return maps_; }
  Result<ActionStats> stats() const;
  Result<TestRunResult> test_run(std::span<const std::uint8_t> packet, std::uint32_t repeat = 1) const;
  OffloadStatus status() const;
  // Every kernel object this offload owns: for leak checks after unload.
  std::vector<KernelObjectRef> kernel_objects() const;

  const OffloadOptions& options() const { return options_; }
  int prog_fd() const { return prog_.get(); }
  std::uint32_t prog_id() const { return prog_id_; }
  int tap_ifindex() const { return tap_ifindex_; }
  const std::string& pin_dir() const { return pins_.dir(); }

 private:
  Offload(OffloadOptions o, SessionPins pins) : options_(std::move(o)), pins_(std::move(pins)) {}

  // Everything that depends on the submission, built before it replaces
  // anything.
  struct Loaded;
  static Result<Loaded> build(const OffloadOptions& o, int tap_ifindex, int stats_fd,
                              const Submission& s, const Policy& policy, LoadReport* report);
  void adopt(Loaded&& l);
  void pin_program_and_maps(LoadReport* report);

  OffloadOptions options_;
  int tap_ifindex_ = 0;
  SessionPins pins_;
  std::optional<LoadedBtf> btf_;
  HostMaps maps_;
  UniqueFd stats_map_;
  std::uint32_t stats_map_id_ = 0;
  UniqueFd prog_;
  std::uint32_t prog_id_ = 0;
  std::string prog_name_, prog_kernel_name_;
  bool defers_ = false;  // the program writes descriptors (status().cookie)
  std::optional<ChainSlot> chain_;
  std::optional<TapEgress> tc_;  // tcx link (pinned as link_egress) or cls_bpf fallback
  std::optional<TunTxXdp> tun_;  // the patched tun's Tx-path hook (tun flavor)
};

}  // namespace xo::host
