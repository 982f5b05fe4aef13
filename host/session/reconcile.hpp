// What xoffloadd does at start (and on SIGHUP, for the sessions it gains)
// with what a previous daemon left under its pin root: after a clean stop
// nothing is left; after a crash (kill -9) every session that had objects
// left its pins, its pinned tcx link (the program still filtering the tap)
// and its state snapshot (snapshot.hpp).
//
// For each session directory under the pin root:
//   configured, snapshot readable, same tap, the tap still the same device
//   (ifindex)                     -> adopted: Session::restore; the program
//                                    keeps filtering with no gap and the
//                                    guest's handles keep their meaning
//   configured, anything else     -> removed (links first), snapshot too
//   not configured, our snapshot  -> removed (a session dropped from the
//                                    configuration while the daemon was down)
//   not configured, no snapshot   -> left alone and logged: not ours (an
//                                    `xoffload load` session, another daemon
//                                    sharing the root); `xoffload unload`
//                                    removes it
// Snapshots without a directory are deleted.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host/session/backend.hpp"
#include "host/session/config.hpp"
#include "host/session/session.hpp"

namespace xo::session {

struct Reconciled {
  std::map<std::string, std::unique_ptr<Session>> adopted;  // by session name
  std::vector<std::string> removed;                         // session names
  std::vector<std::string> foreign;                         // left alone
};

// `adopting_backend` builds the backend that adopts a session's pins
// (make_kernel_backend(c, root, true) in xoffloadd). Only the sessions named
// in `only` are looked at when it is non-empty (SIGHUP: the added ones).
Reconciled reconcile(const DaemonConfig& config, const BackendFactory& adopting_backend, Clock::time_point now,
                     const std::vector<std::string>& only = {});

}  // namespace xo::session
