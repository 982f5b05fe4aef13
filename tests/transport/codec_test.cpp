// Codec: every message round-trips; every class of hostile input is refused
// with its own precise message, before anything is allocated for it.
#include <gtest/gtest.h>

#include <set>

#include "tests/transport/samples.hpp"
#include "transport/codec.hpp"
#include "transport/wire.hpp"

namespace xo::transport {
namespace {

using testing::sample_messages;

// A frame with a hand-made header around `payload`.
std::vector<std::uint8_t> make_frame(std::uint16_t type, const std::vector<std::uint8_t>& payload,
                                     std::uint16_t version = kProtocolVersion,
                                     std::uint32_t magic = kMagic, std::uint32_t flags = 0,
                                     std::optional<std::uint32_t> payload_len = std::nullopt) {
  FrameHeader h;
  h.magic = magic;
  h.version = version;
  h.type = type;
  h.request_id = 77;
  h.flags = flags;
  h.payload_len = payload_len.value_or(std::uint32_t(payload.size()));
  std::vector<std::uint8_t> out;
  write_header(h, out);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::string decode_error(const std::vector<std::uint8_t>& bytes) {
  auto r = decode_frame(bytes);
  return r ? std::string("decoded OK") : r.error().message;
}

FrameHeader header_of(const std::vector<std::uint8_t>& bytes) { return parse_header(bytes); }

// ---- version 2 (PROTOCOL.md 8.1) -------------------------------------------

ProgLoadRequest deferring_load() {
  ProgLoadRequest p;
  p.name = "redir";
  p.license = "GPL";
  p.insns = {isa::RawInsn::make(0xb7, 0, 0, 0, 4), isa::RawInsn::make(0x95, 0, 0, 0, 0)};
  p.cookie = 0x1122334455667788ull;
  return p;
}

TEST(TransportCodecV2, ProgLoadCookieIsTheLastEightBytesOfAVersion2Payload) {
  auto bytes = encode(5, deferring_load(), 2);
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ(parse_header(*bytes).version, 2);
  const std::vector<std::uint8_t> tail(bytes->end() - 8, bytes->end());
  EXPECT_EQ(tail, (std::vector<std::uint8_t>{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}));
  auto back = decode_frame(*bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(std::get<ProgLoadRequest>(back->message).cookie, 0x1122334455667788ull);
  // The same request without a cookie: version 1's layout is version 2's
  // minus the cookie, and the cookie is there (zero) in version 2.
  ProgLoadRequest plain = deferring_load();
  plain.cookie = 0;
  auto v1 = encode(5, plain, 1);
  auto v2 = encode(5, plain, 2);
  ASSERT_TRUE(v1 && v2);
  EXPECT_EQ(v2->size(), v1->size() + 8);
  EXPECT_TRUE(std::equal(v1->begin() + kHeaderSize, v1->end(), v2->begin() + kHeaderSize));
}

TEST(TransportCodecV2, CookieCannotTravelInVersion1) {
  auto bytes = encode(5, deferring_load(), 1);
  ASSERT_FALSE(bytes);
  EXPECT_NE(bytes.error().message.find("field 'cookie' needs protocol version 2"), std::string::npos)
      << bytes.error().message;
  // And the default version is 1: what every peer decodes.
  EXPECT_FALSE(encode(5, deferring_load()));
}

TEST(TransportCodecV2, VersionOutsideTheRangeIsNotEncoded) {
  EXPECT_FALSE(encode(1, ResetRequest{}, 0));
  EXPECT_FALSE(encode(1, ResetRequest{}, kProtocolVersion + 1));
}

TEST(TransportCodecV2, HostileCookieLayoutsAreRefused) {
  auto v2 = *encode(5, deferring_load(), 2);
  // A version 1 header on a version 2 payload: 8 trailing bytes.
  auto as_v1 = v2;
  as_v1[4] = 1;
  EXPECT_EQ(decode_error(as_v1), "PROG_LOAD: 8 trailing bytes after the message");
  // A truncated cookie.
  std::vector<std::uint8_t> payload(v2.begin() + kHeaderSize, v2.end() - 3);
  EXPECT_NE(decode_error(make_frame(std::uint16_t(MsgType::ProgLoad), payload, 2)).find("cookie"),
            std::string::npos);
  // A version 1 payload in a version 2 header: the cookie is missing.
  ProgLoadRequest plain = deferring_load();
  plain.cookie = 0;
  auto v1 = *encode(5, plain, 1);
  v1[4] = 2;
  EXPECT_NE(decode_error(v1).find("cookie"), std::string::npos) << decode_error(v1);
  // Version 3 is not spoken.
  auto v3 = v2;
  v3[4] = 3;
  EXPECT_NE(decode_error(v3).find("unsupported protocol version 3"), std::string::npos) << decode_error(v3);
}

TEST(TransportCodecV2, GuestSideMapTypesRoundTripInMapCreate) {
  for (MapType t : kGuestSideMapTypes) {
    MapCreateRequest m;
    m.type = t;
    m.key_size = 4;
    m.value_size = 4;
    m.max_entries = 0;  // perf arrays: sized by the guest's loader
    m.name = map_type_name(t);
    auto bytes = encode(3, m, 2);
    ASSERT_TRUE(bytes);
    auto back = decode_frame(*bytes);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(std::get<MapCreateRequest>(back->message), m);
    EXPECT_TRUE(guest_side_map_type(t));
    EXPECT_FALSE(offload_map_type(std::uint32_t(t)));
  }
  EXPECT_FALSE(guest_side_map_type(MapType::Array));
}

TEST(TransportCodec, SamplesCoverEveryMessageType) {
  std::set<std::size_t> seen;
  for (const Message& m : sample_messages()) seen.insert(m.index());
  EXPECT_EQ(seen.size(), std::variant_size_v<Message>);
}

TEST(TransportCodec, EveryMessageRoundTrips) {
  std::uint32_t id = 1;
  for (std::uint16_t version = kMinProtocolVersion; version <= kProtocolVersion; ++version)
  for (const Message& m : sample_messages()) {
    SCOPED_TRACE(type_name(type_of(m)) + " in version " + std::to_string(version));
    auto bytes = encode(id, m, version);
    ASSERT_TRUE(bytes) << bytes.error().message;
    FrameHeader h = parse_header(*bytes);
    EXPECT_EQ(h.magic, kMagic);
    EXPECT_EQ(h.version, version);
    EXPECT_EQ(h.type, std::uint16_t(type_of(m)));
    EXPECT_EQ(h.request_id, id);
    EXPECT_EQ(h.payload_len, bytes->size() - kHeaderSize);
    auto back = decode_frame(*bytes);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->request_id, id);
    EXPECT_TRUE(back->message == m);
    // Re-encoding the decoded value gives the same bytes.
    auto again = encode(id, back->message, version);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *bytes);
    ++id;
  }
}

TEST(TransportCodec, WireLayoutIsLittleEndianAsSpecified) {
  // MAP_LOOKUP, request 0x01020304: le32 map | le32 key_len | key
  auto bytes = encode(0x01020304, MapLookupRequest{0x0a0b0c0d, {0xaa, 0xbb}});
  ASSERT_TRUE(bytes);
  const std::vector<std::uint8_t> expect = {
      'X', 'O', 'F', 'L', 1, 0, 0x04, 0x00, 4, 3, 2, 1, 0, 0, 0, 0, 10, 0, 0, 0,  // header
      0x0d, 0x0c, 0x0b, 0x0a, 2, 0, 0, 0, 0xaa, 0xbb};
  EXPECT_EQ(*bytes, expect);
}

TEST(TransportCodec, BtfFreeWireLayout) {
  // BTF_FREE is type 0x000f, payload le32 btf; its reply is status only.
  auto bytes = encode(7, BtfFreeRequest{0x11223344});
  ASSERT_TRUE(bytes);
  const std::vector<std::uint8_t> expect = {
      'X', 'O', 'F', 'L', 1, 0, 0x0f, 0x00, 7, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0,  // header
      0x44, 0x33, 0x22, 0x11};
  EXPECT_EQ(*bytes, expect);
  auto reply = encode(7, BtfFreeReply{ReplyStatus{status::kEBUSY, "x"}});
  ASSERT_TRUE(reply);
  const std::vector<std::uint8_t> expect_reply = {
      'X', 'O', 'F', 'L', 1, 0, 0x0f, 0x80, 7, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0,  // header
      0xf0, 0xff, 0xff, 0xff, 1, 0, 0, 0, 'x'};
  EXPECT_EQ(*reply, expect_reply);
}

TEST(TransportCodec, LargestProgramRoundTrips) {
  ProgLoadRequest p;
  p.name = std::string(kMaxNameLen, 'p');
  p.license = "GPL";
  p.insns.assign(kMaxInsns, isa::RawInsn::make(0xb7, 1, 0, 0, 7));
  p.func_info.assign(kMaxFuncInfos, FuncInfo{1, 2});
  p.line_info.assign(kMaxLineInfos, LineInfo{1, 2, 3, 4});
  auto bytes = encode(9, p);
  ASSERT_TRUE(bytes) << bytes.error().message;
  auto back = decode_frame(*bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(std::get<ProgLoadRequest>(back->message) == p);
}

// ---- hostile frames ---------------------------------------------------------

TEST(TransportCodec, TruncatedHeader) {
  auto bytes = *encode(1, MapFreeRequest{5});
  bytes.resize(10);
  EXPECT_EQ(decode_error(bytes), "truncated frame: 10 bytes, header needs 20");
}

TEST(TransportCodec, TruncatedPayload) {
  auto bytes = *encode(1, MapLookupRequest{11, {1, 0, 0, 0}});
  bytes.resize(bytes.size() - 2);
  EXPECT_EQ(decode_error(bytes), "truncated frame: MAP_LOOKUP payload needs 12 bytes, 10 present");
}

TEST(TransportCodec, PayloadShorterThanItsFields) {
  auto bytes = make_frame(std::uint16_t(MsgType::MapLookup), {1, 0});
  EXPECT_EQ(decode_error(bytes),
            "MAP_LOOKUP: at payload offset 0: truncated: field 'map' needs 4 bytes, 2 left");
  EXPECT_EQ(decode_failure_status(header_of(bytes)), status::kEINVAL);
}

TEST(TransportCodec, BytesAfterTheFrame) {
  auto bytes = *encode(1, MapFreeRequest{5});
  bytes.push_back(0);
  EXPECT_EQ(decode_error(bytes), "MAP_FREE: 1 bytes after the end of the frame");
}

TEST(TransportCodec, TrailingBytesInsidePayload) {
  auto bytes = make_frame(std::uint16_t(MsgType::MapFree), {5, 0, 0, 0, 0xee, 0xee});
  EXPECT_EQ(decode_error(bytes), "MAP_FREE: 2 trailing bytes after the message");
}

TEST(TransportCodec, OversizeLengthOverProtocolMaximum) {
  auto bytes = make_frame(std::uint16_t(MsgType::ProgLoad), {}, kProtocolVersion, kMagic, 0,
                          kMaxPayload + 1);
  EXPECT_EQ(decode_error(bytes),
            "PROG_LOAD: payload length 16777217 exceeds the protocol maximum 16777216");
  EXPECT_EQ(decode_failure_status(header_of(bytes)), status::kE2BIG);
}

TEST(TransportCodec, OversizeLengthOverTypeMaximum) {
  auto bytes =
      make_frame(std::uint16_t(MsgType::MapLookup), {}, kProtocolVersion, kMagic, 0, 5000);
  EXPECT_EQ(decode_error(bytes),
            "MAP_LOOKUP: payload length 5000 exceeds the maximum 4096 for this message type");
  EXPECT_FALSE(check_framing(header_of(bytes)));
}

TEST(TransportCodec, UnknownCommand) {
  auto bytes = make_frame(0x0042, {1, 2, 3});
  EXPECT_TRUE(check_framing(header_of(bytes)));  // the stream stays usable
  EXPECT_EQ(decode_error(bytes), "unknown message type 0x0042");
  EXPECT_EQ(decode_failure_status(header_of(bytes)), status::kENOSYS);
}

TEST(TransportCodec, UnknownCommandWithLargePayloadIsAFramingError) {
  auto bytes = make_frame(0x0042, {}, kProtocolVersion, kMagic, 0, 1u << 20);
  EXPECT_EQ(decode_error(bytes),
            "type 0x0042: payload length 1048576 exceeds the maximum 4096 for this message type");
}

TEST(TransportCodec, WrongVersion) {
  auto bytes = make_frame(std::uint16_t(MsgType::MapFree), {5, 0, 0, 0}, 3);
  EXPECT_EQ(decode_error(bytes), "unsupported protocol version 3 (this end speaks 1..2)");
  EXPECT_EQ(decode_failure_status(header_of(bytes)), status::kEPROTO);
  bytes = make_frame(std::uint16_t(MsgType::MapFree), {5, 0, 0, 0}, 0);
  EXPECT_EQ(decode_error(bytes), "unsupported protocol version 0 (this end speaks 1..2)");
  // Both spoken versions decode a message whose layout they share.
  EXPECT_EQ(decode_error(make_frame(std::uint16_t(MsgType::MapFree), {5, 0, 0, 0}, 1)), "decoded OK");
  EXPECT_EQ(decode_error(make_frame(std::uint16_t(MsgType::MapFree), {5, 0, 0, 0}, 2)), "decoded OK");
}

TEST(TransportCodec, WrongMagic) {
  auto bytes = make_frame(std::uint16_t(MsgType::MapFree), {5, 0, 0, 0}, 1, 0x4C464F59);
  EXPECT_EQ(decode_error(bytes),
            "bad frame magic 0x4c464f59 (expected 0x4c464f58, 'XOFL'): stream out of sync");
  EXPECT_EQ(decode_failure_status(header_of(bytes)), status::kEPROTO);
}

TEST(TransportCodec, ReservedHeaderFlags) {
  auto bytes = make_frame(std::uint16_t(MsgType::MapFree), {5, 0, 0, 0}, 1, kMagic, 0x10);
  EXPECT_EQ(decode_error(bytes), "MAP_FREE: reserved header flags 0x00000010 must be zero");
}

TEST(TransportCodec, LengthExceedsRemainingBytes) {
  ByteWriter w;
  w.u32(11);   // map
  w.u32(100);  // key_len, but only 4 bytes follow
  w.u32(0);
  auto bytes = make_frame(std::uint16_t(MsgType::MapLookup), w.take());
  EXPECT_EQ(decode_error(bytes),
            "MAP_LOOKUP: at payload offset 8: field 'key': length 100 exceeds the 4 remaining bytes");
}

TEST(TransportCodec, LengthExceedsFieldMaximum) {
  ByteWriter w;
  w.u32(11);
  w.u32(513);  // key_len over kMaxKeySize, even though the bytes are there
  w.bytes(std::vector<std::uint8_t>(513, 0));
  auto bytes = make_frame(std::uint16_t(MsgType::MapLookup), w.take());
  EXPECT_EQ(decode_error(bytes),
            "MAP_LOOKUP: at payload offset 8: field 'key': length 513 exceeds maximum 512");
}

std::vector<std::uint8_t> prog_load_prefix() {
  ByteWriter w;
  w.u32(2);     // guest_ifindex
  w.u32(0);     // btf_handle
  w.u8(kFlavorAny);
  w.u8(0), w.u8(0), w.u8(0);
  w.u32(4);
  w.bytes(std::string_view("prog"));
  w.u32(3);
  w.bytes(std::string_view("GPL"));
  return w.take();
}

TEST(TransportCodec, CountExceedsMaximum) {
  ByteWriter w;
  w.bytes(prog_load_prefix());
  w.u32(1'000'001);  // insns count
  auto bytes = make_frame(std::uint16_t(MsgType::ProgLoad), w.take());
  EXPECT_EQ(decode_error(bytes),
            "PROG_LOAD: at payload offset 31: field 'insns': count 1000001 exceeds maximum 1000000");
}

TEST(TransportCodec, CountTimesElementSizeExceedsRemainingBytes) {
  ByteWriter w;
  w.bytes(prog_load_prefix());
  w.u32(1000);  // 1000 insns claimed, one present
  w.u64(0x95);
  auto bytes = make_frame(std::uint16_t(MsgType::ProgLoad), w.take());
  EXPECT_EQ(decode_error(bytes),
            "PROG_LOAD: at payload offset 31: field 'insns': count 1000 x 8 bytes exceeds the 8 "
            "remaining bytes");
}

TEST(TransportCodec, HelperCountInCapsReplyBounded) {
  ByteWriter w;
  w.u32(0), w.u32(0);  // status ok, empty message
  w.u16(1), w.u8(3), w.u8(1);
  w.u32(0);    // map_types
  w.u32(257);  // helpers over kMaxHelpers
  auto bytes = make_frame(std::uint16_t(MsgType::CapsReply), w.take());
  EXPECT_EQ(decode_error(bytes),
            "CAPS reply: at payload offset 20: field 'helpers': count 257 exceeds maximum 256");
}

TEST(TransportCodec, NameWithNulByteRefused) {
  ByteWriter w;
  w.bytes(prog_load_prefix());
  auto payload = w.take();
  payload[16] = 0;  // "prog" -> "\0rog"
  auto bytes = make_frame(std::uint16_t(MsgType::ProgLoad), payload);
  EXPECT_EQ(decode_error(bytes), "PROG_LOAD: at payload offset 20: field 'name' contains a NUL byte");
}

TEST(TransportCodec, ReservedPayloadBytesMustBeZero) {
  auto bytes = *encode(1, ProgLoadRequest{.name = "p", .license = "GPL"});
  bytes[kHeaderSize + 9] = 1;  // first pad byte after flavor
  EXPECT_EQ(decode_error(bytes), "PROG_LOAD: at payload offset 12: reserved field 'pad' must be zero");
}

TEST(TransportCodec, BooleanMustBeZeroOrOne) {
  auto bytes = *encode(1, MapCreateRequest{.name = "m"});
  bytes[kHeaderSize + 32] = 2;  // frozen
  EXPECT_EQ(decode_error(bytes),
            "MAP_CREATE: at payload offset 33: field 'frozen': boolean value 2 is not 0 or 1");
}

// MAP_CREATE's optional tail (bloom filters, maps of maps): absent, the
// layout is version 1's; present, it round-trips; all zero, it is refused.
TEST(TransportCodec, MapCreateTailOnlyWhenItSaysSomething) {
  const auto plain = *encode(1, MapCreateRequest{.name = "m"});
  MapCreateRequest bloom{.name = "m"};
  bloom.map_extra = 3;
  const auto tailed = *encode(1, bloom);
  EXPECT_EQ(tailed.size(), plain.size() + 16);
  auto back = decode_frame(tailed);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(std::get<MapCreateRequest>(back->message), bloom);
  MapCreateRequest outer{.name = "o"};
  outer.inner_map = 7;
  back = decode_frame(*encode(1, outer));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(std::get<MapCreateRequest>(back->message).inner_map, 7u);
  auto zero = tailed;
  zero[zero.size() - 16] = 0;  // map_extra 3 -> 0, inner_map already 0
  EXPECT_NE(decode_error(zero).find("optional tail 'map_extra/inner_map' present but all zero: omit it"),
            std::string::npos)
      << decode_error(zero);
}

// ---- encoder bounds -----------------------------------------------------

TEST(TransportCodec, EncoderRefusesOverlongName) {
  auto r = encode(1, ProgLoadRequest{.name = std::string(65, 'x'), .license = "GPL"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "encode PROG_LOAD: field 'name': length 65 exceeds maximum 64");
}

TEST(TransportCodec, EncoderRefusesOversizeKey) {
  auto r = encode(1, MapLookupRequest{1, std::vector<std::uint8_t>(600)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "encode MAP_LOOKUP: field 'key': length 600 exceeds maximum 512");
}

TEST(TransportCodec, EncoderTruncatesDiagnosticText) {
  ProgLoadReply reply{ReplyStatus{status::kEINVAL, std::string(5000, 'm')}, 0, kFlavorAny,
                      std::string(kMaxLogLen + 100, 'l')};
  auto r = encode(1, reply);
  ASSERT_TRUE(r) << r.error().message;
  auto back = decode_frame(*r);
  ASSERT_TRUE(back) << back.error().message;
  const auto& got = std::get<ProgLoadReply>(back->message);
  EXPECT_EQ(got.status.message.size(), kMaxMessageLen);
  EXPECT_EQ(got.log.size(), kMaxLogLen);
}

TEST(TransportCodec, NamesAndStatus) {
  EXPECT_EQ(type_name(MsgType::MapGetNextKeyReply), "MAP_GET_NEXT_KEY reply");
  EXPECT_EQ(type_name(0x7777), "type 0x7777");
  EXPECT_EQ(status_name(status::kEDQUOT), "EDQUOT");
  EXPECT_EQ(status_name(-4), "errno -4");
  EXPECT_EQ(status_name(status::kEBADF), "EBADF");
  EXPECT_EQ(status_name(-13), "EACCES");
  EXPECT_EQ(status_name(-16), "EBUSY");
  EXPECT_EQ(type_name(MsgType::BtfFree), "BTF_FREE");
  EXPECT_EQ(type_name(MsgType::BtfFreeReply), "BTF_FREE reply");
  EXPECT_EQ(reply_type(MsgType::Stats), MsgType::StatsReply);
  Message m = StatsReply{ReplyStatus{status::kENOENT, "x"}, {}};
  ASSERT_NE(reply_status(m), nullptr);
  EXPECT_EQ(reply_status(m)->code, status::kENOENT);
  EXPECT_EQ(reply_status(Message{ResetRequest{}}), nullptr);
}

TEST(TransportCodec, FailureReplyMatchesTheRequestType) {
  const ReplyStatus quota{status::kEDQUOT, "map quota 4 reached"};
  Message r = failure_reply(std::uint16_t(MsgType::MapCreate), quota);
  EXPECT_EQ(type_of(r), MsgType::MapCreateReply);
  EXPECT_TRUE(r == Message(MapCreateReply{quota, 0}));
  EXPECT_EQ(type_of(failure_reply(std::uint16_t(MsgType::Reset), quota)), MsgType::ResetReply);
  EXPECT_EQ(type_of(failure_reply(std::uint16_t(MsgType::ProgLoad), quota)),
            MsgType::ProgLoadReply);
  // Not a request: a generic ERROR reply.
  EXPECT_TRUE(failure_reply(std::uint16_t(MsgType::Event), quota) == Message(ErrorReply{quota}));
  EXPECT_TRUE(failure_reply(0x0042, quota) == Message(ErrorReply{quota}));
  // Every known request gets its own reply type.
  for (std::uint16_t t = 1; t <= 0x0f; ++t)
    EXPECT_EQ(std::uint16_t(type_of(failure_reply(t, quota))), t | kReplyBit) << t;
}

TEST(TransportCodec, DecodeFailureReplyCarriesStatusAndMessage) {
  auto bytes = make_frame(0x0042, {});
  FrameHeader h = parse_header(bytes);
  Frame f{h, {}};
  auto d = decode(f);
  ASSERT_FALSE(d);
  Message r = decode_failure_reply(h, d.error());
  EXPECT_TRUE(r == Message(ErrorReply{{status::kENOSYS, "unknown message type 0x0042"}}));
}

}  // namespace
}  // namespace xo::transport
