// Channel, UnixListener and virtio-serial port discovery.
#include "transport/channel.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

namespace xo::transport {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

std::string errno_text(int e) { return std::string(std::strerror(e)); }

Status set_nonblocking(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return err("fcntl(O_NONBLOCK): " + errno_text(errno));
  return Ok{};
}

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    return err("unix socket path '" + path + "' is empty or longer than " +
               std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline`, or -1 for "no deadline".
int remaining_ms(std::optional<Clock::time_point> deadline) {
  if (!deadline) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
  return left.count() < 0 ? 0 : int(left.count());
}

std::optional<Clock::time_point> deadline_after(int timeout_ms) {
  if (timeout_ms < 0) return std::nullopt;
  return Clock::now() + std::chrono::milliseconds(timeout_ms);
}

}  // namespace

// ---- Channel construction ------------------------------------------------

Channel::Channel(UniqueFd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) {
  struct stat st {};
  is_socket_ = ::fstat(fd_.get(), &st) == 0 && S_ISSOCK(st.st_mode);
  if (Status s = set_nonblocking(fd_.get()); !s) (void)fail(s.error().message);
}

Result<Channel> Channel::connect_unix(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return err("socket(AF_UNIX): " + errno_text(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) < 0)
    return err("connect to unix socket '" + path + "': " + errno_text(errno));
  return Channel(std::move(fd), "unix:" + path);
}

Result<Channel> Channel::open_port(const std::string& device_path) {
  UniqueFd fd(::open(device_path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return err("open port '" + device_path + "': " + errno_text(errno));
  return Channel(std::move(fd), "port:" + device_path);
}

Result<Channel> Channel::open_virtio_port(std::string_view port_name,
                                          const std::string& sysfs_root,
                                          const std::string& dev_root) {
  auto path = find_virtio_port(port_name, sysfs_root, dev_root);
  if (!path) return path.error();
  return open_port(*path);
}

Result<std::pair<Channel, Channel>> Channel::pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return err("socketpair: " + errno_text(errno));
  return std::pair<Channel, Channel>{Channel(UniqueFd(sv[0]), "socketpair:0"),
                                     Channel(UniqueFd(sv[1]), "socketpair:1")};
}

Status Channel::fail(std::string message) {
  broken_ = true;
  if (!error_) error_ = err(peer_ + ": " + message);
  return *error_;
}

Status Channel::wait_for(short events, int timeout_ms, const char* what) {
  pollfd p{fd_.get(), events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) {
      if ((p.revents & events) || events == POLLIN) return Ok{};  // read() reports EOF/errors
      // POLLHUP/POLLERR while waiting to write: a socket peer is gone, or the
      // host side of a virtio-serial port is not connected. Writing would
      // only spin on EAGAIN.
      return fail(std::string("peer hung up while waiting to ") + what);
    }
    if (n == 0) return err(peer_ + ": timed out waiting to " + what);
    if (errno != EINTR) return fail(std::string("poll: ") + errno_text(errno));
  }
}

// ---- receiving -----------------------------------------------------------

Status Channel::read_once(bool& would_block, std::size_t* bytes_read) {
  would_block = false;
  std::uint8_t buf[kReadChunk];
  ssize_t n;
  do n = ::read(fd_.get(), buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      would_block = true;
      return Ok{};
    }
    return fail("read: " + errno_text(errno));
  }
  if (n == 0) {
    if (framer_.mid_frame())
      return fail("peer closed the connection in the middle of a frame (" +
                  std::to_string(framer_.buffered()) + " bytes buffered)");
    return fail("peer closed the connection");
  }
  if (bytes_read) *bytes_read += std::size_t(n);
  auto frames = framer_.feed(std::span<const std::uint8_t>(buf, std::size_t(n)));
  if (!frames) return fail(frames.error().message);
  for (Frame& f : *frames) pending_.push_back(std::move(f));
  if (framer_.failed()) return fail(framer_.error()->message);
  return Ok{};
}

Result<std::vector<Frame>> Channel::read_available(std::size_t max_bytes) {
  std::size_t total = 0;
  while (!broken_ && total < max_bytes) {
    bool would_block = false;
    if (Status s = read_once(would_block, &total); !s) break;
    if (would_block) break;
  }
  if (pending_.empty() && error_) return *error_;
  std::vector<Frame> out(std::make_move_iterator(pending_.begin()),
                         std::make_move_iterator(pending_.end()));
  pending_.clear();
  return out;
}

Result<Frame> Channel::recv_frame(int timeout_ms) {
  const auto deadline = deadline_after(timeout_ms);
  while (pending_.empty()) {
    if (error_) return *error_;
    if (Status s = wait_for(POLLIN, remaining_ms(deadline), "receive a frame"); !s)
      return s.error();
    bool would_block = false;
    if (Status s = read_once(would_block); !s && pending_.empty()) return s.error();
  }
  Frame f = std::move(pending_.front());
  pending_.pop_front();
  return f;
}

Result<Envelope> Channel::recv(int timeout_ms) {
  auto frame = recv_frame(timeout_ms);
  if (!frame) return frame.error();
  auto message = decode(*frame);
  if (!message) return err(peer_ + ": " + message.error().message);
  return Envelope{frame->header.request_id, std::move(*message)};
}

// ---- sending ------------------------------------------------------------

Status Channel::queue_bytes(std::span<const std::uint8_t> frame_bytes) {
  if (broken_) return *error_;
  // Compact what was already written before growing the buffer.
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  out_.insert(out_.end(), frame_bytes.begin(), frame_bytes.end());
  return Ok{};
}

Status Channel::queue(std::uint32_t request_id, const Message& message) {
  auto bytes = encode(request_id, message, version_);
  if (!bytes) return err(peer_ + ": " + bytes.error().message);
  return queue_bytes(*bytes);
}

Status Channel::flush() {
  if (broken_) return *error_;
  while (out_pos_ < out_.size()) {
    const std::uint8_t* p = out_.data() + out_pos_;
    const std::size_t len = out_.size() - out_pos_;
    // MSG_NOSIGNAL: a vanished peer is an error value, not SIGPIPE.
    ssize_t n = is_socket_ ? ::send(fd_.get(), p, len, MSG_NOSIGNAL) : ::write(fd_.get(), p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Ok{};
      return fail("write: " + errno_text(errno));
    }
    out_pos_ += std::size_t(n);
  }
  out_.clear();
  out_pos_ = 0;
  return Ok{};
}

Status Channel::send(std::uint32_t request_id, const Message& message, int timeout_ms) {
  if (Status s = queue(request_id, message); !s) return s;
  const auto deadline = deadline_after(timeout_ms);
  for (;;) {
    if (Status s = flush(); !s) return s;
    if (!wants_write()) return Ok{};
    if (Status s = wait_for(POLLOUT, remaining_ms(deadline), "send a frame"); !s)
      // A partly written frame leaves the stream out of sync for good.
      return fail(s.error().message);
  }
}

// ---- listening ------------------------------------------------------------

Result<UnixListener> UnixListener::listen(const std::string& path, int backlog) {
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return err("listen on '" + path + "': path exists and is not a socket");
    ::unlink(path.c_str());  // stale socket from an earlier run
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return err("socket(AF_UNIX): " + errno_text(errno));
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) < 0)
    return err("bind unix socket '" + path + "': " + errno_text(errno));
  if (::listen(fd.get(), backlog) < 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return err("listen on unix socket '" + path + "': " + errno_text(e));
  }
  return UnixListener(std::move(fd), path);
}

UnixListener::UnixListener(UnixListener&& o) noexcept
    : fd_(std::move(o.fd_)), path_(std::exchange(o.path_, {})) {}

UnixListener& UnixListener::operator=(UnixListener&& o) noexcept {
  if (this != &o) {
    if (fd_ && !path_.empty()) ::unlink(path_.c_str());
    fd_ = std::move(o.fd_);
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

UnixListener::~UnixListener() {
  if (fd_ && !path_.empty()) ::unlink(path_.c_str());
}

Result<Channel> UnixListener::accept(int timeout_ms) {
  pollfd p{fd_.get(), POLLIN, 0};
  for (;;) {
    const int n = ::poll(&p, 1, timeout_ms);
    if (n == 0)
      return err("unix:" + path_ + ": no connection within " + std::to_string(timeout_ms) + " ms");
    if (n < 0) {
      if (errno == EINTR) continue;
      return err("unix:" + path_ + ": poll: " + errno_text(errno));
    }
    UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (conn) return Channel(std::move(conn), "unix:" + path_);
    if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) continue;
    return err("unix:" + path_ + ": accept: " + errno_text(errno));
  }
}

// ---- virtio-serial discovery ------------------------------------------

Result<std::string> find_virtio_port(std::string_view port_name, const std::string& sysfs_root,
                                     const std::string& dev_root) {
  DIR* dir = ::opendir(sysfs_root.c_str());
  if (!dir)
    return err("virtio-serial port '" + std::string(port_name) + "': cannot list " + sysfs_root +
               ": " + errno_text(errno) + " (is virtio_console loaded?)");
  std::string found;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(sysfs_root + "/" + e->d_name + "/name");
    std::string name;
    if (!in || !std::getline(in, name)) continue;
    if (name == port_name) {
      found = dev_root + "/" + e->d_name;
      break;
    }
  }
  ::closedir(dir);
  if (found.empty())
    return err("virtio-serial port '" + std::string(port_name) + "' not found under " +
               sysfs_root + " (is the VM started with virtserialport,name=" +
               std::string(port_name) + "?)");
  return found;
}

}  // namespace xo::transport
