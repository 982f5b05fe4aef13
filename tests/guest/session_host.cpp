#include "tests/guest/session_host.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "host/session/kernel_backend.hpp"
#include "transport/codec.hpp"

namespace xo::guest::test {

namespace {

std::atomic<int> g_hosts{0};

}  // namespace

SessionHost::SessionHost(session::SessionQuotas quotas) {
  const int n = g_hosts++;
  pin_root_ = "/sys/fs/bpf/xo_gtest_" + std::to_string(getpid()) + "_" + std::to_string(n);
  ::mkdir(pin_root_.c_str(), 0700);
  config_.name = "gt" + std::to_string(getpid() % 100000) + "_" + std::to_string(n);
  config_.tap = tap_.name();
  config_.quotas = quotas;
  session_ = std::make_unique<session::Session>(config_, session::make_kernel_backend(config_, pin_root_),
                                                session::Clock::now());
  stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

SessionHost::SessionHost(std::string socket_path, session::SessionQuotas quotas) : SessionHost(quotas) {
  socket_path_ = std::move(socket_path);
  ::unlink(socket_path_.c_str());
  listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof addr.sun_path - 1);
  if (!listener_ || ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_.get(), 4) != 0)
    throw std::runtime_error("SessionHost: cannot listen on " + socket_path_);
  thread_ = std::thread([this] { serve(); });
}

SessionHost::SessionHost(UniqueFd stream, session::SessionQuotas quotas) : SessionHost(quotas) {
  conn_ = std::make_unique<session::Connection>(std::move(stream));
  thread_ = std::thread([this] { serve(); });
}

SessionHost::~SessionHost() {
  std::uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    session_.reset();  // detaches and frees every kernel object, unpins
    conn_.reset();
  }
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
  std::error_code ec;
  std::filesystem::remove_all(pin_root_, ec);
}

void SessionHost::serve() {
  for (;;) {
    std::vector<pollfd> fds{{stop_.get(), POLLIN, 0}};
    if (listener_ && !conn_) fds.push_back({listener_.get(), POLLIN, 0});
    if (conn_) fds.push_back({conn_->fd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 200) < 0 && errno != EINTR) return;
    if (fds[0].revents & POLLIN) return;
    if (listener_ && !conn_ && (fds[1].revents & POLLIN)) {
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        std::lock_guard lock(mu_);
        conn_ = std::make_unique<session::Connection>(UniqueFd(fd));
      }
      continue;
    }
    if (conn_ && (fds.back().revents & (POLLIN | POLLHUP | POLLERR))) serve_connection_once();
  }
}

void SessionHost::serve_connection_once() {
  std::lock_guard lock(mu_);
  const bool alive = conn_->read_some(1u << 20);
  for (const auto& f : conn_->pending()) types_.push_back(f.header.type);
  while (!conn_->pending().empty()) {
    conn_->queue(session_->handle_frame(conn_->pending().front()).value());
    conn_->pending().pop_front();
  }
  conn_->queue_close_reply();
  (void)conn_->flush();
  // The port outlives the guest process: a hang-up ends the connection,
  // not the session.
  if (!alive || conn_->closing()) conn_.reset();
}

void SessionHost::drop_connection() {
  std::lock_guard lock(mu_);
  conn_.reset();
}

std::vector<std::uint16_t> SessionHost::request_types() const {
  std::lock_guard lock(mu_);
  return types_;
}
std::size_t SessionHost::programs() const {
  std::lock_guard lock(mu_);
  return session_->program_count();
}
std::size_t SessionHost::maps() const {
  std::lock_guard lock(mu_);
  return session_->map_count();
}
std::size_t SessionHost::btfs() const {
  std::lock_guard lock(mu_);
  return session_->btf_count();
}
std::uint32_t SessionHost::attached_prog_id() const {
  std::lock_guard lock(mu_);
  return session_->attached_kernel_id();
}

// The kernel backend pins each map as map<handle>_<name> (pin_leaf: '.' -> '_').
std::string SessionHost::map_pin(const std::string& map_name) const {
  const std::string dir = pin_root_ + "/" + config_.name;
  std::string pin;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string leaf = e.path().filename();
    const std::string suffix = "_" + map_name;
    if (leaf.rfind("map", 0) == 0 && leaf.size() > suffix.size() &&
        leaf.compare(leaf.size() - suffix.size(), suffix.size(), suffix) == 0)
      pin = e.path();
  }
  return pin;
}

std::uint32_t SessionHost::map_max_entries(const std::string& map_name) const {
  const std::string pin = map_pin(map_name);
  if (pin.empty()) return 0;
  UniqueFd fd(bpf_obj_get(pin.c_str()));
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return 0;
  return info.max_entries;
}

Status SessionHost::set_percpu_u64(const std::string& map_name, std::uint32_t key, std::uint64_t value) {
  const std::string pin = map_pin(map_name);
  if (pin.empty()) return err(ENOENT, "no pinned map '" + map_name + "'");
  UniqueFd fd(bpf_obj_get(pin.c_str()));
  if (!fd) return err(errno, "bpf_obj_get " + pin + ": " + std::strerror(errno));
  const int cpus = libbpf_num_possible_cpus();
  std::vector<std::uint64_t> values(static_cast<std::size_t>(cpus), value);
  if (bpf_map_update_elem(fd.get(), &key, values.data(), BPF_ANY) != 0)
    return err(errno, "update " + pin + ": " + std::strerror(errno));
  return Ok{};
}

void SessionHost::send_event(const transport::Event& event) {
  std::lock_guard lock(mu_);
  if (!conn_) return;
  if (auto bytes = transport::encode(0, event)) conn_->queue(std::move(*bytes));
  (void)conn_->flush();
}

}  // namespace xo::guest::test
