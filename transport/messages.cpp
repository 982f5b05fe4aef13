// Names, per-type payload bounds and small helpers over the Message variant.
#include "transport/messages.hpp"

#include <cstdio>
#include <utility>

#include "core/uapi.hpp"

namespace xo::transport {
namespace {

// The wire's action numbers are the kernel's (enum xdp_action).
static_assert(kActionAborted == std::uint32_t(uapi::kAborted) &&
              kActionDrop == std::uint32_t(uapi::kDrop) && kActionPass == std::uint32_t(uapi::kPass) &&
              kActionTx == std::uint32_t(uapi::kTx) &&
              kActionRedirect == std::uint32_t(uapi::kRedirectAct));

struct TypeInfo {
  MsgType type;
  const char* name;
  std::uint32_t max_payload;
};

// Per-type payload bounds: each is at least the sum of its fields' bounds
// (PROTOCOL.md "Limits"), so every message the encoder accepts fits.
constexpr std::uint32_t kSmall = 4u << 10;  // handles, keys, status text
constexpr std::uint32_t kValueMsg = std::uint32_t(kMaxValueSize) + kSmall;
constexpr std::uint32_t kLogMsg = std::uint32_t(kMaxLogLen) + kSmall;

constexpr TypeInfo kTypes[] = {
    {MsgType::Caps, "CAPS", 64},
    {MsgType::BtfLoad, "BTF_LOAD", std::uint32_t(kMaxBtfSize) + 64},
    {MsgType::MapCreate, "MAP_CREATE", kValueMsg},
    {MsgType::MapLookup, "MAP_LOOKUP", kSmall},
    {MsgType::MapUpdate, "MAP_UPDATE", kValueMsg},
    {MsgType::MapDelete, "MAP_DELETE", kSmall},
    {MsgType::MapGetNextKey, "MAP_GET_NEXT_KEY", kSmall},
    {MsgType::MapFree, "MAP_FREE", kSmall},
    {MsgType::ProgLoad, "PROG_LOAD", kMaxPayload},
    {MsgType::ProgAttach, "PROG_ATTACH", kSmall},
    {MsgType::ProgDetach, "PROG_DETACH", kSmall},
    {MsgType::ProgUnload, "PROG_UNLOAD", kSmall},
    {MsgType::Stats, "STATS", kSmall},
    {MsgType::Reset, "RESET", kSmall},
    {MsgType::BtfFree, "BTF_FREE", kSmall},
    {MsgType::CapsReply, "CAPS reply", 8u << 10},
    {MsgType::BtfLoadReply, "BTF_LOAD reply", kLogMsg},
    {MsgType::MapCreateReply, "MAP_CREATE reply", kSmall},
    {MsgType::MapLookupReply, "MAP_LOOKUP reply", kValueMsg},
    {MsgType::MapUpdateReply, "MAP_UPDATE reply", kSmall},
    {MsgType::MapDeleteReply, "MAP_DELETE reply", kSmall},
    {MsgType::MapGetNextKeyReply, "MAP_GET_NEXT_KEY reply", kSmall},
    {MsgType::MapFreeReply, "MAP_FREE reply", kSmall},
    {MsgType::ProgLoadReply, "PROG_LOAD reply", kLogMsg},
    {MsgType::ProgAttachReply, "PROG_ATTACH reply", kSmall},
    {MsgType::ProgDetachReply, "PROG_DETACH reply", kSmall},
    {MsgType::ProgUnloadReply, "PROG_UNLOAD reply", kSmall},
    {MsgType::StatsReply, "STATS reply", kSmall},
    {MsgType::ResetReply, "RESET reply", kSmall},
    {MsgType::BtfFreeReply, "BTF_FREE reply", kSmall},
    {MsgType::ErrorReply, "ERROR reply", kSmall},
    {MsgType::Event, "EVENT", kSmall},
};
// An unknown type may still be skipped and answered with ENOSYS.
constexpr std::uint32_t kUnknownTypeMaxPayload = kSmall;

const TypeInfo* find_type(std::uint16_t type) {
  for (const auto& t : kTypes)
    if (std::uint16_t(t.type) == type) return &t;
  return nullptr;
}

}  // namespace

std::string type_name(std::uint16_t type) {
  if (const TypeInfo* t = find_type(type)) return t->name;
  char buf[32];
  std::snprintf(buf, sizeof buf, "type 0x%04x", type);
  return buf;
}

bool is_known_type(std::uint16_t type) { return find_type(type) != nullptr; }

std::uint32_t max_payload(std::uint16_t type) {
  const TypeInfo* t = find_type(type);
  return t ? t->max_payload : kUnknownTypeMaxPayload;
}

std::string status_name(std::int32_t code) {
  switch (code) {
    case status::kOk: return "OK";
    case status::kEPERM: return "EPERM";
    case status::kENOENT: return "ENOENT";
    case status::kEIO: return "EIO";
    case status::kE2BIG: return "E2BIG";
    case status::kEBADF: return "EBADF";
    case status::kEACCES: return "EACCES";
    case status::kEBUSY: return "EBUSY";
    case status::kEOPNOTSUPP: return "EOPNOTSUPP";
    case status::kECANCELED: return "ECANCELED";
    case status::kEAGAIN: return "EAGAIN";
    case status::kEEXIST: return "EEXIST";
    case status::kEINVAL: return "EINVAL";
    case status::kENOSPC: return "ENOSPC";
    case status::kENOSYS: return "ENOSYS";
    case status::kEPROTO: return "EPROTO";
    case status::kEDQUOT: return "EDQUOT";
  }
  return "errno " + std::to_string(code);
}

MsgType type_of(const Message& m) {
  return std::visit([](const auto& msg) { return std::decay_t<decltype(msg)>::kType; }, m);
}

const ReplyStatus* reply_status(const Message& m) {
  return std::visit(
      [](const auto& msg) -> const ReplyStatus* {
        if constexpr (requires { msg.status; })
          return &msg.status;
        else
          return nullptr;
      },
      m);
}

namespace {
template <std::size_t... I>
Message failure_reply_impl(std::uint16_t reply, ReplyStatus st, std::index_sequence<I...>) {
  Message out = ErrorReply{st};
  auto try_one = [&]<std::size_t N>() {
    using T = std::variant_alternative_t<N, Message>;
    if constexpr (requires(T t) { t.status; }) {
      if (std::uint16_t(T::kType) == reply && T::kType != MsgType::ErrorReply) {
        T msg{};
        msg.status = st;
        out = std::move(msg);
      }
    }
  };
  (try_one.template operator()<I>(), ...);
  return out;
}
}  // namespace

Message failure_reply(std::uint16_t request, ReplyStatus status) {
  if (!is_request(request) || !is_known_type(request)) return ErrorReply{std::move(status)};
  return failure_reply_impl(std::uint16_t(request | kReplyBit), std::move(status),
                            std::make_index_sequence<std::variant_size_v<Message>>{});
}

}  // namespace xo::transport
