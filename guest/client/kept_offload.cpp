// KeptOffload: the host <-> guest fallback state machine (kept_offload.hpp).
#include "guest/client/kept_offload.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

namespace xo::guest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kReconnectTimeoutMs = 1000;  // a retry must not stall the caller's reports

const char* event_name(transport::EventKind kind) {
  switch (kind) {
    case transport::EventKind::OffloadLost: return "offload lost";
    case transport::EventKind::Detached: return "detached";
    default: return "quota";
  }
}

}  // namespace

Result<std::unique_ptr<KeptOffload>> KeptOffload::start(KeepOptions options) {
  std::unique_ptr<KeptOffload> self(new KeptOffload(std::move(options)));
  auto client = GuestClient::connect(self->options_.port);
  if (!client) return client.error();
  self->client_.emplace(std::move(*client));
  auto prog = self->client_->offload_file(self->options_.object, self->options_.offload);
  if (!prog) return prog.error();
  self->offloaded_ = std::move(*prog);
  self->note_guest_maps();
  return self;
}

void KeptOffload::note_guest_maps() {
  pin_dir_ = offloaded_->guest_pin_dir;
  guest_maps_.clear();
  for (const auto& m : offloaded_->maps)
    if (guest_side_map_type(m.type)) guest_maps_.push_back(m.name);
}

KeptOffload::~KeptOffload() { (void)stop(); }

Status KeptOffload::stop() {
  Status st = Ok{};
  if (runs_on_ == RunsOn::Host && client_ && offloaded_) st = client_->unload(*offloaded_);
  offloaded_.reset();
  native_.reset();
  if (!pin_dir_.empty()) {
    Status unpinned = unpin_guest_maps(guest_maps_, pin_dir_);
    if (st && !unpinned) st = unpinned;
    pin_dir_.clear();
  }
  runs_on_ = RunsOn::Nowhere;
  retry_host_ = false;
  return st;
}

void KeptOffload::host_failed(const Error& error) {
  if (runs_on_ == RunsOn::Host && !failed_) failed_ = error;
}

std::vector<std::string> KeptOffload::poll() {
  if (runs_on_ != RunsOn::Host) {
    if (retry_host_ && Clock::now() >= next_retry_) return try_host();
    return {};
  }
  // The native program replaces the trampoline on the NIC first; the old
  // client's trampoline owner then finds it replaced and leaves it.
  if (failed_) {
    const std::string why = "host unreachable (" + failed_->message + ")";
    failed_.reset();
    auto lines = fall_back(why, true);
    client_.reset();  // the old channel may hold half a reply
    return lines;
  }
  auto events = client_->take_events();
  if (!events) {
    auto lines = fall_back("host unreachable (" + events.error().message + ")", true);
    client_.reset();
    return lines;
  }
  std::vector<std::string> lines;
  for (const auto& e : *events) {
    lines.push_back(std::string("host event: ") + event_name(e.kind) + " (prog " + std::to_string(e.prog) +
                    "): " + e.text);
    const bool ours = e.prog == 0 || e.prog == offloaded_->prog;
    if (!ours || e.kind == transport::EventKind::Quota) continue;
    // The host no longer runs it (it sends no more descriptors): free
    // whatever it still holds of ours (after OFFLOAD_LOST the session is
    // already empty; errors say so) and the trampoline, then run natively.
    // The pins stay, for the native program.
    (void)client_->unload(*offloaded_, /*unpin=*/false);
    offloaded_.reset();
    const bool lost = e.kind == transport::EventKind::OffloadLost;
    auto more = fall_back(lost ? "offload lost" : "the host detached it", lost);
    lines.insert(lines.end(), more.begin(), more.end());
    break;
  }
  return lines;
}

std::vector<std::string> KeptOffload::fall_back(const std::string& why, bool retry_host) {
  std::vector<std::string> lines;
  ++switches_;
  retry_host_ = retry_host;
  next_retry_ = Clock::now() + options_.retry;
  last_retry_error_.clear();
  const std::string& ifname = options_.offload.ifname;
  auto ifindex = options_.offload.ifindex ? Result<std::uint32_t>(options_.offload.ifindex) : guest_ifindex(ifname);
  NativeOptions no{options_.offload.program, options_.offload.map_sizes, options_.xdp_flags, {}};
  // The offload's guest-side maps, by pin: the native program uses them.
  std::vector<UniqueFd> pinned;
  Status reused = Ok{};
  for (const std::string& name : guest_maps_) {
    const std::string path = pin_dir_ + "/" + name;
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd) {
      reused = err(errno, "guest map " + path + ": " + std::strerror(errno));
      break;
    }
    no.reuse_map_fds[name] = fd.get();
    pinned.push_back(std::move(fd));
  }
  auto native = !ifindex ? Result<std::unique_ptr<NativeXdp>>(ifindex.error())
                : !reused ? Result<std::unique_ptr<NativeXdp>>(reused.error())
                          : NativeXdp::attach(options_.object, *ifindex, no);
  const std::string again = retry_host ? "; will offload again when the host returns"
                                       : "; not offloading it again";
  if (native) {
    native_ = std::move(*native);
    runs_on_ = RunsOn::Guest;
    lines.push_back(why + ": running '" + native_->prog_name() + "' natively on " + ifname + " (prog id " +
                    std::to_string(native_->prog_id()) + ")" + again);
  } else {
    runs_on_ = RunsOn::Nowhere;
    lines.push_back(why + ": cannot run it natively on " + ifname + " either (" + native.error().message + ")" +
                    again);
  }
  return lines;
}

std::vector<std::string> KeptOffload::try_host() {
  next_retry_ = Clock::now() + options_.retry;
  auto note = [&](const std::string& reason) -> std::vector<std::string> {
    if (reason == last_retry_error_) return {};  // said once, not every retry
    last_retry_error_ = reason;
    return {"offload retry: " + reason};
  };
  if (!client_) {
    auto c = GuestClient::connect(options_.port, kReconnectTimeoutMs);
    if (!c) return note("host unreachable (" + c.error().message + ")");
    client_.emplace(std::move(*c));
  }
  std::string how;
  if (offloaded_ && client_->stats(offloaded_->prog)) {
    how = "the host still runs it (prog handle " + std::to_string(offloaded_->prog) + "): resumed";
  } else {
    if (client_->raw().last_status() == transport::status::kEIO) {  // no reply at all: the channel is dead
      client_.reset();
      return note("host unreachable (no reply)");
    }
    offloaded_.reset();
    auto prog = client_->offload_file(options_.object, options_.offload);
    if (!prog) {
      if (client_->raw().last_status() == transport::status::kEIO) client_.reset();
      return note(prog.error().message);
    }
    offloaded_ = std::move(*prog);
    note_guest_maps();
    how = "offloaded again (prog handle " + std::to_string(offloaded_->prog) + ", flavor " +
          flavor_name(offloaded_->flavor) + ")";
  }
  std::vector<std::string> lines{how};
  // A trampoline replaced the native program already (in one step, so the
  // NIC never ran neither): its detach then finds another program, as it should.
  if (native_)
    if (std::string d = native_->detach(); !d.empty() && offloaded_->trampoline_id == 0)
      lines.push_back("native detach: " + d);
  native_.reset();
  runs_on_ = RunsOn::Host;
  ++switches_;
  last_retry_error_.clear();
  return lines;
}

}  // namespace xo::guest
