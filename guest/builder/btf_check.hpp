// Structural check of a raw BTF blob before libbpf 1.1 parses it: libbpf of
// that age trusts type ids and follows reference chains without bounds, so a
// corrupted id or a typedef loop crashes or hangs it. The kernel's own BTF
// verifier runs later on the host; this is only the part that keeps our
// process alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/result.hpp"

namespace xo::guest {

// Checks header and section bounds, every type record's extent and kind,
// every string offset, every referenced type id, and that modifier/pointer/
// array chains end (no reference loops).
Status check_btf(std::span<const std::uint8_t> btf);

// Bytes that follow the 12-byte header of a type record of `kind` with
// `vlen` members (kind-specific trailer + members); nullopt for an unknown
// kind. The one table both check_btf and BTF patching walk records with.
std::optional<std::size_t> btf_type_extra_bytes(std::uint32_t kind, std::uint32_t vlen);

}  // namespace xo::guest
