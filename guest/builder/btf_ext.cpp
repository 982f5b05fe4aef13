// .BTF.ext layout (little-endian), as emitted by LLVM:
//
//   header { u16 magic 0xeB9F; u8 version 1; u8 flags; u32 hdr_len;
//            u32 func_info_off, func_info_len; u32 line_info_off, line_info_len;
//            [u32 core_relo_off, core_relo_len] }      offsets relative to hdr end
//   info block { u32 rec_size; { u32 sec_name_off; u32 num_info; rec[num_info] }* }
//   func rec { insn_off(bytes), type_id }  line rec { insn_off(bytes), file, line, col }
//   core rec { insn_off(bytes), type_id, access_str_off, kind }
#include "guest/builder/btf_ext.hpp"

#include <cstring>

namespace xo::guest {
namespace {

constexpr std::uint16_t kBtfMagic = 0xeB9F;
constexpr std::size_t kMinHeader = 24;

std::uint32_t u32_at(std::span<const std::uint8_t> b, std::size_t off) {
  std::uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

// Walks one info block, calling `take(section, record_bytes)` per record.
template <typename Take>
Status walk_block(std::span<const std::uint8_t> block, const char* what, std::size_t min_rec,
                  NameResolver resolve, const void* ctx, Take&& take) {
  if (block.empty()) return Ok{};
  if (block.size() < 4) return err(std::string(".BTF.ext: ") + what + " block too short");
  std::uint32_t rec_size = u32_at(block, 0);
  if (rec_size < min_rec || rec_size % 4 || rec_size > 256)
    return err(std::string(".BTF.ext: ") + what + " record size " + std::to_string(rec_size) + " is invalid");
  std::size_t pos = 4;
  while (pos < block.size()) {
    if (block.size() - pos < 8) return err(std::string(".BTF.ext: ") + what + " section header truncated");
    std::uint32_t name_off = u32_at(block, pos);
    std::uint32_t num = u32_at(block, pos + 4);
    pos += 8;
    const char* name = resolve(ctx, name_off);
    if (!name) return err(std::string(".BTF.ext: ") + what + " names a section with invalid string offset " + std::to_string(name_off));
    if (num == 0) return err(std::string(".BTF.ext: ") + what + " for section '" + name + "' has no records");
    if ((block.size() - pos) / rec_size < num)
      return err(std::string(".BTF.ext: ") + what + " for section '" + name + "' claims " + std::to_string(num) + " records past the end of the block");
    for (std::uint32_t i = 0; i < num; ++i, pos += rec_size) take(std::string(name), block.subspan(pos, rec_size));
  }
  return Ok{};
}

}  // namespace

Result<std::map<std::string, BtfExtSection>> parse_btf_ext_raw(std::span<const std::uint8_t> bytes,
                                                               NameResolver resolve, const void* ctx) {
  std::map<std::string, BtfExtSection> out;
  if (bytes.size() < kMinHeader) return err(".BTF.ext: too short for a header");
  std::uint16_t magic;
  std::memcpy(&magic, bytes.data(), 2);
  if (magic != kBtfMagic) return err(".BTF.ext: bad magic (big-endian or not BTF.ext)");
  if (bytes[2] != 1) return err(".BTF.ext: unsupported version " + std::to_string(bytes[2]));
  std::uint32_t hdr_len = u32_at(bytes, 4);
  if (hdr_len < kMinHeader || hdr_len > bytes.size() || hdr_len % 4)
    return err(".BTF.ext: bad header length " + std::to_string(hdr_len));
  auto body = bytes.subspan(hdr_len);
  auto block = [&](std::size_t field, const char* what) -> Result<std::span<const std::uint8_t>> {
    if (field + 8 > hdr_len) return std::span<const std::uint8_t>{};  // optional, absent
    std::uint32_t off = u32_at(bytes, field), len = u32_at(bytes, field + 4);
    if (off > body.size() || len > body.size() - off)
      return err(std::string(".BTF.ext: ") + what + " block lies outside the section");
    return body.subspan(off, len);
  };
  auto funcs = block(8, "func_info");
  if (!funcs) return funcs.error();
  auto lines = block(16, "line_info");
  if (!lines) return lines.error();
  auto cores = block(24, "CO-RE relocation");
  if (!cores) return cores.error();

  Status st = walk_block(*funcs, "func_info", 8, resolve, ctx, [&](const std::string& sec, auto rec) {
    out[sec].func_info.push_back(FuncInfo{u32_at(rec, 0), u32_at(rec, 4)});
  });
  if (!st) return st.error();
  st = walk_block(*lines, "line_info", 16, resolve, ctx, [&](const std::string& sec, auto rec) {
    out[sec].line_info.push_back(LineInfo{u32_at(rec, 0), u32_at(rec, 4), u32_at(rec, 8), u32_at(rec, 12)});
  });
  if (!st) return st.error();
  st = walk_block(*cores, "CO-RE relocation", 16, resolve, ctx, [&](const std::string& sec, auto rec) {
    out[sec].core_relo_offs.push_back(u32_at(rec, 0));
  });
  if (!st) return st.error();
  return out;
}

}  // namespace xo::guest
