// Result<T>: the one error convention. An Error is a value that carries
// what a caller decides on (a positive errno and the pipeline stage) and
// what a person reads (one line, the guest pc where one applies). Nothing
// that parses guest bytes may abort or throw past its API boundary, and no
// caller ever decides a status by reading `message`.
//
// Header-only and dependency-free: the ISA decoder at the very bottom
// reports its errors in the same type as every later stage.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace xo {

// Where in the host pipeline an error arose, in pipeline order.
enum class Stage : std::uint8_t {
  Unspecified = 0,
  Input,         // reading the guest's object or request (ELF, options, frame)
  Decode,        // bytecode -> instructions
  Preverify,     // structural, CFG, dataflow, policy
  Translate,     // map refs, allowlist, flavor lowering, debug info
  HostObjects,   // BTF, maps, stats map, pins on the host
  KernelVerify,  // the host kernel's verifier
  Attach,        // tc/tcx, chain slot
  Session,       // handles, quotas, rate
};
std::string_view stage_name(Stage s);

// A diagnostic. `code` is a positive errno (EINVAL unless the producer knows
// better: EPERM for policy, EBADF for unknown handles, EDQUOT for quotas,
// E2BIG for bounds, the kernel's own errno for kernel refusals). `pc` is
// the guest instruction slot (kernel numbering: ld_imm64 takes two).
struct Error {
  std::string message;
  std::optional<std::size_t> pc{};
  int code = EINVAL;
  Stage stage = Stage::Unspecified;

  std::string describe() const {
    return pc ? "insn " + std::to_string(*pc) + ": " + message : message;
  }
  // The same error, attributed to `s` unless a deeper stage already was.
  Error at_stage(Stage s) const& {
    Error e = *this;
    if (e.stage == Stage::Unspecified) e.stage = s;
    return e;
  }
  Error&& at_stage(Stage s) && {
    if (stage == Stage::Unspecified) stage = s;
    return std::move(*this);
  }
  // The same error with a prefix on its message ("prog 'x': ...").
  Error prefixed(std::string_view prefix) const {
    Error e = *this;
    e.message = std::string(prefix) + e.message;
    return e;
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
inline Error err(int code, std::string message) { return Error{std::move(message), std::nullopt, code}; }
inline Error err_at(std::size_t pc, std::string message) { return Error{std::move(message), pc}; }
inline Error err_at(std::size_t pc, int code, std::string message) {
  return Error{std::move(message), pc, code};
}

inline std::string_view stage_name(Stage s) {
  switch (s) {
    case Stage::Unspecified: return "unspecified";
    case Stage::Input: return "input";
    case Stage::Decode: return "decode";
    case Stage::Preverify: return "preverify";
    case Stage::Translate: return "translate";
    case Stage::HostObjects: return "host-objects";
    case Stage::KernelVerify: return "kernel-verify";
    case Stage::Attach: return "attach";
    case Stage::Session: return "session";
  }
  return "unspecified";
}

}  // namespace xo
