// Kernel network objects of one benchmark run, each with one owner:
//
//   PrivateNetns  the process leaves the host's netns for a fresh one at
//                 start, so every veth, bridge and tap it creates is
//                 invisible to other users and vanishes with the process,
//                 even when it is killed
//   ChildNetns    an anonymous second netns (the far end of case 2's veth);
//                 threads enter it with enter(), links move into it by fd
//   Link          a link created with `ip link add`, deleted on destruction
//
// Names are unique per run (pid) and at most 15 characters.
#pragma once

#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "core/result.hpp"

namespace xo::bench {


// Runs /sbin/ip (or `ip` from PATH) with `args` in the calling thread's
// netns and waits. Error: the command line and its exit status.
Status run_ip(const std::vector<std::string>& args);

// Moves the calling process (it must still be single-threaded) into a new
// network namespace and disables IPv6 there (no router solicitations or
// DAD frames mixing into the counts).
Status enter_private_netns();

class ChildNetns {
 public:
  static Result<ChildNetns> create();
  int fd() const { return fd_.get(); }
  // What `ip link set X netns <path>` accepts.
  std::string path() const;
  // Moves the calling thread into this netns (threads only; not reversible
  // for the caller, so use it on threads made for the purpose).
  Status enter() const;

 private:
  UniqueFd fd_;
};

class Link {
 public:
  Link() = default;
  explicit Link(std::string name) : name_(std::move(name)) {}
  Link(Link&& o) noexcept : name_(std::exchange(o.name_, {})) {}
  Link& operator=(Link&& o) noexcept;
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  ~Link();

  const std::string& name() const { return name_; }
  int ifindex() const;  // in the calling thread's netns; 0 if missing

 private:
  std::string name_;
};

// veth pair; the peer optionally moved into `peer_ns` (then brought up there).
Result<Link> create_veth(const std::string& name, const std::string& peer,
                         const ChildNetns* peer_ns = nullptr);
Result<Link> create_bridge(const std::string& name);
Status enslave(const std::string& port, const std::string& bridge);
// Sets IFF_UP with an ioctl in the calling thread's netns.
Status set_up(const std::string& name);
// A unique interface name: <prefix><pid base 36><suffix>, <= 15 chars.
std::string unique_ifname(const std::string& prefix, const std::string& suffix);

}  // namespace xo::bench
