#include "host/core/kernel_log.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

namespace xo::host {

std::string errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case ENOTSUP: return "EOPNOTSUPP";
    case ENODEV: return "ENODEV";
    default: return "errno " + std::to_string(e) + " (" + std::strerror(e) + ")";
  }
}

std::string log_tail(std::string_view log, int lines) {
  std::vector<std::string_view> kept;
  while (!log.empty() && static_cast<int>(kept.size()) < lines) {
    auto nl = log.find_last_of('\n', log.size() - 1);
    std::string_view line = nl == std::string_view::npos ? log : log.substr(nl + 1);
    log = nl == std::string_view::npos ? std::string_view{} : log.substr(0, nl);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (!line.empty()) kept.push_back(line);
  }
  std::string out;
  for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
    if (!out.empty()) out += "; ";
    out += *it;
  }
  return out.empty() ? "(no kernel log)" : out;
}

}  // namespace xo::host
