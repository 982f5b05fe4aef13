// xoffloadd for end-to-end runs: started inside a test network namespace,
// owned by pid, stopped by pid (TERM, then KILL) when the owner goes away.
//
// It joins only the namespace's *network* (nsenter --net), not the mount
// namespace `ip netns exec` would make: that one remounts /sys and hides
// the host's bpffs at /sys/fs/bpf, where the daemon pins what it loads.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace xo::e2e {

class DaemonProcess {
 public:
  // Runs `daemon args...` in netns (empty: here), output to `log_path`
  // (removed again when the owner goes away), and
  // waits up to `ready` for `socket_path` to appear.
  static Result<std::unique_ptr<DaemonProcess>> start(const std::string& daemon,
                                                      const std::string& netns,
                                                      const std::vector<std::string>& args,
                                                      const std::string& socket_path,
                                                      const std::string& log_path,
                                                      std::chrono::milliseconds ready = std::chrono::seconds(20));
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  std::string log() const;
  // TERM, wait up to `grace`, then KILL; returns the exit status (-1: killed).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  DaemonProcess(pid_t pid, std::string log) : pid_(pid), log_path_(std::move(log)) {}
  pid_t pid_ = -1;
  std::string log_path_;
  int status_ = -1;
};

}  // namespace xo::e2e
