// DaemonProcess: fork + nsenter --net + exec, stop by pid.
#include "tests/e2e/offload_daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace xo::e2e {

Result<std::unique_ptr<DaemonProcess>> DaemonProcess::start(const std::string& daemon,
                                                            const std::string& netns,
                                                            const std::vector<std::string>& args,
                                                            const std::string& socket_path,
                                                            const std::string& log_path,
                                                            std::chrono::milliseconds ready) {
  std::vector<std::string> argv;
  if (!netns.empty()) argv = {"nsenter", "--net=/run/netns/" + netns, "--"};
  argv.push_back(daemon);
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return err("open " + log_path + ": " + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execvp(cargv[0], cargv.data());
    _exit(127);
  }
  ::close(log_fd);
  if (pid < 0) return err(std::string("fork: ") + std::strerror(errno));
  std::unique_ptr<DaemonProcess> d(new DaemonProcess(pid, log_path));
  const auto deadline = std::chrono::steady_clock::now() + ready;
  for (;;) {
    struct stat st {};
    if (::stat(socket_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return d;
    if (!d->running()) return err("xoffloadd exited (status " + std::to_string(d->status_) + "): " + d->log());
    if (std::chrono::steady_clock::now() > deadline)
      return err("xoffloadd did not create " + socket_path + " in time: " + d->log());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool DaemonProcess::running() {
  if (pid_ <= 0) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    pid_ = -1;
    return false;
  }
  return r == 0;
}

int DaemonProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    status_ = -1;
  }
  return status_;
}

DaemonProcess::~DaemonProcess() {
  stop();
  ::unlink(log_path_.c_str());  // failures already quoted it (log())
}

std::string DaemonProcess::log() const {
  std::ifstream in(log_path_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace xo::e2e
