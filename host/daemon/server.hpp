// xoffloadd's event loop: one thread, poll(2) over every session's
// listening socket and its (at most one) guest connection.
//
// Fairness: each loop iteration gives every session a bounded turn — at
// most kFramesPerTurn requests handled and kReadBudget bytes read — and a
// session whose queue of unanswered frames (or of unsent replies) is full is
// not read from at all until it drains. A flooding guest therefore costs
// the others at most one bounded turn per iteration, and its own excess
// requests are answered EAGAIN by the token bucket without kernel work.
//
// Verification: a PROG_LOAD's pre-verify, translation and kernel verifier
// run on the load pool's workers (host/session/load_pool.hpp; [daemon]
// load_threads), never on this thread. The session that asked waits (its
// later frames stay queued, bounded by kMaxPendingFrames) while the others
// are served; the pool's eventfd wakes the loop when a load ends. A guest
// that hangs up has its unanswered frames dropped and its load cancelled.
//
// Crash safety (reconcile.hpp): the objects of every session that has any
// are pinned, the tc flavor's tcx link too, and a snapshot of its tables is
// kept in the state dir; a daemon restarted after a crash starts with the
// sessions it could adopt (create()'s `adopted`), which wait for their guest
// to reconnect while their programs keep filtering.
//
// SIGHUP (request_reload()) re-reads the configuration: sessions no longer
// in it are torn down and their sockets removed, new ones start listening,
// and changed quotas apply from a session's next connection.
//
// Lifetime: a session's objects live exactly as long as its connection.
// EOF, a framing error, RESET or the tap disappearing free them all (the
// last also sends EVENT "offload lost"). SIGTERM (stop()) frees everything
// and returns from run(). Every kWatchdogInterval each session's runtime
// watchdog runs (Session::check_runtime): a program over its session's
// per-packet budget is detached and the guest told with an EVENT.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/session/backend.hpp"
#include "host/session/config.hpp"
#include "host/session/connection.hpp"
#include "host/session/load_pool.hpp"
#include "host/session/session.hpp"
#include "transport/channel.hpp"

namespace xo::daemon {

// The session library's vocabulary (host/session), which the loop serves.
using session::BackendFactory;
using session::Connection;
using session::DaemonConfig;
using session::Session;
using session::SessionConfig;

inline constexpr std::size_t kFramesPerTurn = 16;
inline constexpr std::size_t kReadBudget = 256 * 1024;
inline constexpr std::size_t kMaxPendingFrames = 64;
inline constexpr std::size_t kMaxQueuedReplyBytes = 4u << 20;
inline constexpr std::chrono::milliseconds kTapCheckInterval{250};
// How often each session's runtime watchdog reads its program's statistics.
inline constexpr std::chrono::milliseconds kWatchdogInterval{250};

class Server {
 public:
  // Binds every session's socket (a stale socket file is replaced).
  // `adopted`: sessions reconcile() rebuilt, by name, served as they are
  // when their guest connects.
  static Result<std::unique_ptr<Server>> create(DaemonConfig config, BackendFactory factory,
                                                std::map<std::string, std::unique_ptr<Session>> adopted = {});
  ~Server();

  // Serves until stop(); then frees every session's objects.
  void run();
  // Async-signal-safe; callable from any thread or a signal handler.
  void stop();
  // SIGHUP: async-signal-safe; the loop then calls `reload` for the new
  // configuration and `adopt` builds backends for reconcile().
  void request_reload();
  using ConfigSource = std::function<Result<DaemonConfig>()>;
  void on_reload(ConfigSource reload, BackendFactory adopt) {
    reload_ = std::move(reload);
    adopt_ = std::move(adopt);
  }

 private:
  struct Slot {
    SessionConfig config;
    transport::UnixListener listener;
    std::unique_ptr<Connection> conn;
    std::unique_ptr<Session> session;
    std::string peer;
  };

  Server(DaemonConfig config, BackendFactory factory) : config_(std::move(config)), factory_(std::move(factory)) {}
  void accept(Slot& s);
  // Writes who connected to s (SO_PEERCRED) for `xoffload status`; returns
  // it as text for the log.
  std::string record_peer(const Slot& s);
  void drop(Slot& s, const std::string& why);
  // One bounded turn; true when it left work behind (frames still pending).
  bool serve(Slot& s, short revents);
  void check_tap(Slot& s);
  void check_runtime(Slot& s);
  void reload();
  Status add_slot(const SessionConfig& c, std::unique_ptr<Session> adopted);
  void queue_events(Slot& s, std::vector<transport::Event> events);

  DaemonConfig config_;
  BackendFactory factory_;
  // Before the slots: sessions (which cancel their loads) go first, then
  // the pool's destructor waits for a verification still running.
  std::shared_ptr<session::LoadPool> pool_;
  std::vector<std::unique_ptr<Slot>> slots_;
  xo::UniqueFd stop_fd_;    // eventfd
  xo::UniqueFd reload_fd_;  // eventfd
  ConfigSource reload_;
  BackendFactory adopt_;
};

}  // namespace xo::daemon
