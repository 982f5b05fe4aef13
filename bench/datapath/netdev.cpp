#include "bench/datapath/netdev.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

extern char** environ;

namespace xo::bench {

namespace {

std::string errno_text(int e) { return std::string(strerrordesc_np(e) ? strerrordesc_np(e) : "?"); }

std::string join(const std::vector<std::string>& v) {
  std::string out = "ip";
  for (const auto& a : v) out += " " + a;
  return out;
}

}  // namespace

Status run_ip(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string ip = access("/sbin/ip", X_OK) == 0 ? "/sbin/ip" : "ip";
  argv.push_back(ip.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, ip.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return err(join(args) + ": cannot start (" + errno_text(rc) + ")");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return err(join(args) + ": waitpid failed");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return err(join(args) + ": failed (status " + std::to_string(status) + ")");
  return Ok{};
}

Status enter_private_netns() {
  if (unshare(CLONE_NEWNET) != 0) return err("unshare(CLONE_NEWNET): " + errno_text(errno));
  for (const char* p : {"/proc/sys/net/ipv6/conf/all/disable_ipv6",
                        "/proc/sys/net/ipv6/conf/default/disable_ipv6"}) {
    std::ofstream f(p);
    if (f) f << "1\n";  // best effort: a kernel without IPv6 has no such file
  }
  return set_up("lo");
}

Result<ChildNetns> ChildNetns::create() {
  // unshare() affects only the calling thread (a task); do it on a thread
  // made for it so the caller's netns never changes.
  ChildNetns ns;
  std::string error;
  std::thread t([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      error = "unshare(CLONE_NEWNET): " + errno_text(errno);
      return;
    }
    for (const char* p : {"/proc/sys/net/ipv6/conf/all/disable_ipv6",
                          "/proc/sys/net/ipv6/conf/default/disable_ipv6"}) {
      std::ofstream f(p);
      if (f) f << "1\n";
    }
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) error = "open /proc/thread-self/ns/net: " + errno_text(errno);
    ns.fd_.reset(fd);
  });
  t.join();
  if (!error.empty()) return err(error);
  return ns;
}

std::string ChildNetns::path() const {
  return "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd_.get());
}

Status ChildNetns::enter() const {
  if (setns(fd_.get(), CLONE_NEWNET) != 0) return err("setns: " + errno_text(errno));
  return Ok{};
}

Link& Link::operator=(Link&& o) noexcept {
  if (this != &o) {
    Link dying(std::move(*this));
    name_ = std::exchange(o.name_, {});
  }
  return *this;
}

Link::~Link() {
  // Deleting one end of a veth deletes both; a missing link is fine.
  if (!name_.empty() && if_nametoindex(name_.c_str()) != 0) (void)run_ip({"link", "del", name_});
}

int Link::ifindex() const { return static_cast<int>(if_nametoindex(name_.c_str())); }

Status set_up(const std::string& name) {
  if (name.size() >= IFNAMSIZ) return err("interface name '" + name + "' too long");
  UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return err("socket: " + errno_text(errno));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return err(name + ": SIOCGIFFLAGS: " + errno_text(errno));
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return err(name + ": SIOCSIFFLAGS: " + errno_text(errno));
  return Ok{};
}

Result<Link> create_veth(const std::string& name, const std::string& peer, const ChildNetns* peer_ns) {
  if (auto s = run_ip({"link", "add", name, "type", "veth", "peer", "name", peer}); !s) return s.error();
  Link link(name);
  if (peer_ns) {
    if (auto s = run_ip({"link", "set", peer, "netns", peer_ns->path()}); !s) return s.error();
    Status up = Ok{};
    std::thread t([&] {
      if (auto s = peer_ns->enter(); !s) up = s;
      else up = set_up(peer);
    });
    t.join();
    if (!up) return up.error();
  } else if (auto s = set_up(peer); !s) {
    return s.error();
  }
  if (auto s = set_up(name); !s) return s.error();
  return link;
}

Result<Link> create_bridge(const std::string& name) {
  if (auto s = run_ip({"link", "add", name, "type", "bridge"}); !s) return s.error();
  Link link(name);
  if (auto s = set_up(name); !s) return s.error();
  return link;
}

Status enslave(const std::string& port, const std::string& bridge) {
  return run_ip({"link", "set", port, "master", bridge});
}

std::string unique_ifname(const std::string& prefix, const std::string& suffix) {
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id;
  for (unsigned long p = static_cast<unsigned long>(getpid()); p; p /= 36) id.insert(id.begin(), digits[p % 36]);
  std::string name = prefix + id + suffix;
  if (name.size() > 15) name = name.substr(name.size() - 15);
  return name;
}

}  // namespace xo::bench
