// xoffloadd: the host daemon that runs guests' XDP programs on their taps.
//
//   xoffloadd --config /etc/xoffloadd.conf [--foreground] [--log-level info]
//   xoffloadd --session vm1:tap0:/run/xoffload/vm1.sock [--session ...]
//   xoffloadd --check --config FILE | --help | --version   (man 8 xoffloadd)
//
// QEMU connects to each session's socket:
//   -chardev socket,id=xo0,path=/run/xoffload/vm1.sock,reconnect=1
//   -device virtio-serial-pci -device virtserialport,chardev=xo0,name=org.xoffload.0
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/args.hpp"
#include "host/session/kernel_backend.hpp"
#include "host/session/log.hpp"
#include "host/core/isa_probe.hpp"
#include "host/core/load_caps.hpp"
#include "host/session/reconcile.hpp"
#include "host/daemon/server.hpp"
#include "translator/ir/ir.hpp"

namespace {

xo::daemon::Server* g_server = nullptr;

void on_signal(int) {
  if (g_server) g_server->stop();
}

void on_hangup(int) {
  if (g_server) g_server->request_reload();
}

const xo::args::Spec kSpec{
    "(--config FILE | --session NAME:TAP:SOCKET...) [options]",
    "The xoffload host daemon: runs guests' XDP programs on their taps.",
    "One session per VM NIC: QEMU connects to the session's unix socket and\n"
    "the guest's offload requests arrive over it. Sessions, quotas and policy\n"
    "come from --config (format: man xoffloadd, or host/session/config.hpp)\n"
    "or from --session with the default quotas.\n"
    "At start, what a crashed daemon left under the pin root is adopted (configured\n"
    "sessions whose tap is still there: their programs never stop filtering) or\n"
    "removed. SIGHUP re-reads the configuration: sessions are added or removed.",
    {{"--config", "FILE", "sessions, quotas and policy"},
     {"--session", "N:T:S", "one session with default quotas (repeatable)"},
     {"--pin-root", "DIR", "bpffs directory for pins (default /sys/fs/bpf/xoffload)"},
     {"--state-dir", "DIR", "session snapshots for a restart after a crash (default /run/xoffload/state)"},
     {"--log-level", "LEVEL", "error | warn | info | debug (default info)"},
     {"--foreground", "", "stay in the foreground (the default; systemd Type=simple)"},
     {"--check", "", "parse the configuration and exit"}}};

}  // namespace

int main(int argc, char** argv) {
  using namespace xo::daemon;
  using namespace xo::session;
  auto args = xo::args::parse(kSpec, argc, argv);
  if (!args) {
    std::fprintf(stderr, "xoffloadd: %s\n%s", args.error().message.c_str(),
                 xo::args::help_text(kSpec, "xoffloadd").c_str());
    return xo::args::kExitUsage;
  }
  if (args->help) {
    std::fputs(xo::args::help_text(kSpec, "xoffloadd").c_str(), stdout);
    return xo::args::kExitOk;
  }
  if (args->version) {
    std::fputs(xo::args::version_text("xoffloadd").c_str(), stdout);
    return xo::args::kExitOk;
  }
  if (!args->positional.empty()) {
    std::fprintf(stderr, "xoffloadd: unexpected argument '%s'\n", args->positional[0].c_str());
    return xo::args::kExitUsage;
  }
  const std::string config_path = args->get("--config").value_or("");
  const std::string log_level = args->get("--log-level").value_or("");
  const std::string pin_root = args->get("--pin-root").value_or("");
  const std::vector<std::string> specs = args->all("--session");
  const bool check_only = args->flag("--check");

  const std::string state_dir = args->get("--state-dir").value_or("");
  // The configuration as files and flags say now: at start, and on SIGHUP.
  auto read_config = [&]() -> xo::Result<DaemonConfig> {
    DaemonConfig config;
    if (!config_path.empty()) {
      auto c = load_config_file(config_path);
      if (!c) return c.error();
      config = std::move(*c);
    }
    for (const auto& spec : specs) {
      auto s = parse_session_spec(spec);
      if (!s) return xo::Error{s.error().message, std::nullopt, EINVAL, xo::Stage::Unspecified};
      config.sessions.push_back(std::move(*s));
    }
    if (!log_level.empty()) config.log_level = log_level;
    if (!pin_root.empty()) config.pin_root = pin_root;
    if (!state_dir.empty()) config.state_dir = state_dir;
    // The daemon is a door that links the LLVM IR tier: sessions that ask
    // for it (tier = ir|auto) get it, for this host's BPF CPU version.
    for (auto& session : config.sessions)
      if (session.tier != xo::translator::Tier::Direct)
        session.reemit = xo::ir::reemitter(xo::ir::IrOptions{xo::host::host_bpf_cpu()});
    return config;
  };
  auto read = read_config();
  if (!read) {
    std::fprintf(stderr, "xoffloadd: %s\n", read.error().message.c_str());
    return read.error().code == EINVAL ? 2 : 1;
  }
  DaemonConfig config = std::move(*read);
  auto level = parse_log_level(config.log_level);
  if (!level) {
    std::fprintf(stderr, "xoffloadd: unknown log level '%s'\n", config.log_level.c_str());
    return 2;
  }
  set_log_level(*level);
  if (auto v = validate_config(config); !v) {
    std::fprintf(stderr, "xoffloadd: %s\n", v.error().message.c_str());
    return 1;
  }
  if (check_only) {
    std::printf("xoffloadd: configuration OK (%zu sessions)\n", config.sessions.size());
    return 0;
  }

  // Before any thread exists, so that every thread inherits the reduced set.
  if (auto caps = xo::host::keep_only_capabilities(xo::host::kDaemonCaps); !caps) {
    log_line(LogLevel::Error, "", caps.error().message);
    return 1;
  }
  const std::string root = config.pin_root;
  BackendFactory adopting = [root](const SessionConfig& c) { return make_kernel_backend(c, root, true); };
  auto reconciled = reconcile(config, adopting, Clock::now());
  auto server = Server::create(config, [root](const SessionConfig& c) { return make_kernel_backend(c, root); },
                               std::move(reconciled.adopted));
  if (!server) {
    log_line(LogLevel::Error, "", server.error().message);
    return 1;
  }
  g_server = server->get();
  (*server)->on_reload(read_config, adopting);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = on_hangup;
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
  signal(SIGPIPE, SIG_IGN);
  log_line(LogLevel::Info, "", "started with " + std::to_string(config.sessions.size()) + " sessions");
  (*server)->run();
  g_server = nullptr;
  server->reset();  // listeners: socket files removed
  log_line(LogLevel::Info, "", "stopped");
  return 0;
}
