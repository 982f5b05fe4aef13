#include "tests/daemon/harness.hpp"
#include "host/core/attach_tcx.hpp"

#include <net/if.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "guest/builder/elf_builder.hpp"
#include "guest/client/guest_client.hpp"
#include "transport/wire.hpp"

#ifndef XOFFLOADD_BIN
#error "XOFFLOADD_BIN must be defined"
#endif

namespace xo::dtest {

namespace ts = xo::transport;

std::string unique_name(const char* prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + std::to_string(getpid() % 100000) + "x" + std::to_string(counter++);
}

Daemon::Daemon(std::vector<SessionSpec> sessions, const std::string& log_level, const std::string& daemon_extra)
    : sessions_(std::move(sessions)), log_level_(log_level), daemon_extra_(daemon_extra) {
  std::string base = "/tmp/" + unique_name("xodt");
  config_path_ = base + ".conf";
  log_path_ = base + ".log";
  state_dir_ = base + ".state";
  write_config();
  spawn(true);
}

void Daemon::write_config() {
  std::ofstream conf(config_path_, std::ios::trunc);
  // A state dir of its own: a daemon removes the pin directories its
  // snapshots name, and tests run beside each other under one pin root.
  conf << "[daemon]\nlog_level = " << log_level_ << "\nstate_dir = " << state_dir_ << "\n" << daemon_extra_ << "\n";
  for (auto& s : sessions_) {
    if (s.socket.empty()) s.socket = "/tmp/xod-" + s.name + ".sock";
    conf << "\n[session " << s.name << "]\ntap = " << s.tap << "\nsocket = " << s.socket << "\n"
         << s.extra_lines << "\n";
  }
}

void Daemon::spawn(bool truncate_log) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the test (it may be killed)
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | (truncate_log ? O_TRUNC : O_APPEND), 0644);
    if (fd >= 0) dup2(fd, 2);
    // XO_TEST_XOFFLOADD runs the tests against another build of the daemon
    // (e.g. one without a fix, to see the test that covers it fail).
    const char* bin = std::getenv("XO_TEST_XOFFLOADD");
    if (!bin || !*bin) bin = XOFFLOADD_BIN;
    execl(bin, "xoffloadd", "--config", config_path_.c_str(), "--foreground", (char*)nullptr);
    _exit(127);
  }
  wait_for_sockets();
}

void Daemon::wait_for_sockets() {
  // Ready when every socket file exists; connect_guest() retries the short
  // window between bind() and listen().
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (auto& s : sessions_) {
    for (;;) {
      if (!running()) throw std::runtime_error("xoffloadd exited at start: " + log());
      if (path_exists(s.socket)) break;
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("xoffloadd did not start: " + log());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

void Daemon::kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  pid_ = -1;
}

void Daemon::restart() {
  if (pid_ > 0) throw std::runtime_error("restart() of a running daemon");
  // A killed daemon leaves its socket files; ready means the new ones,
  // which the daemon binds after reconciling what the old one left.
  for (const auto& s : sessions_) ::unlink(s.socket.c_str());
  spawn(false);
}

void Daemon::reconfigure(std::vector<SessionSpec> sessions) {
  sessions_ = std::move(sessions);
  write_config();
  kill(pid_, SIGHUP);
}

Daemon::~Daemon() {
  stop();
  ::unlink(config_path_.c_str());
  ::unlink(log_path_.c_str());
  (void)!system(("rm -rf " + state_dir_).c_str());
}

bool Daemon::running() const {
  if (pid_ <= 0) return false;
  int st = 0;
  return waitpid(pid_, &st, WNOHANG) == 0;
}

std::string Daemon::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Daemon::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int st = 0;
  for (int i = 0; i < 1000; ++i) {
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &st, 0);
  pid_ = -1;
  return -1;
}

Result<ts::Client> connect_guest(const std::string& socket, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto ch = ts::Channel::connect_unix(socket);
    if (ch) return ts::Client(std::move(*ch), 10'000);
    if (std::chrono::steady_clock::now() > deadline) return ch.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<ts::ProgLoadReply> prog_load_reply(ts::Client& c, const Submission& s, std::uint8_t flavor, Offloaded& out) {
  if (!s.btf.empty()) {
    auto b = c.btf_load(s.btf);
    if (!b) return b.error();
    out.btf = *b;
  }
  std::vector<std::pair<std::uint32_t, std::uint32_t>> handle_of;  // builder handle -> daemon handle
  for (const auto& m : s.maps) {
    auto req = guest::map_create_request(m, out.btf, handle_of);
    if (!req) return req.error();
    auto h = c.map_create(*req);
    if (!h) return h.error();
    handle_of.emplace_back(m.handle, *h);
    out.maps[m.name] = *h;
  }
  auto insns = xo::guest::rewrite_map_handles(s.insns, handle_of);
  if (!insns) return insns.error();
  auto reply = c.call(guest::prog_load_request(s, s.guest_ifindex, flavor, out.btf, std::move(*insns)));
  if (!reply) return reply.error();
  auto* r = std::get_if<ts::ProgLoadReply>(&*reply);
  if (!r) return err("PROG_LOAD answered with " + ts::type_name(ts::type_of(*reply)));
  return std::move(*r);
}

// The guest's own offload sequence (guest/client's GuestClient), over the
// test's transport client: the daemon tests drive what guests really send.
Result<Offloaded> offload(ts::Client& c, const Submission& s, std::uint8_t flavor, bool attach) {
  guest::GuestClient g(std::move(c));
  guest::OffloadOptions o;
  o.flavor = flavor;
  o.ifindex = s.guest_ifindex;
  o.attach = attach;
  auto p = g.offload(s, o);
  c = std::move(g.raw());
  if (!p) return p.error();
  Offloaded out;
  out.btf = p->btf;
  for (const auto& m : p->maps) out.maps[m.name] = m.handle;
  out.prog = p->prog;
  out.flavor = p->flavor;
  out.program = std::move(*p);
  return out;
}

Status unload(ts::Client& c, const Offloaded& o) {
  guest::GuestClient g(std::move(c));
  guest::OffloadedProgram p = o.program;
  auto s = g.unload(p);
  c = std::move(g.raw());
  return s;
}

Result<Submission> xdp1_submission() {
  return guest::build_submission_from_file(std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o", "xdp_prog1");
}

std::set<std::pair<int, std::uint32_t>> bpf_objects_held_by(pid_t pid) {
  std::set<std::pair<int, std::uint32_t>> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name);
    std::string line;
    while (std::getline(in, line)) {
      auto take = [&](const char* key, int kind) {
        std::size_t n = std::strlen(key);
        if (line.compare(0, n, key) == 0) out.insert({kind, std::uint32_t(std::stoul(line.substr(n)))});
      };
      take("prog_id:", int(host::ObjectKind::Prog));
      take("map_id:", int(host::ObjectKind::Map));
      take("btf_id:", int(host::ObjectKind::Btf));
    }
  }
  closedir(d);
  return out;
}

std::vector<host::KernelObjectRef> as_refs(const std::set<std::pair<int, std::uint32_t>>& held) {
  std::vector<host::KernelObjectRef> out;
  for (auto [k, id] : held) out.push_back({host::ObjectKind(k), id});
  return out;
}

int tc_egress_filters(const std::string& dev) {
  std::string cmd = "tc filter show dev " + dev + " egress 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  int n = 0;
  char buf[1024];
  while (fgets(buf, sizeof buf, p))
    if (std::strstr(buf, "handle")) ++n;
  pclose(p);
  return n;
}

int egress_links(const std::string& dev) {
  const int ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
  if (ifindex == 0) return -1;
  auto q = host::tcx_query(ifindex, true);
  if (!q) return -1;
  int n = 0;
  for (const auto& e : *q) n += e.link_id != 0;
  return n;
}

int egress_programs(const std::string& dev) {
  const int ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
  if (ifindex == 0) return -1;
  auto q = host::tcx_query(ifindex, true);
  return q ? static_cast<int>(q->size()) + tc_egress_filters(dev) : -1;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::uint8_t> frame_bytes(std::uint16_t type, std::uint32_t request_id,
                                      const std::vector<std::uint8_t>& payload, std::uint16_t version,
                                      std::uint32_t payload_len_override) {
  ts::ByteWriter w;
  w.u32(ts::kMagic);
  w.u16(version);
  w.u16(type);
  w.u32(request_id);
  w.u32(0);
  w.u32(payload_len_override != 0xffffffff ? payload_len_override : std::uint32_t(payload.size()));
  w.bytes(payload);
  return w.take();
}

std::vector<isa::RawInsn> trivial_program(std::size_t n) {
  std::vector<isa::RawInsn> out(n ? n - 1 : 0, isa::RawInsn::make(0xb7, 0, 0, 0, 2));  // r0 = XDP_PASS
  out.push_back(isa::RawInsn::make(0x95, 0, 0, 0, 0));                                 // exit
  return out;
}

std::vector<isa::RawInsn> heavy_program() {
  using isa::RawInsn;
  constexpr int kStages = 24;
  std::vector<RawInsn> p{RawInsn::make(0x85, 0, 0, 0, 7),  // call bpf_get_prandom_u32
                         RawInsn::make(0xbf, 7, 0, 0, 0),  // r7 = r0 (unknown)
                         RawInsn::make(0xb7, 6, 0, 0, 0)}; // r6 = 0
  for (int i = 0; i < kStages; ++i) {
    p.push_back(RawInsn::make(0x67, 6, 0, 0, 1));        // r6 <<= 1
    p.push_back(RawInsn::make(0xbf, 8, 7, 0, 0));        // r8 = r7
    p.push_back(RawInsn::make(0x57, 8, 0, 0, 1 << i));   // r8 &= bit i
    p.push_back(RawInsn::make(0x15, 8, 0, 1, 0));        // if r8 == 0 goto +1
    p.push_back(RawInsn::make(0x47, 6, 0, 0, 1));        // r6 |= 1
  }
  p.push_back(RawInsn::make(0x15, 6, 0, 1, 0x12345));    // if r6 == 0x12345 goto +1 (r6 precise)
  p.push_back(RawInsn::make(0xb7, 0, 0, 0, 1));          // r0 = XDP_DROP
  p.push_back(RawInsn::make(0xb7, 0, 0, 0, 2));          // r0 = XDP_PASS
  p.push_back(RawInsn::make(0x95, 0, 0, 0, 0));          // exit
  return p;
}

transport::ProgLoadRequest prog_load_request(std::vector<isa::RawInsn> insns, const std::string& name) {
  transport::ProgLoadRequest r;
  r.name = name;
  r.license = "GPL";
  r.insns = std::move(insns);
  return r;
}

}  // namespace xo::dtest
