// One filled-in example of every message type, with non-default values in
// every field, so a round trip that drops or swaps a field shows up.
#pragma once

#include <vector>

#include "transport/messages.hpp"

namespace xo::transport::testing {

inline ReplyStatus failed_status(const char* text) { return ReplyStatus{status::kEINVAL, text}; }

inline std::vector<Message> sample_messages() {
  std::vector<Message> v;
  v.push_back(CapsRequest{1, 3});
  v.push_back(BtfLoadRequest{{0x9f, 0xeb, 1, 0, 24, 0, 0, 0}});
  MapCreateRequest mc;
  mc.type = MapType::PercpuArray;
  mc.key_size = 4;
  mc.value_size = 8;
  mc.max_entries = 256;
  mc.map_flags = 0x1;
  mc.name = "rxcnt";
  mc.btf_handle = 3;
  mc.btf_key_type_id = 7;
  mc.btf_value_type_id = 9;
  mc.frozen = true;
  mc.initial_value = {1, 2, 3, 4, 5, 6, 7, 8};
  v.push_back(mc);
  v.push_back(MapLookupRequest{11, {1, 0, 0, 0}});
  v.push_back(MapUpdateRequest{12, 2, {6, 0, 0, 0}, {0xff, 0xee, 0xdd, 0xcc, 0, 0, 0, 1}});
  v.push_back(MapDeleteRequest{13, {17, 0, 0, 0}});
  v.push_back(MapGetNextKeyRequest{14, {}});
  v.push_back(MapGetNextKeyRequest{14, {9, 9}});
  v.push_back(MapFreeRequest{15});
  ProgLoadRequest pl;
  pl.name = "xdp_prog1";
  pl.license = "GPL";
  pl.guest_ifindex = 2;
  pl.flavor = kFlavorChain;
  pl.btf_handle = 3;
  pl.insns = {isa::RawInsn::make(0xb7, 0, 0, 0, 1),       // r0 = 1
              isa::RawInsn::make(0x18, 1, 1, 0, 11),      // r1 = map[11] (ld_imm64)
              isa::RawInsn::make(0x00, 0, 0, 0, 0),
              isa::RawInsn::make(0x05, 0, 0, -3, 0),      // negative offset
              isa::RawInsn::make(0x85, 0, 0, 0, -1),      // negative imm
              isa::RawInsn::make(0x95, 0, 0, 0, 0)};
  pl.func_info = {{0, 5}, {4, 8}};
  pl.line_info = {{0, 1, 30, (42u << 10) | 3}, {4, 1, 30, 43u << 10}};
  v.push_back(pl);
  v.push_back(ProgAttachRequest{21});
  v.push_back(ProgDetachRequest{22});
  v.push_back(ProgUnloadRequest{23});
  v.push_back(StatsRequest{24});
  v.push_back(ResetRequest{});
  v.push_back(BtfFreeRequest{3});

  CapsReply caps;
  caps.version = 1;
  caps.isa_level = 3;
  caps.flavors = 0x7;
  caps.map_types = {1, 2, 5, 6};
  caps.helpers = {{1, 2, 0xf}, {2, 4, 0xf}, {65, 2, 0x1}, {-5, 1, 0}};
  caps.quotas = {16, 1ull << 33, 8, 100000, 1u << 20, 1000, 50};
  v.push_back(caps);
  v.push_back(BtfLoadReply{{}, 3, ""});
  v.push_back(BtfLoadReply{failed_status("BTF rejected"), 0, "[1] STRUCT foo size=4 vlen=1\n bad"});
  v.push_back(MapCreateReply{{}, 11});
  v.push_back(MapLookupReply{{}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}});
  v.push_back(MapLookupReply{ReplyStatus{status::kENOENT, "map 11: no such key"}, {}});
  v.push_back(MapUpdateReply{ReplyStatus{status::kEEXIST, "exists"}});
  v.push_back(MapDeleteReply{});
  v.push_back(MapGetNextKeyReply{{}, {2, 0, 0, 0}});
  v.push_back(MapFreeReply{});
  v.push_back(ProgLoadReply{{}, 31, kFlavorTc, "processed 17 insns"});
  v.push_back(ProgLoadReply{ReplyStatus{status::kEPERM, "insn 4 (xdp1_kern.c:43): helper 6 denied"},
                            0, kFlavorAny, "insn 4: R1 type=ctx\n"});
  v.push_back(ProgAttachReply{});
  v.push_back(ProgDetachReply{ReplyStatus{status::kENOENT, "prog 22: no such program"}});
  v.push_back(ProgUnloadReply{});
  v.push_back(StatsReply{{}, {{kActionDrop, 100, 6400}, {kActionPass, 3, 192},
                              {kActionPolicyDrop, 1, 64}}});
  v.push_back(ResetReply{});
  v.push_back(BtfFreeReply{});
  v.push_back(BtfFreeReply{ReplyStatus{status::kEBUSY, "BTF 3: still used by map 11"}});
  v.push_back(MapLookupReply{ReplyStatus{status::kEBADF, "map handle 99 does not exist"}, {}});
  v.push_back(ErrorReply{ReplyStatus{status::kENOSYS, "unknown message type 0x0042"}});
  v.push_back(Event{EventKind::OffloadLost, 31, "tap vnet0 removed: run it locally"});
  v.push_back(Event{EventKind::Quota, 0, ""});
  return v;
}

}  // namespace xo::transport::testing
