// Offload::load / reload: the pipeline from a guest Submission to a program
// running on the tap. The steps, in order (each one's failure undoes the
// ones before it simply by returning: every object is RAII-owned):
//
//   pins dir -> stats map -> BTF -> maps -> preverify -> translate ->
//   kernel load (log mapped back on refusal) -> pins -> attach
#include "host/core/offload.hpp"

#include <sys/random.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <utility>

#include "core/diagnostics.hpp"
#include "translator/isa/cfg.hpp"
#include "host/core/kernel_log.hpp"
#include "host/core/names.hpp"
#include "host/core/pipeline.hpp"
#include "host/core/stats_map.hpp"

namespace xo::host {

struct Offload::Loaded {
  std::optional<LoadedBtf> btf;
  HostMaps maps;
  UniqueFd prog;
  std::uint32_t prog_id = 0;
  std::string prog_name, prog_kernel_name;
  bool defers = false;  // it writes descriptors with options' cookie
};

namespace {

void note(LoadReport* r, std::string line) {
  if (r) r->notes.push_back(std::move(line));
}

std::uint32_t map_id_of(int fd) {
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

}  // namespace

std::string map_pin_leaf(const MapDef& d) { return pin_leaf("map_", d.name); }

Status Offload::check(const OffloadOptions& options, const Submission& s, const Policy& policy) {
  if (auto st = validate_session_name(options.session); !st) return st.error();
  if (options.flavor != Flavor::Tc && options.flavor != Flavor::Chain && options.flavor != Flavor::Tun)
    return err(EOPNOTSUPP, "flavor " + std::string(flavor_name(options.flavor)) +
               " is not supported by this host yet (use tc, chain or tun)");
  if (!(policy.flavors() & flavor_bit(options.flavor)))
    return err(EOPNOTSUPP, "flavor " + std::string(flavor_name(options.flavor)) + " is disabled by the host policy");
  const std::string label = Diagnoser(s).label() + ": ";
  if (!s.btf.empty())
    if (auto st = check_btf_blob(s.btf, options.btf_quota); !st)
      return st.error().prefixed(label).at_stage(Stage::HostObjects);
  if (auto st = check_map_defs(s.maps, options.map_quota); !st)
    return st.error().prefixed(label).at_stage(Stage::HostObjects);
  std::map<std::string, const MapDef*> leaves;
  for (const MapDef& d : s.maps) {
    if (guest_side_map_type(d.type)) continue;  // no host object to pin
    const std::string leaf = map_pin_leaf(d);
    if (auto st = validate_pin_leaf(leaf); !st) return st.error().prefixed(label).at_stage(Stage::HostObjects);
    auto [it, fresh] = leaves.emplace(leaf, &d);
    if (!fresh)
      return Error{label + "maps '" + it->second->name + "' and '" + d.name + "' would both be pinned as " + leaf,
                   std::nullopt, EEXIST, Stage::HostObjects};
  }
  return Ok{};
}

Result<Offload::Loaded> Offload::build(const OffloadOptions& o, int tap_ifindex, int stats_fd,
                                       const Submission& s, const Policy& policy, LoadReport* report) {
  Loaded l;
  const std::string label = Diagnoser(s).label() + ": ";
  if (!s.btf.empty()) {
    auto btf = load_btf(s.btf, o.btf_quota);
    if (btf) {
      l.btf = std::move(*btf);
    } else if (btf.error().code == EINVAL) {
      // libbpf's rule (bpf_object__sanitize_and_load_btf: "BTF is optional,
      // ignoring"): the kernel found the BTF invalid, so the object loads
      // without it -- maps untyped, program without func/line info -- as the
      // guest's own libbpf would load it natively. Whatever truly needs BTF
      // (spin locks, timers, kptrs in a map value) is then refused by the
      // kernel at the map or program, as it is natively.
      note(report, "host kernel refused the guest's BTF, so the program loads without it, as libbpf does: " +
                       btf.error().message);
    } else {
      return btf.error().prefixed(label).at_stage(Stage::HostObjects);
    }
  }

  auto maps = create_host_maps(o.session, s.maps, l.btf ? l.btf->fd.get() : -1, o.map_quota);
  if (!maps) return maps.error().prefixed(label).at_stage(Stage::HostObjects);
  l.maps = std::move(*maps);
  for (const auto& n : l.maps.notes()) note(report, n);

  PipelineOptions popts;
  popts.flavor = o.flavor;
  popts.tap_ifindex = static_cast<std::uint32_t>(tap_ifindex);
  popts.stats = stats_fd >= 0;
  if (popts.stats) {
    auto cpus = stats_map_cpus(stats_fd);
    if (!cpus) return cpus.error().prefixed(label);
    popts.stats_cpus = *cpus;
  }
  popts.max_insns = o.max_insns;
  popts.chain_tx = o.chain_tx;
  popts.guest_mac = o.guest_mac;
  popts.tier = o.tier;
  popts.reemit = o.reemit;
  // The host's own tools speak what version 2 speaks: deferred helpers.
  popts.defer = true;
  popts.cookie = o.cookie;
  LoadTarget target;
  target.kernel_name = kernel_object_name(o.session, s.name);
  target.btf_fd = l.btf ? l.btf->fd.get() : -1;
  const HostMaps& host_maps = l.maps;
  target.host_fd_of = [&host_maps, stats_fd](std::uint32_t handle) -> std::optional<int> {
    if (handle == translator::kStatsMapHandle) return stats_fd >= 0 ? std::optional<int>(stats_fd) : std::nullopt;
    const HostMap* m = host_maps.find(handle);
    return m ? std::optional<int>(m->fd.get()) : std::nullopt;
  };
  PipelineReport pr;
  auto loaded = load_program(s, policy, popts, target, &pr);
  for (auto& n : pr.notes) note(report, std::move(n));
  if (report) {
    report->verifier_log = std::move(pr.verifier_log);
    report->prepare_ns = pr.prepare_ns;
    report->kernel_ns = pr.kernel_ns;
  }
  if (!loaded) return loaded.error();
  if (report) {
    report->tier = loaded->prepared.tier;
    report->host_slots = isa::slot_layout(loaded->prepared.translated.insns).back();
  }
  l.prog = std::move(loaded->prog.fd);
  l.prog_id = loaded->prog.id;
  l.prog_name = s.name;
  l.prog_kernel_name = loaded->prog.kernel_name;
  l.defers = loaded->prepared.translated.defers;
  return l;
}

void Offload::adopt(Loaded&& l) {
  prog_ = std::move(l.prog);  // old program closes after the swap (it is detached)
  prog_id_ = l.prog_id;
  prog_name_ = std::move(l.prog_name);
  prog_kernel_name_ = std::move(l.prog_kernel_name);
  defers_ = l.defers;
  maps_ = std::move(l.maps);
  btf_ = std::move(l.btf);
}

void Offload::pin_program_and_maps(LoadReport* report) {
  if (auto s = pins_.pin(prog_.get(), "prog"); !s) note(report, s.error().message);
  for (const auto& m : maps_.all())
    if (auto s = pins_.pin(m.fd.get(), map_pin_leaf(m.def)); !s) note(report, s.error().message);
}

namespace {

// A random non-zero cookie for a program's trampoline (PROTOCOL.md 8.1).
std::uint64_t random_cookie() {
  std::uint64_t v = 0;
  while (v == 0)
    if (::getrandom(&v, sizeof v, 0) != ssize_t(sizeof v)) v = 0;
  return v;
}

}  // namespace

Result<Offload> Offload::load(const OffloadOptions& given, const Submission& submission,
                              const Policy& policy, LoadReport* report) {
  OffloadOptions options = given;
  if (options.cookie == 0 && may_defer(submission)) options.cookie = random_cookie();
  if (auto s = check(options, submission, policy); !s) return s.error();
  if (options.tap.empty() || options.tap.size() >= IF_NAMESIZE)
    return err("tap name '" + options.tap + "' is not a valid interface name");
  int ifindex = static_cast<int>(if_nametoindex(options.tap.c_str()));
  if (ifindex == 0) return err(ENODEV, "tap '" + options.tap + "' does not exist");

  auto pins = SessionPins::create(options.session, options.pin_root);
  if (!pins) return pins.error();
  Offload off(options, std::move(*pins));
  off.tap_ifindex_ = ifindex;

  if (options.stats) {
    auto st = create_stats_map(kernel_object_name(options.session, "stats"));
    if (!st) return st.error();
    off.stats_map_ = std::move(*st);
    off.stats_map_id_ = map_id_of(off.stats_map_.get());
    if (auto s = off.pins_.pin(off.stats_map_.get(), "stats"); !s) return s.error();
  }

  auto loaded = build(options, ifindex, off.stats_map_.get(), submission, policy, report);
  if (!loaded) return loaded.error();
  off.adopt(std::move(*loaded));
  off.pin_program_and_maps(report);

  if (options.flavor == Flavor::Chain) {
    auto slot = ChainSlot::create(options.session, options.tap, off.pins_);
    if (!slot) return slot.error();
    off.chain_.emplace(std::move(*slot));
    if (options.attach)
      if (auto s = off.chain_->set(off.prog_.get()); !s) return s.error();
  } else if (options.flavor == Flavor::Tun) {
    if (options.attach) {
      auto tun = TunTxXdp::attach(options.tap, off.prog_.get());
      if (!tun) return tun.error();
      off.tun_.emplace(std::move(*tun));
    }
  } else if (options.attach) {
    std::string fallback;
    auto tc = TapEgress::attach(ifindex, off.prog_.get(), off.pins_.path(kTcxEgressLeaf), &fallback);
    if (!tc) return tc.error();
    off.tc_.emplace(std::move(*tc));
    if (!fallback.empty()) note(report, fallback);
  }
  return off;
}

Status Offload::reload(const Submission& submission, const Policy& policy, LoadReport* report) {
  if (auto s = check(options_, submission, policy); !s) return s.error();
  auto loaded = build(options_, tap_ifindex_, stats_map_.get(), submission, policy, report);
  if (!loaded) return loaded.error();
  // The one atomic step: afterwards every packet sees the new program.
  if (tc_) {
    if (auto s = tc_->replace(loaded->prog.get()); !s) return s.error();
  } else if (chain_ && chain_->occupied()) {
    if (auto s = chain_->set(loaded->prog.get()); !s) return s.error();
  } else if (tun_) {
    if (auto s = tun_->replace(loaded->prog.get()); !s) return s.error();
  }
  pins_.unpin("prog");
  for (const auto& m : maps_.all()) pins_.unpin(map_pin_leaf(m.def));
  adopt(std::move(*loaded));
  pin_program_and_maps(report);
  return Ok{};
}

Status Offload::persist() {
  if (!prog_) return err("session '" + options_.session + "': nothing is loaded to leave in place");
  std::vector<std::string> needed = {"prog"};
  for (const auto& m : maps_.all()) needed.push_back(map_pin_leaf(m.def));
  if (stats_map_) needed.emplace_back("stats");
  if (chain_) needed.push_back(chain_->pin_leaf());
  // A tcx link is pinned by TcxLink itself (a failed pin fails the attach).
  const auto& pinned = pins_.leaves();
  for (const auto& leaf : needed)
    if (std::find(pinned.begin(), pinned.end(), leaf) == pinned.end())
      return err("session '" + options_.session + "': cannot leave it loaded: " + pins_.path(leaf) +
                 " is not pinned, so nothing could find it again");
  pins_.release();
  if (tc_) tc_->release();
  if (chain_) chain_->release();
  if (tun_) tun_->release();
  // Our fds go now; the pins and the attachment hold the objects.
  tc_.reset();
  chain_.reset();
  tun_.reset();
  prog_.reset();
  prog_id_ = 0;
  maps_ = HostMaps{};
  stats_map_.reset();
  stats_map_id_ = 0;
  btf_.reset();
  return Ok{};
}

Result<ActionStats> Offload::stats() const {
  if (!stats_map_) return err("session '" + options_.session + "': statistics are off");
  auto totals = read_stats_map(stats_map_.get());
  if (!totals) return totals.error();
  ActionStats out;
  for (std::size_t slot = 0; slot < totals->size() && slot < out.count.size(); ++slot) out.count[slot] = (*totals)[slot];
  return out;
}

std::vector<KernelObjectRef> Offload::kernel_objects() const {
  std::vector<KernelObjectRef> out;
  if (prog_id_) out.push_back({ObjectKind::Prog, prog_id_});
  for (const auto& m : maps_.all())
    if (m.id) out.push_back({ObjectKind::Map, m.id});
  if (stats_map_id_) out.push_back({ObjectKind::Map, stats_map_id_});
  if (chain_ && chain_->map_id()) out.push_back({ObjectKind::Map, chain_->map_id()});
  if (btf_ && btf_->id) out.push_back({ObjectKind::Btf, btf_->id});
  return out;
}

}  // namespace xo::host
