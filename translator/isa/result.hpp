// Result<T>: the one error convention for guest-controlled input.
// Errors are values that carry the guest pc where one applies; nothing
// that parses guest bytes may abort or throw past its API boundary.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace xo {

// A diagnostic about guest input. `pc` is the guest instruction slot
// (kernel numbering: ld_imm64 takes two) when the error is about one.
struct Error {
  std::string message;
  std::optional<std::size_t> pc{};

  std::string describe() const {
    return pc ? "insn " + std::to_string(*pc) + ": " + message : message;
  }
  bool operator==(const Error&) const = default;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void> stand-in.
struct Ok {
  bool operator==(const Ok&) const = default;
};
using Status = Result<Ok>;

inline Error err(std::string message) { return Error{std::move(message), std::nullopt}; }
inline Error err_at(std::size_t pc, std::string message) { return Error{std::move(message), pc}; }

}  // namespace xo
