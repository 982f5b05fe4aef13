// The descriptor frame of transport/PROTOCOL.md 8.2, written out from the
// spec for tests that check what a host program delivers byte for byte
// (never from the translator's own constants).
#pragma once

#include <cstdint>
#include <vector>

namespace xo::test {

struct DescriptorSample {
  std::uint32_t map;
  std::uint64_t flags;
  std::vector<std::uint8_t> data;
};

inline void put_le(std::vector<std::uint8_t>& b, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(std::uint8_t(v >> (8 * i)));
}

// verdict: 0 ACTION, 1 REDIRECT_MAP, 2 REDIRECT.
inline std::vector<std::uint8_t> descriptor_frame(const std::vector<std::uint8_t>& inner, std::uint64_t cookie,
                                                  std::uint8_t verdict, std::uint8_t action, std::uint32_t map,
                                                  std::uint32_t key, std::uint64_t flags,
                                                  const std::vector<DescriptorSample>& samples = {}) {
  std::vector<std::uint8_t> out(inner.begin(), inner.begin() + 12);  // dst, src
  out.push_back(0x88);
  out.push_back(0xB5);
  put_le(out, cookie, 8);
  out.push_back(1);  // version
  out.push_back(verdict);
  out.push_back(action);
  out.push_back(std::uint8_t(samples.size()));
  put_le(out, map, 4);
  put_le(out, key, 4);
  put_le(out, 0, 4);
  put_le(out, flags, 8);
  for (const DescriptorSample& s : samples) {
    put_le(out, s.map, 4);
    put_le(out, s.data.size(), 4);
    put_le(out, s.flags, 8);
    out.insert(out.end(), s.data.begin(), s.data.end());
    while ((out.size() - 46) % 8 != 0) out.push_back(0);
  }
  out.insert(out.end(), inner.begin(), inner.end());
  return out;
}

}  // namespace xo::test
