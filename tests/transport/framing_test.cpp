// Framer: frames come out whole however the stream is chunked; a bad header
// is refused as soon as its 20 bytes are in, without waiting for a payload.
#include <gtest/gtest.h>

#include <random>

#include "tests/transport/samples.hpp"
#include "transport/framing.hpp"

namespace xo::transport {
namespace {

std::vector<std::uint8_t> stream_of_samples(std::vector<Message>& sent) {
  std::vector<std::uint8_t> stream;
  std::uint32_t id = 100;
  for (const Message& m : testing::sample_messages()) {
    auto bytes = encode(id++, m);
    EXPECT_TRUE(bytes);
    stream.insert(stream.end(), bytes->begin(), bytes->end());
    sent.push_back(m);
  }
  return stream;
}

void expect_frames_match(const std::vector<Frame>& frames, const std::vector<Message>& sent) {
  ASSERT_EQ(frames.size(), sent.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].header.request_id, 100 + i);
    auto m = decode(frames[i]);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_TRUE(*m == sent[i]) << type_name(type_of(sent[i]));
  }
}

TEST(TransportFraming, WholeStreamAtOnce) {
  std::vector<Message> sent;
  auto stream = stream_of_samples(sent);
  Framer f;
  auto frames = f.feed(stream);
  ASSERT_TRUE(frames) << frames.error().message;
  expect_frames_match(*frames, sent);
  EXPECT_FALSE(f.mid_frame());
}

TEST(TransportFraming, OneByteAtATime) {
  std::vector<Message> sent;
  auto stream = stream_of_samples(sent);
  Framer f;
  std::vector<Frame> frames;
  for (std::uint8_t b : stream) {
    auto got = f.feed(std::span<const std::uint8_t>(&b, 1));
    ASSERT_TRUE(got) << got.error().message;
    for (auto& fr : *got) frames.push_back(std::move(fr));
  }
  expect_frames_match(frames, sent);
}

TEST(TransportFraming, RandomChunkBoundaries) {
  std::vector<Message> sent;
  auto stream = stream_of_samples(sent);
  for (unsigned seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> len(0, 64);
    Framer f;
    std::vector<Frame> frames;
    for (std::size_t pos = 0; pos < stream.size();) {
      const std::size_t n = std::min(len(rng), stream.size() - pos);
      auto got = f.feed(std::span<const std::uint8_t>(stream).subspan(pos, n));
      ASSERT_TRUE(got) << got.error().message;
      for (auto& fr : *got) frames.push_back(std::move(fr));
      pos += n;
    }
    expect_frames_match(frames, sent);
    EXPECT_FALSE(f.mid_frame());
  }
}

TEST(TransportFraming, EmptyPayloadFrameCompletesWithItsHeader) {
  auto bytes = *encode(5, ResetRequest{});
  ASSERT_EQ(bytes.size(), kHeaderSize);
  Framer f;
  auto frames = f.feed(bytes);
  ASSERT_TRUE(frames);
  ASSERT_EQ(frames->size(), 1u);
  EXPECT_EQ((*frames)[0].header.type, std::uint16_t(MsgType::Reset));
}

TEST(TransportFraming, OversizeLengthRejectedFromHeaderAlone) {
  FrameHeader h;
  h.type = std::uint16_t(MsgType::BtfLoad);
  h.payload_len = kMaxPayload + 1;
  std::vector<std::uint8_t> bytes;
  write_header(h, bytes);
  Framer f;
  auto first = f.feed(std::span<const std::uint8_t>(bytes).first(19));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->empty());
  auto second = f.feed(std::span<const std::uint8_t>(bytes).subspan(19));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            "BTF_LOAD: payload length 16777217 exceeds the protocol maximum 16777216");
  EXPECT_EQ(f.buffered(), 0u);  // nothing kept for the bogus payload
  // The framer stays failed: the stream is out of sync.
  auto good = *encode(1, ResetRequest{});
  auto after = f.feed(good);
  ASSERT_FALSE(after);
  EXPECT_TRUE(f.failed());
}

TEST(TransportFraming, PerTypeBoundCheckedBeforePayload) {
  FrameHeader h;
  h.type = std::uint16_t(MsgType::Stats);
  h.payload_len = 8192;
  std::vector<std::uint8_t> bytes;
  write_header(h, bytes);
  Framer f;
  auto r = f.feed(bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "STATS: payload length 8192 exceeds the maximum 4096 for this message type");
}

TEST(TransportFraming, BadMagicMidStream) {
  auto good = *encode(1, MapFreeRequest{3});
  auto stream = good;
  auto bad = good;
  bad[0] = 'Y';
  stream.insert(stream.end(), bad.begin(), bad.end());
  Framer f;
  auto r = f.feed(stream);
  // The frame before the bad one is delivered; the error is then reported.
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  ASSERT_TRUE(f.failed());
  EXPECT_EQ(f.error()->message,
            "bad frame magic 0x4c464f59 (expected 0x4c464f58, 'XOFL'): stream out of sync");
  auto later = f.feed(good);
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().message, f.error()->message);
}

TEST(TransportFraming, UnknownTypeAndVersionStillFramed) {
  // A small frame of unknown type or version keeps the stream in sync, so the
  // receiver can answer it and carry on.
  FrameHeader h;
  h.type = 0x0077;
  h.version = 9;
  h.payload_len = 3;
  std::vector<std::uint8_t> bytes;
  write_header(h, bytes);
  bytes.insert(bytes.end(), {1, 2, 3});
  auto next = *encode(2, ResetRequest{});
  bytes.insert(bytes.end(), next.begin(), next.end());
  Framer f;
  auto frames = f.feed(bytes);
  ASSERT_TRUE(frames) << frames.error().message;
  ASSERT_EQ(frames->size(), 2u);
  auto bad = decode((*frames)[0]);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "unsupported protocol version 9 (this end speaks 1..2)");
  EXPECT_TRUE(decode((*frames)[1]));
}

TEST(TransportFraming, PartialFrameIsReported) {
  auto bytes = *encode(1, MapLookupRequest{1, {1, 2, 3, 4}});
  Framer f;
  auto r = f.feed(std::span<const std::uint8_t>(bytes).first(bytes.size() - 1));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_TRUE(f.mid_frame());
  EXPECT_EQ(f.buffered(), bytes.size() - kHeaderSize - 1);
}

}  // namespace
}  // namespace xo::transport
