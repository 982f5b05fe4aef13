// encode: the last step, and the only place guest handles become host fds.
//
//   before (Translated::insns):  r1 = map[handle 3] ll   r2 = map[handle 0] ll (stats)
//   after  (host bytes):         r1 = map[fd 17] ll      r2 = map[fd 9] ll
//
// Record, then apply: every reference is collected and resolved first; only
// when all of them resolve are the fds written, and the program encoded.
#include <cerrno>
#include <string>

#include "core/diagnostics.hpp"
#include "translator/isa/codec.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {
namespace {

// The guest slot a host instruction came from (0 for code the translator added).
std::size_t guest_slot(const isa::IndexMap& map, std::size_t host_slot) {
  if (host_slot < map.new_to_old.size() && map.new_to_old[host_slot]) return *map.new_to_old[host_slot];
  return 0;
}

}  // namespace

Result<std::vector<isa::RawInsn>> Translated::encode(const Submission& submission,
                                                     const HostFdOfHandle& host_fd_of_handle) const {
  struct Ref {
    std::size_t index;
    int fd;
  };
  std::vector<Ref> refs;
  std::vector<isa::Insn> bound = insns;
  std::size_t host_slot = 0;
  for (std::size_t i = 0; i < bound.size(); host_slot += isa::slot_width(bound[i]), ++i) {
    const std::int32_t* field = isa::map_of(bound[i]);
    if (!field) continue;
    const auto handle = static_cast<std::uint32_t>(*field);
    std::optional<int> fd = host_fd_of_handle ? host_fd_of_handle(handle) : std::nullopt;
    if (!fd || *fd < 0)
      return Diagnoser(submission)
          .at(guest_slot(index_map, host_slot),
              "map handle " + std::to_string(handle) + " has no host map in this session", EBADF)
          .at_stage(Stage::Translate);
    refs.push_back({i, *fd});
  }
  for (const auto& r : refs) *isa::map_of(bound[r.index]) = r.fd;
  return isa::encode(bound);
}

std::vector<isa::RawInsn> Translated::encode_symbolic() const { return isa::encode(insns); }

std::set<std::uint32_t> Translated::map_handles() const {
  std::set<std::uint32_t> out;
  for (isa::Insn insn : insns)
    if (const std::int32_t* field = isa::map_of(insn); field && std::uint32_t(*field) != kStatsMapHandle)
      out.insert(std::uint32_t(*field));
  return out;
}

}  // namespace xo::translator
