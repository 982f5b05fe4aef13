// The descriptor frame (PROTOCOL.md 8.2): the one definition of its layout.
//
// The host's program writes it (translator/passes/deferred.cpp) and the
// guest's trampoline reads it (guest/client/trampoline_code.cpp); both name
// every field from here, so the two sides cannot disagree on an offset.
// Header-only constants: the translator and the guest tools include it
// without linking the transport library.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xo::transport::descriptor {

// A field of the wire layout: where it starts and how many bytes it has.
struct Field {
  std::int16_t offset;
  std::int16_t size;
  constexpr std::int16_t end() const { return std::int16_t(offset + size); }
};

// Outer Ethernet header: the inner frame's MACs, then this ethertype.
inline constexpr std::uint16_t kEthertype = 0x88B5;  // IEEE 802 Local Experimental Ethertype 1
inline constexpr std::int16_t kOuterSize = 14;
inline constexpr Field kOuterEthertype{12, 2};

// Descriptor header, little-endian; offsets from the header's first byte.
namespace header {
inline constexpr Field kCookie{0, 8};
inline constexpr Field kVersion{8, 1};
inline constexpr Field kVerdict{9, 1};
inline constexpr Field kAction{10, 1};
inline constexpr Field kNsamples{11, 1};
inline constexpr Field kMap{12, 4};  // REDIRECT_MAP: guest-side map handle
inline constexpr Field kKey{16, 4};  // REDIRECT_MAP: key; REDIRECT: guest ifindex
inline constexpr Field kPad{20, 4};
inline constexpr Field kFlags{24, 8};
inline constexpr std::int16_t kSize = 32;
}  // namespace header

// A sample record, after the header; its data is padded to 8 bytes.
namespace record {
inline constexpr Field kMap{0, 4};  // PERF_EVENT_ARRAY's guest-side map handle
inline constexpr Field kDataSize{4, 4};
inline constexpr Field kFlags{8, 8};
inline constexpr std::int16_t kHeaderSize = 16;
constexpr std::int32_t size(std::uint32_t data_bytes) { return std::int32_t(kHeaderSize + (data_bytes + 7) / 8 * 8); }
}  // namespace record

inline constexpr std::uint8_t kVersion = 1;
enum Verdict : std::uint8_t { kAction = 0, kRedirectMap = 1, kRedirect = 2 };

// The outer header and the descriptor header, before any sample record.
inline constexpr std::int16_t kFixedSize = kOuterSize + header::kSize;  // 46
// Outer header + descriptor + records: inside the 256 bytes of XDP headroom.
inline constexpr std::int32_t kMaxSize = 192;
inline constexpr std::uint32_t kMaxSampleData = 128;
inline constexpr unsigned kMaxSamples = 2;

// A header field's offset from the frame's first byte.
constexpr std::int16_t in_frame(Field f) { return std::int16_t(kOuterSize + f.offset); }

// The host writes version..nsamples as one le32 and map, key as one le64:
// the layout must keep them adjacent in that order.
static_assert(header::kVersion.end() == header::kVerdict.offset && header::kVerdict.end() == header::kAction.offset &&
                  header::kAction.end() == header::kNsamples.offset && header::kNsamples.end() == header::kMap.offset,
              "version, verdict, action, nsamples: one le32");
static_assert(header::kMap.end() == header::kKey.offset && header::kKey.end() == header::kPad.offset,
              "map, key: one le64");
static_assert(header::kPad.end() == header::kFlags.offset && header::kFlags.end() == header::kSize,
              "PROTOCOL.md 8.2: a 32-byte header");
static_assert(record::kMap.end() == record::kDataSize.offset && record::kDataSize.end() == record::kFlags.offset &&
                  record::kFlags.end() == record::kHeaderSize,
              "PROTOCOL.md 8.2: a 16-byte record header");
static_assert(kFixedSize + record::size(kMaxSampleData) <= kMaxSize, "one full sample fits");

}  // namespace xo::transport::descriptor
