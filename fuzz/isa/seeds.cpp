// Writes the seed corpus for fuzz_isa_decoder: every opcode form of
// tests/isa/opcode_forms.hpp as its own input, plus a few small programs
// (forms mixed, with jumps, calls and ld_imm64).
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/isa/opcode_forms.hpp"
#include "translator/isa/codec.hpp"

using namespace xo::isa;

static void write(const std::string& dir, const std::string& name,
                  const std::vector<RawInsn>& slots) {
  const std::vector<std::uint8_t> bytes = bytes_from_raw(slots);
  std::ofstream(dir + "/" + name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const auto& forms = testdata::opcode_forms();
  std::vector<RawInsn> all;
  for (std::size_t i = 0; i < forms.size(); ++i) {
    write(dir, "form-" + std::to_string(i), forms[i].slots);
    all.insert(all.end(), forms[i].slots.begin(), forms[i].slots.end());
  }
  write(dir, "all-forms", all);
  const std::vector<Insn> program{
      Bin{AluOp::Mov, true, 0, Imm{0}},
      Jmp{Cond::Eq, false, 1, Imm{0}, 3},
      LoadMapFd{1, 1},
      CallLocal{2},
      Ja{1, false},
      Bin{AluOp::Mov, true, 0, Imm{2}},
      Exit{},
      Bin{AluOp::Mov, true, 0, Imm{1}},
      Exit{},
  };
  write(dir, "program", encode(program));
  return 0;
}
