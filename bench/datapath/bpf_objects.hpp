// libbpf-loaded objects of the benchmark (host-side programs that are not
// offloads: the host ingress program, generator programs, sinks, native
// baselines) and the small map/attach helpers the runs need.
#pragma once

#include <cstdint>
#include <string>

#include "bench/datapath/netdev.hpp"

struct bpf_object;

namespace xo::bench {

class BpfObject {
 public:
  static Result<BpfObject> open(const std::string& path);
  BpfObject(BpfObject&& o) noexcept;
  BpfObject& operator=(BpfObject&&) = delete;
  BpfObject(const BpfObject&) = delete;
  BpfObject& operator=(const BpfObject&) = delete;
  ~BpfObject();

  // Before load: a `const volatile __u32` in .rodata, by variable name.
  Status set_rodata_u32(const std::string& var, std::uint32_t value);
  // Before load: use an existing map (e.g. a session's pinned chain array).
  Status reuse_map(const std::string& map, int fd);
  Status load();

  int prog_fd(const std::string& prog) const;  // -1 if missing
  int map_fd(const std::string& map) const;
  const std::string& path() const { return path_; }

 private:
  BpfObject() = default;
  bpf_object* obj_ = nullptr;
  std::string path_;
};

// An XDP program attached through a bpf_link (BPF_XDP): `ifindex` is
// resolved in the calling thread's netns, and closing the link detaches it
// from whichever netns the device lives in.
Result<UniqueFd> attach_xdp(int prog_fd, int ifindex);

// Sum over CPUs of a PERCPU_ARRAY of 8-byte values: one key, or all keys
// 0..entries-1.
Result<std::uint64_t> percpu_sum(int map_fd, std::uint32_t key);
Result<std::uint64_t> percpu_sum_all(int map_fd, std::uint32_t entries);

}  // namespace xo::bench
