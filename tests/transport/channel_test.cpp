// Channels end to end: socketpair and unix socket between two threads,
// timeouts, peer disconnects, the non-blocking poll-loop API, and
// virtio-serial port discovery over a fake sysfs tree.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/transport/samples.hpp"
#include "transport/channel.hpp"

namespace xo::transport {
namespace {

namespace fs = std::filesystem;

// A directory under /tmp removed on scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("xo-transport-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

TEST(TransportChannel, SocketpairEchoesEveryMessageAcrossThreads) {
  auto p = Channel::pair();
  ASSERT_TRUE(p) << p.error().message;
  auto [a, b] = std::move(*p);
  const auto samples = testing::sample_messages();
  std::thread echo([&b, n = samples.size()] {
    for (std::size_t i = 0; i < n; ++i) {
      auto e = b.recv(5000);
      if (!e) return;
      if (!b.send(e->request_id + 1000, e->message, 5000)) return;
    }
  });
  for (std::size_t i = 0; i < samples.size(); ++i) {
    ASSERT_TRUE(a.send(std::uint32_t(i), samples[i], 5000));
    auto back = a.recv(5000);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->request_id, i + 1000);
    EXPECT_TRUE(back->message == samples[i]);
  }
  echo.join();
}

TEST(TransportChannel, UnixSocketListenAcceptConnect) {
  TempDir dir;
  const std::string path = (dir.path / "daemon.sock").string();
  auto listener = UnixListener::listen(path);
  ASSERT_TRUE(listener) << listener.error().message;
  std::thread server([&] {
    auto conn = listener->accept(5000);
    if (!conn) return;
    auto req = conn->recv(5000);
    if (!req) return;
    const auto& lookup = std::get<MapLookupRequest>(req->message);
    (void)conn->send(req->request_id, MapLookupReply{{}, lookup.key}, 5000);
  });
  auto client = Channel::connect_unix(path);
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ(client->peer(), "unix:" + path);
  ASSERT_TRUE(client->send(42, MapLookupRequest{7, {1, 2, 3, 4}}, 5000));
  auto reply = client->recv(5000);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->request_id, 42u);
  EXPECT_TRUE(reply->message == Message(MapLookupReply{{}, {1, 2, 3, 4}}));
  server.join();
}

TEST(TransportChannel, ListenerReplacesStaleSocketAndRemovesItOnExit) {
  TempDir dir;
  const std::string path = (dir.path / "s.sock").string();
  { auto first = UnixListener::listen(path); ASSERT_TRUE(first); }
  EXPECT_FALSE(fs::exists(path));
  {
    auto l = UnixListener::listen(path);
    ASSERT_TRUE(l);
    auto stale = UnixListener::listen(path);  // takes over the path
    ASSERT_TRUE(stale) << stale.error().message;
  }
  std::ofstream(dir.path / "file") << "x";
  auto not_socket = UnixListener::listen((dir.path / "file").string());
  ASSERT_FALSE(not_socket);
  EXPECT_EQ(not_socket.error().message,
            "listen on '" + (dir.path / "file").string() + "': path exists and is not a socket");
}

TEST(TransportChannel, ConnectToMissingSocketFails) {
  auto c = Channel::connect_unix("/nonexistent-xo/daemon.sock");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message,
            "connect to unix socket '/nonexistent-xo/daemon.sock': No such file or directory");
}

TEST(TransportChannel, ReceiveTimesOut) {
  auto p = Channel::pair();
  ASSERT_TRUE(p);
  auto r = p->first.recv(50);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "socketpair:0: timed out waiting to receive a frame");
  EXPECT_FALSE(p->first.broken());  // a timeout does not break the stream
}

TEST(TransportChannel, PeerCloseMidFrameIsReported) {
  auto p = Channel::pair();
  ASSERT_TRUE(p);
  auto bytes = *encode(1, MapLookupRequest{1, {1, 2, 3, 4}});
  bytes.resize(bytes.size() - 3);
  ASSERT_TRUE(p->second.queue_bytes(bytes));
  ASSERT_TRUE(p->second.flush());
  { Channel gone = std::move(p->second); }
  auto r = p->first.recv(1000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "socketpair:0: peer closed the connection in the middle of a frame (9 bytes buffered)");
  EXPECT_TRUE(p->first.broken());
}

TEST(TransportChannel, FramingErrorBreaksTheChannelAfterEarlierFrames) {
  auto p = Channel::pair();
  ASSERT_TRUE(p);
  auto good = *encode(1, StatsRequest{4});
  auto bad = good;
  bad[1] = 'Q';
  ASSERT_TRUE(p->second.queue_bytes(good));
  ASSERT_TRUE(p->second.queue_bytes(bad));
  ASSERT_TRUE(p->second.flush());
  auto first = p->first.recv_frame(1000);
  ASSERT_TRUE(first) << first.error().message;  // the good frame still arrives
  auto second = p->first.recv_frame(1000);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            "socketpair:0: bad frame magic 0x4c465158 (expected 0x4c464f58, 'XOFL'): stream out "
            "of sync");
}

TEST(TransportChannel, NonBlockingLargeMessageThroughPollLoop) {
  auto p = Channel::pair();
  ASSERT_TRUE(p);
  ProgLoadRequest big;
  big.name = "big";
  big.license = "GPL";
  big.insns.assign(500'000, isa::RawInsn::make(0xb7, 0, 0, 0, 1));  // 4 MB: many partial writes
  ASSERT_TRUE(p->first.queue(9, big));
  std::vector<Frame> got;
  for (int i = 0; i < 100000 && got.empty(); ++i) {
    ASSERT_TRUE(p->first.flush());
    auto frames = p->second.read_available();
    ASSERT_TRUE(frames) << frames.error().message;
    for (auto& f : *frames) got.push_back(std::move(f));
  }
  EXPECT_FALSE(p->first.wants_write());
  ASSERT_EQ(got.size(), 1u);
  auto m = decode(got[0]);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(std::get<ProgLoadRequest>(*m) == big);
  // Nothing more to read: an empty batch, not an error.
  auto none = p->second.read_available();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // EOF after the peer goes away.
  { Channel gone = std::move(p->first); }
  auto eof = p->second.read_available();
  ASSERT_FALSE(eof);
  EXPECT_EQ(eof.error().message, "socketpair:1: peer closed the connection");
}

TEST(TransportChannel, ReadBudgetBoundsOneCall) {
  auto p = Channel::pair();
  ASSERT_TRUE(p);
  // Let the whole burst sit in the socket at once (root: SO_SNDBUFFORCE).
  const int big = 8 << 20;
  ASSERT_EQ(::setsockopt(p->first.fd(), SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big), 0);
  const MapUpdateRequest req{1, 0, {1, 2, 3, 4}, std::vector<std::uint8_t>(600'000, 7)};
  for (std::uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(p->first.queue(i, req));
  EXPECT_EQ(p->first.pending_output(), 3 * (600'000 + 20 + 24));
  ASSERT_TRUE(p->first.flush());
  ASSERT_FALSE(p->first.wants_write());
  EXPECT_EQ(p->first.pending_output(), 0u);

  auto first = p->second.read_available(64 * 1024);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->empty());  // 64 KiB read, no 600 KB frame complete yet
  std::size_t frames = 0;
  int calls = 1;
  while (frames < 3 && calls < 1000) {
    auto more = p->second.read_available(64 * 1024);
    ASSERT_TRUE(more) << more.error().message;
    for (const Frame& f : *more) {
      auto m = decode(f);
      ASSERT_TRUE(m);
      EXPECT_TRUE(*m == Message(req));
    }
    frames += more->size();
    ++calls;
  }
  EXPECT_EQ(frames, 3u);
  EXPECT_GE(calls, int(3 * 600'000 / (64 * 1024)));
}

TEST(TransportChannel, CharacterDeviceStyleFdCarriesFrames) {
  // A FIFO opened O_RDWR stands in for /dev/vportNpM: a non-socket fd that
  // goes through write()/read() rather than send().
  TempDir dir;
  const std::string fifo = (dir.path / "vport0p1").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto ch = Channel::open_port(fifo);
  ASSERT_TRUE(ch) << ch.error().message;
  ASSERT_TRUE(ch->send(3, Event{EventKind::Detached, 5, "tap gone"}, 1000));
  auto e = ch->recv(1000);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_TRUE(e->message == Message(Event{EventKind::Detached, 5, "tap gone"}));
}

TEST(TransportChannel, FindsVirtioPortByName) {
  TempDir dir;
  auto sysfs = dir.path / "virtio-ports";
  auto dev = dir.path / "dev";
  fs::create_directories(sysfs / "vport0p0");
  fs::create_directories(sysfs / "vport1p2");
  fs::create_directories(dev);
  std::ofstream(sysfs / "vport0p0" / "name") << "org.qemu.guest_agent.0\n";
  std::ofstream(sysfs / "vport1p2" / "name") << "org.xoffload.0\n";
  auto found = find_virtio_port(kVirtioPortName, sysfs.string(), dev.string());
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, (dev / "vport1p2").string());

  auto missing = find_virtio_port("org.other.0", sysfs.string(), dev.string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "virtio-serial port 'org.other.0' not found under " + sysfs.string() +
                " (is the VM started with virtserialport,name=org.other.0?)");

  // Found by name, then opened: the device node is missing here.
  auto open = Channel::open_virtio_port(kVirtioPortName, sysfs.string(), dev.string());
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().message,
            "open port '" + (dev / "vport1p2").string() + "': No such file or directory");
}

}  // namespace
}  // namespace xo::transport
