// The byte layout that turns a fuzz input into a Submission + flavor, shared
// by the harness (fuzz_preverify_translate.cpp, built by clang) and the seed
// writer (write_seeds.cpp, built by g++). Header-only so both compile it.
//
// All integers little-endian. Every count is clamped to a small maximum and to
// what the input still holds, so any byte string is a valid case:
//
//   [0]      options: bits 0-1 flavor (tc, chain, devmap, tun), bit 2 stats
//            map on, bit 3 guest_ifindex = 0 (else 7)
//   [1]      map count        (<= kMaxMaps)
//   [2]      func_info count  (<= kMaxFuncInfos)
//   [3]      line_info count  (<= kMaxLineInfos)
//   [4..5]   BTF blob length  (u16)
//   [6..7]   reserved
//   maps      24 bytes each: handle u32, type u8 (index into kMapTypes),
//             frozen u8, initial_value length u16 (<= value_size, zero bytes),
//             key_size u32, value_size u32, max_entries u32, flags u32
//   func_info  8 bytes each (struct bpf_func_info)
//   line_info 16 bytes each (struct bpf_line_info)
//   btf       the blob
//   insns     the rest, 8 bytes per slot (a trailing partial slot is dropped)
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "translator/isa/raw.hpp"
#include "core/submission.hpp"
#include "core/policy.hpp"

namespace xo::fuzz {

inline constexpr std::size_t kHeaderBytes = 8;
inline constexpr std::size_t kMapBytes = 24;
inline constexpr std::size_t kMaxMaps = 16;
inline constexpr std::size_t kMaxFuncInfos = 64;
inline constexpr std::size_t kMaxLineInfos = 255;
inline constexpr std::size_t kMaxInitialValue = 256;
inline constexpr std::uint32_t kGuestIfindex = 7;

inline constexpr std::array<MapType, 7> kMapTypes = {
    MapType::Hash,        MapType::Array,   MapType::ProgArray,    MapType::PercpuHash,
    MapType::PercpuArray, MapType::LruHash, MapType::LruPercpuHash};

struct FuzzCase {
  Submission sub;
  Flavor flavor = Flavor::Tc;
  bool stats_map = false;
};

namespace detail {

// Reads fixed-size fields; past the end of the input every field reads 0.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : b_(b) {}
  std::size_t left() const { return b_.size() - at_; }
  std::uint8_t u8() { return at_ < b_.size() ? b_[at_++] : 0; }
  std::uint16_t u16() { return std::uint16_t(u8() | (u8() << 8)); }
  std::uint32_t u32() { return std::uint32_t(u16()) | (std::uint32_t(u16()) << 16); }
  std::span<const std::uint8_t> take(std::size_t n) {
    n = std::min(n, left());
    auto s = b_.subspan(at_, n);
    at_ += n;
    return s;
  }

 private:
  std::span<const std::uint8_t> b_;
  std::size_t at_ = 0;
};

inline void put16(std::vector<std::uint8_t>& o, std::uint32_t v) {
  o.push_back(std::uint8_t(v));
  o.push_back(std::uint8_t(v >> 8));
}
inline void put32(std::vector<std::uint8_t>& o, std::uint32_t v) {
  put16(o, v);
  put16(o, v >> 16);
}

}  // namespace detail

inline FuzzCase parse_fuzz_input(std::span<const std::uint8_t> data) {
  detail::Reader r(data);
  FuzzCase c;
  const std::uint8_t options = r.u8();
  c.flavor = Flavor(options & 3);
  c.stats_map = (options & 4) != 0;
  c.sub.guest_ifindex = (options & 8) ? 0 : kGuestIfindex;
  const std::size_t want_maps = std::min<std::size_t>(r.u8(), kMaxMaps);
  const std::size_t want_funcs = std::min<std::size_t>(r.u8(), kMaxFuncInfos);
  const std::size_t want_lines = std::min<std::size_t>(r.u8(), kMaxLineInfos);
  const std::size_t btf_len = r.u16();
  r.u16();  // reserved

  c.sub.name = "fuzz_prog";
  c.sub.license = "GPL";
  for (std::size_t i = 0; i < want_maps && r.left() >= kMapBytes; ++i) {
    MapDef m{};
    m.handle = r.u32();
    m.type = kMapTypes[r.u8() % kMapTypes.size()];
    m.frozen = (r.u8() & 1) != 0;
    const std::size_t init_len = r.u16();
    m.key_size = r.u32();
    m.value_size = r.u32();
    m.max_entries = r.u32();
    m.flags = r.u32();
    m.name = "map" + std::to_string(m.handle);
    m.initial_value.assign(std::min<std::size_t>({init_len, m.value_size, kMaxInitialValue}), 0);
    c.sub.maps.push_back(std::move(m));
  }
  for (std::size_t i = 0; i < want_funcs && r.left() >= 8; ++i) {
    FuncInfo f{};
    f.insn_off = r.u32();
    f.type_id = r.u32();
    c.sub.func_info.push_back(f);
  }
  for (std::size_t i = 0; i < want_lines && r.left() >= 16; ++i) {
    LineInfo l{};
    l.insn_off = r.u32();
    l.file_name_off = r.u32();
    l.line_off = r.u32();
    l.line_col = r.u32();
    c.sub.line_info.push_back(l);
  }
  auto btf = r.take(btf_len);
  c.sub.btf.assign(btf.begin(), btf.end());
  c.sub.insns = isa::raw_from_bytes(r.take(r.left()));
  return c;
}

// The inverse, for seeds. Whatever does not fit the layout's bounds (a BTF blob
// above 64 KiB, more maps/func_info/line_info than the maxima) is dropped.
inline std::vector<std::uint8_t> serialize_fuzz_input(const FuzzCase& c) {
  using detail::put16;
  using detail::put32;
  const Submission& s = c.sub;
  const std::size_t maps = std::min(s.maps.size(), kMaxMaps);
  const std::size_t funcs = std::min(s.func_info.size(), kMaxFuncInfos);
  const std::size_t lines = std::min(s.line_info.size(), kMaxLineInfos);
  const std::size_t btf = s.btf.size() <= 0xffff ? s.btf.size() : 0;

  std::vector<std::uint8_t> o;
  o.push_back(std::uint8_t(unsigned(c.flavor) | (c.stats_map ? 4 : 0) |
                           (s.guest_ifindex == 0 ? 8 : 0)));
  o.push_back(std::uint8_t(maps));
  o.push_back(std::uint8_t(funcs));
  o.push_back(std::uint8_t(lines));
  put16(o, std::uint32_t(btf));
  put16(o, 0);
  for (std::size_t i = 0; i < maps; ++i) {
    const MapDef& m = s.maps[i];
    put32(o, m.handle);
    std::uint8_t type_index = 0;
    for (std::size_t t = 0; t < kMapTypes.size(); ++t)
      if (kMapTypes[t] == m.type) type_index = std::uint8_t(t);
    o.push_back(type_index);
    o.push_back(m.frozen ? 1 : 0);
    put16(o, std::uint32_t(std::min(m.initial_value.size(), kMaxInitialValue)));
    put32(o, m.key_size);
    put32(o, m.value_size);
    put32(o, m.max_entries);
    put32(o, m.flags);
  }
  for (std::size_t i = 0; i < funcs; ++i) {
    put32(o, s.func_info[i].insn_off);
    put32(o, s.func_info[i].type_id);
  }
  for (std::size_t i = 0; i < lines; ++i) {
    put32(o, s.line_info[i].insn_off);
    put32(o, s.line_info[i].file_name_off);
    put32(o, s.line_info[i].line_off);
    put32(o, s.line_info[i].line_col);
  }
  o.insert(o.end(), s.btf.begin(), s.btf.begin() + std::ptrdiff_t(btf));
  const auto insns = isa::bytes_from_raw(s.insns);
  o.insert(o.end(), insns.begin(), insns.end());
  return o;
}

}  // namespace xo::fuzz
