// The example objects exist after the build and carry what the offload
// protocol needs for debuggability: BTF, BTF.ext (func/line info), a
// `.maps` section, an `xdp` program section and a license.
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

// Section name -> size, for an ELF file on disk.
std::map<std::string, size_t> section_sizes(const char* path) {
  std::map<std::string, size_t> out;
  elf_version(EV_CURRENT);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  size_t shstrndx = 0;
  if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh)) continue;
      const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
      if (name) out[name] = sh.sh_size;
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return out;
}

void expect_offloadable_object(const char* path) {
  auto secs = section_sizes(path);
  ASSERT_FALSE(secs.empty()) << path << ": missing or not an ELF file";
  for (const char* want : {".BTF", ".BTF.ext", ".maps", "xdp", "license"}) {
    auto it = secs.find(want);
    ASSERT_NE(it, secs.end()) << path << ": no section " << want;
    EXPECT_GT(it->second, 0u) << path << ": empty section " << want;
  }
  // line info lives in .BTF.ext; DWARF is there too for llvm-objdump -S.
  EXPECT_TRUE(secs.count(".debug_line")) << path << ": no DWARF line table";
}

TEST(Examples, Xdp1ObjectHasBtfAndLineInfo) { expect_offloadable_object(XO_XDP1_OBJ); }
TEST(Examples, Xdp2ObjectHasBtfAndLineInfo) { expect_offloadable_object(XO_XDP2_OBJ); }

}  // namespace
