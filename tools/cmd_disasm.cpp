// xoffload disasm: list BPF instructions with their slot indexes.
// LLVM gives the text (the syntax llvm-objdump -d prints); our own decoder
// (xo_isa) checks every instruction, so the listing also shows where the two
// disagree or where the bytes are not valid BPF for us.
#include <ostream>

#include "tools/bpf_elf.hpp"
#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "tools/json.hpp"
#include "translator/isa/codec.hpp"
#include "translator/llvm/mc.hpp"

namespace xo::cli {

namespace {

struct ListedInsn {
  mc::Line line;
  bool llvm_valid;
  std::string xo_error;  // empty when our decoder agrees
};

struct Listing {
  std::string name;
  std::vector<FuncSymbol> funcs;
  std::vector<ListedInsn> insns;
  std::vector<isa::RawInsn> slots;
};

// What our decoder thinks of the instruction LLVM listed at line.slot.
std::string xo_check(std::span<const isa::RawInsn> slots, const mc::Line& line, bool llvm_valid) {
  auto insn = isa::decode_one(slots, line.slot);
  if (!insn) return llvm_valid ? "xo decoder rejects: " + insn.error().message : "";
  if (!llvm_valid) return "xo decoder accepts what LLVM rejects";
  unsigned width = isa::slot_width(*insn);
  if (width != line.width)
    return "xo decoder width " + std::to_string(width) + " != LLVM width " +
           std::to_string(line.width);
  return "";
}

Listing list(std::string name, std::vector<isa::RawInsn> slots, std::vector<FuncSymbol> funcs,
             std::string_view cpu) {
  Listing l{std::move(name), std::move(funcs), {}, std::move(slots)};
  for (mc::ListingLine& ll : mc::disassemble_listing(l.slots, cpu)) {
    std::string xo = xo_check(l.slots, ll.line, ll.valid);
    l.insns.push_back(ListedInsn{std::move(ll.line), ll.valid, std::move(xo)});
  }
  return l;
}

std::string raw_hex(const Listing& l, const mc::Line& line) {
  auto bytes = isa::bytes_from_raw(std::span(l.slots).subspan(line.slot, line.width));
  return hex(bytes);
}

void print_text(const std::vector<Listing>& listings, std::ostream& out) {
  bool first = true;
  for (const Listing& l : listings) {
    if (!first) out << '\n';
    first = false;
    out << "section " << l.name << ":\n";
    std::size_t next_func = 0;
    for (const ListedInsn& i : l.insns) {
      while (next_func < l.funcs.size() && l.funcs[next_func].slot <= i.line.slot) {
        if (l.funcs[next_func].slot == i.line.slot) out << l.funcs[next_func].name << ":\n";
        ++next_func;
      }
      out << "  " << i.line.slot << ": " << i.line.text;
      if (!i.xo_error.empty()) out << "  ; " << i.xo_error;
      out << '\n';
    }
  }
}

void print_json(const std::vector<Listing>& listings, std::ostream& out) {
  JsonWriter j;
  j.begin_object();
  j.key("sections");
  j.begin_array();
  for (const Listing& l : listings) {
    j.begin_object();
    j.field("name", l.name);
    j.field("slots", static_cast<std::uint64_t>(l.slots.size()));
    j.key("funcs");
    j.begin_array();
    for (const FuncSymbol& f : l.funcs) {
      j.begin_object();
      j.field("name", f.name);
      j.field("index", static_cast<std::uint64_t>(f.slot));
      j.end_object();
    }
    j.end_array();
    j.key("insns");
    j.begin_array();
    for (const ListedInsn& i : l.insns) {
      j.begin_object();
      j.field("index", static_cast<std::uint64_t>(i.line.slot));
      j.field("text", i.line.text);
      j.field("raw", raw_hex(l, i.line));
      j.field("valid", i.llvm_valid && i.xo_error.empty());
      if (!i.xo_error.empty()) j.field("xo_error", i.xo_error);
      j.end_object();
    }
    j.end_array();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  out << j.str() << '\n';
}

int run(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 1) {
    err << "disasm: expected exactly one FILE (see xoffload disasm --help)\n";
    return kExitUsage;
  }
  const std::string& path = args.positional[0];
  std::string cpu = args.get("--mcpu").value_or(std::string(mc::kDefaultCpu));
  if (!mc::is_known_cpu(cpu)) {
    err << "disasm: unknown --mcpu '" << cpu << "' (known: generic, v1, v2, v3, v4)\n";
    return kExitUsage;
  }
  bool raw = args.flag("--raw");
  auto section = args.get("--section");
  if (raw && section) {
    err << "disasm: --section does not apply to --raw input\n";
    return kExitUsage;
  }

  auto bytes = read_file(path);
  if (!bytes) {
    err << "disasm: " << bytes.error().describe() << '\n';
    return kExitFailure;
  }
  std::vector<Listing> listings;
  if (raw) {
    if (bytes->size() % sizeof(isa::RawInsn) != 0) {
      err << "disasm: " << path << ": size " << bytes->size()
          << " is not a multiple of 8 (raw bytecode is 8-byte slots)\n";
      return kExitFailure;
    }
    listings.push_back(list("raw", isa::raw_from_bytes(*bytes), {}, cpu));
  } else {
    auto sections = read_code_sections(*bytes, path);
    if (!sections) {
      err << "disasm: " << sections.error().describe() << '\n';
      return kExitFailure;
    }
    for (CodeSection& cs : *sections)
      if (!section || cs.name == *section)
        listings.push_back(list(cs.name, std::move(cs.insns), std::move(cs.funcs), cpu));
    if (section && listings.empty()) {
      err << "disasm: " << path << ": no code section named '" << *section << "'\n";
      return kExitFailure;
    }
  }
  if (args.flag("--json"))
    print_json(listings, out);
  else
    print_text(listings, out);
  return kExitOk;
}

}  // namespace

const Command& disasm_command() {
  static const Command cmd{
      "disasm",
      "List the BPF instructions of an ELF object (every code section) or raw bytecode.",
      "FILE.o [--section S] [--json] | --raw FILE [--json]",
      "Text is LLVM's (the syntax llvm-objdump -d prints); each line is\n"
      "\"  <slot>: <insn>\", where ld_imm64 takes two slots and is listed once.\n"
      "Instructions that our own decoder rejects (or reads differently) are\n"
      "flagged with \"; xo ...\".",
      {{"--section", "S", "only the code section named S"},
       {"--raw", "", "FILE is raw bytecode: 8-byte little-endian slots"},
       {"--json", "", "print {\"sections\":[{\"name\",\"insns\":[{\"index\",\"text\",\"raw\"}]}]}"},
       {"--mcpu", "CPU", "LLVM BPF cpu for the text: v4 (default), v3, v2, v1, generic"}},
      run};
  return cmd;
}

}  // namespace xo::cli
