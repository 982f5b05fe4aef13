// Instruction listings for the pipeline commands: LLVM's text per
// instruction, the raw bytes, and what the listing reader needs to know that
// LLVM cannot (which map a map reference's handle names).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "translator/isa/raw.hpp"
#include "core/submission.hpp"

namespace xo::cli {

struct ListedInsn {
  std::size_t slot;
  unsigned width;
  std::string text;     // LLVM's, or "<invalid: ...>"
  std::string raw_hex;  // width * 8 bytes
  std::string comment;  // e.g. "map 'rxcnt' (handle 1)"; may be empty
};

// `sub` names the maps behind guest handles. In a host listing
// (Translated::encode_symbolic) handle 0 is the host's stats map.
std::vector<ListedInsn> list_insns(std::span<const isa::RawInsn> slots, const Submission& sub, bool host);

}  // namespace xo::cli
