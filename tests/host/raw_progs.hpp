// Hand-built raw programs and BTF for host tests that must not depend on
// the translator: the kernel loads exactly these bytes.
#pragma once

#include <bpf/btf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "translator/isa/raw.hpp"
#include "core/submission.hpp"

namespace xo::test {

inline isa::RawInsn mov64_imm(std::uint8_t dst, std::int32_t imm) { return isa::RawInsn::make(0xb7, dst, 0, 0, imm); }
inline isa::RawInsn ldxw(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return isa::RawInsn::make(0x61, dst, src, off, 0); }
inline isa::RawInsn exit_insn() { return isa::RawInsn::make(0x95, 0, 0, 0, 0); }
// "r0 = imm; exit"
inline std::vector<isa::RawInsn> return_imm(std::int32_t imm) { return {mov64_imm(0, imm), exit_insn()}; }

// A small BTF: int, struct xo_pair {int a; int b;}, a FUNC "prog" returning
// int, and strings for line_info ("prog.c", source text).
struct TestBtf {
  std::vector<std::uint8_t> blob;
  std::uint32_t int_id = 0, pair_id = 0, func_id = 0;
  std::uint32_t file_off = 0, line_off = 0;
};

inline TestBtf make_test_btf() {
  TestBtf t;
  struct btf* b = btf__new_empty();
  t.int_id = static_cast<std::uint32_t>(btf__add_int(b, "int", 4, BTF_INT_SIGNED));
  t.pair_id = static_cast<std::uint32_t>(btf__add_struct(b, "xo_pair", 8));
  btf__add_field(b, "a", static_cast<int>(t.int_id), 0, 0);
  btf__add_field(b, "b", static_cast<int>(t.int_id), 32, 0);
  int proto = btf__add_func_proto(b, static_cast<int>(t.int_id));
  t.func_id = static_cast<std::uint32_t>(btf__add_func(b, "prog", BTF_FUNC_GLOBAL, proto));
  t.file_off = static_cast<std::uint32_t>(btf__add_str(b, "/src/guest/prog.c"));
  t.line_off = static_cast<std::uint32_t>(btf__add_str(b, "return *p;"));
  std::uint32_t size = 0;
  const void* raw = btf__raw_data(b, &size);
  t.blob.assign(static_cast<const std::uint8_t*>(raw), static_cast<const std::uint8_t*>(raw) + size);
  btf__free(b);
  return t;
}

inline LineInfo line_at(const TestBtf& t, std::uint32_t insn, std::uint32_t line) {
  return LineInfo{insn, t.file_off, t.line_off, line << 10 | 1};
}

}  // namespace xo::test
