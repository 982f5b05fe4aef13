#include "tests/e2e/vm_boot_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#ifndef XO_VM_RUN_VM
#error "XO_VM_RUN_VM (path of examples/vm/run-vm) must be defined"
#endif

namespace xo::e2e {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<char*> to_argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

std::string join(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

// Runs argv; fails with its output when it does not exit 0.
xo::Status must_run(const std::vector<std::string>& argv) {
  CommandResult r = run_command(argv);
  if (r.exit_code != 0)
    return xo::err("'" + join(argv) + "' exited " + std::to_string(r.exit_code) + ": " + r.output);
  return xo::Ok{};
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult result;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  std::vector<char*> cargv = to_argv(argv);
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  if (pid < 0) {
    close(pipe_fds[0]);
    result.output = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(pipe_fds[0], buf, sizeof buf);
    if (n > 0) {
      result.output.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

CommandResult run_in_netns(const std::string& netns, const std::vector<std::string>& argv) {
  std::vector<std::string> args{"ip", "netns", "exec", netns};
  args.insert(args.end(), argv.begin(), argv.end());
  return run_command(args);
}

std::string unique_name(const std::string& prefix, std::size_t max_len) {
  static std::atomic<unsigned> counter{0};
  std::string suffix = std::to_string(getpid()) + "x" + std::to_string(counter++);
  std::size_t room = max_len > suffix.size() ? max_len - suffix.size() : 0;
  return prefix.substr(0, room) + suffix;
}

xo::Result<std::string> ensure_vm_image() {
  // Once per process: build-image repacks the initramfs on every call.
  static std::mutex mu;
  static bool built = false;
  std::lock_guard lock(mu);
  if (built) return std::string(XO_VM_DIR);
  CommandResult r = run_command({XO_VM_BUILD_IMAGE, "--out-dir", XO_VM_DIR});
  built = r.exit_code == 0;
  if (r.exit_code != 0)
    return xo::err("build-image --out-dir " XO_VM_DIR " exited " + std::to_string(r.exit_code) +
                   ": " + r.output);
  return std::string(XO_VM_DIR);
}

// ---- TestNetns ---------------------------------------------------------------

xo::Result<TestNetns> TestNetns::create() {
  std::string name = unique_name("xo-vm-", 30);
  if (auto s = must_run({"ip", "netns", "add", name}); !s) return s.error();
  TestNetns netns(name);
  if (auto s = must_run({"ip", "-n", name, "link", "set", "lo", "up"}); !s) return s.error();
  return netns;
}

TestNetns::TestNetns(TestNetns&& other) noexcept : name_(std::move(other.name_)) {
  other.name_.clear();
}

TestNetns::~TestNetns() {
  if (!name_.empty()) run_command({"ip", "netns", "del", name_});
}

// ---- TestTap -----------------------------------------------------------------

xo::Result<TestTap> TestTap::create(const TestNetns& netns, std::string name,
                                    const std::string& host_cidr, bool multi_queue) {
  if (name.size() > 15) return xo::err("tap name '" + name + "' is longer than 15 characters");
  const std::string& ns = netns.name();
  std::vector<std::string> add{"ip", "-n", ns, "tuntap", "add", "dev", name, "mode", "tap"};
  if (multi_queue) add.push_back("multi_queue");
  if (auto s = must_run(add); !s) return s.error();
  TestTap tap(ns, name);  // owns it from here: removed on any later failure
  if (!host_cidr.empty()) {
    if (auto s = must_run({"ip", "-n", ns, "addr", "add", host_cidr, "dev", name}); !s)
      return s.error();
  }
  if (auto s = must_run({"ip", "-n", ns, "link", "set", name, "up"}); !s) return s.error();
  return tap;
}

TestTap::TestTap(TestTap&& other) noexcept
    : netns_(std::move(other.netns_)), name_(std::move(other.name_)) {
  other.name_.clear();
}

TestTap::~TestTap() {
  if (!name_.empty()) run_command({"ip", "-n", netns_, "link", "del", name_});
}

// ---- SerialPeer --------------------------------------------------------------

xo::Result<std::unique_ptr<SerialPeer>> SerialPeer::listen(std::string path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return xo::err("socket path '" + path + "' is too long for sockaddr_un");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return xo::err(std::string("socket(AF_UNIX): ") + std::strerror(errno));
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0) {
    std::string why = std::strerror(errno);
    close(fd);
    return xo::err("bind/listen on '" + path + "': " + why);
  }
  std::unique_ptr<SerialPeer> peer(new SerialPeer(std::move(path), fd));
  peer->thread_ = std::thread([p = peer.get()] { p->serve(); });
  return peer;
}

void SerialPeer::serve() {
  int conn = -1;
  char buf[4096];
  while (!stop_.load()) {
    pollfd pfd{conn >= 0 ? conn : listen_fd_, POLLIN, 0};
    int n = poll(&pfd, 1, 100);
    if (n <= 0) continue;
    if (conn < 0) {
      conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) connections_++;
      continue;
    }
    ssize_t got = read(conn, buf, sizeof buf);
    if (got > 0) {
      std::lock_guard lock(mu_);
      received_.append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      close(conn);  // QEMU reconnects (reconnect=1) if it is still running
      conn = -1;
    }
  }
  if (conn >= 0) close(conn);
}

std::string SerialPeer::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

SerialPeer::~SerialPeer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  unlink(path_.c_str());
}

// ---- GuestVm -----------------------------------------------------------------

xo::Result<std::unique_ptr<GuestVm>> GuestVm::start(GuestVmOptions o) {
  char dir_template[] = "/tmp/xo-guest-XXXXXX";
  if (mkdtemp(dir_template) == nullptr)
    return xo::err(std::string("mkdtemp: ") + std::strerror(errno));
  std::unique_ptr<GuestVm> vm(new GuestVm(dir_template));

  std::vector<std::string> args;
  if (!o.netns.empty()) args = {"ip", "netns", "exec", o.netns};
  args.insert(args.end(), {XO_VM_RUN_VM, "--kernel", o.vm_dir + "/vmlinuz", "--initrd",
                           o.vm_dir + "/initrd.img", "--mem", o.mem, "--smp",
                           std::to_string(o.smp), "--queues", std::to_string(o.queues), "--timeout",
                           std::to_string(o.timeout_s), "--log", vm->dir_ + "/console.log",
                           "--pidfile", vm->dir_ + "/qemu.pid", "--quiet", "--cmd", o.cmd});
  if (!o.tap.empty()) args.insert(args.end(), {"--tap", o.tap});
  if (!o.guest_cidr.empty()) args.insert(args.end(), {"--ip", o.guest_cidr});
  if (!o.serial_socket.empty()) args.insert(args.end(), {"--serial-socket", o.serial_socket});
  if (!o.mac.empty()) args.insert(args.end(), {"--mac", o.mac});
  for (const auto& add : o.adds) args.insert(args.end(), {"--add", add});
  args.insert(args.end(), o.extra_args.begin(), o.extra_args.end());

  std::string runner_log = vm->dir_ + "/runner.log";
  std::vector<char*> argv = to_argv(args);
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    int log_fd = open(runner_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  if (pid < 0) return xo::err(std::string("fork: ") + std::strerror(errno));
  vm->pid_ = pid;
  return vm;
}

std::optional<int> GuestVm::wait(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!exit_code_ && pid_ > 0) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      break;
    }
    if (r < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

std::string GuestVm::console() const { return read_file(dir_ + "/console.log"); }
std::string GuestVm::runner_output() const { return read_file(dir_ + "/runner.log"); }

std::optional<pid_t> GuestVm::qemu_pid() const {
  std::string text = read_file(dir_ + "/qemu.pid");
  if (text.empty()) return std::nullopt;
  try {
    return static_cast<pid_t>(std::stoi(text));
  } catch (...) {
    return std::nullopt;
  }
}

void GuestVm::stop() {
  if (pid_ <= 0) return;
  // run-vm's trap stops its QEMU on TERM.
  kill(pid_, SIGTERM);
  if (wait(std::chrono::seconds(15))) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  // run-vm could not clean up: stop the QEMU it started, if it is still ours.
  if (auto q = qemu_pid()) {
    std::string comm = read_file("/proc/" + std::to_string(*q) + "/comm");
    if (comm.rfind("qemu-system", 0) == 0) kill(*q, SIGKILL);
  }
}

GuestVm::~GuestVm() {
  stop();
  run_command({"rm", "-rf", dir_});
}

}  // namespace xo::e2e
