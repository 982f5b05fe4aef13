// map_refs: guest map handles -> host map fds.
//
//   before (guest):  r1 = map[handle 3] ll        ; LoadMapFd{fd = 3}
//                    r2 = map_value[handle 4]+8 ll ; LoadMapValue{fd = 4, off = 8}
//   after  (host):   r1 = map[fd 17] ll
//                    r2 = map_value[fd 18]+8 ll
//
// Record, then apply: every reference is first collected and checked against
// the submission's own map table (a guest may name only its own handles), and
// only when all of them resolve are the host fds written, in one place.
#include <string>

#include "translator/passes/diagnostics.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {
namespace {

struct MapRef {
  std::size_t index;  // instruction index
  std::uint32_t handle;
  int host_fd = -1;
};

Result<std::vector<MapRef>> record_map_refs(const std::vector<isa::Insn>& insns,
                                            const isa::Structure& st, PassContext& ctx) {
  std::vector<MapRef> refs;
  SubmissionMaps maps(ctx.submission);
  for (std::size_t i = 0; i < insns.size(); ++i) {
    const std::size_t pc = st.layout[i];
    std::uint32_t handle;
    if (auto* m = std::get_if<isa::LoadMapFd>(&insns[i])) {
      handle = static_cast<std::uint32_t>(m->fd);
    } else if (auto* v = std::get_if<isa::LoadMapValue>(&insns[i])) {
      handle = static_cast<std::uint32_t>(v->fd);
      const MapDef* def = maps.find(handle);
      if (def && v->off >= def->value_size)
        return ctx.diag.at(pc, "map value offset " + std::to_string(v->off) +
                                   " is outside the value of map '" + def->name + "' (" +
                                   std::to_string(def->value_size) + " bytes)");
    } else if (std::holds_alternative<isa::LoadMapIdx>(insns[i]) ||
               std::holds_alternative<isa::LoadMapIdxValue>(insns[i])) {
      return ctx.diag.at(pc, "ld_imm64 with BPF_PSEUDO_MAP_IDX is not supported; "
                             "reference maps by handle (BPF_PSEUDO_MAP_FD/_VALUE)");
    } else {
      continue;
    }
    if (!maps.find(handle))
      return ctx.diag.at(pc, "map handle " + std::to_string(handle) +
                                 " is not a map of this submission");
    refs.push_back({i, handle});
  }
  return refs;
}

Status resolve_host_fds(std::vector<MapRef>& refs, const isa::Structure& st,
                        const HostFdOfHandle& host_fd_of_handle, PassContext& ctx) {
  for (auto& r : refs) {
    std::optional<int> fd = host_fd_of_handle ? host_fd_of_handle(r.handle) : std::nullopt;
    if (!fd || *fd < 0)
      return ctx.diag.at(st.layout[r.index], "map handle " + std::to_string(r.handle) +
                                                 " has no host map in this session");
    r.host_fd = *fd;
  }
  return Ok{};
}

void apply_host_fds(std::vector<isa::Insn>& insns, const std::vector<MapRef>& refs) {
  for (const auto& r : refs) {
    if (auto* m = std::get_if<isa::LoadMapFd>(&insns[r.index])) m->fd = r.host_fd;
    if (auto* v = std::get_if<isa::LoadMapValue>(&insns[r.index])) v->fd = r.host_fd;
  }
}

}  // namespace

Status resolve_map_refs(std::vector<isa::Insn>& insns, const isa::Structure& structure,
                        const HostFdOfHandle& host_fd_of_handle, PassContext& ctx) {
  auto refs = record_map_refs(insns, structure, ctx);
  if (!refs) return refs.error();
  if (auto s = resolve_host_fds(*refs, structure, host_fd_of_handle, ctx); !s) return s.error();
  apply_host_fds(insns, *refs);
  return Ok{};
}

}  // namespace xo::translator
