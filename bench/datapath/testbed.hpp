// Everything the data path benchmark sets up once per run, owned in one
// place and torn down in reverse order of creation (members are declared in
// creation order):
//
//   case 1  veth c1a <-> c1b, tap t1.  Live frames arrive on c1a; the host
//           ingress program (examples/chain/chain_ingress) redirects them
//           into t1, or tail-calls the chain flavor of the guest program.
//           c1b carries `sink`, so XDP_TX out of c1a is counted there.
//   case 2  netns G: veth g; host side: veth v (its peer), bridge br with
//           ports v and tap t2. Live frames either arrive on v and are
//           XDP_PASSed (skbs received on the port; default), or arrive on g
//           and are XDP_TXed into v, whose XDP turns them into skbs. The
//           bridge forwards them to t2. g carries `sink`, so frames bounced
//           back through the bridge are counted.
//   guest   one TapReceiver per tap (QEMU's place).
//   offload per program (xdp1, xdp2): chain flavor on t1 (attached: slot
//           filled), tc flavor on t2 (loaded, attached per measurement).
//   deferred (issue 13) xdp_half, xdp_redirect_all, xdp_pass_all
//           (deferred_progs.bpf.c): chain flavor on t1, each with its own
//           chain_ingress, like case 1.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/datapath/bpf_objects.hpp"
#include "bench/datapath/netdev.hpp"
#include "bench/datapath/tap_receiver.hpp"
#include "host/core/offload.hpp"
#include "core/submission.hpp"

namespace xo::bench {

// bpffs sessions of this benchmark: /sys/fs/bpf/xoffload/xodatapath-<pid>-*.
inline constexpr const char* kSessionPrefix = "xodatapath-";
// Removes session directories of benchmark runs whose process is gone (a
// crash or SIGKILL skips the destructors that unpin). Best effort.
void remove_stale_sessions();

struct Paths {
  std::string examples_bin;  // build/examples
  std::string progs;         // datapath_progs.o
  std::string deferred;      // datapath_deferred.o (issue 13's rows)
  std::string xdp_obj(int which) const {
    return examples_bin + "/xdp" + std::to_string(which) + "/xdp" + std::to_string(which) + "_kern.o";
  }
  std::string chain_ingress() const { return examples_bin + "/chain/chain_ingress.o"; }
  std::string native_tc(int which) const {
    return examples_bin + "/native/xdp" + std::to_string(which) + "_tc.o";
  }
};

struct TestbedOptions {
  Paths paths;
  bool stats = true;  // per-action counters in the offloaded programs
  // Case 2 generator: true = live frames XDP_PASSed on the bridge's veth
  // port (skbs received from the veth, the generator's cost kept off the
  // path); false = XDP_TX out of the veth in the other netns into the port.
  bool case2_port_pass = true;
  // br_netfilter's bridge-nf-call-{iptables,ip6tables,arptables} in the
  // run's netns. Off by default, as libvirt recommends for bridged guests:
  // with it on, every bridged frame also walks the IP netfilter hooks.
  bool bridge_nf = false;
  int rx_cpu = 1;
};

// The offloaded guest programs (index 0 = xdp1, 1 = xdp2).
struct GuestPair {
  std::optional<host::Offload> prog[2];
  int rxcnt_fd(int i) const;  // the guest program's own per-protocol counters
};

struct Testbed {
  static Result<std::unique_ptr<Testbed>> create(const TestbedOptions& o);
  ~Testbed();

  TestbedOptions options;
  std::string id;       // per-run prefix of every interface name (<= 15 chars)
  std::string session;  // per-run prefix of every xoffload session (kSessionPrefix<pid>)
  Submission submission[2];

  std::optional<BpfObject> progs;  // gen_drop, gen_tx, napi_pass, sink

  // case 1
  Link c1;  // c1a (generator ingress); peer c1b
  UniqueFd c1b_sink;
  std::optional<Tap> t1;
  GuestPair chain;
  std::optional<BpfObject> ingress_plain;     // empty xo_chain: redirect only
  std::optional<BpfObject> ingress_offload[2];  // xo_chain = the session's array
  std::unique_ptr<TapReceiver> rx1;
  // Reference: the same guest C compiled natively for the host hook, no
  // xoffload involved: xdp{1,2}_kern.o tail-called from a chain_ingress with
  // its own xo_chain (case 1), examples/native/xdp{1,2}_tc on t2 (case 2).
  std::optional<BpfObject> native_xdp[2];
  std::optional<BpfObject> ingress_native[2];
  // Deferred actions (issue 13): kDeferredProgs[k] offloaded (chain) on t1.
  static constexpr const char* kDeferredProgs[3] = {"xdp_half", "xdp_redirect_all", "xdp_pass_all"};
  Submission deferred_sub[3];
  std::optional<host::Offload> deferred[3];
  std::optional<BpfObject> ingress_deferred[3];
  int deferred_rxcnt_fd() const;  // xdp_half's own per-frame counter

  // case 2
  std::optional<ChildNetns> g;
  Link br;
  Link v;  // host side; peer g_name in g
  std::string g_name;
  int g_ifindex = 0;  // in g
  UniqueFd v_napi, g_sink;
  std::optional<Tap> t2;
  GuestPair tc;
  std::optional<BpfObject> native_tc[2];  // prog xdp{1,2}_tc, attached per measurement
  std::unique_ptr<TapReceiver> rx2;

  // Dispatcher anchors: every live-frame program is also attached as XDP to
  // an otherwise unused veth. BPF_PROG_TEST_RUN for XDP puts the program
  // into the XDP dispatcher and takes it out again, each a synchronize_rcu()
  // (tens of ms on a busy machine) unless the program is already there
  // because a device runs it; then both are a refcount.
  std::vector<Link> anchor_veths;
  std::vector<UniqueFd> anchor_links;
  Status anchor(int prog_fd);

  int sink_map() const { return progs->map_fd("sink_count"); }
};

}  // namespace xo::bench
