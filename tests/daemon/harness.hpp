// Test harness for xoffloadd: the real daemon as a child process (it shares
// the test's fresh netns, see main.cpp), guests played by transport::Client,
// and views of the kernel objects the daemon owns.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "host/core/kernel_census.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "guest/client/guest_client.hpp"
#include "transport/client.hpp"

namespace xo::dtest {

// "<prefix><pid % 100000>x<n>": unique per process and call, safe as a
// session name, a pin directory and part of a socket path.
std::string unique_name(const char* prefix);

struct SessionSpec {
  std::string name;
  std::string tap;
  std::string socket;       // filled from the name when empty
  std::string extra_lines;  // more `key = value` lines for the session section
};

// xoffloadd --config <generated file> (the build's, or $XO_TEST_XOFFLOADD),
// started in the constructor (which
// waits until every session socket accepts) and stopped with SIGTERM in the
// destructor. Its stderr (the admin log) is kept in a file.
class Daemon {
 public:
  // `daemon_extra`: more `key = value` lines for the [daemon] section.
  explicit Daemon(std::vector<SessionSpec> sessions, const std::string& log_level = "info",
                  const std::string& daemon_extra = "");
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const;
  const SessionSpec& session(std::size_t i) const { return sessions_.at(i); }
  std::string log() const;
  // SIGTERM and wait; the exit status (or -1 when killed by a signal).
  int stop();
  // A crash: SIGKILL and reap. Nothing of the daemon's runs any more.
  void kill9();
  // Starts the daemon again with the same configuration and state dir (after
  // kill9() or stop()), its log appended; waits for its sockets.
  void restart();
  // Rewrites the configuration with `sessions` and sends SIGHUP.
  void reconfigure(std::vector<SessionSpec> sessions);
  const std::string& state_dir() const { return state_dir_; }
  const std::string& config_path() const { return config_path_; }
  // Waits until every configured session's socket exists.
  void wait_for_sockets();

 private:
  void write_config();
  void spawn(bool truncate_log);
  std::vector<SessionSpec> sessions_;
  std::string log_level_;
  std::string daemon_extra_;
  std::string config_path_, log_path_, state_dir_;
  pid_t pid_ = -1;
};

// A guest connected to a session's socket (retries while it starts).
Result<transport::Client> connect_guest(const std::string& socket, int timeout_ms = 5000);

// What a Submission became on the host: handles the daemon assigned.
struct Offloaded {
  std::uint32_t btf = 0;
  std::map<std::string, std::uint32_t> maps;  // by map name
  std::uint32_t prog = 0;
  std::uint8_t flavor = 0;
  guest::OffloadedProgram program;  // as the guest client keeps it
};

// GuestClient::offload over `c`: BTF_LOAD, MAP_CREATE per map, PROG_LOAD
// (map references rewritten from the builder's handles to the daemon's),
// PROG_ATTACH when `attach`.
Result<Offloaded> offload(transport::Client& c, const Submission& s, std::uint8_t flavor, bool attach = true);
// The same steps up to PROG_LOAD, whose whole reply comes back (a refusal
// too, with its status and log); `out` gets the handles. An Error only when
// a step before PROG_LOAD fails or the connection does.
Result<transport::ProgLoadReply> prog_load_reply(transport::Client& c, const Submission& s, std::uint8_t flavor,
                                                 Offloaded& out);
// GuestClient::unload over `c`: detach, PROG_UNLOAD, MAP_FREE, BTF_FREE.
Status unload(transport::Client& c, const Offloaded& o);

// xdp1 from the examples, built by clang (XO_EXAMPLES_BIN).
Result<Submission> xdp1_submission();

// Kernel objects whose fds process `pid` holds (/proc/<pid>/fdinfo).
std::set<std::pair<int, std::uint32_t>> bpf_objects_held_by(pid_t pid);
std::vector<host::KernelObjectRef> as_refs(const std::set<std::pair<int, std::uint32_t>>& held);
// BPF filters on the clsact egress hook of `dev` (tc filter show): the
// cls_bpf fallback, which this kernel (tcx) must never need.
int tc_egress_filters(const std::string& dev);
// tcx links on the egress hook of `dev` (BPF_PROG_QUERY link ids), -1 when
// the device is gone: how the tc flavor attaches now.
int egress_links(const std::string& dev);
// Every program on `dev`'s egress, by tcx (link or not) and by cls_bpf.
int egress_programs(const std::string& dev);
bool path_exists(const std::string& path);

// Frames below the Client: arbitrary bytes out, raw frames in.
std::vector<std::uint8_t> frame_bytes(std::uint16_t type, std::uint32_t request_id,
                                      const std::vector<std::uint8_t>& payload,
                                      std::uint16_t version = 1, std::uint32_t payload_len_override = 0xffffffff);

// A guest that ends in a single instruction sequence: r0 = 0 (n-1 times), exit.
std::vector<isa::RawInsn> trivial_program(std::size_t n);

// Issue 10 break 3's attack: ~125 instructions that keep the kernel
// verifier busy until its 1M-insn limit, with or without pointer-leak
// rights. 24 branches on a random number each set one bit of r6, and r6 is
// compared with a constant at the end, which makes it precise: the 2^24
// paths never share a state, so nothing is pruned. Refused E2BIG, after
// seconds of CPU. (A counted loop is not enough: without the rights the
// kernel's Spectre sanitation gives up after 8193 jumps.)
std::vector<isa::RawInsn> heavy_program();
// PROG_LOAD of raw instructions (license GPL, no BTF, any flavor).
transport::ProgLoadRequest prog_load_request(std::vector<isa::RawInsn> insns, const std::string& name);

}  // namespace xo::dtest
