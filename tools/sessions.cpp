#include "tools/sessions.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include <sys/stat.h>
#include <unistd.h>

#include "host/core/attach_tc.hpp"
#include "host/core/attach_tcx.hpp"
#include "host/core/pins.hpp"
#include "host/core/stats_map.hpp"
#include "translator/passes/passes.hpp"

namespace xo::cli {

namespace {

constexpr std::uint32_t kProgTypeSchedCls = 3;
constexpr std::uint32_t kProgTypeXdp = 6;

std::string tag_hex(const std::uint8_t (&tag)[BPF_TAG_SIZE]) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : tag) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

Result<PinnedMap> open_map(const std::string& dir, const std::string& leaf, std::string name) {
  std::string path = dir + "/" + leaf;
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return err(path + ": " + std::strerror(errno));
  PinnedMap m;
  m.fd = UniqueFd(fd);
  m.leaf = leaf;
  m.name = std::move(name);
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return err(path + ": not a map (" + std::strerror(errno) + ")");
  m.id = info.id;
  m.type = info.type;
  m.key_size = info.key_size;
  m.value_size = info.value_size;
  m.max_entries = info.max_entries;
  m.kernel_name = info.name;
  return m;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::optional<int> find_tc_filter(std::uint32_t prog_id) {
  if (prog_id == 0) return std::nullopt;
  struct if_nameindex* ifs = if_nameindex();
  if (!ifs) return std::nullopt;
  // Most interfaces have no clsact: libbpf would print the kernel's
  // "Parent Qdisc doesn't exists" for each. Quiet for the scan.
  libbpf_print_fn_t previous = libbpf_set_print(nullptr);
  std::optional<int> found;
  for (struct if_nameindex* i = ifs; i->if_index != 0 && !found; ++i) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(i->if_index), .attach_point = BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = host::kTcHandle, .priority = host::kTcPriority);
    if (bpf_tc_query(&hook, &opts) == 0 && opts.prog_id == prog_id) found = static_cast<int>(i->if_index);
  }
  libbpf_set_print(previous);
  if_freenameindex(ifs);
  return found;
}

std::uint32_t prog_array_slot0(int map_fd) {
  std::uint32_t key = 0, id = 0;
  // For a prog array, user-space lookups return the program's id.
  return bpf_map_lookup_elem(map_fd, &key, &id) == 0 ? id : 0;
}

Result<std::vector<std::uint64_t>> read_action_stats(int stats_fd) {
  auto totals = host::read_stats_map(stats_fd);
  if (!totals) return totals.error();
  return std::vector<std::uint64_t>(totals->begin(), totals->end());
}

namespace {

// Two producers pin sessions: `xoffload load` (host::Offload) writes one
// program as prog, stats, map_<name>; xoffloadd, whose sessions hold several
// programs, writes prog<handle>_<name>, stats<handle>, map<handle>_<name>.
// Returns the handle digits ("" for the unnumbered form), or nullopt when
// `leaf` is not of kind `kind`.
std::optional<std::string> numbered_leaf(const std::string& leaf, std::string_view kind, std::string* rest) {
  if (leaf.rfind(kind, 0) != 0) return std::nullopt;
  std::size_t i = kind.size();
  std::size_t digits_end = leaf.find_first_not_of("0123456789", i);
  if (digits_end == std::string::npos) digits_end = leaf.size();
  std::string handle = leaf.substr(i, digits_end - i);
  if (digits_end == leaf.size()) {
    if (rest) rest->clear();
    return handle;
  }
  if (leaf[digits_end] != '_') return std::nullopt;
  if (rest) *rest = leaf.substr(digits_end + 1);
  return handle;
}

// A tcx link reports its device's ifindex in the device's own netns; the
// same number can name another device in this tool's netns. The link is on
// a device here only when that device's tcx egress lists the link.
bool tcx_link_is_here(int ifindex, std::uint32_t link_id) {
  auto here = host::tcx_query(ifindex);
  if (!here) return false;
  for (const host::TcxLinkState& l : *here)
    if (l.link_id == link_id) return true;
  return false;
}

struct ProgCandidate {
  std::string handle;
  UniqueFd fd;
  bpf_prog_info info{};
};

}  // namespace

Result<PinnedSession> open_session(const std::string& root, const std::string& name) {
  PinnedSession s;
  s.name = name;
  s.dir = root + "/" + name;
  DIR* probe = ::opendir(s.dir.c_str());
  if (!probe) return err("session '" + name + "': " + s.dir + ": " + std::strerror(errno));
  ::closedir(probe);
  s.leaves = list_dir(s.dir);

  std::vector<ProgCandidate> progs;
  std::vector<std::pair<std::string, PinnedMap>> stats;  // handle -> map
  for (const std::string& leaf : s.leaves) {
    std::string rest;
    if (leaf == host::kTcxEgressLeaf) {
      std::string path = s.dir + "/" + leaf;
      s.link.reset(bpf_obj_get(path.c_str()));
      if (!s.link) return err(path + ": " + std::strerror(errno));
      auto st = host::tcx_link_state(s.link.get());
      if (!st) return err(path + ": not a tcx link");
      s.link_id = st->link_id;
      s.link_prog_id = st->prog_id;
      s.link_ifindex = st->ifindex;
    } else if (leaf.rfind("chain_", 0) == 0) {
      auto m = open_map(s.dir, leaf, leaf);
      if (!m) return m.error();
      s.chain = std::move(*m);
    } else if (auto h = numbered_leaf(leaf, "prog", &rest)) {
      std::string path = s.dir + "/" + leaf;
      int fd = bpf_obj_get(path.c_str());
      if (fd < 0) return err(path + ": " + std::strerror(errno));
      ProgCandidate c{*h, UniqueFd(fd), {}};
      std::uint32_t len = sizeof c.info;
      if (bpf_obj_get_info_by_fd(fd, &c.info, &len) != 0) return err(path + ": not a program");
      progs.push_back(std::move(c));
    } else if (auto h = numbered_leaf(leaf, "stats", &rest); h && rest.empty()) {
      auto m = open_map(s.dir, leaf, "stats");
      if (!m) return m.error();
      stats.emplace_back(*h, std::move(*m));
    } else if (auto h = numbered_leaf(leaf, "map", &rest); h && !rest.empty()) {
      auto m = open_map(s.dir, leaf, rest);
      if (!m) return m.error();
      s.maps.push_back(std::move(*m));
    }
  }

  // The program status reports: the attached one when one is, else the first.
  std::uint32_t chain_slot = s.chain ? prog_array_slot0(s.chain->fd.get()) : 0;
  std::optional<int> tc_ifindex;
  ProgCandidate* chosen = progs.empty() ? nullptr : &progs.front();
  for (auto& c : progs) {
    if (c.info.type == kProgTypeSchedCls) {
      if (s.link_id && s.link_prog_id == c.info.id) {
        chosen = &c;
        if (s.link_ifindex && tcx_link_is_here(s.link_ifindex, s.link_id)) tc_ifindex = s.link_ifindex;
        break;
      }
      if (auto ifindex = find_tc_filter(c.info.id)) {
        chosen = &c;
        tc_ifindex = ifindex;
        break;
      }
    } else if (chain_slot != 0 && c.info.id == chain_slot) {
      chosen = &c;
      break;
    }
  }
  if (chosen) {
    s.prog = std::move(chosen->fd);
    s.prog_id = chosen->info.id;
    s.prog_type = chosen->info.type;
    s.btf_id = chosen->info.btf_id;
    s.prog_kernel_name = chosen->info.name;
    s.prog_tag = tag_hex(chosen->info.tag);
    for (auto& [handle, m] : stats)
      if (handle == chosen->handle) s.stats = std::move(m);
  }

  if (s.prog_type == kProgTypeSchedCls) {
    s.flavor = "tc";
    if (tc_ifindex) {
      char buf[IF_NAMESIZE] = {};
      s.tap_ifindex = *tc_ifindex;
      s.tap = if_indextoname(static_cast<unsigned>(*tc_ifindex), buf) ? buf : "";
      s.attached = true;
    }
  } else if (s.prog_type == kProgTypeXdp || s.chain) {
    s.flavor = "chain";
    if (s.chain) {
      s.tap = s.chain->leaf.substr(6);
      s.tap_ifindex = static_cast<int>(if_nametoindex(s.tap.c_str()));
      s.chain_slot_prog_id = chain_slot;
      s.attached = s.prog_id != 0 && s.chain_slot_prog_id == s.prog_id;
    }
  }
  return s;
}

std::vector<PinnedSession> list_sessions(const std::string& root) {
  std::vector<PinnedSession> out;
  for (const std::string& name : list_dir(root)) {
    auto s = open_session(root, name);
    if (s) {
      out.push_back(std::move(*s));
    } else {
      PinnedSession broken;
      broken.name = name;
      broken.dir = root + "/" + name;
      broken.problem = s.error().message;
      out.push_back(std::move(broken));
    }
  }
  return out;
}

std::string throwaway_session(const std::string& prefix, const std::string& root) {
  for (const std::string& name : list_dir(root)) {
    for (std::string_view p : {"run-", "verify-"}) {
      if (name.rfind(p, 0) != 0) continue;
      std::string pid = name.substr(p.size());
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      struct stat st {};
      if (::stat(("/proc/" + pid).c_str(), &st) != 0 && errno == ENOENT)
        (void)host::remove_stale_session(name, root);
    }
  }
  return prefix + "-" + std::to_string(getpid());
}

}  // namespace xo::cli
