// One corpus program in a child process of its own: the native load, the
// builder, then Offload in tc and in chain. The child reports each step it
// starts and finally its record; a child that dies (signal, timeout) is a
// crash recorded against the step it was in, never a lost program.
#pragma once

#include <string>

#include "tests/corpus/manifest.hpp"
#include "tests/corpus/native.hpp"
#include "tests/corpus/offload_run.hpp"
#include "tests/corpus/record.hpp"

namespace xo::corpus {

struct RunContext {
  std::string corpus_dir;  // objects are relative to it
  std::string tap;
  std::string pin_root;
  unsigned timeout_s = 300;  // per program
};

ProgramRecord run_program(const RunContext& ctx, const ManifestEntry& entry, const ObjectProgram& program,
                          std::size_t index);

}  // namespace xo::corpus
