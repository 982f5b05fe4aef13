// Instruction listings for the pipeline commands: LLVM's text per
// instruction, the raw bytes, and what the listing reader needs to know that
// LLVM cannot (a map reference's guest map, a placeholder fd).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "translator/isa/raw.hpp"
#include "translator/isa/submission.hpp"

namespace xo::cli {

struct ListedInsn {
  std::size_t slot;
  unsigned width;
  std::string text;     // LLVM's, or "<invalid: ...>"
  std::string raw_hex;  // width * 8 bytes
  std::string comment;  // e.g. "map 'rxcnt' (handle 1)"; may be empty
};

// `sub` names the maps behind guest handles (guest listing) or behind
// placeholder fds (host listing, `placeholder_base` != 0).
std::vector<ListedInsn> list_insns(std::span<const isa::RawInsn> slots, const Submission& sub,
                                   std::uint32_t placeholder_base);

}  // namespace xo::cli
