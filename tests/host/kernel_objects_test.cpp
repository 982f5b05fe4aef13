// BTF load, host maps and pins against the real kernel.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include "core/source_map.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "host/core/btf_loader.hpp"
#include "host/core/host_maps.hpp"
#include "host/core/kernel_census.hpp"
#include "host/core/names.hpp"
#include "host/core/pins.hpp"
#include "host/core/stats_map.hpp"
#include "tests/host/netdev.hpp"
#include "tests/host/raw_progs.hpp"

namespace xo::host {
namespace {

std::string unique_session(const char* what) {
  static int n = 0;
  return std::string("t") + what + std::to_string(getpid()) + "_" + std::to_string(n++);
}

// The stats map carries BTF: bpftool labels every counter of every CPU row
// by action, and the counters it shows are the ones read_stats_map sums.
TEST(StatsMap, BpftoolLabelsEachActionThroughBtf) {
  auto fd = host::create_stats_map("xo_t_stats");
  ASSERT_TRUE(fd) << fd.error().message;
  auto rows = host::stats_map_cpus(fd->get());
  ASSERT_TRUE(rows) << rows.error().message;
  std::vector<std::uint64_t> value(*rows * translator::kStatsRowBytes / 8, 0);
  value[1] = 7;                                      // CPU 0, XDP_DROP
  if (*rows > 1) value[translator::kStatsRowBytes / 8 + 2] = 5;  // CPU 1, XDP_PASS
  std::uint32_t key = 0;
  ASSERT_EQ(bpf_map_update_elem(fd->get(), &key, value.data(), 0), 0);
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd->get(), &info, &len), 0);
  EXPECT_NE(info.btf_value_type_id, 0u);
  const auto dump = test::run_command("bpftool map dump id " + std::to_string(info.id) + " 2>&1");
  ASSERT_EQ(dump.code, 0) << dump.out;
  for (const char* label : {"\"cpu\"", "\"aborted\"", "\"drop\": 7", "\"tx\"", "\"redirect\"", "\"unknown\""})
    EXPECT_NE(dump.out.find(label), std::string::npos) << label << "\n" << dump.out;
  auto totals = host::read_stats_map(fd->get());
  ASSERT_TRUE(totals) << totals.error().message;
  EXPECT_EQ((*totals)[1], 7u);
  if (*rows > 1) EXPECT_EQ((*totals)[2], 5u);
}

TEST(BtfLoader, LoadsValidBtf) {
  auto t = test::make_test_btf();
  auto btf = load_btf(t.blob);
  ASSERT_TRUE(btf) << btf.error().message;
  EXPECT_TRUE(btf->fd.valid());
  EXPECT_NE(btf->id, 0u);
  EXPECT_TRUE(kernel_object_exists({ObjectKind::Btf, btf->id}));
}

TEST(BtfLoader, KernelRefusalCarriesTheKernelsMessage) {
  auto t = test::make_test_btf();
  // Make struct xo_pair's member 'b' point at a type id that does not exist.
  // Layout: header(24) | types ... ; find the member record by its offset
  // into the string table is brittle, so corrupt via libbpf-free math: the
  // struct follows int (16 bytes: btf_type + u32), its members follow its
  // 12-byte btf_type; member b's type is at +12 + 12 + 4.
  std::size_t types = 24;
  std::size_t pair = types + 16;
  std::size_t member_b_type = pair + 12 + 12 + 4;
  std::uint32_t bogus = 999;
  std::memcpy(&t.blob[member_b_type], &bogus, 4);
  auto btf = load_btf(t.blob);
  ASSERT_FALSE(btf);
  EXPECT_NE(btf.error().message.find("BTF rejected by the kernel (EINVAL)"), std::string::npos)
      << btf.error().message;
  // The kernel's own words (btf_check_all_metas / member resolution).
  EXPECT_NE(btf.error().message.find("Invalid member"), std::string::npos) << btf.error().message;
}

TEST(BtfLoader, BoundsTheBlobBeforeTheKernelSeesIt) {
  std::vector<std::uint8_t> big(2048, 0);
  auto r = load_btf(big, BtfQuota{1024});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("exceeds the quota of 1024"), std::string::npos);
  EXPECT_FALSE(load_btf({}));
}

// host/core reads BTF strings through core's one BtfStrings view.
TEST(BtfStrings, ReadsStringsAndRejectsBadOffsets) {
  auto t = test::make_test_btf();
  BtfStrings s(t.blob);
  ASSERT_TRUE(s.valid());
  EXPECT_EQ(s.at(t.file_off).value_or("?"), "/src/guest/prog.c");
  EXPECT_FALSE(s.at(1u << 30));
  auto truncated = t.blob;
  truncated.resize(30);
  EXPECT_FALSE(BtfStrings(truncated).valid());
}

MapDef pair_map(std::uint32_t handle, const test::TestBtf& t) {
  return MapDef{handle, MapType::Hash, 4, 8, 16, 0, "pairs", t.int_id, t.pair_id, {}, false};
}

TEST(HostMaps, CreatesMapsTypedByBtfAndNamedForTheSession) {
  auto t = test::make_test_btf();
  auto btf = load_btf(t.blob);
  ASSERT_TRUE(btf);
  std::string session = unique_session("m");
  std::vector<MapDef> defs{pair_map(7, t)};
  auto maps = create_host_maps(session, defs, btf->fd.get());
  ASSERT_TRUE(maps) << maps.error().message;
  const HostMap* m = maps->find(7);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->btf_typed);
  EXPECT_TRUE(maps->notes().empty());
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(m->fd.get(), &info, &len), 0);
  EXPECT_EQ(info.btf_id, btf->id);
  EXPECT_EQ(info.btf_key_type_id, t.int_id);
  EXPECT_EQ(info.btf_value_type_id, t.pair_id);
  EXPECT_STREQ(info.name, kernel_object_name(session, "pairs").c_str());

  // Element access by guest handle, sizes enforced.
  std::uint32_t key = 3;
  std::int32_t val[2] = {11, -5};
  std::span<const std::uint8_t> k(reinterpret_cast<const std::uint8_t*>(&key), 4);
  std::span<const std::uint8_t> v(reinterpret_cast<const std::uint8_t*>(val), 8);
  ASSERT_TRUE(maps->update(7, k, v, 0));
  auto got = maps->lookup(7, k);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::memcmp(got->data(), val, 8), 0);
  EXPECT_FALSE(maps->update(7, k, v.subspan(0, 4), 0));
  EXPECT_FALSE(maps->lookup(8, k));
  auto first = maps->next_key(7, {});
  ASSERT_TRUE(first && first->has_value());
  EXPECT_EQ(std::memcmp((*first)->data(), &key, 4), 0);
  auto after = maps->next_key(7, k);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->has_value());
  ASSERT_TRUE(maps->remove(7, k));
  EXPECT_FALSE(maps->lookup(7, k));

  // bpftool dumps it typed by BTF.
  int st = 0;
  std::string dump = test::run("bpftool map dump id " + std::to_string(m->id), &st);
  EXPECT_EQ(st, 0) << dump;
  ASSERT_TRUE(maps->update(7, k, v, 0));
  dump = test::run("bpftool map dump id " + std::to_string(m->id));
  EXPECT_NE(dump.find("\"a\": 11"), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"b\": -5"), std::string::npos) << dump;
}

TEST(HostMaps, FallsBackToUntypedWhenTheKernelRefusesTheTypesAndSaysSo) {
  auto t = test::make_test_btf();
  auto btf = load_btf(t.blob);
  ASSERT_TRUE(btf);
  MapDef d = pair_map(1, t);
  d.value_size = 16;  // BTF says 8 bytes: the kernel refuses the pairing
  auto maps = create_host_maps(unique_session("f"), std::vector<MapDef>{d}, btf->fd.get());
  ASSERT_TRUE(maps) << maps.error().message;
  EXPECT_FALSE(maps->find(1)->btf_typed);
  ASSERT_EQ(maps->notes().size(), 1u);
  EXPECT_NE(maps->notes()[0].find("created untyped"), std::string::npos);
}

TEST(HostMaps, GlobalDataIsInitialisedAndRodataFrozen) {
  MapDef rodata{2, MapType::Array, 4, 8, 1, BPF_F_RDONLY_PROG, ".rodata", 0, 0, {1, 2, 3}, true};
  MapDef data{3, MapType::Array, 4, 4, 1, 0, ".data", 0, 0, {9, 9, 9, 9}, false};
  auto maps = create_host_maps(unique_session("g"), std::vector<MapDef>{rodata, data}, -1);
  ASSERT_TRUE(maps) << maps.error().message;
  std::uint32_t key = 0;
  std::span<const std::uint8_t> k(reinterpret_cast<const std::uint8_t*>(&key), 4);
  auto ro = maps->lookup(2, k);
  ASSERT_TRUE(ro);
  EXPECT_EQ(*ro, (std::vector<std::uint8_t>{1, 2, 3, 0, 0, 0, 0, 0}));
  std::vector<std::uint8_t> other(8, 7);
  auto upd = maps->update(2, k, other, 0);
  ASSERT_FALSE(upd);
  EXPECT_NE(upd.error().message.find("EPERM"), std::string::npos) << upd.error().message;
  auto rw = maps->lookup(3, k);
  ASSERT_TRUE(rw);
  EXPECT_EQ(*rw, (std::vector<std::uint8_t>{9, 9, 9, 9}));
}

TEST(HostMaps, RejectsBeforeCreatingAnything) {
  auto before = take_kernel_census();
  (void)before;
  MapDef ok{1, MapType::Array, 4, 8, 4, 0, "ok", 0, 0, {}, false};
  struct Case {
    MapDef def;
    const char* message;
  } cases[] = {
      // (A DEVMAP is guest-side: no host object, nothing to refuse; see below.)
      {{2, MapType(BPF_MAP_TYPE_SOCKMAP), 4, 4, 1, 0, "sk", 0, 0, {}, false}, "type 15 is not allowed"},
      {{2, MapType::LpmTrie, 8, 4, 4, 0, "lpm", 0, 0, {}, false}, "need BPF_F_NO_PREALLOC"},
      {{2, MapType::LpmTrie, 4, 4, 4, BPF_F_NO_PREALLOC, "lpm4", 0, 0, {}, false}, "not key_size 4"},
      {{2, MapType::Queue, 4, 4, 4, 0, "qk", 0, 0, {}, false}, "have no keys"},
      {{2, MapType::Hash, 4, 8, 4, 0, "extra", 0, 0, {}, false, 3}, "map_extra is only"},
      {{2, MapType::BloomFilter, 0, 4, 4, 0, "bf", 0, 0, {}, false, 16}, "not a hash count"},
      {{2, MapType::ArrayOfMaps, 4, 4, 4, 0, "aom", 0, 0, {}, false}, "needs an inner map template"},
      {{2, MapType::Hash, 4, 4, 4, 0, "hin", 0, 0, {}, false, 0, 1}, "only array_of_maps/hash_of_maps"},
      {{2, MapType::ProgArray, 4, 8, 4, 0, "pa8", 0, 0, {}, false}, "4-byte handles"},
      {{2, MapType::ArrayOfMaps, 4, 4, 4, 0, "late", 0, 0, {}, false, 0, 3}, "is not a map of this session"},
      {{2, MapType::Hash, 4, 8, 1u << 30, 0, "huge", 0, 0, {}, false}, "max_entries"},
      {{2, MapType::Hash, 0, 8, 4, 0, "k0", 0, 0, {}, false}, "key_size 0"},
      {{2, MapType::Hash, 4, 8, 4, 0x80000, "f", 0, 0, {}, false}, "map flags"},
      {{2, MapType::Array, 8, 8, 4, 0, "ak", 0, 0, {}, false}, "key_size 4"},
      {{1, MapType::Array, 4, 8, 4, 0, "dup", 0, 0, {}, false}, "duplicate handle"},
      {{2, MapType::Hash, 4, 8, 1, 0, "init", 0, 0, {1}, false}, "single-entry ARRAY"},
  };
  for (const auto& c : cases) {
    auto r = create_host_maps(unique_session("r"), std::vector<MapDef>{ok, c.def}, -1);
    ASSERT_FALSE(r) << c.message;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().message;
  }
  MapQuota q;
  q.max_total_bytes = 1000;
  MapDef big{2, MapType::Hash, 4, 100, 100, 0, "big", 0, 0, {}, false};
  auto r = create_host_maps(unique_session("q"), std::vector<MapDef>{big}, -1, q);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("exceeds the quota"), std::string::npos);
}

// Issue 11's map types against this kernel: each is created with the
// fields only it takes, and behaves as its type does.
TEST(HostMaps, LpmQueueStackBloomAndMapsOfMapsReachTheKernel) {
  MapDef lpm{1, MapType::LpmTrie, 8, 4, 16, BPF_F_NO_PREALLOC, "lpm", 0, 0, {}, false};
  MapDef queue{2, MapType::Queue, 0, 4, 4, 0, "q", 0, 0, {}, false};
  MapDef stack{3, MapType::Stack, 0, 4, 4, 0, "s", 0, 0, {}, false};
  MapDef bloom{4, MapType::BloomFilter, 0, 4, 64, 0, "bf", 0, 0, {}, false, 3};
  MapDef tmpl{5, MapType::Array, 4, 4, 1, 0, "inner", 0, 0, {}, false};
  MapDef outer{6, MapType::ArrayOfMaps, 4, 4, 2, 0, "outer", 0, 0, {}, false, 0, 5};
  MapDef jump{7, MapType::ProgArray, 4, 4, 2, 0, "jmp", 0, 0, {}, false};
  auto maps = create_host_maps(unique_session("t"), std::vector<MapDef>{lpm, queue, stack, bloom, tmpl, outer, jump}, -1);
  ASSERT_TRUE(maps) << maps.error().message;
  auto info = [&](std::uint32_t h) {
    bpf_map_info i{};
    std::uint32_t len = sizeof i;
    EXPECT_EQ(bpf_obj_get_info_by_fd(maps->find(h)->fd.get(), &i, &len), 0);
    return i;
  };
  EXPECT_EQ(info(1).type, std::uint32_t(BPF_MAP_TYPE_LPM_TRIE));
  EXPECT_EQ(info(4).map_extra, 3u) << "the bloom filter's hash count reached the kernel";
  EXPECT_EQ(info(6).type, std::uint32_t(BPF_MAP_TYPE_ARRAY_OF_MAPS));
  EXPECT_EQ(info(7).type, std::uint32_t(BPF_MAP_TYPE_PROG_ARRAY));

  // LPM: longest prefix wins.
  struct {
    std::uint32_t prefixlen;
    std::uint8_t addr[4];
  } net{16, {10, 77, 0, 0}}, host{32, {10, 77, 0, 2}};
  std::uint32_t value = 7, got = 0;
  ASSERT_EQ(bpf_map_update_elem(maps->find(1)->fd.get(), &net, &value, 0), 0);
  ASSERT_EQ(bpf_map_lookup_elem(maps->find(1)->fd.get(), &host, &got), 0);
  EXPECT_EQ(got, 7u);
  // The template's fd made the outer map: an array of that shape goes in, a hash does not.
  auto inner = create_host_maps(unique_session("i"), std::vector<MapDef>{MapDef{1, MapType::Array, 4, 4, 1, 0, "in", 0, 0, {}, false},
                                                                         MapDef{2, MapType::Hash, 4, 4, 1, 0, "h", 0, 0, {}, false}}, -1);
  ASSERT_TRUE(inner) << inner.error().message;
  std::uint32_t key = 0;
  int fd = inner->find(1)->fd.get();
  EXPECT_EQ(bpf_map_update_elem(maps->find(6)->fd.get(), &key, &fd, 0), 0);
  fd = inner->find(2)->fd.get();
  EXPECT_NE(bpf_map_update_elem(maps->find(6)->fd.get(), &key, &fd, 0), 0);
}

TEST(HostMaps, InnerTemplateFromTheCallersMaps) {
  auto held = create_host_maps(unique_session("h"), std::vector<MapDef>{MapDef{9, MapType::Array, 4, 8, 1, 0, "t", 0, 0, {}, false}}, -1);
  ASSERT_TRUE(held) << held.error().message;
  MapDef outer{10, MapType::HashOfMaps, 4, 4, 4, 0, "hom", 0, 0, {}, false, 0, 9};
  MapFdOf existing = [&](std::uint32_t h) -> std::optional<int> {
    if (const HostMap* m = held->find(h)) return m->fd.get();
    return std::nullopt;
  };
  auto maps = create_host_maps(unique_session("o"), std::vector<MapDef>{outer}, -1, {}, existing);
  ASSERT_TRUE(maps) << maps.error().message;
  outer.inner_map = 11;
  auto bad = create_host_maps(unique_session("o"), std::vector<MapDef>{outer}, -1, {}, existing);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, EBADF);
}

TEST(Pins, CreatedAndRemovedWithTheirOwner) {
  ASSERT_EQ(system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"), 0);
  std::string session = unique_session("p");
  std::string dir;
  std::uint32_t map_id = 0;
  {
    auto pins = SessionPins::create(session);
    ASSERT_TRUE(pins) << pins.error().message;
    dir = pins->dir();
    EXPECT_EQ(dir, "/sys/fs/bpf/xoffload/" + session);
    auto dup = SessionPins::create(session);
    ASSERT_FALSE(dup);
    EXPECT_NE(dup.error().message.find("already exists"), std::string::npos);

    UniqueFd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, "xo_pin_test", 4, 4, 1, nullptr));
    ASSERT_TRUE(map.valid());
    bpf_map_info info{};
    std::uint32_t len = sizeof info;
    ASSERT_EQ(bpf_obj_get_info_by_fd(map.get(), &info, &len), 0);
    map_id = info.id;
    ASSERT_TRUE(pins->pin(map.get(), "counters"));
    EXPECT_FALSE(pins->pin(map.get(), "counters"));  // no silent replacement
    EXPECT_FALSE(pins->pin(map.get(), "../escape"));
    struct stat st {};
    EXPECT_EQ(stat((dir + "/counters").c_str(), &st), 0);
    map.reset();  // the pin alone keeps the map alive
    EXPECT_TRUE(kernel_object_exists({ObjectKind::Map, map_id}));
  }
  struct stat st {};
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " still exists";
  KernelObjectRef ref{ObjectKind::Map, map_id};
  EXPECT_TRUE(still_alive(std::span(&ref, 1)).empty());
}

TEST(Pins, RefusesUnsafeSessionNames) {
  for (const char* bad : {"..", "a/b", ""}) EXPECT_FALSE(SessionPins::create(bad)) << bad;
}

}  // namespace
}  // namespace xo::host
