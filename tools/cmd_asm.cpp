// xoffload asm: LLVM BPF assembly text -> raw bytecode (8-byte slots).
#include <iostream>
#include <iterator>

#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "translator/llvm/mc.hpp"

namespace xo::cli {

namespace {

int run(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 1) {
    err << "asm: expected exactly one FILE.s (see xoffload asm --help)\n";
    return kExitUsage;
  }
  auto output = args.get("-o");
  if (!output) {
    err << "asm: missing -o FILE.bin\n";
    return kExitUsage;
  }
  const std::string& path = args.positional[0];
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    auto bytes = read_file(path);
    if (!bytes) {
      err << "asm: " << bytes.error().describe() << '\n';
      return kExitFailure;
    }
    text.assign(bytes->begin(), bytes->end());
  }
  auto insns = mc::assemble(text);
  if (!insns) {
    err << "asm: " << path << ": " << insns.error().describe() << '\n';
    return kExitFailure;
  }
  auto bytes = isa::bytes_from_raw(*insns);
  if (*output == "-") {
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return out ? kExitOk : kExitFailure;
  }
  if (auto written = write_file(*output, bytes); !written) {
    err << "asm: " << written.error().describe() << '\n';
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

const Command& asm_command() {
  static const Command cmd{
      "asm",
      "Assemble LLVM BPF assembly (the syntax llvm-objdump -d prints) into raw bytecode.",
      "FILE.s -o FILE.bin",
      "Labels are resolved; FILE.s may be - for stdin and FILE.bin - for stdout.",
      {{"-o", "FILE.bin", "output file: 8-byte little-endian slots"}},
      run};
  return cmd;
}

}  // namespace xo::cli
