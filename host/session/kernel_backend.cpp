// SessionBackend over xo_host. PROG_LOAD runs the one load pipeline
// (host/core/pipeline.hpp) against the session's own maps: the protocol
// creates maps with MAP_CREATE before PROG_LOAD, and several programs of one
// guest share them.
#include "host/session/kernel_backend.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <algorithm>
#include <optional>
#include <set>

#include "host/core/attach_chain.hpp"
#include "host/core/attach_egress.hpp"
#include "host/core/btf_loader.hpp"
#include "host/core/host_maps.hpp"
#include "host/core/kernel_log.hpp"
#include "host/core/kernel_memory.hpp"
#include "host/core/kernel_prog.hpp"
#include "host/core/names.hpp"
#include "host/core/pipeline.hpp"
#include "host/core/pins.hpp"
#include "host/core/stats_map.hpp"
#include "host/session/log.hpp"
#include "host/session/session.hpp"

namespace xo::session {

namespace ts = xo::transport;

namespace {

std::int32_t neg_errno() { return errno > 0 ? -errno : ts::status::kEINVAL; }

// "<kind><handle>_<name>" (tools/sessions.cpp reads them back); the guest's
// name made bpffs-safe by the one host::pin_leaf.
std::string leaf(std::string_view kind, std::uint32_t handle, std::string_view name) {
  return host::pin_leaf(std::string(kind) + std::to_string(handle) + (name.empty() ? "" : "_"), name);
}

// Pins one object for as long as it lives.
class Pin {
 public:
  Pin(host::SessionPins* pins, int fd, std::string leaf_name, std::string_view who) : pins_(pins) {
    if (!pins_) return;
    if (auto s = pins_->pin(fd, leaf_name); !s)
      log_line(LogLevel::Warn, who, "cannot pin " + leaf_name + ": " + s.error().message);
    else
      leaf_ = std::move(leaf_name);
  }
  // Claims a pin a previous daemon left (adoption): it is removed with the
  // object, like one we made.
  struct Adopted {};
  Pin(host::SessionPins* pins, std::string leaf_name, Adopted) : pins_(pins), leaf_(std::move(leaf_name)) {}
  ~Pin() {
    if (pins_ && !leaf_.empty()) pins_->unpin(leaf_);
  }
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;

 private:
  host::SessionPins* pins_;
  std::string leaf_;
};

class KernelBtf final : public BackendBtf {
 public:
  KernelBtf(host::LoadedBtf b, std::uint64_t bytes) : btf_(std::move(b)), bytes_(bytes) {}
  std::uint32_t kernel_id() const override { return btf_.id; }
  std::uint64_t kernel_bytes() const override { return bytes_; }
  int fd() const { return btf_.fd.get(); }

 private:
  host::LoadedBtf btf_;
  std::uint64_t bytes_;
};

class KernelMap final : public BackendMap {
 public:
  KernelMap(host::HostMaps maps, std::uint64_t bytes, host::SessionPins* pins, std::string_view who)
      : maps_(std::move(maps)),
        bytes_(bytes),
        pin_(pins, map().fd.get(), leaf("map", map().def.handle, map().def.name), who) {}
  KernelMap(host::HostMaps maps, std::uint64_t bytes, host::SessionPins* pins, Pin::Adopted a)
      : maps_(std::move(maps)), bytes_(bytes), pin_(pins, leaf("map", map().def.handle, map().def.name), a) {}
  std::uint32_t kernel_id() const override { return map().id; }
  std::uint64_t kernel_bytes() const override { return bytes_; }
  int fd() const { return map().fd.get(); }

  // Keyless maps take a NULL key: the kernel refuses any other pointer
  // when key_size is 0.
  std::int32_t lookup(std::span<const std::uint8_t> key, std::vector<std::uint8_t>& value) override {
    if (map().def.type == MapType::BloomFilter) {  // the syscall reads the value to test
      value.assign(key.begin(), key.end());
      return bpf_map_lookup_elem(fd(), nullptr, value.data()) == 0 ? 0 : neg_errno();
    }
    value.resize(map().user_value_size());
    return bpf_map_lookup_elem(fd(), key_ptr(key), value.data()) == 0 ? 0 : neg_errno();
  }
  std::int32_t update(std::span<const std::uint8_t> key, std::span<const std::uint8_t> value,
                      std::uint64_t flags) override {
    return bpf_map_update_elem(fd(), key_ptr(key), value.data(), flags) == 0 ? 0 : neg_errno();
  }
  std::int32_t remove(std::span<const std::uint8_t> key) override {
    if (map().def.type == MapType::Queue || map().def.type == MapType::Stack) {  // pop
      std::vector<std::uint8_t> popped(map().def.value_size);
      return bpf_map_lookup_and_delete_elem(fd(), nullptr, popped.data()) == 0 ? 0 : neg_errno();
    }
    return bpf_map_delete_elem(fd(), key_ptr(key)) == 0 ? 0 : neg_errno();
  }
  std::int32_t update_object(std::span<const std::uint8_t> key, const BackendMap* inner, const BackendProg* prog,
                             std::uint64_t flags) override;
  std::int32_t next_key(std::span<const std::uint8_t> key, std::vector<std::uint8_t>& next) override {
    next.resize(map().def.key_size);
    return bpf_map_get_next_key(fd(), key.empty() ? nullptr : key.data(), next.data()) == 0 ? 0 : neg_errno();
  }

 private:
  const host::HostMap& map() const { return maps_.all().front(); }
  const void* key_ptr(std::span<const std::uint8_t> key) const {
    return map_type_is_keyless(map().def.type) ? nullptr : key.data();
  }
  host::HostMaps maps_;
  std::uint64_t bytes_;
  Pin pin_;
};

// The tap ifindexes the session's loaded programs carry as a constant (the
// redirect into the tap: PASS in chain, TX in tc). A device recreated with
// the tap's name has a new ifindex, so those programs would redirect into
// nothing, or into whatever device gets the old number: tap_alive() says
// the tap is gone while any program carries another ifindex.
using BakedIfindexes = std::shared_ptr<std::multiset<int>>;

class BakedIfindexRef {
 public:
  BakedIfindexRef(BakedIfindexes set, int ifindex) : set_(std::move(set)), ifindex_(ifindex) {
    set_->insert(ifindex_);
  }
  ~BakedIfindexRef() { set_->erase(set_->find(ifindex_)); }
  BakedIfindexRef(const BakedIfindexRef&) = delete;
  BakedIfindexRef& operator=(const BakedIfindexRef&) = delete;

 private:
  BakedIfindexes set_;
  int ifindex_;
};

class KernelProgObject final : public BackendProg {
 public:
  KernelProgObject(host::KernelProg prog, UniqueFd stats, std::uint64_t bytes, host::SessionPins* pins,
                   std::uint32_t handle, const std::string& name, std::string_view who, BakedIfindexes baked,
                   int ifindex)
      : baked_(std::move(baked), ifindex),
        prog_(std::move(prog)),
        stats_(std::move(stats)),
        bytes_(bytes),
        prog_pin_(pins, prog_.fd.get(), leaf("prog", handle, name), who),
        stats_pin_(pins, stats_.get(), leaf("stats", handle, ""), who) {}
  KernelProgObject(host::KernelProg prog, UniqueFd stats, std::uint64_t bytes, host::SessionPins* pins,
                   std::uint32_t handle, const std::string& name, Pin::Adopted a, BakedIfindexes baked, int ifindex)
      : baked_(std::move(baked), ifindex),
        prog_(std::move(prog)),
        stats_(std::move(stats)),
        bytes_(bytes),
        prog_pin_(pins, leaf("prog", handle, name), a),
        stats_pin_(pins, leaf("stats", handle, ""), a) {}
  std::uint32_t kernel_id() const override { return prog_.id; }
  std::uint64_t kernel_bytes() const override { return bytes_; }
  int fd() const { return prog_.fd.get(); }

  std::optional<RunStats> run_stats() const override {
    bpf_prog_info info{};
    std::uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd(), &info, &len) != 0) return std::nullopt;
    return RunStats{info.run_time_ns, info.run_cnt};
  }

  Outcome<std::vector<ts::ActionCounter>> stats() override {
    auto totals = host::read_stats_map(stats_.get());
    if (!totals) return Failure{-totals.error().code, totals.error().message};
    std::vector<ts::ActionCounter> out;
    for (std::uint32_t slot = 0; slot < translator::kStatsSlots; ++slot) {
      const std::uint32_t action = slot == translator::kStatsSlotUnknown      ? ts::kActionPolicyDrop
                                   : slot == translator::kStatsSlotSampleLost ? ts::kActionSampleLost
                                                                              : slot;
      out.push_back(ts::ActionCounter{action, (*totals)[slot], 0});
    }
    return out;
  }

 private:
  BakedIfindexRef baked_;
  host::KernelProg prog_;
  UniqueFd stats_;
  std::uint64_t bytes_;
  Pin prog_pin_;
  Pin stats_pin_;
};

// The host fd of the session's own object goes into the kernel map; the
// guest only ever named it by handle.
std::int32_t KernelMap::update_object(std::span<const std::uint8_t> key, const BackendMap* inner,
                                      const BackendProg* prog, std::uint64_t flags) {
  const int object_fd = inner ? static_cast<const KernelMap*>(inner)->fd()
                              : prog ? static_cast<const KernelProgObject*>(prog)->fd() : -1;
  if (object_fd < 0) return ts::status::kEINVAL;
  const std::uint32_t value = static_cast<std::uint32_t>(object_fd);
  return bpf_map_update_elem(fd(), key.data(), &value, flags) == 0 ? 0 : neg_errno();
}

class KernelBackend final : public SessionBackend {
 public:
  KernelBackend(const SessionConfig& c, const std::string& pin_root, bool adopt)
      : session_(c.name), tap_(c.tap), who_(c.name + "/" + c.tap), pin_root_(pin_root) {
    chain_tx_ = c.chain_tx;
    tier_ = c.tier;
    reemit_ = c.reemit;
    if (c.guest_mac) guest_mac_ = *c.guest_mac;
    if (chain_tx_ == translator::ChainTx::GuestMac && !c.guest_mac) {
      chain_tx_ = translator::ChainTx::Drop;  // no MAC to allow: nothing leaves
      if (c.flavors & flavor_bit(Flavor::Chain))
        log_line(LogLevel::Info, who_, "chain XDP_TX frames will be dropped: no guest_mac is configured (chain_tx)");
    }
    // The runtime watchdog reads the kernel's per-program run statistics,
    // which the kernel keeps only while someone holds a BPF_ENABLE_STATS
    // fd (or kernel.bpf_stats_enabled is set); each backend holds its own.
    if (c.quotas.max_ns_per_packet != 0) {
      run_stats_on_.reset(bpf_enable_stats(BPF_STATS_RUN_TIME));
      if (!run_stats_on_)
        log_line(LogLevel::Warn, who_, "runtime watchdog off: cannot enable BPF run statistics (" +
                                           host::errno_name(errno) + ")");
    }
    if (adopt) {
      if (auto p = host::SessionPins::adopt(session_, pin_root)) {
        pins_.emplace(std::move(*p));
        adopting_ = true;
      }
    }
    if (!pins_) {
      remove_stale_pins(session_, pin_root);
      if (auto p = host::SessionPins::create(session_, pin_root))
        pins_.emplace(std::move(*p));
      else
        log_line(LogLevel::Warn, who_, "objects will not be pinned: " + p.error().message);
    }
    int n = libbpf_num_possible_cpus();
    cpus_ = n > 0 ? unsigned(n) : 1;
  }
  ~KernelBackend() override {
    detach();
    chain_.reset();
  }

  unsigned possible_cpus() const override { return cpus_; }

  Outcome<std::unique_ptr<BackendBtf>> load_btf(std::span<const std::uint8_t> blob) override {
    host::BtfQuota q;
    q.max_bytes = ts::kMaxBtfSize;
    auto btf = host::load_btf(blob, q);
    if (!btf) return failure_of(btf.error().prefixed("BTF_LOAD: "), btf.error().message);
    return std::unique_ptr<BackendBtf>(std::make_unique<KernelBtf>(std::move(*btf), host::btf_kernel_bytes(blob)));
  }

  Outcome<std::unique_ptr<BackendMap>> create_map(const MapDef& guest_def, const BackendBtf* btf,
                                                  const BackendMap* inner) override {
    host::MapQuota q;  // the session's quotas were checked by the caller
    q.max_maps = 1;
    q.max_total_bytes = ~std::size_t(0);
    // Preallocated: the kernel's memlock figure at creation is then all the
    // map can ever cost (a BPF_F_NO_PREALLOC hash grows with every insert,
    // past what was charged). LPM tries cannot be preallocated (the kernel
    // requires the flag); they are charged their upper bound instead.
    MapDef def = guest_def;
    const bool lpm = def.type == MapType::LpmTrie;
    if (!lpm) def.flags &= ~std::uint32_t(BPF_F_NO_PREALLOC);
    int btf_fd = btf ? static_cast<const KernelBtf*>(btf)->fd() : -1;
    host::MapFdOf template_fd = [inner, &def](std::uint32_t h) -> std::optional<int> {
      if (!inner || h != def.inner_map) return std::nullopt;
      return static_cast<const KernelMap*>(inner)->fd();
    };
    auto maps = host::create_host_maps(session_, std::span<const MapDef>(&def, 1), btf_fd, q, template_fd);
    if (!maps) return failure_of(maps.error().prefixed("MAP_CREATE: "));
    for (const auto& n : maps->notes()) log_line(LogLevel::Debug, who_, n);
    auto bytes = host::fd_memlock(maps->all().front().fd.get());
    if (!bytes) return Failure{ts::status::kEIO, "MAP_CREATE: the kernel does not say what the map costs"};
    if (lpm) bytes = std::max<std::uint64_t>(*bytes, charged_map_bytes(def, cpus_));
    return std::unique_ptr<BackendMap>(std::make_unique<KernelMap>(std::move(*maps), *bytes, pins(), who_));
  }

  Outcome<std::unique_ptr<BackendLoad>> begin_load(ProgLoadInput in) override;
  Outcome<std::unique_ptr<BackendProg>> finish_load(BackendLoad& load) override;

  Done attach(BackendProg& prog, Flavor flavor) override {
    const int fd = static_cast<KernelProgObject&>(prog).fd();
    if (flavor == Flavor::Chain) {
      if (tc_) tc_.reset();  // the tap has one owner of its offload at a time
      if (!chain_) {
        if (!pins_) return Failure{ts::status::kEPERM, "chain flavor needs bpffs pins, and they are unavailable"};
        auto slot = host::ChainSlot::create(session_, tap_, *pins_);
        if (!slot) return failure_of(slot.error());
        chain_.emplace(std::move(*slot));
      }
      if (auto s = chain_->set(fd); !s) return failure_of(s.error());
      return std::nullopt;
    }
    if (chain_) (void)chain_->clear();
    const int ifindex = static_cast<int>(if_nametoindex(tap_.c_str()));
    if (ifindex == 0) return Failure{-ENODEV, "tap '" + tap_ + "' does not exist"};
    if (tc_ && tc_->ifindex() == ifindex) {
      if (auto s = tc_->replace(fd); !s) return failure_of(s.error());
      return std::nullopt;
    }
    tc_.reset();
    std::string fallback;
    auto tc = host::TapEgress::attach(ifindex, fd, link_pin(), &fallback);
    if (!tc) return failure_of(tc.error());
    if (!fallback.empty()) log_line(LogLevel::Warn, who_, fallback);
    tc_.emplace(std::move(*tc));
    attached_ifindex_ = ifindex;
    return std::nullopt;
  }

  void detach() override {
    tc_.reset();
    if (chain_) (void)chain_->clear();
  }

  bool tap_alive() override {
    const int now = static_cast<int>(if_nametoindex(tap_.c_str()));
    if (now == 0) return false;
    // A new device with the old name is not the NIC we attached to, nor the
    // one the loaded programs redirect into.
    if (tc_ && now != attached_ifindex_) return false;
    return std::all_of(baked_->begin(), baked_->end(), [&](int i) { return i == now; });
  }

  std::string attach_point(Flavor flavor) const override {
    if (flavor == Flavor::Chain)
      return "chain slot " + (pins_ ? pins_->path(host::ChainSlot::leaf_for(tap_)) : "chain_" + tap_);
    return (tc_ && !tc_->is_link() ? "tc egress filter on " : "tcx egress link on ") + tap_;
  }

  std::vector<std::string> host_paths() const override { return {pin_root_}; }

  Outcome<std::unique_ptr<BackendBtf>> adopt_btf(std::uint32_t kernel_id, std::span<const std::uint8_t> blob) override {
    // BTF cannot be pinned: it is found by id, alive because an adopted map
    // or program holds it (the session adopts only such BTF).
    UniqueFd fd(bpf_btf_get_fd_by_id(kernel_id));
    if (!fd) return Failure{neg_errno(), "BTF " + std::to_string(kernel_id) + " is gone"};
    return std::unique_ptr<BackendBtf>(
        std::make_unique<KernelBtf>(host::LoadedBtf{std::move(fd), kernel_id}, host::btf_kernel_bytes(blob)));
  }

  Outcome<std::unique_ptr<BackendMap>> adopt_map(const MapDef& def) override {
    if (!adopting_) return Failure{-ENOENT, "nothing to adopt"};
    const std::string l = leaf("map", def.handle, def.name);
    UniqueFd fd(bpf_obj_get(pins_->path(l).c_str()));
    if (!fd) return Failure{neg_errno(), "map pin " + l + " is gone"};
    auto maps = host::adopt_host_map(def, std::move(fd));
    if (!maps) return failure_of(maps.error());
    auto bytes = host::fd_memlock(maps->all().front().fd.get());
    claimed_.insert(l);
    return std::unique_ptr<BackendMap>(
        std::make_unique<KernelMap>(std::move(*maps), bytes.value_or(0), pins(), Pin::Adopted{}));
  }

  Outcome<std::unique_ptr<BackendProg>> adopt_prog(std::uint32_t handle, const std::string& name,
                                                   std::uint32_t kernel_id) override {
    if (!adopting_) return Failure{-ENOENT, "nothing to adopt"};
    const std::string pl = leaf("prog", handle, name), sl = leaf("stats", handle, "");
    host::KernelProg prog;
    prog.fd = UniqueFd(bpf_obj_get(pins_->path(pl).c_str()));
    if (!prog.fd) return Failure{neg_errno(), "program pin " + pl + " is gone"};
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog.fd.get(), &info, &len) != 0 || info.id != kernel_id)
      return Failure{-ESTALE, "program pin " + pl + " holds another program"};
    prog.id = info.id;
    prog.kernel_name = info.name;
    UniqueFd stats(bpf_obj_get(pins_->path(sl).c_str()));
    if (!stats) return Failure{neg_errno(), "stats pin " + sl + " is gone"};
    const auto bytes = host::prog_kernel_bytes(prog.fd.get()).value_or(0) + host::fd_memlock(stats.get()).value_or(0);
    claimed_.insert(pl);
    claimed_.insert(sl);
    // Adoption checked the snapshot's tap ifindex against the tap's (reconcile.cpp).
    const int ifindex = static_cast<int>(if_nametoindex(tap_.c_str()));
    return std::unique_ptr<BackendProg>(std::make_unique<KernelProgObject>(
        std::move(prog), std::move(stats), bytes, pins(), handle, name, Pin::Adopted{}, baked_, ifindex));
  }

  Done adopt_attachment(BackendProg& prog, Flavor flavor) override {
    if (!adopting_) return Failure{-ENOENT, "nothing to adopt"};
    const int ifindex = static_cast<int>(if_nametoindex(tap_.c_str()));
    if (ifindex == 0) return Failure{-ENODEV, "tap '" + tap_ + "' does not exist"};
    if (flavor == Flavor::Chain) {
      auto slot = host::ChainSlot::adopt(tap_, *pins_, prog.kernel_id());
      if (!slot) return failure_of(slot.error());
      if (!slot->occupied()) return Failure{-ESTALE, "chain slot does not run the program"};
      claimed_.insert(slot->pin_leaf());
      chain_.emplace(std::move(*slot));
      return std::nullopt;
    }
    auto tc = host::TapEgress::adopt(ifindex, prog.kernel_id(), link_pin());
    if (!tc) return failure_of(tc.error());
    pins_->forget(host::kTcxEgressLeaf);  // the link removes its own pin
    tc_.emplace(std::move(*tc));
    attached_ifindex_ = ifindex;
    return std::nullopt;
  }

  void finish_adoption() override {
    if (!adopting_) return;
    adopting_ = false;
    // Whatever no adopted object claimed is removed, links first: the
    // program leaves the tap before anything it uses loses its pin.
    std::vector<std::string> unclaimed;
    for (const auto& l : pins_->leaves())
      if (!claimed_.count(l) && l != host::kTcxEgressLeaf) unclaimed.push_back(l);
    if (!tc_ && std::count(pins_->leaves().begin(), pins_->leaves().end(), host::kTcxEgressLeaf))
      unclaimed.insert(unclaimed.begin(), host::kTcxEgressLeaf);
    for (const auto& l : unclaimed) {
      log_line(LogLevel::Info, who_, "restart: removing unclaimed pin " + l);
      pins_->unpin(l);
    }
    claimed_.clear();
  }

 private:
  host::SessionPins* pins() { return pins_ ? &*pins_ : nullptr; }
  // Where the tcx link is pinned; empty without pins (the link then dies
  // with the daemon, which is the pre-link behaviour minus the orphan).
  std::string link_pin() const { return pins_ ? pins_->path(host::kTcxEgressLeaf) : std::string(); }

  std::string session_, tap_, who_, pin_root_;
  UniqueFd run_stats_on_;  // BPF_ENABLE_STATS: run_time_ns/run_cnt are kept while open
  unsigned cpus_ = 1;
  std::optional<host::SessionPins> pins_;  // declared first: outlives every pin
  std::optional<host::ChainSlot> chain_;
  std::optional<host::TapEgress> tc_;  // tcx link (or cls_bpf fallback)
  int attached_ifindex_ = 0;
  translator::ChainTx chain_tx_ = translator::ChainTx::Drop;
  translator::Tier tier_ = translator::Tier::Direct;
  translator::Reemit reemit_;
  std::array<std::uint8_t, 6> guest_mac_{};
  BakedIfindexes baked_ = std::make_shared<std::multiset<int>>();  // see BakedIfindexRef
  bool adopting_ = false;             // pins_ adopted from a crashed daemon, not yet finished
  std::set<std::string> claimed_;     // leaves adopted objects took over
};

// Everything one load needs, owned: the submission, the policy, duplicates
// of the BTF and map fds (the session may free its objects, or go away,
// while the worker verifies), and the stats map made for the program.
class KernelLoad final : public BackendLoad {
 public:
  Submission submission;
  std::shared_ptr<const Policy> policy;
  host::PipelineOptions options;
  std::string kernel_name;
  std::uint32_t handle = 0;
  UniqueFd btf;
  std::map<std::uint32_t, UniqueFd> maps;  // guest handle -> dup of the map fd
  UniqueFd stats;

  // Filled by run().
  std::optional<Result<host::HostProgram>> loaded;
  host::PipelineReport report;

  void run() override {
    host::LoadTarget target;
    target.kernel_name = kernel_name;
    target.btf_fd = btf ? btf.get() : -1;
    target.host_fd_of = [this](std::uint32_t h) -> std::optional<int> {
      if (h == translator::kStatsMapHandle) return stats.get();
      auto it = maps.find(h);
      return it == maps.end() ? std::nullopt : std::optional<int>(it->second.get());
    };
    loaded.emplace(host::load_program(submission, *policy, options, target, &report));
  }
  unsigned kernel_verifications() const override { return report.kernel_verifications; }
};

Outcome<std::unique_ptr<BackendLoad>> KernelBackend::begin_load(ProgLoadInput in) {
  const Submission& s = in.submission;
  const int ifindex = static_cast<int>(if_nametoindex(tap_.c_str()));
  if (ifindex == 0) return Failure{-ENODEV, "prog '" + s.name + "': tap '" + tap_ + "' does not exist"};
  auto load = std::make_unique<KernelLoad>();
  auto created = host::create_stats_map(host::kernel_object_name(session_, "stats"));
  if (!created)
    return Failure{-created.error().code, "prog '" + s.name + "': cannot create the stats map (" +
                                             host::errno_name(created.error().code) + ")"};
  load->stats = std::move(*created);
  auto stats_cpus = host::stats_map_cpus(load->stats.get());
  if (!stats_cpus) return Failure{-stats_cpus.error().code, "prog '" + s.name + "': " + stats_cpus.error().message};
  if (in.btf) {
    load->btf.reset(::fcntl(static_cast<const KernelBtf*>(in.btf)->fd(), F_DUPFD_CLOEXEC, 0));
    if (!load->btf) return Failure{neg_errno(), "prog '" + s.name + "': cannot duplicate the BTF fd"};
  }
  for (std::uint32_t h : in.map_handles) {
    BackendMap* m = in.map_of(h);
    if (!m) continue;
    UniqueFd dup(::fcntl(static_cast<KernelMap*>(m)->fd(), F_DUPFD_CLOEXEC, 0));
    if (!dup) return Failure{neg_errno(), "prog '" + s.name + "': cannot duplicate a map fd"};
    load->maps.emplace(h, std::move(dup));
  }
  load->options.flavor = in.flavor;
  load->options.tap_ifindex = static_cast<std::uint32_t>(ifindex);
  load->options.stats = true;
  load->options.stats_cpus = *stats_cpus;
  load->options.max_insns = in.max_insns;
  load->options.chain_tx = chain_tx_;
  load->options.guest_mac = guest_mac_;
  load->options.tier = tier_;
  load->options.reemit = reemit_;
  load->options.defer = in.defer;
  load->options.cookie = in.cookie;
  load->kernel_name = host::kernel_object_name(session_, s.name);
  load->handle = in.handle;
  load->policy = std::move(in.policy);
  load->submission = std::move(in.submission);
  return std::unique_ptr<BackendLoad>(std::move(load));
}

Outcome<std::unique_ptr<BackendProg>> KernelBackend::finish_load(BackendLoad& base) {
  auto& load = static_cast<KernelLoad&>(base);
  const Submission& s = load.submission;
  for (const auto& n : load.report.notes) log_line(LogLevel::Debug, who_, n);
  if (!load.loaded) return Failure{ts::status::kEIO, "prog '" + s.name + "': the load did not run"};
  auto& loaded = *load.loaded;
  if (!loaded) return failure_of(loaded.error(), std::move(load.report.verifier_log));
  const auto prog_bytes = host::prog_kernel_bytes(loaded->prog.fd.get());
  const auto stats_bytes = host::fd_memlock(load.stats.get());
  if (!prog_bytes || !stats_bytes)
    return Failure{ts::status::kEIO, "prog '" + s.name + "': the kernel does not say what the program costs"};
  auto prog = std::make_unique<KernelProgObject>(std::move(loaded->prog), std::move(load.stats),
                                                 *prog_bytes + *stats_bytes, pins(), load.handle, s.name, who_, baked_,
                                                 int(load.options.tap_ifindex));
  prog->map_handles = loaded->prepared.translated.map_handles();
  return std::unique_ptr<BackendProg>(std::move(prog));
}

}  // namespace

std::unique_ptr<SessionBackend> make_kernel_backend(const SessionConfig& config, const std::string& pin_root,
                                                    bool adopt) {
  return std::make_unique<KernelBackend>(config, pin_root, adopt);
}

void remove_stale_pins(const std::string& session, const std::string& pin_root) {
  std::string dir = pin_root + "/" + session;
  if (::access(dir.c_str(), F_OK) != 0) return;
  if (auto s = host::remove_stale_session(session, pin_root); !s)
    log_line(LogLevel::Warn, session, "stale pins: " + s.error().message);
  else
    log_line(LogLevel::Info, session, "removed stale pins in " + dir);
}

}  // namespace xo::session
