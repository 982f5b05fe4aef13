// Walks the type section of a raw BTF blob (struct btf_header, then btf_type
// records each followed by kind-specific data) up to one type id.
#include "core/btf_func.hpp"

#include <linux/btf.h>

#include <cstring>

#include "core/source_map.hpp"

namespace xo {
namespace {

// Bytes that follow a btf_type of `kind` with `vlen` entries; nullopt for a
// kind this walker does not know (it then names nothing).
std::optional<std::size_t> extra_bytes(std::uint32_t kind, std::uint32_t vlen) {
  switch (kind) {
    case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: return 4;
    case BTF_KIND_PTR: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_FUNC: case BTF_KIND_FLOAT:
    case BTF_KIND_TYPE_TAG:
      return 0;
    case BTF_KIND_ARRAY: return sizeof(btf_array);
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: return std::size_t(vlen) * sizeof(btf_member);
    case BTF_KIND_ENUM: return std::size_t(vlen) * sizeof(btf_enum);
    case BTF_KIND_FUNC_PROTO: return std::size_t(vlen) * sizeof(btf_param);
    case BTF_KIND_DATASEC: return std::size_t(vlen) * sizeof(btf_var_secinfo);
    case BTF_KIND_ENUM64: return std::size_t(vlen) * sizeof(btf_enum64);
    default: return std::nullopt;
  }
}

}  // namespace

std::optional<std::string> btf_func_name(std::span<const std::uint8_t> btf, std::uint32_t id) {
  btf_header h;
  if (id == 0 || btf.size() < sizeof h) return std::nullopt;
  std::memcpy(&h, btf.data(), sizeof h);
  if (h.magic != BTF_MAGIC || h.hdr_len < sizeof h || h.hdr_len > btf.size() ||
      h.type_off > btf.size() - h.hdr_len || h.type_len > btf.size() - h.hdr_len - h.type_off)
    return std::nullopt;
  const std::uint8_t* p = btf.data() + h.hdr_len + h.type_off;
  std::size_t left = h.type_len;
  for (std::uint32_t cur = 1;; ++cur) {
    btf_type t;
    if (left < sizeof t) return std::nullopt;
    std::memcpy(&t, p, sizeof t);
    const std::uint32_t kind = BTF_INFO_KIND(t.info), vlen = BTF_INFO_VLEN(t.info);
    if (cur == id) {
      if (kind != BTF_KIND_FUNC) return std::nullopt;
      auto name = BtfStrings(btf).at(t.name_off);
      if (!name || name->empty()) return std::nullopt;
      return std::string(*name);
    }
    auto extra = extra_bytes(kind, vlen);
    if (!extra || *extra > left - sizeof t) return std::nullopt;
    p += sizeof t + *extra;
    left -= sizeof t + *extra;
  }
}

}  // namespace xo
