// Encoder and decoder for every message.
//
// Each message's wire layout is written once, as a fields() function over an
// "Io" that is either the Encoder or the Decoder below. Both walk the same
// field list, so the two directions cannot disagree; the Decoder checks each
// length against the field's maximum and the remaining bytes before it
// allocates, and requires reserved bytes to be zero.
//
//   variable-length field = le32 length (or count) | bytes (or elements)
//   e.g. MAP_LOOKUP: le32 map | le32 key_len | key[key_len]
#include "transport/codec.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "transport/wire.hpp"

namespace xo::transport {
namespace {

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// ---- the two directions --------------------------------------------------

class Encoder {
 public:
  explicit Encoder(std::uint16_t version) : version_(version) {}
  std::uint16_t version() const { return version_; }
  void u8(const std::uint8_t& v, const char*) { w_.u8(v); }
  void u16(const std::uint16_t& v, const char*) { w_.u16(v); }
  void u32(const std::uint32_t& v, const char*) { w_.u32(v); }
  void u64(const std::uint64_t& v, const char*) { w_.u64(v); }
  void i32(const std::int32_t& v, const char*) { w_.u32(std::uint32_t(v)); }
  void flag(const bool& v, const char*) { w_.u8(v ? 1 : 0); }
  template <typename E>
  void enum16(const E& v, const char*) { w_.u16(std::uint16_t(v)); }
  template <typename E>
  void enum32(const E& v, const char*) { w_.u32(std::uint32_t(v)); }
  void reserved(std::size_t n, const char*) {
    for (std::size_t i = 0; i < n; ++i) w_.u8(0);
  }
  // An optional tail of the payload: written only when it carries something.
  bool tail(bool present, const char*) { return present; }
  void tail_end(bool, const char*) {}

  // Identifiers (names, license): too long or an embedded NUL is an error,
  // because silently changing them would change what the kernel sees.
  void name(const std::string& s, std::size_t max, const char* field) {
    if (s.size() > max)
      fail(std::string("field '") + field + "': length " + std::to_string(s.size()) +
           " exceeds maximum " + std::to_string(max));
    else if (s.find('\0') != std::string::npos)
      fail(std::string("field '") + field + "' contains a NUL byte");
    w_.u32(std::uint32_t(std::min(s.size(), max)));
    w_.bytes(std::string_view(s).substr(0, max));
  }
  // Diagnostic text: truncated to its bound rather than refused, so a long
  // verifier log still reaches the guest.
  void text(const std::string& s, std::size_t max, const char*) {
    std::string_view v = std::string_view(s).substr(0, max);
    w_.u32(std::uint32_t(v.size()));
    w_.bytes(v);
  }
  void blob(const std::vector<std::uint8_t>& b, std::size_t max, const char* field) {
    if (b.size() > max) {
      fail(std::string("field '") + field + "': length " + std::to_string(b.size()) +
           " exceeds maximum " + std::to_string(max));
      return;
    }
    w_.u32(std::uint32_t(b.size()));
    w_.bytes(b);
  }
  template <typename T, typename F>
  void array(const std::vector<T>& v, std::size_t max, std::size_t, const char* field, F&& each) {
    if (v.size() > max) {
      fail(std::string("field '") + field + "': count " + std::to_string(v.size()) +
           " exceeds maximum " + std::to_string(max));
      return;
    }
    w_.u32(std::uint32_t(v.size()));
    for (const T& x : v) each(*this, const_cast<T&>(x));  // Encoder only reads
  }

  void fail(std::string message) {
    if (!error_) error_ = err(std::move(message));
  }
  // A field that only exists from version `v` on must be at its default
  // (`unset`) in an older frame: silently dropping it would change meaning.
  void only_from(std::uint16_t v, bool unset, const char* field) {
    if (version_ < v && !unset)
      fail(std::string("field '") + field + "' needs protocol version " + std::to_string(v) +
           ", the frame is version " + std::to_string(version_));
  }
  const std::optional<Error>& error() const { return error_; }
  ByteWriter& writer() { return w_; }

 private:
  std::uint16_t version_;
  ByteWriter w_;
  std::optional<Error> error_;
};

class Decoder {
 public:
  Decoder(std::span<const std::uint8_t> payload, std::uint16_t version) : version_(version), r_(payload) {}
  std::uint16_t version() const { return version_; }
  // Decoding never meets a field its version cannot carry.
  void only_from(std::uint16_t, bool, const char*) {}

  void u8(std::uint8_t& v, const char* f) { r_.u8(v, f); }
  void u16(std::uint16_t& v, const char* f) { r_.u16(v, f); }
  void u32(std::uint32_t& v, const char* f) { r_.u32(v, f); }
  void u64(std::uint64_t& v, const char* f) { r_.u64(v, f); }
  void i32(std::int32_t& v, const char* f) {
    std::uint32_t x = 0;
    if (r_.u32(x, f)) v = std::int32_t(x);
  }
  void flag(bool& v, const char* f) {
    std::uint8_t x = 0;
    if (!r_.u8(x, f)) return;
    if (x > 1) {
      r_.fail(std::string("field '") + f + "': boolean value " + std::to_string(x) +
              " is not 0 or 1");
      return;
    }
    v = x != 0;
  }
  template <typename E>
  void enum16(E& v, const char* f) {
    std::uint16_t x = 0;
    if (r_.u16(x, f)) v = E(x);
  }
  template <typename E>
  void enum32(E& v, const char* f) {
    std::uint32_t x = 0;
    if (r_.u32(x, f)) v = E(x);
  }
  // An optional tail: present when bytes remain. It must then say
  // something (tail_end), so every message has one encoding.
  bool tail(bool, const char*) { return !r_.failed() && r_.remaining() > 0; }
  void tail_end(bool present, const char* f) {
    if (!r_.failed() && !present) r_.fail(std::string("optional tail '") + f + "' present but all zero: omit it");
  }
  void reserved(std::size_t n, const char* f) {
    std::span<const std::uint8_t> b;
    if (!r_.view(n, b, f)) return;
    for (std::uint8_t x : b)
      if (x != 0) {
        r_.fail(std::string("reserved field '") + f + "' must be zero");
        return;
      }
  }

  void name(std::string& s, std::size_t max, const char* field) {
    std::span<const std::uint8_t> b;
    if (!bounded_view(max, 1, b, field)) return;
    if (std::memchr(b.data(), 0, b.size()) != nullptr) {
      r_.fail(std::string("field '") + field + "' contains a NUL byte");
      return;
    }
    s.assign(b.begin(), b.end());
  }
  void text(std::string& s, std::size_t max, const char* field) {
    std::span<const std::uint8_t> b;
    if (bounded_view(max, 1, b, field)) s.assign(b.begin(), b.end());
  }
  void blob(std::vector<std::uint8_t>& v, std::size_t max, const char* field) {
    std::span<const std::uint8_t> b;
    if (bounded_view(max, 1, b, field)) v.assign(b.begin(), b.end());
  }
  template <typename T, typename F>
  void array(std::vector<T>& v, std::size_t max, std::size_t wire_size, const char* field,
             F&& each) {
    std::uint32_t count = 0;
    if (!r_.u32(count, field)) return;
    if (!check_count(count, max, wire_size, field)) return;
    // Allocation only after count * wire_size <= remaining bytes.
    v.resize(count);
    for (T& x : v) {
      each(*this, x);
      if (r_.failed()) return;
    }
  }

  ByteReader& reader() { return r_; }

 private:
  bool check_count(std::uint64_t count, std::size_t max, std::size_t wire_size, const char* field) {
    const char* what = wire_size == 1 ? "length" : "count";
    if (count > max)
      return r_.fail(std::string("field '") + field + "': " + what + " " +
                     std::to_string(count) + " exceeds maximum " + std::to_string(max));
    if (count * wire_size > r_.remaining())
      return r_.fail(std::string("field '") + field + "': " + what + " " +
                     std::to_string(count) + (wire_size == 1 ? "" : " x " + std::to_string(wire_size) + " bytes") +
                     " exceeds the " + std::to_string(r_.remaining()) + " remaining bytes");
    return true;
  }
  // le32 length, then a view of that many bytes, both bounds checked first.
  bool bounded_view(std::size_t max, std::size_t wire_size, std::span<const std::uint8_t>& out,
                    const char* field) {
    std::uint32_t len = 0;
    if (!r_.u32(len, field)) return false;
    if (!check_count(len, max, wire_size, field)) return false;
    return r_.view(len, out, field);
  }

  std::uint16_t version_;
  ByteReader r_;
};

// ---- wire layouts, one per message (PROTOCOL.md section 4) ----------------

template <class Io>
void fields(Io& io, ReplyStatus& s) {
  io.i32(s.code, "status");
  io.text(s.message, kMaxMessageLen, "message");
}

template <class Io>
void fields(Io& io, CapsRequest& m) {
  io.u16(m.min_version, "min_version");
  io.u16(m.max_version, "max_version");
}
template <class Io>
void fields(Io& io, BtfLoadRequest& m) {
  io.blob(m.btf, kMaxBtfSize, "btf");
}
template <class Io>
void fields(Io& io, MapCreateRequest& m) {
  io.enum32(m.type, "map_type");
  io.u32(m.key_size, "key_size");
  io.u32(m.value_size, "value_size");
  io.u32(m.max_entries, "max_entries");
  io.u32(m.map_flags, "map_flags");
  io.u32(m.btf_handle, "btf_handle");
  io.u32(m.btf_key_type_id, "btf_key_type_id");
  io.u32(m.btf_value_type_id, "btf_value_type_id");
  io.flag(m.frozen, "frozen");
  io.reserved(3, "pad");
  io.name(m.name, kMaxNameLen, "name");
  io.blob(m.initial_value, kMaxValueSize, "initial_value");
  // Bloom filters and maps of maps only; absent otherwise, so the layout
  // of every other MAP_CREATE is version 1's.
  if (io.tail(m.map_extra != 0 || m.inner_map != 0, "map_extra/inner_map")) {
    io.u64(m.map_extra, "map_extra");
    io.u32(m.inner_map, "inner_map");
    io.reserved(4, "pad");
    io.tail_end(m.map_extra != 0 || m.inner_map != 0, "map_extra/inner_map");
  }
}
template <class Io>
void fields(Io& io, MapLookupRequest& m) {
  io.u32(m.map, "map");
  io.blob(m.key, kMaxKeySize, "key");
}
template <class Io>
void fields(Io& io, MapUpdateRequest& m) {
  io.u32(m.map, "map");
  io.u64(m.flags, "flags");
  io.blob(m.key, kMaxKeySize, "key");
  io.blob(m.value, kMaxValueSize, "value");
}
template <class Io>
void fields(Io& io, MapDeleteRequest& m) {
  io.u32(m.map, "map");
  io.blob(m.key, kMaxKeySize, "key");
}
template <class Io>
void fields(Io& io, MapGetNextKeyRequest& m) {
  io.u32(m.map, "map");
  io.blob(m.key, kMaxKeySize, "key");
}
template <class Io>
void fields(Io& io, MapFreeRequest& m) {
  io.u32(m.map, "map");
}
template <class Io>
void fields(Io& io, ProgLoadRequest& m) {
  io.u32(m.guest_ifindex, "guest_ifindex");
  io.u32(m.btf_handle, "btf_handle");
  io.u8(m.flavor, "flavor");
  io.reserved(3, "pad");
  io.name(m.name, kMaxNameLen, "name");
  io.name(m.license, kMaxLicenseLen, "license");
  io.array(m.insns, kMaxInsns, 8, "insns", [](auto& io, isa::RawInsn& x) {
    io.u8(x.code, "insn.code");
    io.u8(x.regs, "insn.regs");
    std::uint16_t off = std::uint16_t(x.off);
    io.u16(off, "insn.off");
    x.off = std::int16_t(off);
    io.i32(x.imm, "insn.imm");
  });
  io.array(m.func_info, kMaxFuncInfos, 8, "func_info", [](auto& io, FuncInfo& x) {
    io.u32(x.insn_off, "func_info.insn_off");
    io.u32(x.type_id, "func_info.type_id");
  });
  io.array(m.line_info, kMaxLineInfos, 16, "line_info", [](auto& io, LineInfo& x) {
    io.u32(x.insn_off, "line_info.insn_off");
    io.u32(x.file_name_off, "line_info.file_name_off");
    io.u32(x.line_off, "line_info.line_off");
    io.u32(x.line_col, "line_info.line_col");
  });
  // Version 2 (PROTOCOL.md 8.1): the trampoline's cookie, always present.
  io.only_from(kDeferVersion, m.cookie == 0, "cookie");
  if (io.version() >= kDeferVersion) io.u64(m.cookie, "cookie");
}
template <class Io>
void fields(Io& io, ProgAttachRequest& m) {
  io.u32(m.prog, "prog");
}
template <class Io>
void fields(Io& io, ProgDetachRequest& m) {
  io.u32(m.prog, "prog");
}
template <class Io>
void fields(Io& io, ProgUnloadRequest& m) {
  io.u32(m.prog, "prog");
}
template <class Io>
void fields(Io& io, StatsRequest& m) {
  io.u32(m.prog, "prog");
}
template <class Io>
void fields(Io&, ResetRequest&) {}
template <class Io>
void fields(Io& io, BtfFreeRequest& m) {
  io.u32(m.btf, "btf");
}

template <class Io>
void fields(Io& io, CapsReply& m) {
  fields(io, m.status);
  io.u16(m.version, "version");
  io.u8(m.isa_level, "isa_level");
  io.u8(m.flavors, "flavors");
  io.array(m.map_types, kMaxMapTypes, 4, "map_types",
           [](auto& io, std::uint32_t& x) { io.u32(x, "map_type"); });
  io.array(m.helpers, kMaxHelpers, 8, "helpers", [](auto& io, HelperCap& x) {
    io.i32(x.id, "helper.id");
    io.u8(x.nargs, "helper.nargs");
    io.u8(x.flavors, "helper.flavors");
    io.reserved(2, "helper.pad");
  });
  io.u32(m.quotas.max_maps, "max_maps");
  io.u32(m.quotas.max_progs, "max_progs");
  io.u64(m.quotas.max_map_bytes, "max_map_bytes");
  io.u32(m.quotas.max_insns, "max_insns");
  io.u32(m.quotas.max_btf_bytes, "max_btf_bytes");
  io.u32(m.quotas.requests_per_sec, "requests_per_sec");
  io.u32(m.quotas.request_burst, "request_burst");
}
template <class Io>
void fields(Io& io, BtfLoadReply& m) {
  fields(io, m.status);
  io.u32(m.btf_handle, "btf_handle");
  io.text(m.log, kMaxLogLen, "log");
}
template <class Io>
void fields(Io& io, MapCreateReply& m) {
  fields(io, m.status);
  io.u32(m.map_handle, "map_handle");
}
template <class Io>
void fields(Io& io, MapLookupReply& m) {
  fields(io, m.status);
  io.blob(m.value, kMaxValueSize, "value");
}
template <class Io>
void fields(Io& io, MapGetNextKeyReply& m) {
  fields(io, m.status);
  io.blob(m.next_key, kMaxKeySize, "next_key");
}
template <class Io>
void fields(Io& io, ProgLoadReply& m) {
  fields(io, m.status);
  io.u32(m.prog_handle, "prog_handle");
  io.u8(m.flavor, "flavor");
  io.reserved(3, "pad");
  io.text(m.log, kMaxLogLen, "log");
}
template <class Io>
void fields(Io& io, StatsReply& m) {
  fields(io, m.status);
  io.array(m.counters, kMaxCounters, 24, "counters", [](auto& io, ActionCounter& x) {
    io.u32(x.action, "counter.action");
    io.reserved(4, "counter.pad");
    io.u64(x.packets, "counter.packets");
    io.u64(x.bytes, "counter.bytes");
  });
}
template <class Io, MsgType T>
void fields(Io& io, AckReply<T>& m) {
  fields(io, m.status);
}
template <class Io>
void fields(Io& io, Event& m) {
  io.enum16(m.kind, "kind");
  io.reserved(2, "pad");
  io.u32(m.prog, "prog");
  io.text(m.text, kMaxMessageLen, "text");
}

// Default-constructs the alternative of Message whose kType is `type` and
// decodes into it; false when no alternative has that type.
template <std::size_t... I>
bool decode_alternative(std::uint16_t type, Decoder& d, Message& out,
                        std::index_sequence<I...>) {
  bool found = false;
  auto try_one = [&]<std::size_t N>() {
    using T = std::variant_alternative_t<N, Message>;
    if (found || std::uint16_t(T::kType) != type) return;
    found = true;
    T msg{};
    fields(d, msg);
    out = std::move(msg);
  };
  (try_one.template operator()<I>(), ...);
  return found;
}

}  // namespace

FrameHeader parse_header(std::span<const std::uint8_t> bytes) {
  ByteReader r(bytes.first(kHeaderSize));
  FrameHeader h;
  r.u32(h.magic, "magic");
  r.u16(h.version, "version");
  r.u16(h.type, "type");
  r.u32(h.request_id, "request_id");
  r.u32(h.flags, "flags");
  r.u32(h.payload_len, "payload_len");
  return h;
}

void write_header(const FrameHeader& h, std::vector<std::uint8_t>& out) {
  ByteWriter w;
  w.u32(h.magic);
  w.u16(h.version);
  w.u16(h.type);
  w.u32(h.request_id);
  w.u32(h.flags);
  w.u32(h.payload_len);
  out.insert(out.end(), w.buffer().begin(), w.buffer().end());
}

Status check_framing(const FrameHeader& h) {
  if (h.magic != kMagic)
    return err("bad frame magic " + hex32(h.magic) + " (expected " + hex32(kMagic) +
               ", 'XOFL'): stream out of sync");
  if (h.payload_len > kMaxPayload)
    return err(type_name(h.type) + ": payload length " + std::to_string(h.payload_len) +
               " exceeds the protocol maximum " + std::to_string(kMaxPayload));
  if (h.payload_len > max_payload(h.type))
    return err(type_name(h.type) + ": payload length " + std::to_string(h.payload_len) +
               " exceeds the maximum " + std::to_string(max_payload(h.type)) +
               " for this message type");
  return Ok{};
}

Result<std::vector<std::uint8_t>> encode(std::uint32_t request_id, const Message& message,
                                         std::uint16_t version) {
  const MsgType type = type_of(message);
  if (version < kMinProtocolVersion || version > kProtocolVersion)
    return err("encode " + type_name(type) + ": protocol version " + std::to_string(version) +
               " is not one this end speaks (" + std::to_string(kMinProtocolVersion) + ".." +
               std::to_string(kProtocolVersion) + ")");
  Encoder enc(version);
  ByteWriter& w = enc.writer();
  FrameHeader h;
  h.version = version;
  h.type = std::uint16_t(type);
  h.request_id = request_id;
  write_header(h, w.buffer());
  std::visit([&](const auto& msg) { fields(enc, const_cast<std::decay_t<decltype(msg)>&>(msg)); },
             message);
  if (enc.error()) return err("encode " + type_name(type) + ": " + enc.error()->message);
  const std::size_t payload_len = w.size() - kHeaderSize;
  if (payload_len > max_payload(h.type))
    return err("encode " + type_name(type) + ": payload length " + std::to_string(payload_len) +
               " exceeds the maximum " + std::to_string(max_payload(h.type)));
  w.patch_u32(16, std::uint32_t(payload_len));
  return w.take();
}

Result<Message> decode(const Frame& frame) {
  const FrameHeader& h = frame.header;
  if (Status s = check_framing(h); !s) return s.error();
  if (h.payload_len != frame.payload.size())
    return err(type_name(h.type) + ": header says " + std::to_string(h.payload_len) +
               " payload bytes, frame has " + std::to_string(frame.payload.size()));
  if (h.version < kMinProtocolVersion || h.version > kProtocolVersion)
    return err("unsupported protocol version " + std::to_string(h.version) +
               " (this end speaks " + std::to_string(kMinProtocolVersion) + ".." +
               std::to_string(kProtocolVersion) + ")");
  if (h.flags != 0)
    return err(type_name(h.type) + ": reserved header flags " + hex32(h.flags) +
               " must be zero");
  if (!is_known_type(h.type)) return err("unknown message " + type_name(h.type));

  Decoder d(frame.payload, h.version);
  Message out;
  decode_alternative(h.type, d, out, std::make_index_sequence<std::variant_size_v<Message>>{});
  ByteReader& r = d.reader();
  if (r.error()) return err(type_name(h.type) + ": " + r.error()->message);
  if (r.remaining() != 0)
    return err(type_name(h.type) + ": " + std::to_string(r.remaining()) +
               " trailing bytes after the message");
  return out;
}

Result<Envelope> decode_frame(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kHeaderSize)
    return err("truncated frame: " + std::to_string(bytes.size()) + " bytes, header needs " +
               std::to_string(kHeaderSize));
  Frame f;
  f.header = parse_header(bytes);
  if (Status s = check_framing(f.header); !s) return s.error();
  const std::size_t have = bytes.size() - kHeaderSize;
  if (have < f.header.payload_len)
    return err("truncated frame: " + type_name(f.header.type) + " payload needs " +
               std::to_string(f.header.payload_len) + " bytes, " + std::to_string(have) +
               " present");
  if (have > f.header.payload_len)
    return err(type_name(f.header.type) + ": " + std::to_string(have - f.header.payload_len) +
               " bytes after the end of the frame");
  f.payload.assign(bytes.begin() + kHeaderSize, bytes.end());
  Result<Message> m = decode(f);
  if (!m) return m.error();
  return Envelope{f.header.request_id, std::move(*m)};
}

std::int32_t decode_failure_status(const FrameHeader& h) {
  if (h.version < kMinProtocolVersion || h.version > kProtocolVersion) return status::kEPROTO;
  if (h.magic != kMagic) return status::kEPROTO;
  if (!is_known_type(h.type)) return status::kENOSYS;
  if (h.payload_len > max_payload(h.type)) return status::kE2BIG;
  return status::kEINVAL;
}

}  // namespace xo::transport
