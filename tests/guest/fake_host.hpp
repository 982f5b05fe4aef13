// A protocol-level stand-in for xoffloadd, for guest client tests: it keeps
// a real table of maps (values stored per "host CPU" for per-CPU maps) and
// programs, hands out handles that differ from the builder's 1..N, and
// records every request so tests can check the sequence the client sent.
//
// Serves connections one after another on a unix socket (so a CLI run as a
// child process can connect several times to one session state), or one
// in-process channel.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "transport/channel.hpp"
#include "transport/messages.hpp"

namespace xo::guest::test {

using Bytes = std::vector<std::uint8_t>;

struct FakeMap {
  transport::MapCreateRequest def;
  std::map<Bytes, Bytes> entries;  // per-CPU maps: value of one CPU
};

struct FakeProg {
  transport::ProgLoadRequest req;
  bool attached = false;
};

class FakeHost {
 public:
  static constexpr std::uint32_t kFirstMapHandle = 100;
  static constexpr std::uint32_t kFirstProgHandle = 500;
  static constexpr int kHostCpus = 3;

  // Listens on `socket_path` and serves until destroyed.
  explicit FakeHost(std::string socket_path);
  // Serves one in-process channel until it closes.
  explicit FakeHost(transport::Channel channel);
  ~FakeHost();
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  // Scripted failures.
  std::string fail_prog_load_log;  // non-empty: PROG_LOAD fails with EACCES and this log
  std::string fail_map_create;     // map name whose MAP_CREATE fails with EDQUOT

  // What happened (copies, under the lock).
  std::vector<std::uint16_t> request_types() const;
  std::map<std::uint32_t, FakeMap> maps() const;
  std::map<std::uint32_t, FakeProg> progs() const;
  std::size_t btf_objects() const;
  // Sent (request_id 0) just before the next reply.
  void queue_event(transport::Event event);
  // Sets one CPU's slot of a per-CPU map value (or the value of a plain map).
  void set_value(std::uint32_t map, const Bytes& key, const Bytes& value);

 private:
  void serve_listener();
  void serve(transport::Channel& ch);
  std::optional<transport::Message> handle(const transport::Message& m);

  std::string path_;
  std::optional<transport::UnixListener> listener_;
  std::optional<transport::Channel> channel_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::uint16_t> types_;
  std::vector<transport::Event> events_;
  std::map<std::uint32_t, FakeMap> maps_;
  std::map<std::uint32_t, FakeProg> progs_;
  std::set<std::uint32_t> btfs_;  // live BTF handles
  std::uint32_t next_btf_ = 1001;
  std::uint32_t next_map_ = kFirstMapHandle, next_prog_ = kFirstProgHandle;
  std::thread thread_;
};

}  // namespace xo::guest::test
