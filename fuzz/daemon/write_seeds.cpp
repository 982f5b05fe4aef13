// Seed corpus for dispatch_fuzzer: a whole guest session as one byte stream
// (CAPS, BTF_LOAD, MAP_CREATE/UPDATE/LOOKUP/GET_NEXT_KEY/DELETE, PROG_LOAD,
// ATTACH, STATS, DETACH, UNLOAD, MAP_FREE, RESET; handles are assigned 1, 2,
// 3... so the later requests name live objects), plus one file per request.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "translator/isa/codec.hpp"
#include "transport/codec.hpp"

using namespace xo;
namespace ts = xo::transport;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  std::vector<std::uint8_t> key{1, 0, 0, 0}, value(8, 7);
  ts::MapCreateRequest map;
  map.type = MapType::Hash;
  map.key_size = 4;
  map.value_size = 8;
  map.max_entries = 8;
  map.name = "m";
  map.btf_handle = 1;
  ts::ProgLoadRequest prog;
  prog.name = "p";
  prog.license = "GPL";
  prog.flavor = ts::kFlavorTc;
  prog.btf_handle = 0;
  // r1 = map[handle 2] ll; call 1; r0 = 2; exit
  prog.insns = isa::encode(std::vector<isa::Insn>{isa::LoadMapFd{1, 2}, isa::Call{1},
                                                  isa::Bin{isa::AluOp::Mov, true, 0, isa::Imm{2}},
                                                  isa::Exit{}});
  std::vector<ts::Message> script = {
      ts::CapsRequest{},
      ts::BtfLoadRequest{std::vector<std::uint8_t>(32, 0x9f)},
      map,
      ts::MapUpdateRequest{2, 0, key, value},
      ts::MapLookupRequest{2, key},
      ts::MapGetNextKeyRequest{2, {}},
      prog,
      ts::ProgAttachRequest{3},
      ts::StatsRequest{3},
      ts::BtfFreeRequest{1},  // EBUSY: map 2 uses it
      ts::MapFreeRequest{2},
      ts::ProgDetachRequest{3},
      ts::ProgUnloadRequest{3},
      ts::MapDeleteRequest{2, key},
      ts::MapFreeRequest{2},
      ts::BtfFreeRequest{1},  // freed
      ts::BtfFreeRequest{1},  // EBADF: already freed
      ts::ResetRequest{},
  };
  std::vector<std::uint8_t> all;
  int n = 0;
  for (const auto& m : script) {
    auto bytes = ts::encode(std::uint32_t(++n), m);
    if (!bytes) {
      std::fprintf(stderr, "encode: %s\n", bytes.error().message.c_str());
      return 1;
    }
    all.insert(all.end(), bytes->begin(), bytes->end());
    std::ofstream one(std::string(argv[1]) + "/seed-" + std::to_string(n), std::ios::binary);
    one.write(reinterpret_cast<const char*>(bytes->data()), std::streamsize(bytes->size()));
  }
  std::ofstream out(std::string(argv[1]) + "/seed-session", std::ios::binary);
  out.write(reinterpret_cast<const char*>(all.data()), std::streamsize(all.size()));
  return 0;
}
