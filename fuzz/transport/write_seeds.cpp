// Writes one encoded frame per sample message into a directory: the seed
// corpus for frame_fuzzer (first byte = chunk seed).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/transport/samples.hpp"
#include "transport/codec.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  int n = 0;
  for (const auto& m : xo::transport::testing::sample_messages()) {
    auto bytes = xo::transport::encode(std::uint32_t(n + 1), m);
    if (!bytes) {
      std::fprintf(stderr, "encode: %s\n", bytes.error().message.c_str());
      return 1;
    }
    std::ofstream out(std::string(argv[1]) + "/seed-" + std::to_string(n++),
                      std::ios::binary);
    const char chunk_seed = char(n * 7);
    out.write(&chunk_seed, 1);
    out.write(reinterpret_cast<const char*>(bytes->data()), std::streamsize(bytes->size()));
  }
  return 0;
}
