// check_btf: hand-made BTF blobs that libbpf 1.1 would crash or hang on.
#include <linux/btf.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "guest/builder/btf_check.hpp"
#include "guest/builder/elf_image.hpp"
#include "tests/builder/test_support.hpp"

namespace xo::guest {
namespace {

// Builds header + types + strings ("\0int\0").
struct BtfBlob {
  std::vector<std::uint32_t> types;
  std::vector<std::uint8_t> strs{0, 'i', 'n', 't', 0};

  void add(std::uint32_t name, std::uint32_t kind, std::uint32_t vlen, std::uint32_t size_or_type,
           std::vector<std::uint32_t> tail = {}) {
    types.insert(types.end(), {name, (kind << 24) | vlen, size_or_type});
    types.insert(types.end(), tail.begin(), tail.end());
  }
  std::vector<std::uint8_t> bytes() const {
    btf_header h{};
    h.magic = BTF_MAGIC;
    h.version = BTF_VERSION;
    h.hdr_len = sizeof h;
    h.type_off = 0;
    h.type_len = static_cast<std::uint32_t>(types.size() * 4);
    h.str_off = h.type_len;
    h.str_len = static_cast<std::uint32_t>(strs.size());
    std::vector<std::uint8_t> out(sizeof h + h.type_len + h.str_len);
    std::memcpy(out.data(), &h, sizeof h);
    std::memcpy(out.data() + sizeof h, types.data(), h.type_len);
    std::memcpy(out.data() + sizeof h + h.type_len, strs.data(), strs.size());
    return out;
  }
};

BtfBlob int_and_ptr() {
  BtfBlob b;
  b.add(1, BTF_KIND_INT, 0, 4, {32});  // [1] int
  b.add(0, BTF_KIND_PTR, 0, 1);        // [2] int *
  return b;
}

TEST(BtfCheck, AcceptsWellFormed) {
  auto st = check_btf(int_and_ptr().bytes());
  EXPECT_TRUE(st) << st.error().message;
}

TEST(BtfCheck, AcceptsRealObjects) {
  for (const char* path : {XO_XDP1_OBJ, XO_XDP2_OBJ}) {
    auto bytes = read_object_file(path);
    ASSERT_TRUE(bytes);
    auto image = ElfImage::parse(*bytes);
    ASSERT_TRUE(image);
    const ElfSection* btf = image->section_named(".BTF");
    ASSERT_TRUE(btf);
    auto st = check_btf(btf->data);
    EXPECT_TRUE(st) << path << ": " << st.error().message;
  }
}

TEST(BtfCheck, DanglingTypeId) {
  auto b = int_and_ptr();
  b.add(0, BTF_KIND_PTR, 0, 77);  // [3] -> 77
  auto st = check_btf(b.bytes());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("77"), std::string::npos) << st.error().message;
}

TEST(BtfCheck, TypedefLoop) {
  BtfBlob b;
  b.add(1, BTF_KIND_TYPEDEF, 0, 2);  // [1] -> [2]
  b.add(1, BTF_KIND_CONST, 0, 1);    // [2] -> [1]
  auto st = check_btf(b.bytes());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("loop"), std::string::npos) << st.error().message;
}

TEST(BtfCheck, PointerThroughStructIsNotALoop) {
  BtfBlob b;
  b.add(1, BTF_KIND_STRUCT, 1, 8, {1, 2, 0});  // [1] struct int { [2] next; }
  b.add(0, BTF_KIND_PTR, 0, 1);                // [2] -> [1]
  auto st = check_btf(b.bytes());
  EXPECT_TRUE(st) << st.error().message;
}

TEST(BtfCheck, BadNameOffset) {
  BtfBlob b;
  b.add(999, BTF_KIND_INT, 0, 4, {32});
  EXPECT_FALSE(check_btf(b.bytes()));
}

TEST(BtfCheck, TruncatedTrailer) {
  BtfBlob b;
  b.add(1, BTF_KIND_STRUCT, 5, 8, {1, 0, 0});  // claims 5 members, has 1
  EXPECT_FALSE(check_btf(b.bytes()));
}

TEST(BtfCheck, UnknownKindAndHeader) {
  BtfBlob b;
  b.add(0, 31, 0, 0);
  EXPECT_FALSE(check_btf(b.bytes()));
  auto good = int_and_ptr().bytes();
  for (std::size_t len = 0; len < good.size(); ++len)
    EXPECT_FALSE(check_btf(std::span<const std::uint8_t>(good.data(), len))) << "length " << len;
}

}  // namespace
}  // namespace xo::guest
