// A kernel-free SessionBackend for the dispatch fuzzer: maps are std::maps
// bounded by max_entries, programs are counters. It counts live objects so
// the harness can check that teardown frees everything.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "host/core/pipeline.hpp"
#include "host/session/backend.hpp"
#include "host/session/session.hpp"
#include "translator/isa/codec.hpp"

namespace xo::session::fake {

struct Live {
  int btfs = 0, maps = 0, progs = 0;
  bool attached = false;
};

class Btf final : public BackendBtf {
 public:
  Btf(Live& l, std::size_t bytes) : l_(l), bytes_(bytes) { ++l_.btfs; }
  ~Btf() override { --l_.btfs; }
  std::uint32_t kernel_id() const override { return 1; }
  std::uint64_t kernel_bytes() const override { return bytes_; }

 private:
  Live& l_;
  std::size_t bytes_;
};

class Map final : public BackendMap {
 public:
  Map(Live& l, const MapDef& d) : l_(l), def_(d) { ++l_.maps; }
  ~Map() override { --l_.maps; }
  std::uint32_t kernel_id() const override { return 2; }
  // Twice the session's lower bound: like the kernel, more than the floor.
  std::uint64_t kernel_bytes() const override {
    auto floor = charged_map_bytes(def_, 2);
    return floor > ~std::uint64_t(0) / 2 ? floor : 2 * floor;
  }
  std::int32_t lookup(std::span<const std::uint8_t> key, std::vector<std::uint8_t>& value) override {
    if (key.size() != def_.key_size) __builtin_trap();  // the session checks sizes first
    auto it = data_.find(K(key.begin(), key.end()));
    if (it == data_.end()) return -2;
    if (it->second.size() != value.size()) __builtin_trap();
    value = it->second;
    return 0;
  }
  std::int32_t update(std::span<const std::uint8_t> key, std::span<const std::uint8_t> value,
                      std::uint64_t flags) override {
    if (key.size() != def_.key_size) __builtin_trap();
    K k(key.begin(), key.end());
    bool exists = data_.count(k) > 0;
    if (flags == 1 && exists) return -17;
    if (flags == 2 && !exists) return -2;
    if (!exists && data_.size() >= def_.max_entries) return -7;
    data_[k] = K(value.begin(), value.end());
    return 0;
  }
  std::int32_t remove(std::span<const std::uint8_t> key) override {
    return data_.erase(K(key.begin(), key.end())) ? 0 : -2;
  }
  std::int32_t next_key(std::span<const std::uint8_t> key, std::vector<std::uint8_t>& next) override {
    auto it = key.empty() ? data_.begin() : data_.upper_bound(K(key.begin(), key.end()));
    if (it == data_.end()) return -2;
    next = it->first;
    return 0;
  }

 private:
  using K = std::vector<std::uint8_t>;
  Live& l_;
  MapDef def_;
  std::map<K, K> data_;
};

class Prog final : public BackendProg {
 public:
  Prog(Live& l, std::size_t insns) : l_(l), insns_(insns) { ++l_.progs; }
  ~Prog() override { --l_.progs; }
  std::uint32_t kernel_id() const override { return 3; }
  std::uint64_t kernel_bytes() const override { return 4096 + 8 * insns_; }
  Outcome<std::vector<transport::ActionCounter>> stats() override {
    return std::vector<transport::ActionCounter>{{1, 0, 0}, {2, 0, 0}};
  }
  // Every call: 16 more runs of 1 us each (the watchdog's arithmetic runs).
  std::optional<RunStats> run_stats() const override {
    runs_ += 16;
    return RunStats{runs_ * 1000, runs_};
  }

 private:
  Live& l_;
  std::size_t insns_;
  mutable std::uint64_t runs_ = 0;
};

class Backend final : public SessionBackend {
 public:
  explicit Backend(Live& l) : l_(l) {}
  unsigned possible_cpus() const override { return 2; }
  Outcome<std::unique_ptr<BackendBtf>> load_btf(std::span<const std::uint8_t> blob) override {
    if (blob.size() < 24) return Failure{-22, "BTF too short", "kernel log line"};
    return std::unique_ptr<BackendBtf>(std::make_unique<Btf>(l_, blob.size()));
  }
  Outcome<std::unique_ptr<BackendMap>> create_map(const MapDef& def, const BackendBtf*, const BackendMap*) override {
    if ((def.key_size == 0 && !map_type_is_keyless(def.type)) || def.value_size == 0 || def.max_entries == 0)
      return Failure{-22, "bad map"};
    return std::unique_ptr<BackendMap>(std::make_unique<Map>(l_, def));
  }
  // The real pipeline up to the kernel (host::prepare), then a pretend
  // kernel that refuses programs whose last insn is not exit. It all runs
  // in begin_load (map_of is valid there only); run() has nothing to do.
  struct Load final : BackendLoad {
    std::optional<Outcome<std::unique_ptr<BackendProg>>> result;
    void run() override {}
  };
  Outcome<std::unique_ptr<BackendLoad>> begin_load(ProgLoadInput in) override {
    auto load = std::make_unique<Load>();
    load->result.emplace(load_now(in));
    return std::unique_ptr<BackendLoad>(std::move(load));
  }
  Outcome<std::unique_ptr<BackendProg>> finish_load(BackendLoad& load) override {
    return std::move(*static_cast<Load&>(load).result);
  }
  Outcome<std::unique_ptr<BackendProg>> load_now(const ProgLoadInput& in) {
    host::PipelineOptions o;
    o.flavor = in.flavor;
    o.tap_ifindex = 1;
    o.stats = true;
    o.stats_cpus = 2;
    o.max_insns = in.max_insns;
    auto prepared = host::prepare(in.submission, *in.policy, o);
    if (!prepared) return failure_of(prepared.error());
    // Every map the pipeline accepted must be one the session owns.
    auto encoded = prepared->translated.encode(in.submission, [&in](std::uint32_t h) -> std::optional<int> {
      if (h == translator::kStatsMapHandle) return 3;
      return in.map_of(h) ? std::optional<int>(int(h)) : std::nullopt;
    });
    if (!encoded) __builtin_trap();
    const auto& insns = in.submission.insns;
    auto last = isa::decode_one(insns, insns.size() - 1);
    if (!last || !std::holds_alternative<isa::Exit>(*last))
      return Failure{-13, "last insn is not exit", "0: (b7) r0 = 2\n"};
    auto prog = std::make_unique<Prog>(l_, insns.size());
    prog->map_handles = prepared->translated.map_handles();
    return std::unique_ptr<BackendProg>(std::move(prog));
  }
  Done attach(BackendProg&, Flavor) override {
    l_.attached = true;
    return std::nullopt;
  }
  void detach() override { l_.attached = false; }
  bool tap_alive() override { return true; }
  std::string attach_point(Flavor) const override { return "fake"; }
  std::vector<std::string> host_paths() const override { return {"/sys/fs/bpf/fake"}; }

 private:
  Live& l_;
};

}  // namespace xo::session::fake
