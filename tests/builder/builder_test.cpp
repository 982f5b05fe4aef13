// The builder on real clang-built objects: examples and tests/builder/progs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "guest/builder/elf_image.hpp"
#include "tests/builder/test_support.hpp"

namespace xo::guest {
namespace {

using testing::build_ok;
using testing::call_targets;
using testing::map_named;
using testing::map_refs;
using testing::prog_obj;

void expect_rxcnt_program(const Submission& s) {
  EXPECT_EQ(s.name, "xdp_prog1");
  EXPECT_EQ(s.license, "GPL");
  EXPECT_EQ(s.guest_ifindex, 0u);
  ASSERT_EQ(s.maps.size(), 1u);
  const MapDef& m = s.maps[0];
  EXPECT_EQ(m.handle, 1u);
  EXPECT_EQ(m.name, "rxcnt");
  EXPECT_EQ(m.type, MapType::PercpuArray);
  EXPECT_EQ(m.key_size, 4u);
  EXPECT_EQ(m.value_size, 8u);
  EXPECT_EQ(m.max_entries, 256u);
  EXPECT_NE(m.btf_key_type_id, 0u);
  EXPECT_NE(m.btf_value_type_id, 0u);
  EXPECT_TRUE(m.initial_value.empty());
  EXPECT_FALSE(m.frozen);

  auto refs = map_refs(s);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].src, BPF_PSEUDO_MAP_FD);
  EXPECT_EQ(refs[0].handle, 1);
  EXPECT_EQ(refs[0].off, 0);

  EXPECT_FALSE(s.btf.empty());
  ASSERT_EQ(s.func_info.size(), 1u);  // everything is inlined into xdp_prog1
  EXPECT_EQ(s.func_info[0].insn_off, 0u);
  EXPECT_NE(s.func_info[0].type_id, 0u);
  ASSERT_FALSE(s.line_info.empty());
  EXPECT_EQ(s.line_info[0].insn_off, 0u);
  for (std::size_t i = 1; i < s.line_info.size(); ++i)
    EXPECT_LT(s.line_info[i - 1].insn_off, s.line_info[i].insn_off) << "line_info " << i;
  EXPECT_LT(s.line_info.back().insn_off, s.insns.size());
  // The last instruction is the exit, and the program is the function alone.
  EXPECT_EQ(s.insns.back().code, BPF_JMP | BPF_EXIT);
}

TEST(Builder, Xdp1) {
  auto s = build_ok(XO_XDP1_OBJ);
  expect_rxcnt_program(s);
}

TEST(Builder, Xdp2) {
  auto s = build_ok(XO_XDP2_OBJ, "xdp_prog1");
  expect_rxcnt_program(s);
}

TEST(Builder, SelectBySectionName) {
  auto by_section = build_ok(XO_XDP1_OBJ, "xdp");
  auto by_default = build_ok(XO_XDP1_OBJ);
  EXPECT_EQ(by_section, by_default);
}

TEST(Builder, ListPrograms) {
  auto names = list_programs_in_file(prog_obj("maps"));
  ASSERT_TRUE(names) << names.error().message;
  EXPECT_EQ(*names, (std::vector<std::string>{"xdp_flows", "xdp_recent"}));
  auto one = list_programs_in_file(XO_XDP1_OBJ);
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, std::vector<std::string>{"xdp_prog1"});
}

// .data/.rodata/.bss become 1-entry ARRAY maps; each access is a
// BPF_PSEUDO_MAP_VALUE naming that map and the variable's offset.
TEST(Builder, GlobalDataBecomesMapValueRefs) {
  const std::string path = prog_obj("globals");
  auto s = build_ok(path);
  ASSERT_EQ(s.maps.size(), 3u);
  std::set<std::uint32_t> handles;
  for (const auto& m : s.maps) {
    handles.insert(m.handle);
    EXPECT_EQ(m.type, MapType::Array) << m.name;
    EXPECT_EQ(m.key_size, 4u) << m.name;
    EXPECT_EQ(m.max_entries, 1u) << m.name;
    EXPECT_EQ(m.btf_key_type_id, 0u) << m.name;
    EXPECT_NE(m.btf_value_type_id, 0u) << m.name << ": DATASEC type expected";
  }
  EXPECT_EQ(handles, (std::set<std::uint32_t>{1, 2, 3}));
  const MapDef* data = map_named(s, ".data");
  const MapDef* rodata = map_named(s, ".rodata");
  const MapDef* bss = map_named(s, ".bss");
  ASSERT_TRUE(data && rodata && bss);
  EXPECT_EQ(data->value_size, 8u);
  EXPECT_EQ(rodata->value_size, 8u);
  EXPECT_GE(bss->value_size, 12u);  // u64 + u32, layout is the compiler's
  EXPECT_TRUE(rodata->frozen);
  EXPECT_FALSE(data->frozen);
  EXPECT_FALSE(bss->frozen);

  // Expected offsets come from the ELF symbol table, initial values from the sections.
  auto bytes = read_object_file(path);
  ASSERT_TRUE(bytes);
  auto image = ElfImage::parse(*bytes);
  ASSERT_TRUE(image) << image.error().message;
  auto sym = [&](const std::string& n) -> const ElfSymbol* {
    for (const auto& y : image->symbols())
      if (y.name == n) return &y;
    return nullptr;
  };
  for (const char* n : {"data_a", "data_b", "ro_limit", "ro_extra", "bss_hits", "bss_last"})
    ASSERT_TRUE(sym(n)) << n;
  auto u32_at = [](const std::vector<std::uint8_t>& v, std::size_t off) {
    std::uint32_t x = 0;
    std::memcpy(&x, v.data() + off, 4);
    return x;
  };
  ASSERT_EQ(data->initial_value.size(), 8u);
  EXPECT_EQ(u32_at(data->initial_value, sym("data_a")->value), 11u);
  EXPECT_EQ(u32_at(data->initial_value, sym("data_b")->value), 22u);
  ASSERT_EQ(rodata->initial_value.size(), 8u);
  EXPECT_EQ(u32_at(rodata->initial_value, sym("ro_limit")->value), 33u);
  EXPECT_EQ(u32_at(rodata->initial_value, sym("ro_extra")->value), 44u);
  EXPECT_TRUE(bss->initial_value.empty()) << "empty means zero-filled";
  for (const MapDef* m : {data, rodata, bss}) {
    const ElfSection* sec = image->section_named(m->name);
    ASSERT_TRUE(sec) << m->name;
    EXPECT_EQ(m->value_size, sec->size) << m->name;
  }

  using Ref = std::pair<std::int32_t, std::int32_t>;
  std::set<Ref> got;
  for (const auto& r : map_refs(s)) {
    EXPECT_EQ(r.src, BPF_PSEUDO_MAP_VALUE) << "pc " << r.pc;
    got.insert({r.handle, r.off});
  }
  auto ref = [&](const MapDef* m, const char* var) {
    return Ref{static_cast<std::int32_t>(m->handle), static_cast<std::int32_t>(sym(var)->value)};
  };
  std::set<Ref> want{ref(data, "data_a"), ref(data, "data_b"), ref(rodata, "ro_limit"),
                     ref(rodata, "ro_extra"), ref(bss, "bss_hits"), ref(bss, "bss_last")};
  EXPECT_EQ(got, want);
}

// xdp_calls -> add_one (global, relocated against its symbol) and
// plus_three (static, relocated against .text), which calls twice without a
// relocation: all three are appended, each once, and every call lands on the
// entry of its callee.
TEST(Builder, BpfToBpfCallsAppendSubprograms) {
  auto s = build_ok(prog_obj("calls"), "xdp_calls");
  EXPECT_EQ(s.name, "xdp_calls");
  ASSERT_EQ(s.func_info.size(), 4u);  // xdp_calls + add_one + plus_three + twice
  EXPECT_EQ(s.func_info[0].insn_off, 0u);
  std::set<std::size_t> entries;
  for (std::size_t i = 0; i < s.func_info.size(); ++i) {
    if (i) {
      EXPECT_LT(s.func_info[i - 1].insn_off, s.func_info[i].insn_off);
    }
    EXPECT_NE(s.func_info[i].type_id, 0u);
    entries.insert(s.func_info[i].insn_off);
  }
  auto targets = call_targets(s);
  ASSERT_EQ(targets.size(), 3u);
  std::set<std::size_t> target_set(targets.begin(), targets.end());
  std::set<std::size_t> subprogs(std::next(entries.begin()), entries.end());
  EXPECT_EQ(target_set, subprogs) << "every call must land on a subprogram entry";
  for (std::size_t t : targets) EXPECT_LT(t, s.insns.size());
  // Every function ends with exit right before the next one starts.
  for (std::size_t e : subprogs) EXPECT_EQ(s.insns[e - 1].code, BPF_JMP | BPF_EXIT) << "before " << e;
  // Each function has line info at its entry (the kernel requires it).
  for (std::size_t e : entries)
    EXPECT_TRUE(std::any_of(s.line_info.begin(), s.line_info.end(), [&](auto& l) { return l.insn_off == e; }))
        << "no line_info at " << e;
  for (std::size_t i = 1; i < s.line_info.size(); ++i) EXPECT_LT(s.line_info[i - 1].insn_off, s.line_info[i].insn_off);
}

TEST(Builder, OnlyUsedSubprogramsAreAppended) {
  auto s = build_ok(prog_obj("calls"), "xdp_calls_other");
  ASSERT_EQ(s.func_info.size(), 2u);  // xdp_calls_other + twice
  auto targets = call_targets(s);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0], s.func_info[1].insn_off);
  // twice is 3 slots: w0 = w1; w0 <<= 1; exit
  EXPECT_EQ(s.insns.size() - s.func_info[1].insn_off, 3u);
}

TEST(Builder, HashLruArrayMapsAndProgramSelection) {
  auto flows = build_ok(prog_obj("maps"), "xdp_flows");
  auto recent = build_ok(prog_obj("maps"), "xdp_recent");
  // Each program gets the maps it uses, with the handles the whole object
  // numbers them by (flows 1, recent 2, stats 3) in every program.
  ASSERT_EQ(flows.maps.size(), 1u);
  ASSERT_EQ(recent.maps.size(), 2u);
  const MapDef* h = map_named(flows, "flows");
  const MapDef* l = map_named(recent, "recent");
  const MapDef* a = map_named(recent, "stats");
  ASSERT_TRUE(h && l && a);
  EXPECT_EQ(h->handle, 1u);
  EXPECT_EQ(l->handle, 2u);
  EXPECT_EQ(a->handle, 3u);
  EXPECT_EQ(h->type, MapType::Hash);
  EXPECT_EQ(h->key_size, 4u);
  EXPECT_EQ(h->value_size, 8u);
  EXPECT_EQ(h->max_entries, 1024u);
  EXPECT_EQ(h->flags, static_cast<std::uint32_t>(BPF_F_NO_PREALLOC));
  EXPECT_EQ(l->type, MapType::LruHash);
  EXPECT_EQ(l->max_entries, 128u);
  EXPECT_EQ(l->value_size, 4u);
  EXPECT_EQ(a->type, MapType::Array);
  EXPECT_EQ(a->max_entries, 4u);
  for (const auto* m : {h, l, a}) {
    EXPECT_NE(m->btf_key_type_id, 0u) << m->name;
    EXPECT_NE(m->btf_value_type_id, 0u) << m->name;
  }
  std::set<std::int32_t> flows_handles, recent_handles;
  for (const auto& r : map_refs(flows)) {
    EXPECT_EQ(r.src, BPF_PSEUDO_MAP_FD);
    flows_handles.insert(r.handle);
  }
  for (const auto& r : map_refs(recent)) {
    EXPECT_EQ(r.src, BPF_PSEUDO_MAP_FD);
    recent_handles.insert(r.handle);
  }
  EXPECT_EQ(flows_handles, std::set<std::int32_t>{1});
  EXPECT_EQ(recent_handles, (std::set<std::int32_t>{2, 3}));
  EXPECT_EQ(flows.name, "xdp_flows");
  EXPECT_EQ(recent.name, "xdp_recent");
  EXPECT_NE(flows.insns, recent.insns);
}

// bpf_loop's callback is an ld_imm64 BPF_PSEUDO_FUNC against .text: the
// callee is appended and the offset lands on its entry; the string literal
// section .rodata.str1.1 becomes a frozen global data map.
TEST(Builder, CallbackAddressAndStringLiterals) {
  auto s = build_ok(prog_obj("loop"));
  ASSERT_EQ(s.func_info.size(), 2u);  // xdp_loop + add_index
  std::vector<std::size_t> func_targets;
  isa::for_each_insn(s.insns, [&](std::size_t pc, const isa::Insn& insn) {
    if (auto* f = std::get_if<isa::LoadFunc>(&insn)) func_targets.push_back(pc + 1 + f->off);
  });
  ASSERT_EQ(func_targets.size(), 1u);
  EXPECT_EQ(func_targets[0], s.func_info[1].insn_off);
  const MapDef* str = map_named(s, ".rodata.str1.1");
  ASSERT_TRUE(str);
  EXPECT_TRUE(str->frozen);
  EXPECT_EQ(str->initial_value, (std::vector<std::uint8_t>{'x', 'o', 'f', 'f', 'l', 'o', 'a', 'd', 0}));
  auto refs = map_refs(s);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].src, BPF_PSEUDO_MAP_VALUE);
  EXPECT_EQ(refs[0].handle, static_cast<std::int32_t>(str->handle));
  EXPECT_EQ(refs[0].off, 0);
}

}  // namespace
}  // namespace xo::guest
