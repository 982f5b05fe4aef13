// Seed corpus for fuzz_preverify_translate: every program of every clang-built
// BPF object named on the command line (the examples, test objects), turned
// into a Submission by the guest builder and written in the fuzz layout
// (fuzz_input.hpp) once per flavor, plus a few tiny hand-made programs so the
// corpus is never empty. Objects the builder refuses are skipped with a line
// on stderr: they are still useful as builder seeds, not here.
//
// usage: fuzz_verifier_seeds <corpus-dir> [object.o ...]
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz/verifier/fuzz_input.hpp"
#include "guest/builder/elf_builder.hpp"
#include "translator/isa/codec.hpp"

namespace {

using xo::isa::RawInsn;

int written = 0;

void write_case(const std::string& dir, const xo::fuzz::FuzzCase& c) {
  const auto bytes = xo::fuzz::serialize_fuzz_input(c);
  std::ofstream out(dir + "/seed-" + std::to_string(written++), std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void write_all_flavors(const std::string& dir, xo::Submission sub) {
  for (xo::Flavor f : {xo::Flavor::Tc, xo::Flavor::Chain}) {
    for (bool stats : {false, true}) {
      xo::fuzz::FuzzCase c{sub, f, stats};
      write_case(dir, c);
    }
  }
}

// r0 = action; exit.  And a map lookup on handle 1 returning what it finds.
std::vector<xo::Submission> tiny_programs() {
  std::vector<xo::Submission> out;
  for (std::int32_t action : {1, 2, 3}) {
    xo::Submission s;
    s.name = "fuzz_prog";
    s.license = "GPL";
    s.insns = {RawInsn::make(0xb7, 0, 0, 0, action), RawInsn::make(0x95, 0, 0, 0, 0)};
    out.push_back(s);
  }
  xo::Submission s;
  s.name = "fuzz_prog";
  s.license = "GPL";
  s.maps.push_back({1, xo::MapType::Array, 4, 8, 4, 0, "map1"});
  {
    using namespace xo::isa;
    s.insns = encode(std::vector<Insn>{
        Store{Size::W, 10, -4, Imm{0}},       // *(u32 *)(r10 - 4) = 0
        Bin{AluOp::Mov, true, 2, Reg{10}},    // r2 = r10
        Bin{AluOp::Add, true, 2, Imm{-4}},    // r2 += -4
        LoadMapFd{1, 1},                      // r1 = map[handle 1] ll
        Call{1},                              // call bpf_map_lookup_elem
        Bin{AluOp::Mov, true, 1, Imm{2}},     // r1 = XDP_PASS
        Jmp{Cond::Eq, false, 0, Imm{0}, 1},   // if r0 == 0 goto +1
        Load{Size::W, false, 1, 0, 0},        // r1 = *(u32 *)(r0 + 0)
        Bin{AluOp::Mov, true, 0, Reg{1}},     // r0 = r1
        Exit{},
    });
  }
  s.func_info.push_back({0, 0});
  out.push_back(s);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir> [object.o ...]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::filesystem::create_directories(dir);
  for (auto& s : tiny_programs()) write_all_flavors(dir, s);
  for (int a = 2; a < argc; ++a) {
    auto bytes = xo::guest::read_object_file(argv[a]);
    if (!bytes) {
      std::fprintf(stderr, "%s: %s\n", argv[a], bytes.error().describe().c_str());
      continue;
    }
    auto programs = xo::guest::list_programs(*bytes);
    if (!programs) {
      std::fprintf(stderr, "%s: %s\n", argv[a], programs.error().describe().c_str());
      continue;
    }
    for (const auto& p : *programs) {
      auto sub = xo::guest::build_submission(*bytes, p);
      if (!sub) {
        std::fprintf(stderr, "%s: %s: %s (skipped)\n", argv[a], p.c_str(),
                     sub.error().describe().c_str());
        continue;
      }
      sub->guest_ifindex = xo::fuzz::kGuestIfindex;
      write_all_flavors(dir, std::move(*sub));
    }
  }
  std::printf("%d seeds in %s\n", written, dir.c_str());
  return 0;
}
