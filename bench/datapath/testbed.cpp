#include "bench/datapath/testbed.hpp"

#include <bpf/bpf.h>
#include <net/if.h>
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "guest/builder/elf_builder.hpp"
#include "host/core/pins.hpp"

namespace xo::bench {

namespace {

Result<host::Offload> load_offload(const Testbed& tb, int which, Flavor flavor, const std::string& tap,
                                   bool attach) {
  host::OffloadOptions o;
  o.session = tb.session + (flavor == Flavor::Tc ? "-tc-xdp" : "-chain-xdp") + std::to_string(which + 1);
  o.tap = tap;
  o.flavor = flavor;
  o.stats = tb.options.stats;
  o.attach = attach;
  DefaultPolicy policy;
  host::LoadReport report;
  auto off = host::Offload::load(o, tb.submission[which], policy, &report);
  if (!off) return err("offload " + o.session + ": " + off.error().describe());
  return off;
}

Result<BpfObject> load_chain_ingress(const Testbed& tb, const host::Offload* offload) {
  auto obj = BpfObject::open(tb.options.paths.chain_ingress());
  if (!obj) return obj.error();
  if (auto s = obj->set_rodata_u32("tap_ifindex", static_cast<std::uint32_t>(tb.t1->ifindex())); !s)
    return s.error();
  UniqueFd chain;
  if (offload) {
    std::string pin = offload->pin_dir() + "/" + host::ChainSlot::leaf_for(offload->options().tap);
    chain.reset(bpf_obj_get(pin.c_str()));
    if (!chain) return err("bpf_obj_get " + pin + " failed");
    if (auto s = obj->reuse_map("xo_chain", chain.get()); !s) return s.error();
  }
  if (auto s = obj->load(); !s) return s.error();
  return obj;  // the program holds the map; our fd may close
}

}  // namespace

void remove_stale_sessions() {
  DIR* d = opendir(std::string(host::kDefaultPinRoot).c_str());
  if (!d) return;
  std::vector<std::string> stale;
  const std::string prefix = kSessionPrefix;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::atol(name.c_str() + prefix.size());
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  closedir(d);
  for (const auto& name : stale) (void)host::remove_stale_session(name);
}

int GuestPair::rxcnt_fd(int i) const {
  for (const auto& m : prog[i]->maps().all())
    if (m.def.name == "rxcnt") return m.fd.get();
  return -1;
}

int Testbed::deferred_rxcnt_fd() const {
  for (const auto& m : deferred[0]->maps().all())
    if (m.def.name == "rxcnt") return m.fd.get();
  return -1;
}

Status Testbed::anchor(int prog_fd) {
  if (anchor_links.size() % 2 == 0) {
    const std::string n = id + "k" + std::to_string(anchor_veths.size());
    auto v = create_veth(n + "a", n + "b");
    if (!v) return v.error();
    anchor_veths.push_back(std::move(*v));
  }
  const std::string dev = anchor_veths.back().name().substr(0, anchor_veths.back().name().size() - 1) +
                          (anchor_links.size() % 2 == 0 ? "a" : "b");
  auto link = attach_xdp(prog_fd, static_cast<int>(if_nametoindex(dev.c_str())));
  if (!link) return link.error();
  anchor_links.push_back(std::move(*link));
  return Ok{};
}

Testbed::~Testbed() {
  // Receivers first (they read the taps), then everything in reverse.
  rx2.reset();
  rx1.reset();
}

Result<std::unique_ptr<Testbed>> Testbed::create(const TestbedOptions& o) {
  auto tb = std::make_unique<Testbed>();
  tb->options = o;
  tb->id = unique_ifname("xd", "");
  tb->session = std::string(kSessionPrefix) + std::to_string(getpid());
  for (int i = 0; i < 2; ++i) {
    auto s = guest::build_submission_from_file(o.paths.xdp_obj(i + 1));
    if (!s) return err(o.paths.xdp_obj(i + 1) + ": " + s.error().describe());
    tb->submission[i] = std::move(*s);
  }
  auto progs = BpfObject::open(o.paths.progs);
  if (!progs) return progs.error();
  tb->progs.emplace(std::move(*progs));
  if (auto s = tb->progs->load(); !s) return s.error();

  // case 1
  auto c1 = create_veth(tb->id + "a", tb->id + "b");
  if (!c1) return c1.error();
  tb->c1 = std::move(*c1);
  auto sink = attach_xdp(tb->progs->prog_fd("sink"), static_cast<int>(if_nametoindex((tb->id + "b").c_str())));
  if (!sink) return sink.error();
  tb->c1b_sink = std::move(*sink);
  auto t1 = Tap::create(tb->id + "t1");
  if (!t1) return t1.error();
  tb->t1.emplace(std::move(*t1));
  for (int i = 0; i < 2; ++i) {
    auto off = load_offload(*tb, i, Flavor::Chain, tb->t1->name(), true);
    if (!off) return off.error();
    tb->chain.prog[i].emplace(std::move(*off));
  }
  auto plain = load_chain_ingress(*tb, nullptr);
  if (!plain) return plain.error();
  tb->ingress_plain.emplace(std::move(*plain));
  for (int i = 0; i < 2; ++i) {
    auto ci = load_chain_ingress(*tb, &*tb->chain.prog[i]);
    if (!ci) return ci.error();
    tb->ingress_offload[i].emplace(std::move(*ci));
  }
  for (int i = 0; i < 2; ++i) {
    auto nx = BpfObject::open(o.paths.xdp_obj(i + 1));
    if (!nx) return nx.error();
    tb->native_xdp[i].emplace(std::move(*nx));
    if (auto s = tb->native_xdp[i]->load(); !s) return s.error();
    auto ci = load_chain_ingress(*tb, nullptr);
    if (!ci) return ci.error();
    tb->ingress_native[i].emplace(std::move(*ci));
    const std::uint32_t slot = 0;
    const int prog = tb->native_xdp[i]->prog_fd("xdp_prog1");
    if (bpf_map_update_elem(tb->ingress_native[i]->map_fd("xo_chain"), &slot, &prog, BPF_ANY) != 0)
      return err("native chain slot: " + std::string(strerror(errno)));
  }
  // Deferred actions (issue 13): chain offloads whose descriptor frames go
  // into t1 like case 1's passed frames.
  for (int k = 0; k < 3; ++k) {
    auto s = guest::build_submission_from_file(o.paths.deferred, std::string(Testbed::kDeferredProgs[k]));
    if (!s) return err(o.paths.deferred + ": " + s.error().describe());
    tb->deferred_sub[k] = std::move(*s);
    host::OffloadOptions oo;
    oo.session = tb->session + "-chain-d" + std::to_string(k);
    oo.tap = tb->t1->name();
    oo.flavor = Flavor::Chain;
    oo.stats = o.stats;
    DefaultPolicy policy;
    auto off = host::Offload::load(oo, tb->deferred_sub[k], policy);
    if (!off) return err("offload " + oo.session + ": " + off.error().describe());
    tb->deferred[k].emplace(std::move(*off));
    auto ci = load_chain_ingress(*tb, &*tb->deferred[k]);
    if (!ci) return ci.error();
    tb->ingress_deferred[k].emplace(std::move(*ci));
  }
  tb->rx1 = std::make_unique<TapReceiver>(*tb->t1, o.rx_cpu);

  // case 2
  auto g = ChildNetns::create();
  if (!g) return g.error();
  tb->g.emplace(std::move(*g));
  auto br = create_bridge(tb->id + "br");
  if (!br) return br.error();
  tb->br = std::move(*br);
  // Per-netns since Linux 5.3; absent when br_netfilter is not loaded.
  for (const char* f : {"iptables", "ip6tables", "arptables"}) {
    std::ofstream sysctl(std::string("/proc/sys/net/bridge/bridge-nf-call-") + f);
    if (sysctl) sysctl << (o.bridge_nf ? "1\n" : "0\n");
  }
  tb->g_name = tb->id + "g";
  auto v = create_veth(tb->id + "v", tb->g_name, &*tb->g);
  if (!v) return v.error();
  tb->v = std::move(*v);
  if (auto s = enslave(tb->v.name(), tb->br.name()); !s) return s.error();
  auto napi = attach_xdp(tb->progs->prog_fd("napi_pass"), tb->v.ifindex());
  if (!napi) return napi.error();
  tb->v_napi = std::move(*napi);
  Status in_g = Ok{};
  std::thread([&] {
    if (auto s = tb->g->enter(); !s) {
      in_g = s;
      return;
    }
    tb->g_ifindex = static_cast<int>(if_nametoindex(tb->g_name.c_str()));
    auto gs = attach_xdp(tb->progs->prog_fd("sink"), tb->g_ifindex);
    if (!gs) in_g = gs.error();
    else tb->g_sink = std::move(*gs);
  }).join();
  if (!in_g) return in_g.error();
  auto t2 = Tap::create(tb->id + "t2");
  if (!t2) return t2.error();
  tb->t2.emplace(std::move(*t2));
  if (auto s = enslave(tb->t2->name(), tb->br.name()); !s) return s.error();
  for (int i = 0; i < 2; ++i) {
    auto off = load_offload(*tb, i, Flavor::Tc, tb->t2->name(), false);
    if (!off) return off.error();
    tb->tc.prog[i].emplace(std::move(*off));
  }
  for (int i = 0; i < 2; ++i) {
    auto nt = BpfObject::open(o.paths.native_tc(i + 1));
    if (!nt) return nt.error();
    tb->native_tc[i].emplace(std::move(*nt));
    if (i == 1)
      if (auto s = tb->native_tc[i]->set_rodata_u32("tap_ifindex", static_cast<std::uint32_t>(tb->t2->ifindex())); !s)
        return s.error();
    if (auto s = tb->native_tc[i]->load(); !s) return s.error();
  }
  tb->rx2 = std::make_unique<TapReceiver>(*tb->t2, o.rx_cpu);

  for (int fd : {tb->progs->prog_fd("gen_drop"), tb->progs->prog_fd("gen_tx"), tb->progs->prog_fd("gen_pass"),
                 tb->ingress_plain->prog_fd("xo_chain_ingress"), tb->ingress_offload[0]->prog_fd("xo_chain_ingress"),
                 tb->ingress_offload[1]->prog_fd("xo_chain_ingress"),
                 tb->ingress_native[0]->prog_fd("xo_chain_ingress"),
                 tb->ingress_native[1]->prog_fd("xo_chain_ingress"),
                 tb->ingress_deferred[0]->prog_fd("xo_chain_ingress"),
                 tb->ingress_deferred[1]->prog_fd("xo_chain_ingress"),
                 tb->ingress_deferred[2]->prog_fd("xo_chain_ingress")})
    if (auto s = tb->anchor(fd); !s) return s.error();
  return tb;
}

}  // namespace xo::bench
