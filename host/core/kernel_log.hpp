// Small helpers for turning kernel answers (errno, verifier/BTF logs) into
// one-line diagnostics.
#pragma once

#include <string>
#include <string_view>

namespace xo::host {

// "EINVAL", "EPERM", ...; falls back to "errno N".
std::string errno_name(int e);
// The last `lines` non-empty lines of a kernel log, joined with "; ".
std::string log_tail(std::string_view log, int lines);

}  // namespace xo::host
