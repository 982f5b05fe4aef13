#include "tests/corpus/offload_run.hpp"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "guest/builder/elf_builder.hpp"
#include "host/core/offload.hpp"
#include "tests/corpus/native.hpp"

namespace xo::corpus {

Result<std::unique_ptr<test::Tap>> private_netns_with_tap() {
  if (unshare(CLONE_NEWNET) != 0)
    return err(errno, std::string("needs root (unshare CLONE_NEWNET): ") + std::strerror(errno));
  try {
    test::set_up("lo");
    return std::make_unique<test::Tap>();
  } catch (const std::exception& e) {
    return err(EIO, std::string("cannot create the tap: ") + e.what());
  }
}

namespace {

// The guest NIC's ifindex a guest would send (the CLI's --guest-ifindex).
constexpr std::uint32_t kGuestIfindex = 2;

}  // namespace

Result<Submission> build(const std::string& object_path, const std::string& program,
                         const std::vector<std::string>& sized_maps, std::vector<std::string>* notes) {
  guest::BuildOptions options;
  options.program = program;
  for (const auto& name : sized_maps) options.map_sizes[name] = kDefaultMapEntries;
  auto built = guest::build_program_from_file(object_path, options);
  if (!built) return built.error().at_stage(Stage::Input);
  for (const auto& name : sized_maps)
    notes->push_back("xoffload: --map-size " + name + "=" + std::to_string(kDefaultMapEntries) + ", as natively");
  built->submission.guest_ifindex = kGuestIfindex;
  return std::move(built->submission);
}

Outcome offload(const Submission& sub, Flavor flavor, const OffloadTarget& target, std::vector<std::string>* notes) {
  host::OffloadOptions o;
  o.session = target.session;
  o.tap = target.tap;
  o.flavor = flavor;
  o.attach = false;
  o.pin_root = target.pin_root;
  DefaultPolicy policy;
  host::LoadReport report;
  auto off = host::Offload::load(o, sub, policy, &report);
  for (const auto& n : report.notes) notes->push_back(std::string(flavor_name(flavor)) + ": " + n);
  // Why the host did not retry with pointer-leak rights (pipeline.cpp ends
  // the mapped log with that line): what a user of the corpus table asks.
  const auto host_line = report.verifier_log.rfind("host: ");
  if (!off && host_line != std::string::npos)
    notes->push_back(std::string(flavor_name(flavor)) + ": " +
                     report.verifier_log.substr(host_line, report.verifier_log.find('\n', host_line) - host_line));
  if (!off) return refused(off.error());
  return Outcome{true, true, "", "", 0};
}

}  // namespace xo::corpus
