// The kernel side of a session, behind an interface: the dispatch layer
// (session.cpp) decides *whether* a guest request may happen (handles,
// quotas, policy, rate) and the backend makes it happen. xoffloadd uses the
// kernel backend (kernel_backend.hpp, xo_host + libbpf); the dispatch fuzzer
// uses a fake one, so guest bytes can be fuzzed without touching the kernel.
//
// Every object is owned by exactly one unique_ptr in the session's handle
// tables; destroying it frees the kernel object (and its pin).
#pragma once

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "core/submission.hpp"
#include "transport/messages.hpp"
#include "core/policy.hpp"

namespace xo::session {

// A refusal as the guest will see it: status (negative errno), one-line
// message and, for loads, the (mapped) kernel log.
struct Failure {
  std::int32_t status = transport::status::kEINVAL;
  std::string message;
  std::string log;
};
// The one place an Error becomes a protocol status: its errno, never its text.
inline Failure failure_of(const Error& e, std::string log = {}) {
  return Failure{e.code > 0 ? -e.code : transport::status::kEINVAL, e.message, std::move(log)};
}
template <typename T>
using Outcome = std::variant<T, Failure>;
using Done = std::optional<Failure>;  // nullopt = success

// Every object says what it costs in kernel memory, as the kernel counts
// it (host/core/kernel_memory.hpp); the session charges that figure against
// its memory quota (max_map_bytes).
class BackendBtf {
 public:
  virtual ~BackendBtf() = default;
  virtual std::uint32_t kernel_id() const = 0;
  virtual std::uint64_t kernel_bytes() const = 0;
};

class BackendProg;

class BackendMap {
 public:
  virtual ~BackendMap() = default;
  virtual std::uint32_t kernel_id() const = 0;
  // Everything the map can ever cost: maps are created preallocated.
  virtual std::uint64_t kernel_bytes() const = 0;
  // Element ops return 0 or a negative errno (ENOENT: no such key).
  // Sizes were checked by the caller against the map's definition.
  virtual std::int32_t lookup(std::span<const std::uint8_t> key, std::vector<std::uint8_t>& value) = 0;
  virtual std::int32_t update(std::span<const std::uint8_t> key, std::span<const std::uint8_t> value,
                              std::uint64_t flags) = 0;
  virtual std::int32_t remove(std::span<const std::uint8_t> key) = 0;
  // Empty key: the first key. ENOENT at the end.
  virtual std::int32_t next_key(std::span<const std::uint8_t> key, std::vector<std::uint8_t>& next) = 0;
  // Keyless maps (map_type_is_keyless): lookup peeks (a bloom filter tests
  // the value the caller puts in `value`), update pushes, remove pops.
  // Maps holding objects (map_type_holds_objects): stores the host object
  // behind one of the session's own maps or programs (exactly one given).
  virtual std::int32_t update_object(std::span<const std::uint8_t> key, const BackendMap* map,
                                     const BackendProg* prog, std::uint64_t flags) {
    (void)key, (void)map, (void)prog, (void)flags;
    return transport::status::kEINVAL;
  }
};

// The kernel's own per-program run statistics (bpf_prog_info), cumulative.
struct RunStats {
  std::uint64_t run_time_ns = 0;
  std::uint64_t run_cnt = 0;
};

class BackendProg {
 public:
  virtual ~BackendProg() = default;
  // The session's map handles the program references (MAP_FREE: EBUSY).
  std::set<std::uint32_t> map_handles;
  virtual std::uint32_t kernel_id() const = 0;
  // The program, its JIT image and its action counters.
  virtual std::uint64_t kernel_bytes() const = 0;
  virtual Outcome<std::vector<transport::ActionCounter>> stats() = 0;
  // nullopt when the kernel cannot say (statistics off or info refused).
  virtual std::optional<RunStats> run_stats() const = 0;
};

// What PROG_LOAD hands the backend: the submission assembled from the
// request and the session's tables (maps = every map of the session, by
// handle; btf = the blob of the BTF handle, if any). map_of and btf are
// valid only during begin_load().
struct ProgLoadInput {
  std::uint32_t handle = 0;  // the program's handle (pins, names)
  Submission submission;
  const BackendBtf* btf = nullptr;
  std::function<BackendMap*(std::uint32_t map_handle)> map_of;
  std::vector<std::uint32_t> map_handles;  // every map of the session
  Flavor flavor = Flavor::Tc;
  std::shared_ptr<const Policy> policy;
  std::size_t max_insns = 1'000'000;  // the session's quota
  // Protocol version 2 (PROTOCOL.md 8): deferred helpers allowed, and the
  // PROG_LOAD's cookie for the descriptors.
  bool defer = false;
  std::uint64_t cookie = 0;
};

// PROG_LOAD in three steps, so that the costly one (pre-verify, translate,
// the kernel verifier: seconds for a hostile program) runs on a load worker
// (load_pool.hpp) while the thread that serves sessions goes on:
//   begin_load()   serving thread: gathers everything into a self-contained
//                  BackendLoad (its own copies and fds: the session may be
//                  freed while it runs)
//   run()          a worker thread: touches nothing of the session or backend
//   finish_load()  serving thread: the program as the session keeps it
class BackendLoad {
 public:
  virtual ~BackendLoad() = default;
  virtual void run() = 0;
  // bpf(BPF_PROG_LOAD) calls run() made (for the log and tests).
  virtual unsigned kernel_verifications() const { return 0; }
};

// One per connected session.
class SessionBackend {
 public:
  virtual ~SessionBackend() = default;
  virtual unsigned possible_cpus() const = 0;
  virtual Outcome<std::unique_ptr<BackendBtf>> load_btf(std::span<const std::uint8_t> blob) = 0;
  // def.handle is the session handle the map gets; `inner` is the session
  // map def.inner_map names (maps of maps), else null.
  virtual Outcome<std::unique_ptr<BackendMap>> create_map(const MapDef& def, const BackendBtf* btf,
                                                          const BackendMap* inner) = 0;
  virtual Outcome<std::unique_ptr<BackendLoad>> begin_load(ProgLoadInput input) = 0;
  // `load` has run.
  virtual Outcome<std::unique_ptr<BackendProg>> finish_load(BackendLoad& load) = 0;
  // Attaches `prog` (loaded for `flavor`) to the session's tap, atomically
  // replacing whatever program is attached there.
  virtual Done attach(BackendProg& prog, Flavor flavor) = 0;
  // Detaches whatever is attached; idempotent.
  virtual void detach() = 0;
  // False once the tap is gone (or replaced by another device of that name).
  virtual bool tap_alive() = 0;
  // "tc filter on tap0 egress" / "chain slot /sys/fs/bpf/..." for logs.
  virtual std::string attach_point(Flavor flavor) const = 0;
  // Host paths this backend works under (its pin root): scrubbed from every
  // text the guest receives (scrub.hpp).
  virtual std::vector<std::string> host_paths() const = 0;

  // Adoption (a daemon restarted after a crash, reconcile.hpp): each call
  // takes over one object the previous daemon left pinned, as the session
  // snapshot (snapshot.hpp) describes it. A backend that cannot adopt says
  // ENOSYS, and the session starts empty. After the last call,
  // finish_adoption() removes every pin nothing claimed (links first).
  virtual Outcome<std::unique_ptr<BackendBtf>> adopt_btf(std::uint32_t kernel_id, std::span<const std::uint8_t> blob) {
    (void)kernel_id, (void)blob;
    return Failure{-ENOSYS, "this backend cannot adopt objects"};
  }
  virtual Outcome<std::unique_ptr<BackendMap>> adopt_map(const MapDef& def) {
    (void)def;
    return Failure{-ENOSYS, "this backend cannot adopt objects"};
  }
  virtual Outcome<std::unique_ptr<BackendProg>> adopt_prog(std::uint32_t handle, const std::string& name,
                                                           std::uint32_t kernel_id) {
    (void)handle, (void)name, (void)kernel_id;
    return Failure{-ENOSYS, "this backend cannot adopt objects"};
  }
  // Takes over the attachment that runs `prog` (the pinned tcx link, the
  // chain slot): the program keeps filtering, with no gap.
  virtual Done adopt_attachment(BackendProg& prog, Flavor flavor) {
    (void)prog, (void)flavor;
    return Failure{-ENOSYS, "this backend cannot adopt objects"};
  }
  virtual void finish_adoption() {}
};

// Builds the backend for a session when a guest connects.
struct SessionConfig;
using BackendFactory = std::function<std::unique_ptr<SessionBackend>(const SessionConfig&)>;

}  // namespace xo::session
