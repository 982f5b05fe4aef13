#include "tests/e2e/guest_console.hpp"

#include <regex>
#include <thread>

namespace xo::e2e {

using namespace std::chrono_literals;

bool wait_console(GuestVm& vm, const std::string& marker, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (vm.console().find(marker) != std::string::npos) return true;
    if (vm.wait(0ms)) return vm.console().find(marker) != std::string::npos;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

long marker_value(const std::string& text, const std::string& marker, const std::string& key) {
  const std::regex re(marker + R"([^\n]*\b)" + key + R"(=(-?\d+))");
  std::smatch m;
  return std::regex_search(text, m, re) ? std::stol(m[1]) : -1;
}

std::map<int, long> proto_totals(const std::string& section) {
  std::map<int, long> c;
  static const std::regex re(R"(total proto (\d+): (\d+))");
  for (std::sregex_iterator it(section.begin(), section.end(), re), end; it != end; ++it)
    c[std::stoi((*it)[1])] = std::stol((*it)[2]);
  return c;
}

}  // namespace xo::e2e
