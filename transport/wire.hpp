// Little-endian byte writer and bounds-checked reader: the only code that
// touches raw protocol bytes. The reader never reads past its span and
// reports the first failure as a value; later reads become no-ops, so a
// decoder can read a whole message and check once at the end.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace xo::transport {

class ByteWriter {
 public:
  void u8(std::uint8_t v) { buf_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void bytes(std::span<const std::uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  void bytes(std::string_view s) { buf_.insert(buf_.end(), s.begin(), s.end()); }
  // Overwrites 4 bytes at `at` (used to patch a length after the fact).
  void patch_u32(std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) buf_[at + i] = std::uint8_t(v >> (8 * i));
  }

  std::size_t size() const { return buf_.size(); }
  std::vector<std::uint8_t>& buffer() { return buf_; }
  std::vector<std::uint8_t> take() { return std::move(buf_); }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) buf_.push_back(std::uint8_t(v >> (8 * i)));
  }
  std::vector<std::uint8_t> buf_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> data) : data_(data) {}

  bool u8(std::uint8_t& v, const char* field) {
    std::uint64_t x;
    if (!get(x, 1, field)) return false;
    v = std::uint8_t(x);
    return true;
  }
  bool u16(std::uint16_t& v, const char* field) {
    std::uint64_t x;
    if (!get(x, 2, field)) return false;
    v = std::uint16_t(x);
    return true;
  }
  bool u32(std::uint32_t& v, const char* field) {
    std::uint64_t x;
    if (!get(x, 4, field)) return false;
    v = std::uint32_t(x);
    return true;
  }
  bool u64(std::uint64_t& v, const char* field) { return get(v, 8, field); }

  // A view of the next n bytes. n was already checked against a per-field
  // maximum by the caller; here it is checked against what is left.
  bool view(std::size_t n, std::span<const std::uint8_t>& out, const char* field) {
    if (failed()) return false;
    if (n > remaining())
      return fail(std::string("field '") + field + "': length " + std::to_string(n) +
                  " exceeds the " + std::to_string(remaining()) + " remaining bytes");
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

  bool fail(std::string message) {
    if (!error_) error_ = err("at payload offset " + std::to_string(pos_) + ": " + message);
    return false;
  }
  bool failed() const { return error_.has_value(); }
  const std::optional<Error>& error() const { return error_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t offset() const { return pos_; }

 private:
  bool get(std::uint64_t& v, std::size_t n, const char* field) {
    if (failed()) return false;
    if (n > remaining())
      return fail(std::string("truncated: field '") + field + "' needs " + std::to_string(n) +
                  " bytes, " + std::to_string(remaining()) + " left");
    v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    return true;
  }

  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  std::optional<Error> error_;
};

}  // namespace xo::transport
