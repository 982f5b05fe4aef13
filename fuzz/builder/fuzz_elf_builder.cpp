// libFuzzer target for the guest builder: arbitrary bytes as a BPF ELF
// object. The builder runs in the guest on objects the guest user supplies,
// and its checked ElfImage is all that stands between those bytes and libbpf
// (which trusts them much more). libbpf and libelf are the system's shared
// libraries, not instrumented: ASan still catches wild reads that fault and
// everything our code does with what they return.
//
// Properties (a violation traps, which libFuzzer reports as a crash):
//  * build_submission() never crashes; a refusal is an Error whose message is
//    one non-empty line;
//  * an accepted object yields maps with increasing handles from 1..N (the
//    ones the program uses), func_info and
//    line_info inside the program and sorted (the builder sorts them; it
//    does not promise the kernel's stricter rules on crafted input);
//  * list_program_infos() agrees: every program it lists builds or is refused
//    cleanly, and the default (nullopt) choice succeeds only for one program.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "guest/builder/elf_builder.hpp"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::size_t kMaxProgramsTried = 4;

void check_error(const xo::Error& e) {
  require(!e.message.empty());
  require(e.message.find('\n') == std::string::npos);
}

template <typename Info>
void check_sorted_inside(const std::vector<Info>& infos, std::size_t slots) {
  for (std::size_t i = 0; i < infos.size(); ++i) {
    require(infos[i].insn_off < slots);
    if (i > 0) require(infos[i - 1].insn_off <= infos[i].insn_off);
  }
}

void check_result(const xo::Result<xo::Submission>& r) {
  if (!r.ok()) {
    check_error(r.error());
    return;
  }
  const xo::Submission& s = *r;
  require(!s.insns.empty());
  for (std::size_t i = 0; i < s.maps.size(); ++i) require(s.maps[i].handle > (i ? s.maps[i - 1].handle : 0));
  check_sorted_inside(s.func_info, s.insns.size());
  check_sorted_inside(s.line_info, s.insns.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return 0;  // long inputs only slow the search down
  const std::span<const std::uint8_t> elf(data, size);

  auto by_default = xo::guest::build_submission(elf, std::nullopt);
  check_result(by_default);

  auto infos = xo::guest::list_program_infos(elf);
  if (!infos.ok()) {
    check_error(infos.error());
    require(!by_default.ok());
    return 0;
  }
  if (by_default.ok()) require(infos->size() == 1 && by_default->name == (*infos)[0].name);
  for (std::size_t i = 0; i < infos->size() && i < kMaxProgramsTried; ++i) {
    auto named = xo::guest::build_submission(elf, (*infos)[i].name);
    check_result(named);
    if (named.ok()) require(named->name == (*infos)[i].name);
  }
  return 0;
}
