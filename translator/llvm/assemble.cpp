// Text -> bytecode through LLVM's own pipeline, exactly as llvm-mc does it:
//   MCAsmParser + BPF target parser -> ELF object streamer (in memory)
//   -> read the object back and take .text.
// Going through a real object (instead of encoding MCInsts one by one) lets
// the assembler resolve labels and branch fixups the way LLVM always does.
#include <string>

#include "llvm/ADT/SmallString.h"
#include "llvm/MC/MCAsmBackend.h"
#include "llvm/MC/MCCodeEmitter.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCObjectFileInfo.h"
#include "llvm/MC/MCObjectWriter.h"
#include "llvm/MC/MCParser/MCAsmParser.h"
#include "llvm/MC/MCParser/MCTargetAsmParser.h"
#include "llvm/MC/MCStreamer.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#include "translator/llvm/mc.hpp"
#include "translator/llvm/target.hpp"

namespace xo::mc {

namespace {

// Collects LLVM's diagnostics as "line N: message" instead of printing them.
struct Diagnostics {
  std::vector<std::string> errors;

  void add(const llvm::SMDiagnostic& d) {
    if (d.getKind() != llvm::SourceMgr::DK_Error) return;
    std::string line = d.getLineNo() > 0 ? "line " + std::to_string(d.getLineNo()) + ": " : "";
    errors.push_back(line + d.getMessage().str());
  }
  Error to_error() const {
    std::string msg = "assemble: " + errors.front();
    if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more errors)";
    return err(std::move(msg));
  }
};

Result<std::vector<isa::RawInsn>> text_section(llvm::StringRef object) {
  auto file = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(object, "<asm>"));
  if (!file) return err("assemble: cannot read back the object: " + llvm::toString(file.takeError()));
  std::vector<isa::RawInsn> out;
  for (const llvm::object::SectionRef& section : (*file)->sections()) {
    auto name = section.getName();
    if (!name) {
      llvm::consumeError(name.takeError());
      continue;
    }
    auto contents = section.getContents();
    if (!contents) return err("assemble: " + llvm::toString(contents.takeError()));
    if (!section.isText() || contents->empty()) continue;
    if (*name != ".text")
      return err("assemble: code in section '" + name->str() +
                 "': only the default .text section is supported");
    if (contents->size() % sizeof(isa::RawInsn) != 0)
      return err("assemble: .text is " + std::to_string(contents->size()) +
                 " bytes, not a whole number of 8-byte slots");
    out = isa::raw_from_bytes(std::span(
        reinterpret_cast<const std::uint8_t*>(contents->data()), contents->size()));
  }
  return out;
}

}  // namespace

Result<std::vector<isa::RawInsn>> assemble(std::string_view text) {
  std::string init_error;
  const detail::BpfTarget* t = detail::bpf_target(&init_error);
  if (!t) return err("assemble: " + init_error);

  // Per call: parsers may adjust a subtarget's features, so none is shared.
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
      t->target->createMCSubtargetInfo(detail::kTriple, detail::kCpu, ""));
  if (!subtarget) return err("assemble: LLVM BPF target has no subtarget info");

  Diagnostics diags;
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(text.data(), text.size()), "<asm>"),
      llvm::SMLoc());
  sources.setDiagHandler(
      [](const llvm::SMDiagnostic& d, void* ctx) { static_cast<Diagnostics*>(ctx)->add(d); },
      &diags);

  llvm::MCContext ctx(t->triple, t->asm_info.get(), t->reg_info.get(), subtarget.get(),
                      &sources, &t->options);
  ctx.setDiagnosticHandler([&diags](const llvm::SMDiagnostic& d, bool, const llvm::SourceMgr&,
                                    std::vector<const llvm::MDNode*>&) { diags.add(d); });
  std::unique_ptr<llvm::MCObjectFileInfo> file_info(
      t->target->createMCObjectFileInfo(ctx, /*PIC=*/false));
  ctx.setObjectFileInfo(file_info.get());

  llvm::SmallString<4096> object;
  llvm::raw_svector_ostream object_stream(object);
  std::unique_ptr<llvm::MCAsmBackend> backend(
      t->target->createMCAsmBackend(*subtarget, *t->reg_info, t->options));
  std::unique_ptr<llvm::MCCodeEmitter> emitter(
      t->target->createMCCodeEmitter(*t->instr_info, ctx));
  if (!backend || !emitter) return err("assemble: LLVM BPF target has no asm backend/emitter");
  std::unique_ptr<llvm::MCObjectWriter> writer = backend->createObjectWriter(object_stream);
  std::unique_ptr<llvm::MCStreamer> streamer(t->target->createMCObjectStreamer(
      t->triple, ctx, std::move(backend), std::move(writer), std::move(emitter), *subtarget));

  std::unique_ptr<llvm::MCAsmParser> parser(
      llvm::createMCAsmParser(sources, ctx, *streamer, *t->asm_info));
  std::unique_ptr<llvm::MCTargetAsmParser> target_parser(
      t->target->createMCAsmParser(*subtarget, *parser, *t->instr_info, t->options));
  if (!target_parser) return err("assemble: LLVM BPF target has no asm parser");
  parser->setTargetParser(*target_parser);

  bool failed = parser->Run(/*NoInitialTextSection=*/false);
  if (!diags.errors.empty()) return diags.to_error();
  if (failed || ctx.hadError()) return err("assemble: LLVM reported an error");
  // Run() has called finish() on the streamer, which wrote the object.
  return text_section(object.str());
}

}  // namespace xo::mc
