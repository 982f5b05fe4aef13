// map_refs: every map reference names a map of the submission. Check only:
// the references stay symbolic (guest handles) through every later pass and
// become host fds in exactly one place, Translated::encode (encode_host.cpp).
//
//   r1 = map[handle 3] ll          ; LoadMapFd{fd = 3}: map 3 is declared -> ok
//   r2 = map_value[handle 4]+8 ll  ; value_size of map 4 is 8 -> refused
//   r3 = map[handle 0] ll          ; 0 is the host's stats map -> refused (EBADF)
#include <cerrno>
#include <string>

#include "core/diagnostics.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {

Status check_map_refs(const std::vector<isa::Insn>& insns, const isa::Structure& st,
                      PassContext& ctx) {
  SubmissionMaps maps(ctx.submission);
  for (std::size_t i = 0; i < insns.size(); ++i) {
    const std::size_t pc = st.layout[i];
    std::uint32_t handle;
    const MapDef* def = nullptr;
    if (auto* m = std::get_if<isa::LoadMapFd>(&insns[i])) {
      handle = static_cast<std::uint32_t>(m->fd);
    } else if (auto* v = std::get_if<isa::LoadMapValue>(&insns[i])) {
      handle = static_cast<std::uint32_t>(v->fd);
      def = maps.find(handle);
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
    if (handle == kStatsMapHandle || !maps.find(handle))
      return ctx.diag.at(pc, "map handle " + std::to_string(handle) + " is not a map of this submission",
                         EBADF);
  }
  return Ok{};
}

}  // namespace xo::translator
