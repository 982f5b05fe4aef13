// A raw BTF blob declaring extern functions by name, as clang declares a
// program's kfuncs: [1] FUNC_PROTO void(void), then one extern FUNC per name
// (ids 2, 3, ...). Shared by the translator and pre-verifier kfunc tests.
#pragma once

#include <linux/btf.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace xo::test {

inline std::vector<std::uint8_t> func_btf(const std::vector<std::string>& names) {
  std::vector<btf_type> types;
  std::string strings(1, '\0');
  btf_type proto{};
  proto.info = BTF_KIND_FUNC_PROTO << 24;
  types.push_back(proto);
  for (const auto& n : names) {
    btf_type f{};
    f.name_off = static_cast<std::uint32_t>(strings.size());
    f.info = (BTF_KIND_FUNC << 24) | BTF_FUNC_EXTERN;
    f.type = 1;
    types.push_back(f);
    strings += n;
    strings += '\0';
  }
  btf_header h{};
  h.magic = BTF_MAGIC;
  h.version = BTF_VERSION;
  h.hdr_len = sizeof h;
  h.type_off = 0;
  h.type_len = static_cast<std::uint32_t>(types.size() * sizeof(btf_type));
  h.str_off = h.type_len;
  h.str_len = static_cast<std::uint32_t>(strings.size());
  std::vector<std::uint8_t> out(sizeof h + h.type_len + h.str_len);
  std::memcpy(out.data(), &h, sizeof h);
  std::memcpy(out.data() + sizeof h, types.data(), h.type_len);
  std::memcpy(out.data() + sizeof h + h.type_len, strings.data(), h.str_len);
  return out;
}

}  // namespace xo::test
