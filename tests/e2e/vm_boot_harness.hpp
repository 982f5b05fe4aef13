// Harness for end-to-end tests that boot the TCG guest (examples/vm).
//
// Every kernel object and process a test makes has one RAII owner here:
//   TestNetns   a fresh network namespace, so the host side of the guest's
//               link never touches the machine's own routing;
//   TestTap     a tap inside that namespace, with the host address;
//   SerialPeer  a unix socket listener standing in for xoffloadd (QEMU
//               connects to it as the virtio-serial port's host side);
//   GuestVm     one run-vm process (and through it one QEMU).
// Names include getpid() and a counter so parallel tests never collide.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"

namespace xo::e2e {

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv (no shell) to completion and captures its output.
CommandResult run_command(const std::vector<std::string>& argv);

// A name unique to this process: "<prefix><pid>x<counter>", cut to max_len
// from the left of the prefix so the pid and counter always survive.
std::string unique_name(const std::string& prefix, std::size_t max_len = 15);

// run_command inside a network namespace (ip netns exec NETNS argv...).
CommandResult run_in_netns(const std::string& netns, const std::vector<std::string>& argv);

// Builds (or reuses the cache of) the guest image; returns the vm dir that
// holds vmlinuz and initrd.img.
xo::Result<std::string> ensure_vm_image();

class TestNetns {
 public:
  static xo::Result<TestNetns> create();
  TestNetns(TestNetns&& other) noexcept;
  TestNetns& operator=(TestNetns&&) = delete;
  TestNetns(const TestNetns&) = delete;
  ~TestNetns();
  const std::string& name() const { return name_; }

 private:
  explicit TestNetns(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

class TestTap {
 public:
  // Creates tap `name` inside `netns`, gives it `host_cidr` (e.g.
  // "10.200.0.1/24"; empty: no address) and sets it up. multi_queue is
  // needed for GuestVmOptions::queues > 1.
  static xo::Result<TestTap> create(const TestNetns& netns, std::string name,
                                    const std::string& host_cidr, bool multi_queue = false);
  TestTap(TestTap&& other) noexcept;
  TestTap& operator=(TestTap&&) = delete;
  TestTap(const TestTap&) = delete;
  ~TestTap();
  const std::string& name() const { return name_; }

 private:
  TestTap(std::string netns, std::string name) : netns_(std::move(netns)), name_(std::move(name)) {}
  std::string netns_;
  std::string name_;
};

// Accepts connections on a unix socket and records every byte received, on
// a background thread, until destroyed.
class SerialPeer {
 public:
  static xo::Result<std::unique_ptr<SerialPeer>> listen(std::string path);
  ~SerialPeer();
  SerialPeer(const SerialPeer&) = delete;
  SerialPeer& operator=(const SerialPeer&) = delete;
  const std::string& path() const { return path_; }
  std::string received() const;
  int connections() const { return connections_.load(); }

 private:
  SerialPeer(std::string path, int fd) : path_(std::move(path)), listen_fd_(fd) {}
  void serve();
  std::string path_;
  int listen_fd_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::string received_;
  std::thread thread_;
};

struct GuestVmOptions {
  std::string vm_dir;                // from ensure_vm_image()
  std::string netns;                 // run QEMU inside it (empty: current)
  std::string tap;                   // existing tap in netns (empty: no NIC)
  std::string guest_cidr;            // eth0 address, e.g. "10.200.0.2/24"
  std::string serial_socket;         // QEMU connects here (empty: no peer)
  std::string cmd;                   // guest shell command
  std::vector<std::string> adds;     // run-vm --add SRC[=DEST]
  int timeout_s = 120;               // run-vm kills its QEMU after this
  std::string mem = "512M";
  int smp = 1;
  int queues = 1;                    // virtio-net queue pairs (tap multi_queue)
  std::string mac;                   // empty: run-vm derives it from the tap name
  std::vector<std::string> extra_args;  // more run-vm arguments
};

class GuestVm {
 public:
  static xo::Result<std::unique_ptr<GuestVm>> start(GuestVmOptions options);
  ~GuestVm();
  GuestVm(const GuestVm&) = delete;
  GuestVm& operator=(const GuestVm&) = delete;

  // Waits up to `limit` for run-vm to end; its exit status (the guest
  // command's) or nullopt if it is still running.
  std::optional<int> wait(std::chrono::milliseconds limit);
  std::string console() const;   // guest console so far
  std::string runner_output() const;  // run-vm's own stderr
  std::optional<pid_t> qemu_pid() const;  // once QEMU wrote its pidfile

 private:
  explicit GuestVm(std::string dir) : dir_(std::move(dir)) {}
  void stop();
  std::string dir_;  // temp dir: console.log, runner.log, qemu.pid
  pid_t pid_ = -1;   // run-vm (ip netns exec execs into it)
  std::optional<int> exit_code_;
};

}  // namespace xo::e2e
