// Keeps a guest's XDP program running on its NIC: offloaded while the host
// runs it, natively in this kernel while the host does not, and offloaded
// again when the host comes back. Guest tools never exit on "offload lost".
//
//   auto kept = KeptOffload::start({.object = "xdp1_kern.o", .offload = {.ifname = "eth0"}});
//   for (;;) {
//     for (auto& line : (*kept)->poll()) puts(line.c_str());   // transitions, said once each
//     if ((*kept)->runs_on() == RunsOn::Host) ... (*kept)->client() / offloaded() ...
//     else ... (*kept)->native()->map_fd("rxcnt") ...
//   }
//
// The host is lost when
//  - it sends an EVENT naming our program: OFFLOAD_LOST (its tap went away)
//    or DETACHED (the watchdog found it over its CPU budget), or
//  - the channel fails, or the caller reports a failed host call
//    (host_failed): the daemon or QEMU's chardev went away.
// Either way the program is attached natively at once. After a channel
// failure the host may in fact still run it (a restarted daemon adopts its
// sessions, docs/SECURITY.md): XDP verdicts depend only on the frame and the
// maps, so a frame passed on the host and checked again in the guest gets the
// same verdict; only counters can count such a frame twice during the gap.
// Leaving the NIC unfiltered until the host returns would be worse.
//
// While native, the host is tried again every `retry`: reconnect if needed;
// if the host still runs our old handle (adopted), resume it; else offload
// the object again. Then the native program is detached. After DETACHED the
// host has judged the program too costly, so it is not offloaded again.
// Transitions happen only in poll(), so a caller sees one source at a time.
//
// A program that defers to the guest (redirects, AF_XDP, perf samples;
// PROTOCOL.md 8) runs as a trampoline on the NIC while offloaded. Its
// guest-side maps are pinned (guest_maps.hpp) and outlive both ways of
// running it: the native program is loaded bound to the same maps
// (NativeOptions::reuse_map_fds), so an AF_XDP socket or a perf reader of
// guest user space never notices the switch. After a channel failure the
// native program replaces the trampoline in one netlink call (the host may
// still be sending descriptors); after OFFLOAD_LOST/DETACHED the host sends
// none, and the trampoline goes before the native program comes. A new
// offload's trampoline replaces the native program in one call; the
// replaced program's owner then finds it gone and leaves the NIC alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "guest/client/guest_client.hpp"
#include "guest/client/native_xdp.hpp"

namespace xo::guest {

struct KeepOptions {
  std::string object;      // BPF ELF object
  std::string port;        // GuestClient::connect(port)
  OffloadOptions offload;  // offload.ifname is the NIC for both ways of running it
  std::uint32_t xdp_flags = 0;  // native attach flags (XDP_FLAGS_*) for the fallback
  std::chrono::milliseconds retry{5000};
};

// Nowhere: the host is lost and this kernel refused the program too (a NIC
// without XDP, say); the host is still retried.
enum class RunsOn { Host, Guest, Nowhere };

class KeptOffload {
 public:
  // Connects and offloads. A failure here is returned, not fallen back
  // from: the caller asked for an offload and gets the host's reason.
  static Result<std::unique_ptr<KeptOffload>> start(KeepOptions options);
  ~KeptOffload();
  KeptOffload(const KeptOffload&) = delete;
  KeptOffload& operator=(const KeptOffload&) = delete;

  RunsOn runs_on() const { return runs_on_; }
  // Valid while runs_on() == Host.
  GuestClient& client() { return *client_; }
  const OffloadedProgram& offloaded() const { return *offloaded_; }
  // Valid while runs_on() == Guest.
  const NativeXdp& native() const { return *native_; }
  // How many times the program moved between host and guest (for callers
  // that must restart their counters on a switch).
  std::uint64_t switches() const { return switches_; }

  // Handles events, failures and retries. Returns what happened, one line
  // per transition or new reason (empty when nothing changed).
  std::vector<std::string> poll();
  // A host call of the caller's failed (reading a map, ...): the host is
  // treated as lost at the next poll().
  void host_failed(const Error& error);
  // Unloads from the host or detaches natively; the destructor calls it.
  Status stop();

 private:
  explicit KeptOffload(KeepOptions options) : options_(std::move(options)) {}
  std::vector<std::string> fall_back(const std::string& why, bool retry_host);
  // Remembers where the offload's guest-side maps are pinned.
  void note_guest_maps();
  std::vector<std::string> try_host();
  KeepOptions options_;
  std::optional<GuestClient> client_;
  std::optional<OffloadedProgram> offloaded_;  // the host's handles (kept while native, to resume)
  std::unique_ptr<NativeXdp> native_;
  RunsOn runs_on_ = RunsOn::Host;
  std::optional<Error> failed_;  // reported by host_failed
  bool retry_host_ = true;
  std::string last_retry_error_;
  std::chrono::steady_clock::time_point next_retry_{};
  std::uint64_t switches_ = 0;
  std::string pin_dir_;                  // guest-side maps ("" none)
  std::vector<std::string> guest_maps_;  // their names
};

}  // namespace xo::guest
