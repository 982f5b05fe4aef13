// Codec and framer cost per message: encode, decode, and frame+decode of a
// byte stream, for a small request (MAP_LOOKUP) and a 4096-insn PROG_LOAD.
#include <benchmark/benchmark.h>

#include "transport/codec.hpp"
#include "transport/framing.hpp"

using namespace xo::transport;

namespace {

Message lookup() { return MapLookupRequest{3, {1, 0, 0, 0}}; }

Message prog_load() {
  ProgLoadRequest p;
  p.name = "xdp_prog1";
  p.license = "GPL";
  p.insns.assign(4096, xo::isa::RawInsn::make(0xb7, 1, 0, 0, 7));
  p.line_info.assign(512, xo::LineInfo{1, 2, 3, 4});
  return p;
}

void BM_Encode(benchmark::State& state, Message m) {
  for (auto _ : state) benchmark::DoNotOptimize(encode(1, m));
  state.SetBytesProcessed(state.iterations() * std::int64_t(encode(1, m)->size()));
}

void BM_Decode(benchmark::State& state, Message m) {
  const auto bytes = *encode(1, m);
  for (auto _ : state) benchmark::DoNotOptimize(decode_frame(bytes));
  state.SetBytesProcessed(state.iterations() * std::int64_t(bytes.size()));
}

// 64 frames fed in 4 KiB chunks, each frame decoded.
void BM_FrameAndDecodeStream(benchmark::State& state, Message m) {
  std::vector<std::uint8_t> stream;
  for (int i = 0; i < 64; ++i) {
    auto b = *encode(std::uint32_t(i), m);
    stream.insert(stream.end(), b.begin(), b.end());
  }
  for (auto _ : state) {
    Framer f;
    for (std::size_t pos = 0; pos < stream.size(); pos += 4096) {
      auto frames = f.feed(std::span<const std::uint8_t>(stream).subspan(
          pos, std::min<std::size_t>(4096, stream.size() - pos)));
      for (const Frame& fr : *frames) benchmark::DoNotOptimize(decode(fr));
    }
  }
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetBytesProcessed(state.iterations() * std::int64_t(stream.size()));
}

}  // namespace

BENCHMARK_CAPTURE(BM_Encode, map_lookup, lookup());
BENCHMARK_CAPTURE(BM_Decode, map_lookup, lookup());
BENCHMARK_CAPTURE(BM_Encode, prog_load_4096, prog_load());
BENCHMARK_CAPTURE(BM_Decode, prog_load_4096, prog_load());
BENCHMARK_CAPTURE(BM_FrameAndDecodeStream, map_lookup, lookup());
BENCHMARK_CAPTURE(BM_FrameAndDecodeStream, prog_load_4096, prog_load());
