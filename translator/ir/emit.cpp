// emit_object(): the BPF backend writes an ELF object in memory; its .text is
// the program and its .BTF.ext line_info says, per emitted insn, which
// DILocation line (direct slot + 1, lift.cpp) it came from.
//
//   .text        b7 00 00 00 01 00 00 00  95 00 ...   -> RawInsn slots
//   .BTF.ext     line_info { insn_off 0, line_col 12 << 10 }  -> slot 0 from direct slot 11
//
// Anything the kernel could not load from .text alone is refused here:
// relocations into .text (calls of functions left out-of-line, globals,
// libcalls), more than one function.
#include <cstring>

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "translator/ir/tier_internal.hpp"

namespace xo::ir {
namespace {

std::uint32_t u32_at(llvm::StringRef d, std::size_t off) {
  std::uint32_t v = 0;
  std::memcpy(&v, d.data() + off, 4);
  return v;
}

// .BTF.ext: header {magic 0xeB9F, version, flags, hdr_len, func_info_off,
// func_info_len, line_info_off, line_info_len}; line_info = rec_size, then
// per section {sec_name_off, num_info, records {insn_off (bytes),
// file_name_off, line_off, line_col}}.
Result<std::vector<Emitted::Line>> line_info(llvm::StringRef d) {
  std::vector<Emitted::Line> out;
  if (d.size() < 32) return err(EINVAL, ".BTF.ext too short");
  std::uint16_t magic = 0;
  std::memcpy(&magic, d.data(), 2);
  if (magic != 0xeB9F) return err(EINVAL, ".BTF.ext bad magic");
  const std::uint32_t hdr = u32_at(d, 4);
  const std::uint32_t off = u32_at(d, 16), len = u32_at(d, 20);
  std::size_t p = std::size_t(hdr) + off;
  const std::size_t end = p + len;
  if (len == 0) return out;
  if (end > d.size() || len < 4) return err(EINVAL, ".BTF.ext line_info out of bounds");
  const std::uint32_t rec = u32_at(d, p);
  p += 4;
  if (rec < 16) return err(EINVAL, ".BTF.ext line_info record too small");
  while (p + 8 <= end) {
    const std::uint32_t n = u32_at(d, p + 4);
    p += 8;
    for (std::uint32_t k = 0; k < n; ++k, p += rec) {
      if (p + rec > end) return err(EINVAL, ".BTF.ext line_info truncated");
      out.push_back({u32_at(d, p) / 8, u32_at(d, p + 12) >> 10});
    }
  }
  return out;
}

}  // namespace

Result<Emitted> emit_object(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    return err(EOPNOTSUPP, "the BPF backend cannot emit objects");
  pm.run(module);

  auto obj = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(llvm::StringRef(buffer.data(), buffer.size()), "xo-ir.o"));
  if (!obj) return err(EINVAL, "emitted object does not parse: " + llvm::toString(obj.takeError()));
  Emitted out;
  bool have_text = false, have_lines = false;
  for (const llvm::object::SectionRef& sec : (*obj)->sections()) {
    auto name = sec.getName();
    if (!name) continue;
    auto relocated = sec.getRelocatedSection();
    if (relocated && *relocated != (*obj)->section_end()) {
      auto rname = (*relocated)->getName();
      if (rname && *rname == ".text" && sec.relocations().begin() != sec.relocations().end())
        return err(EOPNOTSUPP, "emitted code needs relocations (a call or global that is not part of the program)");
    }
    if (*name == ".text") {
      auto data = sec.getContents();
      if (!data) return err(EINVAL, "no .text contents");
      out.text.resize(data->size() / 8);
      if (!out.text.empty()) std::memcpy(out.text.data(), data->data(), out.text.size() * 8);
      have_text = true;
    } else if (*name == ".BTF.ext") {
      auto data = sec.getContents();
      if (!data) return err(EINVAL, "no .BTF.ext contents");
      auto lines = line_info(*data);
      if (!lines) return lines.error();
      out.lines = std::move(*lines);
      have_lines = true;
    } else if (sec.isText() && sec.getSize() > 0) {
      return err(EOPNOTSUPP, "code outside .text (" + name->str() + ")");
    }
  }
  if (!have_text || out.text.empty()) return err(EINVAL, "emitted object has no code");
  if (!have_lines) return err(EINVAL, "emitted object has no line info");
  unsigned functions = 0;
  for (const llvm::object::SymbolRef& sym : (*obj)->symbols()) {
    auto type = sym.getType();
    if (type && *type == llvm::object::SymbolRef::ST_Function) ++functions;
  }
  if (functions != 1)
    return err(EOPNOTSUPP, std::to_string(functions) + " functions emitted (subprograms were not all inlined)");
  return out;
}

}  // namespace xo::ir
