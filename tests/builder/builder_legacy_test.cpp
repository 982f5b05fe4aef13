// Objects users bring that libbpf 1.1 alone refuses or misreads: legacy
// `maps` records, code without function symbols, SEC("?xdp"); and what only
// the chosen program needs: maps it does not use, maps its loader sizes.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/builder/test_support.hpp"

namespace xo::guest {
namespace {

using testing::build_ok;
using testing::map_named;
using testing::map_refs;
using testing::prog_obj;

BuiltProgram built_ok(const std::string& path, BuildOptions o = {}) {
  auto b = build_program_from_file(path, o);
  if (!b) {
    ADD_FAILURE() << path << ": " << b.error().message;
    return {};
  }
  return std::move(b).value();
}

std::string error_of(const std::string& path, BuildOptions o = {}) {
  auto b = build_program_from_file(path, o);
  if (b) return "(accepted)";
  return b.error().message;
}

bool any_note_has(const BuiltProgram& b, const std::string& what) {
  return std::any_of(b.notes.begin(), b.notes.end(), [&](const std::string& n) { return n.find(what) != std::string::npos; });
}

void expect_legacy_maps(const Submission& s) {
  ASSERT_EQ(s.maps.size(), 2u);
  const MapDef* rxcnt = map_named(s, "rxcnt");
  const MapDef* seen = map_named(s, "seen");
  ASSERT_TRUE(rxcnt && seen);
  EXPECT_EQ(rxcnt->handle, 1u);  // symbol order, as libbpf 0.x numbered them
  EXPECT_EQ(rxcnt->type, MapType::PercpuArray);
  EXPECT_EQ(rxcnt->key_size, 4u);
  EXPECT_EQ(rxcnt->value_size, 8u);
  EXPECT_EQ(rxcnt->max_entries, 256u);
  EXPECT_EQ(rxcnt->flags, 0u);
  EXPECT_EQ(seen->handle, 2u);
  EXPECT_EQ(seen->type, MapType::Hash);
  EXPECT_EQ(seen->max_entries, 64u);
  EXPECT_EQ(seen->flags, static_cast<std::uint32_t>(BPF_F_NO_PREALLOC));
  // Each relocated ld_imm64 names the map whose record the symbol starts.
  auto refs = map_refs(s);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].src, BPF_PSEUDO_MAP_FD);
  EXPECT_EQ(refs[0].handle, 1);
  EXPECT_EQ(refs[1].handle, 2);
}

TEST(BuilderLegacy, LegacyMapsSectionWithBtf) {
  auto s = build_ok(prog_obj("legacy_maps"));
  EXPECT_EQ(s.name, "xdp_legacy");
  expect_legacy_maps(s);
  EXPECT_FALSE(s.btf.empty());
  EXPECT_FALSE(s.line_info.empty());
}

TEST(BuilderLegacy, LegacyMapsSectionWithoutBtf) {
  auto s = build_ok(prog_obj("legacy_nobtf"));
  EXPECT_EQ(s.name, "xdp_legacy");
  expect_legacy_maps(s);
  EXPECT_TRUE(s.btf.empty());
}

// struct bpf_elf_map: 36-byte records; pinning is a loader field, ignored
// with a note; the record size comes from section size / map symbols.
TEST(BuilderLegacy, Iproute2RecordsAndProgSection) {
  auto b = built_ok(prog_obj("legacy_iproute2"));
  const Submission& s = b.submission;
  EXPECT_EQ(s.name, "xdp_iproute2");
  ASSERT_EQ(s.maps.size(), 1u) << "drops is not used by the program";
  EXPECT_EQ(s.maps[0].name, "counters");
  EXPECT_EQ(s.maps[0].handle, 1u);
  EXPECT_EQ(s.maps[0].type, MapType::Array);
  EXPECT_EQ(s.maps[0].value_size, 8u);
  EXPECT_EQ(s.maps[0].max_entries, 4u);
  EXPECT_TRUE(any_note_has(b, "legacy map 'counters'")) << "pinning is set: a note says it is ignored";
  EXPECT_FALSE(any_note_has(b, "legacy map 'drops'")) << "all-zero loader fields need no note";
  EXPECT_TRUE(any_note_has(b, "'drops'")) << "unused map note";
  auto infos = list_programs_in_file(prog_obj("legacy_iproute2"));
  ASSERT_TRUE(infos) << infos.error().message;
  EXPECT_EQ(*infos, std::vector<std::string>{"xdp_iproute2"});
}

// Old samples: code in SEC("xdp") without a function symbol. The whole
// section is one program, named after the section.
TEST(BuilderLegacy, SectionWithoutFunctionSymbolIsOneProgram) {
  const std::string path = prog_obj("legacy_nofunc");
  auto infos = list_program_infos(read_object_file(path).value());
  ASSERT_TRUE(infos) << infos.error().message;
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ((*infos)[0].name, "xdp");
  EXPECT_EQ((*infos)[0].section, "xdp");

  auto b = built_ok(path);
  EXPECT_EQ(b.submission.name, "xdp");
  expect_legacy_maps(b.submission);
  EXPECT_TRUE(any_note_has(b, "no function symbol"));
  // The same code as the object with the symbol.
  auto with_symbol = build_ok(prog_obj("legacy_nobtf"));
  EXPECT_EQ(b.submission.insns, with_symbol.insns);
  EXPECT_EQ(build_ok(path, "xdp").insns, with_symbol.insns) << "selectable by section name";
}

TEST(BuilderLegacy, OptionalSectionBuilds) {
  auto s = build_ok(prog_obj("optional"));
  EXPECT_EQ(s.name, "xdp_optional");
  EXPECT_FALSE(s.insns.empty());
  EXPECT_EQ(s.func_info.size(), 1u);
  EXPECT_FALSE(s.line_info.empty()) << ".BTF.ext records are under the ELF name '?xdp'";
  auto infos = list_program_infos(read_object_file(prog_obj("optional")).value());
  ASSERT_TRUE(infos);
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ((*infos)[0].section, "xdp");
  EXPECT_EQ(build_ok(prog_obj("optional"), "xdp").insns, s.insns);
}

// xdp_count never touches the DEVMAP: it builds, with only its own map and a
// note naming the one left out. (Handles across programs: builder_test's
// HashLruArrayMapsAndProgramSelection.)
TEST(BuilderMaps, UnusedDevmapIsLeftOutWithANote) {
  auto b = built_ok(prog_obj("unused_devmap"), {.program = "xdp_count"});
  const Submission& s = b.submission;
  ASSERT_EQ(s.maps.size(), 1u);
  EXPECT_EQ(s.maps[0].name, "counts");
  ASSERT_EQ(map_refs(s).size(), 1u);
  EXPECT_EQ(map_refs(s)[0].handle, static_cast<std::int32_t>(s.maps[0].handle));
  ASSERT_TRUE(any_note_has(b, "'tx_port' (devmap (14))")) << (b.notes.empty() ? "no notes" : b.notes[0]);
  EXPECT_TRUE(any_note_has(b, "prog 'xdp_count'"));
}

// The program that does use it keeps it, as a guest-side map (protocol
// version 2, PROTOCOL.md 8): the host defers bpf_redirect_map to the
// guest's trampoline, so the map's shape is all the host gets.
TEST(BuilderMaps, UsedDevmapIsKeptAsAGuestSideMap) {
  auto b = built_ok(prog_obj("unused_devmap"), {.program = "xdp_forward"});
  const Submission& s = b.submission;
  ASSERT_EQ(s.maps.size(), 1u);
  EXPECT_EQ(s.maps[0].name, "tx_port");
  EXPECT_EQ(s.maps[0].type, MapType::Devmap);
  EXPECT_TRUE(guest_side_map_type(s.maps[0].type));
  EXPECT_EQ(s.maps[0].max_entries, 8u);
  EXPECT_TRUE(may_defer(s));
  ASSERT_EQ(map_refs(s).size(), 1u);
  EXPECT_EQ(map_refs(s)[0].handle, static_cast<std::int32_t>(s.maps[0].handle));
  EXPECT_FALSE(may_defer(build_ok(prog_obj("unused_devmap"), "xdp_count")));
}

// Issue 11's map types: each program brings its map with the fields the
// host needs (LPM's NO_PREALLOC, the bloom filter's hash count).
TEST(BuilderMaps, LpmQueueStackBloomKeepTheirShape) {
  const Submission lpm = build_ok(prog_obj("maptypes"), "lpm_filter");
  ASSERT_EQ(lpm.maps.size(), 1u);
  EXPECT_EQ(lpm.maps[0].type, MapType::LpmTrie);
  EXPECT_EQ(lpm.maps[0].key_size, 8u) << "u32 prefixlen + 4 address bytes";
  EXPECT_TRUE(lpm.maps[0].flags & BPF_F_NO_PREALLOC);
  const Submission q = build_ok(prog_obj("maptypes"), "queue_verdicts");
  ASSERT_EQ(q.maps.size(), 2u);
  EXPECT_EQ(q.maps[0].type, MapType::Queue);
  EXPECT_EQ(q.maps[1].type, MapType::Stack);
  EXPECT_EQ(q.maps[0].key_size, 0u);
  const Submission b = build_ok(prog_obj("maptypes"), "bloom_filter");
  ASSERT_EQ(b.maps.size(), 1u);
  EXPECT_EQ(b.maps[0].type, MapType::BloomFilter);
  EXPECT_EQ(b.maps[0].map_extra, 3u);
}

// A used map of maps brings its inner map template, first, and names it;
// the template's handle comes after every map of the object.
TEST(BuilderMaps, MapOfMapsBringsItsInnerTemplateFirst) {
  const Submission s = build_ok(prog_obj("maptypes"), "map_in_map");
  ASSERT_EQ(s.maps.size(), 2u);
  const MapDef& tmpl = s.maps[0];
  const MapDef& outer = s.maps[1];
  EXPECT_EQ(outer.name, "policies");
  EXPECT_EQ(outer.type, MapType::ArrayOfMaps);
  EXPECT_EQ(outer.inner_map, tmpl.handle);
  EXPECT_EQ(tmpl.type, MapType::Array);
  EXPECT_EQ(tmpl.key_size, 4u);
  EXPECT_EQ(tmpl.value_size, 4u);
  EXPECT_GT(tmpl.handle, outer.handle) << "templates are numbered after the object's maps";
  // Programs that do not use it leave both out.
  const Submission lpm = build_ok(prog_obj("maptypes"), "lpm_filter");
  for (const MapDef& d : lpm.maps) EXPECT_NE(d.handle, tmpl.handle);
}

TEST(BuilderMaps, ProgArrayIsAnOffloadedMap) {
  const Submission s = build_ok(prog_obj("maptypes"), "tail_caller");
  ASSERT_EQ(s.maps.size(), 1u);
  EXPECT_EQ(s.maps[0].type, MapType::ProgArray);
}

TEST(BuilderMaps, MaxEntriesZeroNeedsAMapSize) {
  const std::string path = prog_obj("sized_by_user");
  std::string e = error_of(path);
  EXPECT_NE(e.find("map 'flows' has max_entries 0"), std::string::npos) << e;
  EXPECT_NE(e.find("--map-size flows=N"), std::string::npos) << e;

  auto b = built_ok(path, {.map_sizes = {{"flows", 4096}}});
  const MapDef* flows = map_named(b.submission, "flows");
  ASSERT_TRUE(flows);
  EXPECT_EQ(flows->max_entries, 4096u);
}

TEST(BuilderMaps, MapSizeOverridesAndIsChecked) {
  auto b = built_ok(XO_XDP1_OBJ, {.map_sizes = {{"rxcnt", 17}}});
  ASSERT_EQ(b.submission.maps.size(), 1u);
  EXPECT_EQ(b.submission.maps[0].max_entries, 17u);
  EXPECT_NE(error_of(XO_XDP1_OBJ, {.map_sizes = {{"nope", 1}}}).find("no such map (maps: rxcnt)"), std::string::npos);
  EXPECT_NE(error_of(prog_obj("globals"), {.map_sizes = {{".data", 4}}}).find("global data"), std::string::npos);
}

TEST(BuilderMaps, ParseMapSize) {
  std::map<std::string, std::uint32_t, std::less<>> sizes;
  ASSERT_TRUE(parse_map_size("flows=1024", sizes));
  ASSERT_TRUE(parse_map_size("a=b=0x10", sizes));  // the last '=' splits: names come from C, values are numbers
  EXPECT_EQ(sizes.at("flows"), 1024u);
  EXPECT_EQ(sizes.at("a=b"), 16u);
  EXPECT_FALSE(parse_map_size("flows=2", sizes)) << "twice";
  for (const char* bad : {"flows", "=5", "x=", "x=0", "x=-1", "x=4294967296", "x=12abc"})
    EXPECT_FALSE(parse_map_size(bad, sizes)) << bad;
}

}  // namespace
}  // namespace xo::guest
