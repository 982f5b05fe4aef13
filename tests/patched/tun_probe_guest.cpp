// Test (b), guest side: runs inside a TCG VM booted with the patched kernel,
// standing in for a host. It plays QEMU (the reader of a tap) and the
// daemon: creates the tap, loads the program the host's translator made for
// the tun flavor (a file: see tun_probe_image below), attaches it with
// host/core's TunTxXdp (TUN_SIOCSTXXDP by name, the daemon's path), sends
// frames toward the tap through an AF_PACKET socket (the host stack's
// transmit path) and checks which reach the reader, which come back on the
// receive path (XDP_TX) and what the stats map counted. Then detaches and
// checks that a frame the program dropped now reaches the reader.
//
// Static (the guest has no libc). Output: "check NAME ok|FAIL detail" lines
// and "RESULT ok|FAIL"; exit status 0 only if every check passed.
//
// Program file (tun_probe_image, little-endian):
//   u32 magic 'XOTP', u32 prog_type, u32 expected_attach_type,
//   u32 stats_cpus, u32 insn_count, insn_count x struct bpf_insn
// with the stats map referenced as handle 0 (ld_imm64 src 1 or 2, imm 0).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "host/core/attach_tun.hpp"

namespace {

constexpr const char* kTap = "xotx0";
constexpr std::uint16_t kEthType = 0x88b5;
constexpr std::uint8_t kDst[6] = {0xaa, 0xbb, 0xcc, 0, 0, 1};
constexpr std::uint8_t kSrc[6] = {0xaa, 0xbb, 0xcc, 0, 0, 2};

int failures = 0;

void check(const std::string& name, bool ok, const std::string& detail = "") {
  std::printf("check %s %s%s%s\n", name.c_str(), ok ? "ok" : "FAIL", detail.empty() ? "" : " ", detail.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

long bpf(int cmd, bpf_attr& attr) { return ::syscall(__NR_bpf, cmd, &attr, sizeof attr); }

struct Image {
  std::uint32_t prog_type = 0, attach_type = 0, stats_cpus = 0;
  std::vector<bpf_insn> insns;
};

std::optional<Image> read_image(const char* path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (b.size() < 20) return std::nullopt;
  std::uint32_t h[5];
  std::memcpy(h, b.data(), 20);
  if (h[0] != 0x50544f58 || b.size() != 20 + std::size_t(h[4]) * 8) return std::nullopt;
  Image im{h[1], h[2], h[3], std::vector<bpf_insn>(h[4])};
  std::memcpy(im.insns.data(), b.data() + 20, b.size() - 20);
  return im;
}

std::vector<std::uint8_t> frame(char kind, std::uint8_t seq) {
  std::vector<std::uint8_t> f(60, 0);
  std::memcpy(f.data(), kDst, 6);
  std::memcpy(f.data() + 6, kSrc, 6);
  f[12] = kEthType >> 8;
  f[13] = kEthType & 0xff;
  f[14] = static_cast<std::uint8_t>(kind);
  f[15] = seq;
  return f;
}

// Our test frames read from `fd` until `quiet_ms` pass without one: "P0", "I1", ...
// Other frames (the VM's own stack) are counted in *others: the program
// passes them too, so the stats see them.
std::vector<std::string> drain_reader(int fd, int quiet_ms, int* others = nullptr) {
  std::vector<std::string> got;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, quiet_ms) <= 0) break;
    std::uint8_t b[2048];
    ssize_t n = ::read(fd, b, sizeof b);
    if (n >= 16 && b[12] == (kEthType >> 8) && b[13] == (kEthType & 0xff))
      got.push_back(std::string(1, char(b[14])) + std::to_string(b[15]));
    else if (others)
      ++*others;
  }
  return got;
}

// Frames coming back on the tap's receive path (not our own outgoing ones).
std::vector<std::string> drain_bounced(int sock, int quiet_ms, bool* macs_swapped) {
  std::vector<std::string> got;
  *macs_swapped = true;
  for (;;) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, quiet_ms) <= 0) break;
    std::uint8_t b[2048];
    sockaddr_ll from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(sock, b, sizeof b, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 16 || from.sll_pkttype == PACKET_OUTGOING) continue;
    if (b[12] != (kEthType >> 8) || b[13] != (kEthType & 0xff)) continue;
    got.push_back(std::string(1, char(b[14])) + std::to_string(b[15]));
    if (std::memcmp(b, kSrc, 6) != 0 || std::memcmp(b + 6, kDst, 6) != 0) *macs_swapped = false;
  }
  return got;
}

// Per-action totals over the stats map's CPU rows (the tun epilogue's layout:
// row = 64 bytes per CPU, slot = action).
bool read_stats(int map, std::uint32_t cpus, std::uint64_t out[6]) {
  std::vector<std::uint64_t> row(cpus * 8);
  std::uint32_t key = 0;
  bpf_attr a{};
  a.map_fd = static_cast<std::uint32_t>(map);
  a.key = reinterpret_cast<std::uintptr_t>(&key);
  a.value = reinterpret_cast<std::uintptr_t>(row.data());
  if (bpf(BPF_MAP_LOOKUP_ELEM, a) != 0) return false;
  for (int s = 0; s < 6; ++s) out[s] = 0;
  for (std::uint32_t c = 0; c < cpus; ++c)
    for (int s = 0; s < 6; ++s) out[s] += row[c * 8 + s];
  return true;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s.empty() ? "(none)" : s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tun_probe_guest PROGRAM_IMAGE\n");
    return 2;
  }
  auto image = read_image(argv[1]);
  if (!image) {
    std::printf("RESULT FAIL cannot read %s\n", argv[1]);
    return 1;
  }

  // The tap and its reader (QEMU's role).
  int tap = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  unsigned features = 0;
  const bool got_features = tap >= 0 && ::ioctl(tap, TUNGETFEATURES, &features) == 0;
  char fbuf[32];
  std::snprintf(fbuf, sizeof fbuf, "features=0x%x", features);
  check("tungetfeatures", got_features && (features & xo::host::tun_uapi::kIffTxXdp), fbuf);
  auto supported = xo::host::tun_tx_xdp_supported();
  check("host_core_probe", supported && *supported);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, kTap, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (::ioctl(tap, TUNSETIFF, &ifr) != 0) {
    std::printf("RESULT FAIL TUNSETIFF: %s\n", std::strerror(errno));
    return 1;
  }
  int ctl = ::socket(AF_INET, SOCK_DGRAM, 0);
  ::ioctl(ctl, SIOCGIFFLAGS, &ifr);
  ifr.ifr_flags |= IFF_UP;
  const bool up = ::ioctl(ctl, SIOCSIFFLAGS, &ifr) == 0;
  check("tap_up", up, up ? "" : std::strerror(errno));
  ::ioctl(ctl, SIOCGIFINDEX, &ifr);
  const int ifindex = ifr.ifr_ifindex;

  // The stats map (handle 0) and the program.
  bpf_attr a{};
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = image->stats_cpus * 64;
  a.max_entries = 1;
  int stats = static_cast<int>(bpf(BPF_MAP_CREATE, a));
  check("stats_map", stats >= 0, stats >= 0 ? "" : std::strerror(errno));
  for (std::size_t i = 0; i + 1 < image->insns.size(); ++i) {
    bpf_insn& in = image->insns[i];
    if (in.code == (BPF_LD | BPF_IMM | BPF_DW) && (in.src_reg == BPF_PSEUDO_MAP_FD || in.src_reg == BPF_PSEUDO_MAP_VALUE)) {
      if (in.imm != 0) check("only_stats_map", false, "handle " + std::to_string(in.imm));
      in.imm = stats;
      ++i;
    }
  }
  static char log[1 << 16];
  a = {};
  a.prog_type = image->prog_type;
  a.expected_attach_type = image->attach_type;
  a.insns = reinterpret_cast<std::uintptr_t>(image->insns.data());
  a.insn_cnt = static_cast<std::uint32_t>(image->insns.size());
  a.license = reinterpret_cast<std::uintptr_t>("GPL");
  a.log_buf = reinterpret_cast<std::uintptr_t>(log);
  a.log_size = sizeof log;
  a.log_level = 1;
  std::strcpy(a.prog_name, "tun_probe");
  int prog = static_cast<int>(bpf(BPF_PROG_LOAD, a));
  if (prog < 0) {
    std::printf("%s\nRESULT FAIL BPF_PROG_LOAD: %s\n", log, std::strerror(errno));
    return 1;
  }

  // The daemon's attach: by name, RAII.
  auto attached = xo::host::TunTxXdp::attach(kTap, prog);
  if (!attached) {
    std::printf("RESULT FAIL attach: %s\n", attached.error().message.c_str());
    return 1;
  }
  std::uint32_t id_by_fd = 0;
  ::ioctl(tap, xo::host::tun_uapi::kTunGetTxXdp, &id_by_fd);
  auto id_by_name = xo::host::tun_tx_xdp_prog_id(kTap);
  check("attached_id", id_by_fd != 0 && id_by_fd == attached->prog_id() && id_by_name && *id_by_name == id_by_fd,
        "fd=" + std::to_string(id_by_fd) + " ours=" + std::to_string(attached->prog_id()));

  // The host stack transmits toward the tap.
  int sock = ::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  const bool bound = sock >= 0 && ::bind(sock, reinterpret_cast<sockaddr*>(&sll), sizeof sll) == 0;
  check("packet_socket", bound, bound ? "" : std::strerror(errno));
  drain_reader(tap, 200);  // anything the stack sent on link-up
  std::uint64_t before[6] = {};
  const bool looked_before = read_stats(stats, image->stats_cpus, before);
  const std::string kinds = "PDTIPDTIPDT";
  std::map<char, int> sent;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    auto f = frame(kinds[i], static_cast<std::uint8_t>(i));
    if (::sendto(sock, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != ssize_t(f.size()))
      check("send", false, std::strerror(errno));
    ++sent[kinds[i]];
  }
  int others = 0;
  auto read = drain_reader(tap, 1000, &others);
  bool swapped = false;
  auto bounced = drain_bounced(sock, 300, &swapped);
  // P and I pass (0,3,4,7,8), D drops, T comes back.
  check("reader_got_exactly_pass", join(read) == "P0,I3,P4,I7,P8", join(read));
  check("bounced_exactly_tx", join(bounced) == "T2,T6,T10", join(bounced));
  check("bounced_macs_swapped", !bounced.empty() && swapped);

  // What the translated program counted (the epilogue's stats), during the
  // test frames: exactly the test's drops and bounces; passes are the test's
  // five plus whatever else the VM's stack sent meanwhile (the reader saw it).
  std::uint64_t after[6] = {};
  const bool looked = looked_before && read_stats(stats, image->stats_cpus, after);
  std::uint64_t d[6];
  for (int i = 0; i < 6; ++i) d[i] = after[i] - before[i];
  // Stack frames passed after the reader's drain but before the stats read
  // are still in the ring: they may add to the passes, never to the rest.
  int late = 0;
  drain_reader(tap, 300, &late);
  check("stats_counted", looked && d[1] == 3 && d[3] == 3 && d[2] >= 5u + std::uint64_t(others) &&
                             d[2] <= 5u + std::uint64_t(others + late) && d[0] == 0 && d[4] == 0 && d[5] == 0,
        "aborted=" + std::to_string(d[0]) + " drop=" + std::to_string(d[1]) + " pass=" + std::to_string(d[2]) +
            " tx=" + std::to_string(d[3]) + " redirect=" + std::to_string(d[4]) + " other_frames=" +
            std::to_string(others) + "+" + std::to_string(late));

  // Detach (RAII owner): the hook is empty, a 'D' frame reaches the reader.
  attached->detach();
  std::uint32_t id_after = 1;
  ::ioctl(tap, xo::host::tun_uapi::kTunGetTxXdp, &id_after);
  check("detached", id_after == 0, "id=" + std::to_string(id_after));
  auto f = frame('D', 99);
  ::sendto(sock, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll);
  check("after_detach_reader_gets_all", join(drain_reader(tap, 1000)) == "D99");

  std::printf("RESULT %s (%d failed)\n", failures ? "FAIL" : "ok", failures);
  return failures ? 1 : 0;
}
