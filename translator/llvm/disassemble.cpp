// Bytecode -> text with LLVM's MCDisassembler + MCInstPrinter, immediates in
// hex: the exact text `llvm-objdump -d` prints for BPF (minus its address,
// raw bytes and `<symbol+off>` branch annotations).
#include <algorithm>
#include <cstdio>
#include <map>

#include "llvm/ADT/ArrayRef.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCDisassembler/MCDisassembler.h"
#include "llvm/MC/MCInst.h"
#include "llvm/MC/MCInstPrinter.h"
#include "llvm/Support/raw_ostream.h"
#include "translator/isa/codec.hpp"
#include "translator/llvm/mc.hpp"
#include "translator/llvm/target.hpp"

namespace xo::mc {

namespace {

// Per thread and CPU: MCContext and the disassembler are not safe to share,
// and the CPU's features pick the decoder table (see kDefaultCpu).
struct Engine {
  const detail::BpfTarget* t;
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget;
  llvm::MCContext ctx;
  std::unique_ptr<llvm::MCDisassembler> disassembler;
  std::unique_ptr<llvm::MCInstPrinter> printer;

  Engine(const detail::BpfTarget* target, std::string_view cpu)
      : t(target),
        subtarget(t->target->createMCSubtargetInfo(detail::kTriple,
                                                   llvm::StringRef(cpu.data(), cpu.size()), "")),
        ctx(t->triple, t->asm_info.get(), t->reg_info.get(), subtarget.get()) {
    disassembler.reset(t->target->createMCDisassembler(*subtarget, ctx));
    printer.reset(t->target->createMCInstPrinter(t->triple, t->asm_info->getAssemblerDialect(),
                                                 *t->asm_info, *t->instr_info, *t->reg_info));
    if (printer) printer->setPrintImmHex(true);
  }
};

Result<Engine*> engine(std::string_view cpu) {
  if (!is_known_cpu(cpu))
    return err("disassemble: unknown BPF cpu '" + std::string(cpu) +
               "' (known: generic, v1, v2, v3, v4)");
  std::string init_error;
  const detail::BpfTarget* t = detail::bpf_target(&init_error);
  if (!t) return err("disassemble: " + init_error);
  thread_local std::map<std::string, std::unique_ptr<Engine>, std::less<>> engines;
  auto it = engines.find(cpu);
  if (it == engines.end())
    it = engines.emplace(std::string(cpu), std::make_unique<Engine>(t, cpu)).first;
  Engine& e = *it->second;
  if (!e.subtarget || !e.disassembler || !e.printer)
    return err("disassemble: LLVM BPF target has no disassembler/instruction printer");
  return &e;
}

// "\tr0 = 0x1" -> "r0 = 0x1"; tabs inside become single spaces.
std::string tidy(std::string s) {
  std::replace(s.begin(), s.end(), '\t', ' ');
  auto first = s.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(' ');
  return s.substr(first, last - first + 1);
}

std::string hex_byte(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", v & 0xff);
  return buf;
}

}  // namespace

bool is_known_cpu(std::string_view cpu) {
  for (std::string_view known : {"generic", "v1", "v2", "v3", "v4"})
    if (cpu == known) return true;
  return false;
}

Result<std::string> disassemble_one(std::span<const isa::RawInsn> slots, std::size_t pc,
                                    unsigned* width, std::string_view cpu) {
  if (pc >= slots.size())
    return err_at(pc, "disassemble: pc is past the end (" + std::to_string(slots.size()) +
                          " slots)");
  auto e = engine(cpu);
  if (!e) return e.error();

  // At most two slots: the widest BPF instruction is ld_imm64.
  std::size_t n = std::min<std::size_t>(2, slots.size() - pc);
  llvm::ArrayRef<std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(&slots[pc]),
                                     n * sizeof(isa::RawInsn));
  llvm::MCInst inst;
  std::uint64_t size = 0;
  auto status = (*e)->disassembler->getInstruction(inst, size, bytes, pc * sizeof(isa::RawInsn),
                                                   llvm::nulls());
  if (status != llvm::MCDisassembler::Success || size == 0 || size % sizeof(isa::RawInsn) != 0) {
    // What our own decoder makes of it, e.g. a truncated ld_imm64.
    auto ours = isa::decode_one(slots, pc);
    std::string why = ours ? "" : " (" + ours.error().message + ")";
    return err_at(pc, "LLVM cannot decode opcode " + hex_byte(slots[pc].code) + why);
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  (*e)->printer->printInst(&inst, pc * sizeof(isa::RawInsn), "", *(*e)->subtarget, os);
  os.flush();
  if (width) *width = static_cast<unsigned>(size / sizeof(isa::RawInsn));
  return tidy(std::move(text));
}

Result<std::vector<Line>> disassemble(std::span<const isa::RawInsn> slots,
                                      std::string_view cpu) {
  std::vector<Line> out;
  for (std::size_t pc = 0; pc < slots.size();) {
    unsigned width = 0;
    auto text = disassemble_one(slots, pc, &width, cpu);
    if (!text) return text.error();
    out.push_back(Line{pc, width, std::move(text.value())});
    pc += width;
  }
  return out;
}

std::vector<ListingLine> disassemble_listing(std::span<const isa::RawInsn> slots,
                                             std::string_view cpu) {
  std::vector<ListingLine> out;
  for (std::size_t pc = 0; pc < slots.size();) {
    unsigned width = 0;
    auto text = disassemble_one(slots, pc, &width, cpu);
    if (text) {
      out.push_back({Line{pc, width, std::move(text.value())}, true});
      pc += width;
    } else {
      out.push_back({Line{pc, 1, "<invalid: " + text.error().message + ">"}, false});
      pc += 1;
    }
  }
  return out;
}

}  // namespace xo::mc
