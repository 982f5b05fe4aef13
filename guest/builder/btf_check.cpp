// BTF layout (little-endian):
//   header { u16 magic 0xeB9F; u8 version 1; u8 flags; u32 hdr_len;
//            u32 type_off, type_len, str_off, str_len }   (offsets after hdr)
//   type   { u32 name_off; u32 info (vlen:16 | kind:5 <<24 | kind_flag <<31);
//            u32 size_or_type } + kind-specific trailer
#include "guest/builder/btf_check.hpp"

#include <linux/btf.h>

#include <cstring>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace xo::guest {
namespace {

constexpr std::size_t kMaxTypes = 1u << 20;

std::uint32_t u32_at(std::span<const std::uint8_t> b, std::size_t off) {
  std::uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

struct TypeRec {
  std::uint32_t kind;
  std::uint32_t next;  // the type a modifier/pointer/array/var/func points at, 0 if none
  bool chains;         // `next` is followed by libbpf when skipping modifiers/resolving sizes
};

std::string where(std::size_t id) { return "BTF: type [" + std::to_string(id) + "]: "; }

// (trailer bytes, bytes per member) of a type record of `kind`.
std::optional<std::pair<std::size_t, std::size_t>> layout(std::uint32_t kind) {
  switch (kind) {
    case BTF_KIND_INT: return std::pair{4, 0};
    case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG: case BTF_KIND_FUNC: case BTF_KIND_FWD:
    case BTF_KIND_FLOAT:
      return std::pair{0, 0};
    case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: return std::pair{4, 0};
    case BTF_KIND_ARRAY: return std::pair{12, 0};
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: return std::pair{0, 12};
    case BTF_KIND_ENUM: return std::pair{0, 8};
    case BTF_KIND_ENUM64: return std::pair{0, 12};
    case BTF_KIND_FUNC_PROTO: return std::pair{0, 8};
    case BTF_KIND_DATASEC: return std::pair{0, 12};
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::size_t> btf_type_extra_bytes(std::uint32_t kind, std::uint32_t vlen) {
  auto sizes = layout(kind);
  if (!sizes) return std::nullopt;
  return sizes->first + sizes->second * vlen;
}

Status check_btf(std::span<const std::uint8_t> btf) {
  if (btf.size() < sizeof(btf_header)) return err("BTF: too short for a header");
  btf_header h;
  std::memcpy(&h, btf.data(), sizeof h);
  if (h.magic != BTF_MAGIC) return err("BTF: bad magic (big-endian or not BTF)");
  if (h.version != BTF_VERSION) return err("BTF: unsupported version " + std::to_string(h.version));
  if (h.hdr_len < sizeof h || h.hdr_len > btf.size()) return err("BTF: bad header length");
  auto body = btf.subspan(h.hdr_len);
  if (h.type_off % 4 || h.type_off > body.size() || h.type_len > body.size() - h.type_off || h.type_len % 4)
    return err("BTF: type section out of bounds or misaligned");
  if (h.str_off > body.size() || h.str_len > body.size() - h.str_off)
    return err("BTF: string section out of bounds");
  auto types = body.subspan(h.type_off, h.type_len);
  auto strs = body.subspan(h.str_off, h.str_len);
  if (strs.empty() || strs[0] != 0 || strs.back() != 0) return err("BTF: string section must start and end with NUL");
  if (h.type_off < h.str_off ? h.type_off + h.type_len > h.str_off : h.str_off + h.str_len > h.type_off)
    return err("BTF: type and string sections overlap");
  auto name_ok = [&](std::uint32_t off) { return off < strs.size(); };

  // Pass 1: extents, kinds, string offsets; collect references.
  std::vector<TypeRec> recs{{0, 0, false}};  // id 0 = void
  std::vector<std::pair<std::size_t, std::uint32_t>> refs;  // (from id, to id)
  std::size_t pos = 0;
  while (pos < types.size()) {
    const std::size_t id = recs.size();
    if (id > kMaxTypes) return err("BTF: more than " + std::to_string(kMaxTypes) + " types");
    if (types.size() - pos < 12) return err(where(id) + "truncated header");
    std::uint32_t name_off = u32_at(types, pos), info = u32_at(types, pos + 4), st = u32_at(types, pos + 8);
    std::uint32_t kind = BTF_INFO_KIND(info), vlen = BTF_INFO_VLEN(info);
    pos += 12;
    if (!name_ok(name_off)) return err(where(id) + "name offset " + std::to_string(name_off) + " out of range");
    TypeRec rec{kind, 0, false};
    switch (kind) {
      case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG: case BTF_KIND_FUNC: case BTF_KIND_VAR:
      case BTF_KIND_DECL_TAG:
        rec = {kind, st, true};
        break;
      case BTF_KIND_FUNC_PROTO: refs.push_back({id, st}); break;
    }
    auto sizes = layout(kind);
    if (!sizes) return err(where(id) + "unknown kind " + std::to_string(kind));
    auto [trailer, member] = *sizes;
    std::size_t extra = trailer + member * vlen;
    if (types.size() - pos < extra) return err(where(id) + "trailer runs past the type section");
    auto tail = types.subspan(pos, extra);
    if (rec.chains) refs.push_back({id, rec.next});
    if (kind == BTF_KIND_ARRAY) {
      rec = {kind, u32_at(tail, 0), true};
      refs.push_back({id, u32_at(tail, 0)});
      refs.push_back({id, u32_at(tail, 4)});
    }
    for (std::uint32_t m = 0; m < vlen && member; ++m) {
      auto mem = tail.subspan(trailer + m * member, member);
      switch (kind) {
        case BTF_KIND_STRUCT: case BTF_KIND_UNION:
          if (!name_ok(u32_at(mem, 0))) return err(where(id) + "member " + std::to_string(m) + " name out of range");
          refs.push_back({id, u32_at(mem, 4)});
          break;
        case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
          if (!name_ok(u32_at(mem, 0))) return err(where(id) + "enumerator " + std::to_string(m) + " name out of range");
          break;
        case BTF_KIND_FUNC_PROTO:
          if (!name_ok(u32_at(mem, 0))) return err(where(id) + "parameter " + std::to_string(m) + " name out of range");
          refs.push_back({id, u32_at(mem, 4)});
          break;
        case BTF_KIND_DATASEC:
          refs.push_back({id, u32_at(mem, 0)});
          break;
      }
    }
    pos += extra;
    recs.push_back(rec);
  }

  // Pass 2: every reference names an existing type.
  for (auto [from, to] : refs)
    if (to >= recs.size()) return err(where(from) + "refers to type " + std::to_string(to) + ", which does not exist");
  for (std::size_t id = 1; id < recs.size(); ++id) {
    if (recs[id].kind == BTF_KIND_FUNC && recs[recs[id].next].kind != BTF_KIND_FUNC_PROTO)
      return err(where(id) + "FUNC does not point at a FUNC_PROTO");
    if ((recs[id].kind == BTF_KIND_VAR || recs[id].kind == BTF_KIND_DATASEC) && recs[id].next == 0 && recs[id].chains)
      return err(where(id) + "VAR of type void");
  }

  // Pass 3: chains of modifiers/pointers/arrays end (0 = unvisited,
  // 1 = on the current path, 2 = known to end).
  std::vector<std::uint8_t> state(recs.size(), 0);
  for (std::size_t start = 1; start < recs.size(); ++start) {
    std::vector<std::size_t> path;
    std::size_t cur = start;
    while (cur != 0 && recs[cur].chains && state[cur] == 0) {
      state[cur] = 1;
      path.push_back(cur);
      cur = recs[cur].next;
    }
    if (cur != 0 && state[cur] == 1) return err(where(start) + "reference loop through type " + std::to_string(cur));
    for (std::size_t p : path) state[p] = 2;
  }
  return Ok{};
}

}  // namespace xo::guest
