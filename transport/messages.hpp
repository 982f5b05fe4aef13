// The guest/host protocol as C++ values: one aggregate per message, all in
// one std::variant. transport/PROTOCOL.md is the normative wire layout; the
// field order of every struct here is its wire order (see codec.cpp).
//
// Guests see small handles (maps, programs, BTF), never host fds. Limits are
// constants here so that encoder, decoder, framer and peers agree on them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "translator/isa/raw.hpp"
#include "core/submission.hpp"

namespace xo::transport {

// ---- protocol constants -------------------------------------------------

inline constexpr std::uint32_t kMagic = 0x4C464F58;  // bytes 'X' 'O' 'F' 'L'
inline constexpr std::uint16_t kProtocolVersion = 2;  // the newest version this build speaks
inline constexpr std::uint16_t kMinProtocolVersion = 1;
// Version 2 (PROTOCOL.md 8): guest-side maps, deferred helpers, PROG_LOAD's
// cookie. A frame is encoded in one version (its header says which); a
// session uses the version CAPS chose.
inline constexpr std::uint16_t kDeferVersion = 2;
inline constexpr std::size_t kHeaderSize = 20;

// Absolute frame payload bound; every type also has a smaller one
// (max_payload()). Field bounds below are checked before allocation.
inline constexpr std::uint32_t kMaxPayload = 16u << 20;
inline constexpr std::size_t kMaxNameLen = 64;        // program / map names
inline constexpr std::size_t kMaxLicenseLen = 128;
inline constexpr std::size_t kMaxMessageLen = 1024;   // reply error text, event text
inline constexpr std::size_t kMaxLogLen = 1u << 20;   // mapped verifier / BTF log
inline constexpr std::size_t kMaxKeySize = 512;       // a BPF stack holds the key
inline constexpr std::size_t kMaxValueSize = 1u << 20;
inline constexpr std::size_t kMaxBtfSize = 8u << 20;
inline constexpr std::size_t kMaxInsns = 1'000'000;   // BPF_COMPLEXITY_LIMIT_INSNS
inline constexpr std::size_t kMaxFuncInfos = 1u << 16;
inline constexpr std::size_t kMaxLineInfos = 1u << 18;
inline constexpr std::size_t kMaxMapTypes = 64;
inline constexpr std::size_t kMaxHelpers = 256;
inline constexpr std::size_t kMaxCounters = 16;

// ---- message types --------------------------------------------------------

// Requests are 0x0001..0x00ff; a reply is its request's code | kReplyBit.
// kErrorReply answers a frame that could not be decoded at all.
inline constexpr std::uint16_t kReplyBit = 0x8000;
enum class MsgType : std::uint16_t {
  Caps = 0x0001,
  BtfLoad = 0x0002,
  MapCreate = 0x0003,
  MapLookup = 0x0004,
  MapUpdate = 0x0005,
  MapDelete = 0x0006,
  MapGetNextKey = 0x0007,
  MapFree = 0x0008,
  ProgLoad = 0x0009,
  ProgAttach = 0x000a,
  ProgDetach = 0x000b,
  ProgUnload = 0x000c,
  Stats = 0x000d,
  Reset = 0x000e,
  BtfFree = 0x000f,

  CapsReply = kReplyBit | 0x0001,
  BtfLoadReply = kReplyBit | 0x0002,
  MapCreateReply = kReplyBit | 0x0003,
  MapLookupReply = kReplyBit | 0x0004,
  MapUpdateReply = kReplyBit | 0x0005,
  MapDeleteReply = kReplyBit | 0x0006,
  MapGetNextKeyReply = kReplyBit | 0x0007,
  MapFreeReply = kReplyBit | 0x0008,
  ProgLoadReply = kReplyBit | 0x0009,
  ProgAttachReply = kReplyBit | 0x000a,
  ProgDetachReply = kReplyBit | 0x000b,
  ProgUnloadReply = kReplyBit | 0x000c,
  StatsReply = kReplyBit | 0x000d,
  ResetReply = kReplyBit | 0x000e,
  BtfFreeReply = kReplyBit | 0x000f,
  ErrorReply = kReplyBit,

  Event = 0x4001,  // host -> guest, unsolicited, request_id 0
};

// "MAP_CREATE", "MAP_CREATE reply", ...; "type 0x1234" for unknown codes.
std::string type_name(std::uint16_t type);
inline std::string type_name(MsgType t) { return type_name(std::uint16_t(t)); }

// ---- status codes ---------------------------------------------------------

// Reply status: 0 or a negative Linux errno, so a guest library can hand it
// straight to its caller. Any negative value is carried; these are the ones
// the protocol defines a meaning for.
namespace status {
inline constexpr std::int32_t kOk = 0;
inline constexpr std::int32_t kEPERM = -1;    // policy forbids it (helper, flavor, handle)
inline constexpr std::int32_t kENOENT = -2;   // no such key (never an unknown handle)
inline constexpr std::int32_t kEIO = -5;      // local only: no reply (transport failure)
inline constexpr std::int32_t kE2BIG = -7;    // a length or count over its bound
inline constexpr std::int32_t kEBADF = -9;    // handle unknown to this session (or another session's)
inline constexpr std::int32_t kEAGAIN = -11;  // request rate exceeded; retry later
inline constexpr std::int32_t kEACCES = -13;  // host kernel refused (e.g. its verifier)
inline constexpr std::int32_t kEBUSY = -16;   // object still referenced (MAP_FREE, BTF_FREE); verifier CPU budget spent (PROG_LOAD)
inline constexpr std::int32_t kEEXIST = -17;  // map update with BPF_NOEXIST
inline constexpr std::int32_t kEINVAL = -22;  // malformed request
inline constexpr std::int32_t kENOSPC = -28;  // map full
inline constexpr std::int32_t kENOSYS = -38;  // unknown command
inline constexpr std::int32_t kEPROTO = -71;  // unsupported protocol version / bad frame
inline constexpr std::int32_t kEDQUOT = -122; // session quota exceeded
inline constexpr std::int32_t kEOPNOTSUPP = -95;  // element access to a guest-side map (version 2)
inline constexpr std::int32_t kECANCELED = -125;  // PROG_LOAD: the session was reset while it was verified
}  // namespace status
// "EINVAL", ...; "errno -N" for others.
std::string status_name(std::int32_t code);

// Every reply starts with this.
struct ReplyStatus {
  std::int32_t code = status::kOk;
  std::string message;  // empty when ok; one line, at most kMaxMessageLen bytes
  bool ok() const { return code == status::kOk; }
  bool operator==(const ReplyStatus&) const = default;
};

// ---- shared enums ---------------------------------------------------------

// Host flavors; numeric values match xo::Flavor (core/policy.hpp).
inline constexpr std::uint8_t kFlavorTc = 0;
inline constexpr std::uint8_t kFlavorChain = 1;
inline constexpr std::uint8_t kFlavorDevmap = 2;
inline constexpr std::uint8_t kFlavorTun = 3;
inline constexpr std::uint8_t kFlavorAny = 0xff;  // PROG_LOAD: host chooses

// XDP actions as counted by STATS, plus the host's own policy drops
// (XDP_REDIRECT and unknown return values, which offloaded programs cannot do).
inline constexpr std::uint32_t kActionAborted = 0;
inline constexpr std::uint32_t kActionDrop = 1;
inline constexpr std::uint32_t kActionPass = 2;
inline constexpr std::uint32_t kActionTx = 3;
inline constexpr std::uint32_t kActionRedirect = 4;
inline constexpr std::uint32_t kActionPolicyDrop = 0x100;
// Version 2: samples (bpf_perf_event_output) the host could not deliver
// (an XDP_TX frame's, or one over the descriptor's bound). Counted in
// samples, not frames; bytes 0.
inline constexpr std::uint32_t kActionSampleLost = 0x101;

enum class EventKind : std::uint16_t {
  OffloadLost = 1,  // the host can no longer run the program: run it locally
  Detached = 2,     // the host detached it (admin, tap gone)
  Quota = 3,        // a quota was hit asynchronously
};

// ---- requests (guest -> host) -------------------------------------------

struct CapsRequest {
  static constexpr MsgType kType = MsgType::Caps;
  std::uint16_t min_version = kMinProtocolVersion;  // range the guest speaks
  std::uint16_t max_version = kProtocolVersion;
  bool operator==(const CapsRequest&) const = default;
};

struct BtfLoadRequest {
  static constexpr MsgType kType = MsgType::BtfLoad;
  std::vector<std::uint8_t> btf;  // raw BTF blob
  bool operator==(const BtfLoadRequest&) const = default;
};

struct MapCreateRequest {
  static constexpr MsgType kType = MsgType::MapCreate;
  MapType type = MapType::Array;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t map_flags = 0;         // BPF_F_* create flags
  std::string name;
  std::uint32_t btf_handle = 0;        // 0 = no BTF
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  bool frozen = false;                 // freeze after initial_value (.rodata)
  std::vector<std::uint8_t> initial_value;  // key 0 contents (global data); may be empty
  std::uint64_t map_extra = 0;         // BLOOM_FILTER: hash count (optional tail)
  std::uint32_t inner_map = 0;         // maps of maps: template map handle (optional tail)
  bool operator==(const MapCreateRequest&) const = default;
};

struct MapLookupRequest {
  static constexpr MsgType kType = MsgType::MapLookup;
  std::uint32_t map = 0;
  std::vector<std::uint8_t> key;
  bool operator==(const MapLookupRequest&) const = default;
};

struct MapUpdateRequest {
  static constexpr MsgType kType = MsgType::MapUpdate;
  std::uint32_t map = 0;
  std::uint64_t flags = 0;  // BPF_ANY / BPF_NOEXIST / BPF_EXIST / BPF_F_LOCK
  std::vector<std::uint8_t> key;
  std::vector<std::uint8_t> value;
  bool operator==(const MapUpdateRequest&) const = default;
};

struct MapDeleteRequest {
  static constexpr MsgType kType = MsgType::MapDelete;
  std::uint32_t map = 0;
  std::vector<std::uint8_t> key;
  bool operator==(const MapDeleteRequest&) const = default;
};

struct MapGetNextKeyRequest {
  static constexpr MsgType kType = MsgType::MapGetNextKey;
  std::uint32_t map = 0;
  std::vector<std::uint8_t> key;  // empty: first key
  bool operator==(const MapGetNextKeyRequest&) const = default;
};

struct MapFreeRequest {
  static constexpr MsgType kType = MsgType::MapFree;
  std::uint32_t map = 0;
  bool operator==(const MapFreeRequest&) const = default;
};

struct ProgLoadRequest {
  static constexpr MsgType kType = MsgType::ProgLoad;
  std::string name;
  std::string license;
  std::uint32_t guest_ifindex = 0;   // what ctx->ingress_ifindex reads on the host
  std::uint8_t flavor = kFlavorAny;  // preferred flavor or kFlavorAny
  std::uint32_t btf_handle = 0;      // 0 = no BTF (then func/line info must be empty)
  std::vector<isa::RawInsn> insns;   // map refs by map handle (BPF_PSEUDO_MAP_FD/_VALUE)
  std::vector<FuncInfo> func_info;
  std::vector<LineInfo> line_info;
  // Version 2 only: 0 when the program defers nothing, else the random value
  // the guest gave its trampoline (PROTOCOL.md 8.1). Not encodable in v1.
  std::uint64_t cookie = 0;
  bool operator==(const ProgLoadRequest&) const = default;
};

struct ProgAttachRequest {
  static constexpr MsgType kType = MsgType::ProgAttach;
  std::uint32_t prog = 0;
  bool operator==(const ProgAttachRequest&) const = default;
};

struct ProgDetachRequest {
  static constexpr MsgType kType = MsgType::ProgDetach;
  std::uint32_t prog = 0;
  bool operator==(const ProgDetachRequest&) const = default;
};

struct ProgUnloadRequest {
  static constexpr MsgType kType = MsgType::ProgUnload;
  std::uint32_t prog = 0;
  bool operator==(const ProgUnloadRequest&) const = default;
};

struct StatsRequest {
  static constexpr MsgType kType = MsgType::Stats;
  std::uint32_t prog = 0;
  bool operator==(const StatsRequest&) const = default;
};

// Frees everything the session owns (programs detached first, then maps, BTF).
struct ResetRequest {
  static constexpr MsgType kType = MsgType::Reset;
  bool operator==(const ResetRequest&) const = default;
};

// Frees one BTF object; EBUSY while a map or program of the session uses it.
struct BtfFreeRequest {
  static constexpr MsgType kType = MsgType::BtfFree;
  std::uint32_t btf = 0;
  bool operator==(const BtfFreeRequest&) const = default;
};

// ---- replies (host -> guest) --------------------------------------------

struct HelperCap {
  std::int32_t id = 0;      // enum bpf_func_id
  std::uint8_t nargs = 0;
  std::uint8_t flavors = 0;  // bit (1 << flavor) per flavor that may call it
  bool operator==(const HelperCap&) const = default;
};

struct Quotas {
  std::uint32_t max_maps = 0;
  std::uint64_t max_map_bytes = 0;   // key+value bytes x max_entries, summed
  std::uint32_t max_progs = 0;
  std::uint32_t max_insns = 0;       // per program
  std::uint32_t max_btf_bytes = 0;
  std::uint32_t requests_per_sec = 0;
  std::uint32_t request_burst = 0;
  bool operator==(const Quotas&) const = default;
};

struct CapsReply {
  static constexpr MsgType kType = MsgType::CapsReply;
  ReplyStatus status;
  std::uint16_t version = kProtocolVersion;  // chosen version
  std::uint8_t isa_level = 0;                // BPF cpu v1..v4 the host accepts
  std::uint8_t flavors = 0;                  // bit per flavor this host offers
  std::vector<std::uint32_t> map_types;      // enum bpf_map_type values
  std::vector<HelperCap> helpers;            // allowlist; everything else is denied
  Quotas quotas;
  bool operator==(const CapsReply&) const = default;
};

struct BtfLoadReply {
  static constexpr MsgType kType = MsgType::BtfLoadReply;
  ReplyStatus status;
  std::uint32_t btf_handle = 0;
  std::string log;  // kernel BTF log on failure
  bool operator==(const BtfLoadReply&) const = default;
};

struct MapCreateReply {
  static constexpr MsgType kType = MsgType::MapCreateReply;
  ReplyStatus status;
  std::uint32_t map_handle = 0;
  bool operator==(const MapCreateReply&) const = default;
};

struct MapLookupReply {
  static constexpr MsgType kType = MsgType::MapLookupReply;
  ReplyStatus status;
  std::vector<std::uint8_t> value;  // per-CPU maps: one value per host CPU, concatenated
  bool operator==(const MapLookupReply&) const = default;
};

struct MapGetNextKeyReply {
  static constexpr MsgType kType = MsgType::MapGetNextKeyReply;
  ReplyStatus status;
  std::vector<std::uint8_t> next_key;
  bool operator==(const MapGetNextKeyReply&) const = default;
};

struct ProgLoadReply {
  static constexpr MsgType kType = MsgType::ProgLoadReply;
  ReplyStatus status;
  std::uint32_t prog_handle = 0;
  std::uint8_t flavor = kFlavorAny;  // the flavor the host chose
  std::string log;  // verifier log, mapped to guest insns and source lines
  bool operator==(const ProgLoadReply&) const = default;
};

struct ActionCounter {
  std::uint32_t action = 0;  // kAction*
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  bool operator==(const ActionCounter&) const = default;
};

struct StatsReply {
  static constexpr MsgType kType = MsgType::StatsReply;
  ReplyStatus status;
  std::vector<ActionCounter> counters;
  bool operator==(const StatsReply&) const = default;
};

// A reply with nothing but a status. One distinct type per request so that
// the variant (and a visitor) can tell them apart.
template <MsgType T>
struct AckReply {
  static constexpr MsgType kType = T;
  ReplyStatus status;
  bool operator==(const AckReply&) const = default;
};
using MapUpdateReply = AckReply<MsgType::MapUpdateReply>;
using MapDeleteReply = AckReply<MsgType::MapDeleteReply>;
using MapFreeReply = AckReply<MsgType::MapFreeReply>;
using ProgAttachReply = AckReply<MsgType::ProgAttachReply>;
using ProgDetachReply = AckReply<MsgType::ProgDetachReply>;
using ProgUnloadReply = AckReply<MsgType::ProgUnloadReply>;
using ResetReply = AckReply<MsgType::ResetReply>;
using BtfFreeReply = AckReply<MsgType::BtfFreeReply>;
// Answers a frame whose type or payload could not be decoded
// (ENOSYS unknown command, EPROTO version, EINVAL/E2BIG malformed).
using ErrorReply = AckReply<MsgType::ErrorReply>;

// ---- events (host -> guest) ---------------------------------------------

struct Event {
  static constexpr MsgType kType = MsgType::Event;
  EventKind kind = EventKind::OffloadLost;
  std::uint32_t prog = 0;  // 0 when not about one program
  std::string text;
  bool operator==(const Event&) const = default;
};

// ---- the message variant --------------------------------------------------

using Message = std::variant<
    CapsRequest, BtfLoadRequest, MapCreateRequest, MapLookupRequest, MapUpdateRequest,
    MapDeleteRequest, MapGetNextKeyRequest, MapFreeRequest, ProgLoadRequest, ProgAttachRequest,
    ProgDetachRequest, ProgUnloadRequest, StatsRequest, ResetRequest, BtfFreeRequest,  //
    CapsReply, BtfLoadReply, MapCreateReply, MapLookupReply, MapUpdateReply, MapDeleteReply,
    MapGetNextKeyReply, MapFreeReply, ProgLoadReply, ProgAttachReply, ProgDetachReply,
    ProgUnloadReply, StatsReply, ResetReply, BtfFreeReply, ErrorReply,  //
    Event>;

MsgType type_of(const Message& m);
inline bool is_request(std::uint16_t type) { return type >= 0x0001 && type <= 0x00ff; }
inline bool is_reply(std::uint16_t type) { return (type & kReplyBit) != 0; }
// The reply type that answers a request type.
inline MsgType reply_type(MsgType request) { return MsgType(std::uint16_t(request) | kReplyBit); }
// True for the types this build knows (the alternatives of Message).
bool is_known_type(std::uint16_t type);
// Largest payload a frame of this type may carry; unknown types get a small
// bound so a peer can skip them (and answer ENOSYS) without buffering much.
std::uint32_t max_payload(std::uint16_t type);

// The ReplyStatus of a reply (nullptr for requests and events).
const ReplyStatus* reply_status(const Message& m);

// The reply to a request of type `request` carrying only `status` (every
// other field default): what a host sends for quota, rate or handle errors
// whatever the request was. For a type that is not a known request, an
// ErrorReply.
Message failure_reply(std::uint16_t request, ReplyStatus status);

}  // namespace xo::transport
