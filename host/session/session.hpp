// Session: one VM NIC's view of the host (a guest connection <-> a tap).
//
// It owns everything the guest created, in handle tables: handles are
// small per-session numbers (one counter for BTF, maps and programs, never
// reused within a session), never host fds; a handle another session
// created means nothing here and gets EBADF (ENOENT is kept for "no such
// key", so a guest can tell the two apart).
//
// handle_frame() is the whole request path for one frame:
//   rate limit (EAGAIN) -> decode (EPROTO/ENOSYS/E2BIG/EINVAL) -> one
//   handler per request type (dispatch.cpp) -> encoded reply
// and never fails: every frame gets exactly one reply, whatever its bytes.
//
// PROG_LOAD is the exception to "now": with a LoadPool, its verification
// runs on a load worker (load_pool.hpp) and handle_frame() returns no reply;
// the session is then busy() and the caller hands it no further frame until
// poll_load() (or wait_load()) has produced that reply, so replies leave in
// request order. Without a pool, loads run on the calling thread. The
// verifier's thread CPU time is charged to the session: a token bucket of
// CPU milliseconds (verify_cpu_*); a PROG_LOAD that finds it empty is
// refused with EBUSY before anything runs.
//
// Teardown (RESET, disconnect, tap gone, destruction) detaches first, then
// frees programs, maps, BTF, in that order.
//
// The guest is hostile (docs/SECURITY.md): every text it receives is
// scrubbed of host identifiers (scrub.hpp); memory is charged as the kernel
// counts it (max_map_bytes covers maps, programs and BTF); the attached
// program's run time per packet is watched (check_runtime()).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "host/session/backend.hpp"
#include "host/session/config.hpp"
#include "host/session/load_pool.hpp"
#include "host/session/scrub.hpp"
#include "host/session/session_policy.hpp"
#include "host/session/snapshot.hpp"
#include "host/session/token_bucket.hpp"
#include "transport/codec.hpp"
#include "transport/messages.hpp"

namespace xo::session {

class Session {
 public:
  // `pool` null: PROG_LOAD verifies on the calling thread.
  Session(SessionConfig config, std::unique_ptr<SessionBackend> backend, Clock::time_point now,
          std::shared_ptr<LoadPool> pool = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // A session rebuilt after a daemon crash (session_state.cpp): every object
  // of `snap` the backend can adopt keeps its handle, the attached program
  // stays attached (no gap), and whatever cannot be adopted is dropped (its
  // handle then answers EBADF) and its pins removed. `summary` gets one line.
  static std::unique_ptr<Session> restore(SessionConfig config, std::unique_ptr<SessionBackend> backend,
                                          const SessionSnapshot& snap, Clock::time_point now,
                                          std::string* summary = nullptr);
  // The handle tables as a snapshot (snapshot.hpp).
  SessionSnapshot snapshot() const;
  // Keeps `path` up to date with snapshot() after every change of the
  // tables, and removes it when the session is emptied or destroyed: only a
  // crash leaves it behind. Empty: no snapshot (embedders, tests).
  void set_state_file(std::string path);

  // The encoded reply frame for one received frame, or nullopt when the
  // frame started a load on the pool (its reply: poll_load()). Must not be
  // called while busy(). Reads the clock itself, for every frame.
  std::optional<std::vector<std::uint8_t>> handle_frame(const transport::Frame& frame);
  // Loads from now on verify on `pool` (not while busy()).
  void set_pool(std::shared_ptr<LoadPool> pool) { pool_ = std::move(pool); }
  // A PROG_LOAD's verification is in flight: hand in no further frame.
  bool busy() const { return inflight_ != nullptr; }
  // The in-flight load's reply once it has ended (or the session was reset
  // under it: ECANCELED); nullopt while it runs. Never blocks.
  std::optional<std::vector<std::uint8_t>> poll_load();
  // Blocks until the in-flight load has ended; its reply (busy() only).
  std::vector<std::uint8_t> wait_load();
  // Verifier CPU charged to this session so far, and PROG_LOADs that
  // reached the kernel verifier (BPF_PROG_LOAD calls).
  std::uint64_t verifier_cpu_ns() const { return verifier_cpu_ns_; }
  std::uint64_t kernel_verifications() const { return kernel_verifications_; }

  // Frees every object (RESET, disconnect). `why` goes to the log.
  void reset(const std::string& why);
  // The tap went away: everything is freed; returns the EVENTs to send
  // (one "offload lost" per program that was loaded).
  std::vector<transport::Event> tap_lost();
  bool tap_alive() { return backend_->tap_alive(); }
  // The runtime watchdog, called periodically: when the attached program's
  // average run time per packet since the last verdict (or its attach)
  // exceeds max_ns_per_packet, it is detached and the guest gets an EVENT.
  // A verdict needs kWatchdogMinRuns runs, or that many packets' worth of
  // budget spent by fewer (one very slow packet is enough then).
  std::vector<transport::Event> check_runtime();
  static constexpr std::uint64_t kWatchdogMinRuns = 16;
  // Kernel memory charged against max_map_bytes (maps, programs, BTF).
  std::uint64_t charged_bytes() const { return kernel_bytes_; }

  const SessionConfig& config() const { return config_; }
  const std::string& label() const { return label_; }  // "vm1/tap0"
  std::size_t object_count() const { return btfs_.size() + maps_.size() + progs_.size(); }
  std::size_t program_count() const { return progs_.size(); }
  std::size_t map_count() const { return maps_.size(); }
  std::size_t btf_count() const { return btfs_.size(); }
  // Host kernel id of the program attached to the tap; 0 = none.
  std::uint32_t attached_kernel_id() const;
  const Policy& policy() const { return *policy_; }

  // One handler per request (dispatch.cpp).
  transport::Message on(const transport::CapsRequest& r);
  transport::Message on(const transport::BtfLoadRequest& r);
  transport::Message on(const transport::MapCreateRequest& r);
  transport::Message on(const transport::MapLookupRequest& r);
  transport::Message on(const transport::MapUpdateRequest& r);
  transport::Message on(const transport::MapDeleteRequest& r);
  transport::Message on(const transport::MapGetNextKeyRequest& r);
  transport::Message on(const transport::MapFreeRequest& r);
  transport::Message on(const transport::ProgLoadRequest& r);
  transport::Message on(const transport::ProgAttachRequest& r);
  transport::Message on(const transport::ProgDetachRequest& r);
  transport::Message on(const transport::ProgUnloadRequest& r);
  transport::Message on(const transport::StatsRequest& r);
  transport::Message on(const transport::ResetRequest& r);
  transport::Message on(const transport::BtfFreeRequest& r);

 private:
  struct BtfEntry {
    std::unique_ptr<BackendBtf> object;
    std::vector<std::uint8_t> blob;  // kept for line info (source lines in logs)
    std::uint64_t bytes = 0;         // kernel bytes charged against max_map_bytes
  };
  // A guest-side map (DEVMAP, XSKMAP, ..., version 2) has no kernel object
  // (`object` null): its shape only, for the translator's checks.
  struct MapEntry {
    MapDef def;
    std::uint64_t bytes = 0;  // kernel bytes (memlock) charged against max_map_bytes
    std::uint32_t btf = 0;    // BTF handle it was created with (BTF_FREE: EBUSY)
    std::unique_ptr<BackendMap> object;
    // Maps holding objects: key -> the guest handle stored there. Exact,
    // because only MAP_UPDATE/MAP_DELETE change such maps (BPF programs
    // cannot write prog arrays or maps of maps); lookups answer from it.
    std::map<std::vector<std::uint8_t>, std::uint32_t> stored;
  };
  struct ProgEntry {
    std::string name;
    Flavor flavor = Flavor::Tc;
    std::size_t insns = 0;
    std::set<std::uint32_t> maps;  // map handles it references (MAP_FREE: EBUSY)
    std::uint32_t btf = 0;         // BTF handle it was loaded with (BTF_FREE: EBUSY)
    std::unique_ptr<BackendProg> object;
    std::uint64_t bytes = 0;          // kernel bytes charged against max_map_bytes
    std::optional<RunStats> watched;  // run statistics at attach / the last verdict
  };

  // A PROG_LOAD between begin_load and finish_load.
  struct InFlight {
    std::shared_ptr<LoadJob> job;
    transport::FrameHeader header;  // of the request: its reply's id and type
    std::string name;
    Flavor flavor = Flavor::Tc;
    std::size_t insns = 0;
    std::uint32_t handle = 0;
    std::uint32_t btf = 0;
    bool cancelled = false;  // reset under it
  };

  transport::Message dispatch(const transport::Message& m);
  std::vector<std::uint8_t> encode_reply(const transport::FrameHeader& h, transport::Message reply);
  // begin_load's other half (dispatch.cpp): the PROG_LOAD reply.
  transport::Message finish_prog_load(InFlight& f);
  void cancel_load();
  std::uint32_t new_handle();
  void log(int level, const std::string& line) const;
  MapEntry* find_map(std::uint32_t handle);
  ProgEntry* find_prog(std::uint32_t handle);
  // The map (prog array, map of maps) that holds object `handle`, if any.
  const MapEntry* holder_of(std::uint32_t handle, std::uint32_t* holder_handle) const;
  transport::Message update_object(MapEntry& m, const transport::MapUpdateRequest& r);
  transport::Message create_guest_side_map(const transport::MapCreateRequest& r);
  void detach_if_attached(std::uint32_t prog_handle);
  void free_everything();
  // Writes the snapshot when the tables changed since the last write.
  void save_state();
  // The quota check after an object exists: its kernel figure must fit.
  std::optional<std::string> over_memory_quota(std::uint64_t bytes) const;

  SessionConfig config_;
  std::string label_;
  std::shared_ptr<const SessionPolicy> policy_;  // shared with loads in flight
  std::unique_ptr<SessionBackend> backend_;
  std::shared_ptr<LoadPool> pool_;
  TokenBucket bucket_;
  TokenBucket cpu_bucket_;  // verifier CPU, in milliseconds
  std::unique_ptr<InFlight> inflight_;
  bool started_load_ = false;  // set by on(ProgLoadRequest) when it submitted a job
  std::uint64_t verifier_cpu_ns_ = 0;
  std::uint64_t kernel_verifications_ = 0;
  std::uint32_t next_handle_ = 1;
  HostIdentity identity_;
  std::uint64_t kernel_bytes_ = 0;  // maps + programs + BTF, as the kernel counts them
  std::uint64_t btf_bytes_ = 0;     // raw BTF blob bytes (max_btf_bytes)
  std::uint32_t attached_ = 0;  // program handle on the tap, 0 = none
  // The version CAPS chose (1 until then): version 2 adds guest-side maps
  // and deferred helpers (PROTOCOL.md 8).
  std::uint16_t version_ = transport::kMinProtocolVersion;
  bool defers_allowed() const { return version_ >= transport::kDeferVersion; }
  std::string state_file_;
  // (next handle, attached, objects) at the last snapshot: every change of
  // the tables changes one of them.
  std::tuple<std::uint32_t, std::uint32_t, std::size_t> saved_{0, 0, 0};
  // Declaration order = reverse teardown order (free_everything() is explicit).
  std::map<std::uint32_t, BtfEntry> btfs_;
  std::map<std::uint32_t, MapEntry> maps_;
  std::map<std::uint32_t, ProgEntry> progs_;
};

// A lower bound of the kernel's memlock figure for a map of this shape,
// for refusing before anything is allocated (MAP_CREATE then charges the
// kernel's own figure). Per element: values rounded up to 8 bytes (per-CPU:
// times the possible CPUs, plus a pointer), hash elements their key rounded
// up, a 16-byte list node and an 8-byte bucket. Saturates instead of
// overflowing.
//
// LPM tries are the exception: their nodes are allocated on insert and the
// kernel's figure follows the element count, so this is an upper bound of
// everything the trie can hold, and what MAP_CREATE charges for it.
std::uint64_t charged_map_bytes(const MapDef& def, unsigned possible_cpus);
// struct lpm_trie_node (two child pointers, prefixlen, flags, an rcu_head on
// older kernels) plus the allocator's per-object header, rounded up.
inline constexpr std::uint32_t kLpmNodeBytes = 48;

}  // namespace xo::session
