// Reads a live kernel map by fd and renders its entries: hex key/value, and
// text typed by the map's BTF (libbpf's btf_dump__dump_type_data) when the
// kernel knows its key/value types. Per-CPU maps: one value per possible CPU,
// plus their sum when the value is a plain 1/2/4/8-byte counter.
// Used by `xoffload run` (maps after the test run) and `status`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/json.hpp"
#include "core/result.hpp"

namespace xo::cli {

struct MapEntry {
  std::string key;    // hex
  std::string value;  // hex; per-CPU maps: the sum (or CPU 0's value when it has no sum)
  std::optional<std::string> key_text, value_text;  // BTF-typed, when available
  std::vector<std::string> per_cpu;                 // hex, per-CPU maps only
  std::optional<std::uint64_t> sum;                 // per-CPU counters only
};

struct MapContents {
  std::string name;  // the caller's name for the map (guest name)
  std::string type;  // "percpu_array", ...
  std::uint32_t id = 0;
  std::uint32_t key_size = 0, value_size = 0, max_entries = 0;
  bool btf_typed = false;
  std::vector<MapEntry> entries;
  std::size_t omitted_zero = 0;  // array entries left out because all-zero
  bool truncated = false;        // more than `max_entries_shown` entries
};

struct DumpOptions {
  bool include_zero_array_entries = false;
  std::size_t max_entries_shown = 4096;
};

Result<MapContents> read_map(int fd, std::string name, const DumpOptions& opts = {});

// {"name": [entries], ...} with each entry {key, value, key_btf?, value_btf?, per_cpu?, sum?}.
void write_map_entries(JsonWriter& j, const MapContents& m);
// Human-readable: "  rxcnt[17] = 1   (per CPU: 1 0)".
std::string format_map_text(const MapContents& m);

}  // namespace xo::cli
