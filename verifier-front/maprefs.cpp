// References to kernel objects: map handles, BTF ids, kfuncs (allowed by
// name: core/policy.hpp KfuncProto), legacy packet loads. These are policy (the guest may name only what its session owns)
// and mirror checks the kernel makes on every instruction, dead or not, in
// resolve_pseudo_ldimm64(); so they apply to the whole program.
//
//   r1 = map[handle 7] ll      ; the session owns handles 1 and 2
//   -> prog 'p': insn 4 (p.c:12): map handle 7 is not one of this session's maps
//
// Direct value access (BPF_PSEUDO_MAP_VALUE) is what the kernel's array map
// supports in map_direct_value_addr(): an ARRAY with max_entries == 1 (global
// data sections) and an offset below value_size.
#include <variant>

#include "core/btf_func.hpp"
#include "verifier-front/checks.hpp"

namespace xo::verifier {
namespace {

std::string map_label(const MapDef& m) {
  std::string name;
  for (char c : std::string_view(m.name).substr(0, 32))
    name += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\'') ? '?' : c;
  return "map '" + name + "' (handle " + std::to_string(m.handle) + ")";
}

// A guest's name, safe to print in one line.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64))
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\'') ? '?' : c;
  return "'" + out + "'";
}

std::string handle_text(std::int32_t fd) {
  return std::to_string(static_cast<std::uint32_t>(fd));
}

class MapRefChecker {
 public:
  explicit MapRefChecker(const Context& cx) : cx_(cx) {}

  Status check(std::size_t i) {
    return std::visit([&](const auto& insn) { return on(i, insn); }, cx_.insns[i]);
  }

 private:
  Status on(std::size_t i, const isa::LoadMapFd& l) {
    if (!cx_.maps.find(static_cast<std::uint32_t>(l.fd)))
      return reject_insn(cx_, i, "map handle " + handle_text(l.fd) +
                                     " is not one of this session's maps",
                         EBADF);
    return Ok{};
  }
  Status on(std::size_t i, const isa::LoadMapValue& l) {
    const MapDef* m = cx_.maps.find(static_cast<std::uint32_t>(l.fd));
    if (!m)
      return reject_insn(cx_, i, "map handle " + handle_text(l.fd) +
                                     " is not one of this session's maps",
                         EBADF);
    if (m->type != MapType::Array || m->max_entries != 1)
      return reject_insn(cx_, i, "direct value access to " + map_label(*m) +
                                     " needs an array map with max_entries 1");
    if (l.off >= m->value_size)
      return reject_insn(cx_, i, "direct value access at offset " + std::to_string(l.off) +
                                     " is outside " + map_label(*m) + " (value_size " +
                                     std::to_string(m->value_size) + ")");
    return Ok{};
  }
  Status on(std::size_t i, const isa::LoadMapIdx&) {
    return reject_insn(cx_, i, "ld_imm64 BPF_PSEUDO_MAP_IDX is not accepted: guests reference "
                               "maps by handle (BPF_PSEUDO_MAP_FD)");
  }
  Status on(std::size_t i, const isa::LoadMapIdxValue&) {
    return reject_insn(cx_, i, "ld_imm64 BPF_PSEUDO_MAP_IDX_VALUE is not accepted: guests "
                               "reference maps by handle (BPF_PSEUDO_MAP_VALUE)");
  }
  Status on(std::size_t i, const isa::LoadBtfId& l) {
    return reject_insn(cx_, i, "ld_imm64 BPF_PSEUDO_BTF_ID (kernel variable, btf_id " +
                                   std::to_string(l.btf_id) +
                                   ") is not allowed for offloaded programs",
                       EPERM);
  }
  // A kfunc is named by an extern function of the program's own BTF (its
  // id in imm, fd index 0); the policy allows it by name, per flavor.
  Status on(std::size_t i, const isa::CallKfunc& k) {
    const std::string id = "btf_id " + std::to_string(k.btf_id);
    auto name = k.btf_fd_idx == 0 ? btf_func_name(cx_.sub.btf, std::uint32_t(k.btf_id)) : std::nullopt;
    if (!name)
      return reject_insn(cx_, i, "kfunc call (" + id +
                                     ") does not name a function of the program's BTF; guests name kfuncs "
                                     "by an extern function declaration, never by a kernel's BTF id",
                         EPERM);
    const KfuncProto* proto = cx_.policy.kfunc(*name);
    if (!proto)
      return reject_insn(cx_, i, "kfunc " + printable(*name) + " (" + id + ") is not allowed for offloaded programs",
                         EPERM);
    if (!(proto->flavors & flavor_bit(cx_.flavor)))
      return reject_insn(cx_, i, "kfunc " + proto->name + " is not available in the " +
                                     std::string(flavor_name(cx_.flavor)) + " flavor",
                         EPERM);
    return Ok{};
  }
  // The kernel allows LD_ABS/LD_IND only for socket filters and tc programs
  // (may_access_skb()); a guest XDP program with them never loads.
  Status on(std::size_t i, const isa::LegacyLoad& l) {
    return reject_insn(cx_, i, std::string("legacy packet access (BPF_LD | ") +
                                   (l.indirect ? "BPF_IND" : "BPF_ABS") +
                                   ") is not allowed in XDP programs");
  }
  template <typename T>
  Status on(std::size_t, const T&) {
    return Ok{};
  }

  const Context& cx_;
};

}  // namespace

Status check_map_refs(Context& cx) {
  MapRefChecker checker(cx);
  for (std::size_t i = 0; i < cx.size(); ++i)
    if (auto s = checker.check(i); !s) return s;
  return Ok{};
}

}  // namespace xo::verifier
