// Leak checks for kernel BPF objects. Two views:
//  - a census (counts of all live programs, maps, BTF objects), for
//    "after N cycles we are back where we started" on a quiet machine;
//  - liveness of specific ids, for checks that must hold while other
//    processes create and free BPF objects concurrently.
// The kernel frees some objects after an RCU grace period (e.g. a program
// released by a tc filter), so liveness checks wait a bounded time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace xo::host {

struct KernelCensus {
  std::size_t progs = 0;
  std::size_t maps = 0;
  std::size_t btfs = 0;
  bool operator==(const KernelCensus&) const = default;
  std::string describe() const;
};

KernelCensus take_kernel_census();

enum class ObjectKind : std::uint8_t { Prog, Map, Btf };
struct KernelObjectRef {
  ObjectKind kind;
  std::uint32_t id;
  bool operator==(const KernelObjectRef&) const = default;
};

bool kernel_object_exists(KernelObjectRef ref);
// The refs that still exist after waiting up to `wait` for them to go.
std::vector<KernelObjectRef> still_alive(std::span<const KernelObjectRef> refs,
                                         std::chrono::milliseconds wait = std::chrono::seconds(3));
std::string describe(KernelObjectRef ref);

}  // namespace xo::host
