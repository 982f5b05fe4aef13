// The descriptor frame's layout (PROTOCOL.md 8.2) as the guest side names
// it: the trampoline generator and its tests read these. Every number comes
// from the host side's one definition (translator/passes/deferred.hpp,
// namespace xo::translator::descriptor), so host and guest cannot disagree;
// this header only gives the fields the guest reads their names.
#pragma once

#include <cstddef>
#include <cstdint>

#include "translator/passes/deferred.hpp"

namespace xo::guest::descriptor {

namespace host = translator::descriptor;

inline constexpr std::uint16_t kEthertype = host::kEthertype;
inline constexpr std::size_t kOuterHeaderSize = host::kOuterBytes;
inline constexpr std::size_t kHeaderSize = host::kHeaderBytes;
inline constexpr std::size_t kMaxDescriptorSize = host::kMaxBytes;
inline constexpr std::size_t kRecordHeaderSize = host::kRecordHeader;
inline constexpr std::size_t kMaxSampleSize = host::kMaxSampleData;
inline constexpr std::size_t kMaxSamples = host::kMaxSamples;
inline constexpr std::uint8_t kVersion = host::kVersion;
inline constexpr std::uint8_t kVerdictAction = host::kAction;
inline constexpr std::uint8_t kVerdictRedirectMap = host::kRedirectMap;
inline constexpr std::uint8_t kVerdictRedirect = host::kRedirect;

// Offsets within the descriptor header (after the outer Ethernet header).
inline constexpr std::size_t kCookieOff = host::kCookieAt - host::kOuterBytes;
inline constexpr std::size_t kVersionOff = host::kWordAt - host::kOuterBytes;  // u8 version, verdict, action, nsamples
inline constexpr std::size_t kVerdictOff = kVersionOff + 1;
inline constexpr std::size_t kActionOff = kVersionOff + 2;
inline constexpr std::size_t kNsamplesOff = kVersionOff + 3;
inline constexpr std::size_t kMapOff = host::kMapAt - host::kOuterBytes;
inline constexpr std::size_t kKeyOff = kMapOff + 4;
inline constexpr std::size_t kPadOff = host::kPadAt - host::kOuterBytes;
inline constexpr std::size_t kFlagsOff = host::kFlagsAt - host::kOuterBytes;
// Within a sample record: le32 map, le32 size, le64 flags, data.
inline constexpr std::size_t kRecordMapOff = 0;
inline constexpr std::size_t kRecordSizeOff = 4;
inline constexpr std::size_t kRecordFlagsOff = 8;

static_assert(kFlagsOff + 8 == kHeaderSize && kKeyOff + 4 == kPadOff, "PROTOCOL.md 8.2 descriptor header");

}  // namespace xo::guest::descriptor
