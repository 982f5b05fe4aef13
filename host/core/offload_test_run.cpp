// Offload::test_run: BPF_PROG_TEST_RUN of the host program exactly as the
// host runs it, and the guest's XDP action recovered from it. The stats map
// says which action the guest chose (its counter grows by `repeat`); without
// statistics the host verdict is mapped back, which cannot tell DROP from
// ABORTED in tc (both are TC_ACT_SHOT).
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cerrno>

#include "host/core/kernel_log.hpp"
#include "host/core/offload.hpp"

namespace xo::host {

namespace {

constexpr std::size_t kMaxTestPacket = 3500;  // fits a linear XDP buffer in one page
constexpr std::uint32_t kMaxRepeat = 10'000'000;

std::string tc_verdict_name(std::uint32_t v) {
  switch (static_cast<int>(v)) {
    case TC_ACT_UNSPEC: return "TC_ACT_UNSPEC";
    case TC_ACT_OK: return "TC_ACT_OK";
    case TC_ACT_RECLASSIFY: return "TC_ACT_RECLASSIFY";
    case TC_ACT_SHOT: return "TC_ACT_SHOT";
    case TC_ACT_PIPE: return "TC_ACT_PIPE";
    case TC_ACT_STOLEN: return "TC_ACT_STOLEN";
    case TC_ACT_QUEUED: return "TC_ACT_QUEUED";
    case TC_ACT_REPEAT: return "TC_ACT_REPEAT";
    case TC_ACT_REDIRECT: return "TC_ACT_REDIRECT";
    default: return "TC_ACT(" + std::to_string(static_cast<int>(v)) + ")";
  }
}

std::string xdp_name(std::uint32_t v) {
  return v <= XDP_REDIRECT ? std::string(kActionNames[v]) : "XDP(" + std::to_string(v) + ")";
}

// The guest action implied by the host verdict alone.
std::string action_from_verdict(Flavor f, std::uint32_t v) {
  if (f == Flavor::Tc) {
    switch (static_cast<int>(v)) {
      case TC_ACT_OK: return "XDP_PASS";
      case TC_ACT_SHOT: return "XDP_DROP|XDP_ABORTED";  // indistinguishable without stats
      case TC_ACT_REDIRECT: return "XDP_TX";
      default: return "UNKNOWN";
    }
  }
  // chain: PASS was turned into the redirect to the tap. tun: every
  // action is native (the translator turned REDIRECT into DROP).
  if (f == Flavor::Chain && v == XDP_REDIRECT) return "XDP_PASS";
  return xdp_name(v);
}

}  // namespace

Result<TestRunResult> Offload::test_run(std::span<const std::uint8_t> packet, std::uint32_t repeat) const {
  if (packet.size() < 14 || packet.size() > kMaxTestPacket)
    return err("test run: packet of " + std::to_string(packet.size()) + " bytes outside 14.." +
               std::to_string(kMaxTestPacket));
  if (repeat == 0 || repeat > kMaxRepeat)
    return err("test run: repeat " + std::to_string(repeat) + " outside 1.." + std::to_string(kMaxRepeat));

  std::optional<ActionStats> before;
  if (stats_map_)
    if (auto s = stats(); s) before = *s;

  std::vector<std::uint8_t> out(packet.size() + 4096);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
              .data_out = out.data(), .data_size_in = static_cast<std::uint32_t>(packet.size()),
              .data_size_out = static_cast<std::uint32_t>(out.size()), .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(prog_.get(), &opts) != 0)
    return err("test run of prog '" + prog_name_ + "' failed: " + errno_name(errno));

  TestRunResult r;
  r.host_retval = opts.retval;
  r.host_verdict = options_.flavor == Flavor::Tc ? tc_verdict_name(opts.retval) : xdp_name(opts.retval);
  r.ns_per_run = opts.duration;
  out.resize(std::min<std::size_t>(opts.data_size_out, out.size()));
  r.packet = std::move(out);
  r.guest_action = action_from_verdict(options_.flavor, opts.retval);
  if (before) {
    if (auto after = stats(); after) {
      for (std::size_t i = 0; i < after->count.size(); ++i)
        if (after->count[i] - before->count[i] >= repeat) {
          r.guest_action = std::string(kActionNames[i]);
          break;
        }
    }
  }
  return r;
}

}  // namespace xo::host
