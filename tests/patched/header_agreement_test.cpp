// The guest kernel's frame layouts (include/uapi/linux/virtio_net_xo.h as
// kernel patch 0002 creates it, compiled into header_frames.c) against
// transport's encoder, byte for byte: every request the patched virtio_net
// sends, and the reply heads it decodes. A layout change on either side fails
// here before any VM boots.
#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "transport/codec.hpp"
#include "transport/messages.hpp"

namespace xo::transport {
namespace {

std::string hex(const std::vector<std::uint8_t>& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

std::string frame_hex(std::uint32_t id, const Message& m) {
  auto f = encode(id, m);
  EXPECT_TRUE(f.ok()) << (f ? "" : f.error().message);
  return f ? hex(*f) : "";
}

// Runs the C side once; NAME -> rest of its line.
std::map<std::string, std::string> run_c_side(const std::string& args) {
  std::map<std::string, std::string> out;
  std::string cmd = std::string(XO_HEADER_FRAMES) + " " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[1 << 16];
  while (std::fgets(line, sizeof line, p)) {
    std::string l(line);
    if (!l.empty() && l.back() == '\n') l.pop_back();
    auto sp = l.find(' ');
    if (sp != std::string::npos) out[l.substr(0, sp)] = l.substr(sp + 1);
  }
  EXPECT_EQ(::pclose(p), 0);
  return out;
}

TEST(KernelHeaderAgreement, RequestsAreByteForByteTransportFrames) {
  auto c = run_c_side("");
  ASSERT_FALSE(c.empty()) << "header_frames produced nothing";

  const std::vector<std::uint8_t> key{1, 2, 3, 4};
  const std::vector<std::uint8_t> value{9, 8, 7, 6, 5, 4, 3, 2};
  MapCreateRequest mc;
  mc.type = MapType::Hash;
  mc.key_size = 4;
  mc.value_size = 8;
  mc.max_entries = 64;
  mc.name = "counters";
  ProgLoadRequest pl;
  pl.name = "xdp_prog";
  pl.license = "GPL";
  pl.guest_ifindex = 2;
  pl.btf_handle = 2;
  pl.flavor = kFlavorAny;
  pl.insns = {isa::RawInsn::make(0x18, 1, 1, 0, 3), isa::RawInsn::make(0, 0, 0, 0, 0),
              isa::RawInsn::make(0xb7, 0, 0, 0, 2), isa::RawInsn::make(0x95, 0, 0, 0, 0)};
  pl.func_info = {FuncInfo{0, 7}};
  pl.line_info = {LineInfo{2, 11, 40, (42u << 10) | 5}};

  const std::map<std::string, std::string> want = {
      {"caps", frame_hex(7, CapsRequest{1, 1})},
      {"btf_load", frame_hex(8, BtfLoadRequest{{0x9f, 0xeb, 1, 0, 24, 0, 0, 0}})},
      {"map_create", frame_hex(9, mc)},
      {"map_lookup", frame_hex(10, MapLookupRequest{3, key})},
      {"map_delete", frame_hex(11, MapDeleteRequest{3, key})},
      {"map_get_next_key", frame_hex(12, MapGetNextKeyRequest{3, {}})},
      {"map_update", frame_hex(13, MapUpdateRequest{3, 1 /* BPF_NOEXIST */, key, value})},
      {"map_free", frame_hex(14, MapFreeRequest{3})},
      {"prog_attach", frame_hex(15, ProgAttachRequest{5})},
      {"prog_detach", frame_hex(16, ProgDetachRequest{5})},
      {"prog_unload", frame_hex(17, ProgUnloadRequest{5})},
      {"btf_free", frame_hex(18, BtfFreeRequest{2})},
      {"reset", frame_hex(19, ResetRequest{})},
      {"prog_load", frame_hex(20, pl)},
  };
  for (const auto& [name, bytes] : want) {
    ASSERT_TRUE(c.count(name)) << name << " missing from the C side";
    EXPECT_EQ(c[name], bytes) << name << ": kernel header layout != transport encoding";
  }
}

TEST(KernelHeaderAgreement, ConstantsMatchTransport) {
  auto c = run_c_side("");
  std::ostringstream want;
  want << "magic=0x" << std::hex << kMagic << std::dec << " version=" << kMinProtocolVersion
       << " hdr=" << kHeaderSize << " reply_bit=0x" << std::hex << kReplyBit << std::dec
       << " flavor_tun=" << unsigned(kFlavorTun) << " flavor_any=" << unsigned(kFlavorAny)
       << " caps=" << unsigned(MsgType::Caps) << " btf_load=" << unsigned(MsgType::BtfLoad)
       << " map_create=" << unsigned(MsgType::MapCreate) << " prog_load=" << unsigned(MsgType::ProgLoad)
       << " reset=" << unsigned(MsgType::Reset) << " btf_free=" << unsigned(MsgType::BtfFree)
       << " error=0x" << std::hex << unsigned(MsgType::ErrorReply) << " event=0x"
       << unsigned(MsgType::Event);
  EXPECT_EQ(c["CONST"], want.str());
}

TEST(KernelHeaderAgreement, ReplyHeadsDecodeTransportReplies) {
  ProgLoadReply pr;
  pr.prog_handle = 6;
  pr.flavor = kFlavorTun;
  pr.log = "ok";
  MapLookupReply lr;
  lr.value = {42, 0, 0, 0, 0, 0, 0, 0};
  auto c = run_c_side("prog_load_reply " + frame_hex(21, pr) + " map_lookup_reply " + frame_hex(22, lr));
  EXPECT_EQ(c["prog_load_reply.fields"], "prog_handle=6 flavor=3 log=ok");
  EXPECT_EQ(c["map_lookup_reply.fields"], "value_len=8 first=42");
  EXPECT_NE(c["prog_load_reply"].find("type=0x8009 id=21"), std::string::npos) << c["prog_load_reply"];
  EXPECT_NE(c["prog_load_reply"].find("status=0 msg_len=0"), std::string::npos) << c["prog_load_reply"];
}

}  // namespace
}  // namespace xo::transport
