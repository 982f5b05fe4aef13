// Reading a TCG guest's console in the end-to-end tests: the guest scripts
// print markers ("XO-DONE rc=0 rx=5") and the sample loaders their totals
// ("total proto 17: 30"); the tests wait for and parse them here.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "tests/e2e/vm_boot_harness.hpp"

namespace xo::e2e {

// Waits up to `limit` for `marker` on the console; false when it never came
// (or the VM ended without it).
bool wait_console(GuestVm& vm, const std::string& marker, std::chrono::seconds limit);

// "key=N" on the first line of `text` that contains `marker`; -1 when absent.
long marker_value(const std::string& text, const std::string& marker, const std::string& key);

// xdp1/xdp2's exit lines "total proto N: <packets>" in `section`: protocol -> packets.
std::map<int, long> proto_totals(const std::string& section);

}  // namespace xo::e2e
