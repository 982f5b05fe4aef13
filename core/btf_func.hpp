// The name of a function declared in a raw BTF blob, by type id: what a
// guest's kfunc call names (Submission: a kfunc call's imm is the id of an
// extern BTF_KIND_FUNC in Submission::btf). Reads guest bytes, so every
// offset and length is checked: malformed BTF simply names nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace xo {

// nullopt unless type `id` of `btf` is a BTF_KIND_FUNC with a valid name.
std::optional<std::string> btf_func_name(std::span<const std::uint8_t> btf, std::uint32_t id);

}  // namespace xo
