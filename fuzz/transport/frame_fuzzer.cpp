// libFuzzer target: untrusted bytes through the Framer (in chunks chosen by
// the input) and the codec. Every frame that decodes must re-encode to the
// same bytes and decode to the same value; anything else traps.
//
//   input = u8 chunk_seed | stream bytes
#include <cstddef>
#include <cstdint>
#include <span>

#include "transport/codec.hpp"
#include "transport/framing.hpp"

using namespace xo::transport;

namespace {

void check_round_trip(const Frame& frame, const Message& message) {
  // In the version it was decoded in (layouts differ by version).
  auto again = encode(frame.header.request_id, message, frame.header.version);
  if (!again) __builtin_trap();  // a decoded message must be encodable
  auto back = decode_frame(*again);
  if (!back || !(back->message == message) || back->request_id != frame.header.request_id)
    __builtin_trap();
  // Byte-exact unless the original carried over-long text (never: decoding
  // enforces the same bounds the encoder truncates to).
  std::vector<std::uint8_t> original;
  write_header(frame.header, original);
  original.insert(original.end(), frame.payload.begin(), frame.payload.end());
  if (original != *again) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > (1u << 20)) return 0;  // structure, not length
  const std::size_t chunk = 1 + data[0] % 64;
  std::span<const std::uint8_t> stream(data + 1, size - 1);

  // Whole input as one frame.
  auto one = decode_frame(stream);
  (void)one;

  // As a byte stream, chunked.
  Framer framer;
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
    auto frames = framer.feed(stream.subspan(pos, std::min(chunk, stream.size() - pos)));
    if (!frames) break;
    for (const Frame& f : *frames) {
      if (f.payload.size() != f.header.payload_len) __builtin_trap();
      auto m = decode(f);
      if (m) check_round_trip(f, *m);
      else (void)decode_failure_status(f.header);
    }
    if (framer.failed()) break;
  }
  return 0;
}
