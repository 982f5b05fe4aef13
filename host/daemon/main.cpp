// xoffloadd: the host daemon that runs guests' XDP programs on their taps.
//
//   xoffloadd --config /etc/xoffloadd.conf [--foreground] [--log-level info]
//   xoffloadd --session vm1:tap0:/run/xoffload/vm1.sock [--session ...]
//
// QEMU connects to each session's socket:
//   -chardev socket,id=xo0,path=/run/xoffload/vm1.sock,reconnect=1
//   -device virtio-serial-pci -device virtserialport,chardev=xo0,name=org.xoffload.0
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "host/session/kernel_backend.hpp"
#include "host/session/log.hpp"
#include "host/daemon/server.hpp"

namespace {

xo::daemon::Server* g_server = nullptr;

void on_signal(int) {
  if (g_server) g_server->stop();
}

void usage(FILE* out) {
  std::fprintf(out,
               "usage: xoffloadd (--config FILE | --session NAME:TAP:SOCKET...) [options]\n"
               "  --config FILE        sessions, quotas and policy (format: host/session/config.hpp)\n"
               "  --session N:T:S      one session with default quotas (repeatable)\n"
               "  --pin-root DIR       bpffs directory for pins (default /sys/fs/bpf/xoffload)\n"
               "  --log-level LEVEL    error | warn | info | debug (default info)\n"
               "  --foreground         stay in the foreground (the default; systemd Type=simple)\n"
               "  --check              parse the configuration and exit\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace xo::daemon;
  using namespace xo::session;
  std::string config_path, log_level, pin_root;
  std::vector<std::string> specs;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "xoffloadd: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--config") config_path = value("--config");
    else if (a == "--session") specs.push_back(value("--session"));
    else if (a == "--log-level") log_level = value("--log-level");
    else if (a == "--pin-root") pin_root = value("--pin-root");
    else if (a == "--foreground") continue;
    else if (a == "--check") check_only = true;
    else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "xoffloadd: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }

  DaemonConfig config;
  if (!config_path.empty()) {
    auto c = load_config_file(config_path);
    if (!c) {
      std::fprintf(stderr, "xoffloadd: %s\n", c.error().message.c_str());
      return 1;
    }
    config = std::move(*c);
  }
  for (const auto& spec : specs) {
    auto s = parse_session_spec(spec);
    if (!s) {
      std::fprintf(stderr, "xoffloadd: %s\n", s.error().message.c_str());
      return 2;
    }
    config.sessions.push_back(std::move(*s));
  }
  if (!log_level.empty()) config.log_level = log_level;
  if (!pin_root.empty()) config.pin_root = pin_root;
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

  const std::string root = config.pin_root;
  auto server = Server::create(config, [root](const SessionConfig& c) { return make_kernel_backend(c, root); });
  if (!server) {
    log_line(LogLevel::Error, "", server.error().message);
    return 1;
  }
  g_server = server->get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  log_line(LogLevel::Info, "", "started with " + std::to_string(config.sessions.size()) + " sessions");
  (*server)->run();
  g_server = nullptr;
  server->reset();  // listeners: socket files removed
  log_line(LogLevel::Info, "", "stopped");
  return 0;
}
