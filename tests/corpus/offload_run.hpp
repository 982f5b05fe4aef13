// xoffload's verdict on a corpus program, through the real host pipeline:
// the guest builder turns the object into a Submission, and host::Offload
// loads it as xoffloadd's sessions do (BTF, host maps, stats map,
// preverify, translate, host kernel verifier, pins), for one flavor, with
// attach = false: nothing is attached to the tap.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/policy.hpp"
#include "core/submission.hpp"
#include "tests/corpus/record.hpp"
#include "tests/host/netdev.hpp"

namespace xo::corpus {

// Where the offloads are loaded: a tap of the runner's netns and a bpffs
// directory of the runner's own.
struct OffloadTarget {
  std::string tap;
  std::string pin_root;
  std::string session;  // unique per load
};

// Moves the calling process into a network namespace of its own (unshare),
// with lo up and one tap: what the runner loads and test-runs touches
// nothing of the machine's, and all of it goes with the process. Needs root.
Result<std::unique_ptr<test::Tap>> private_netns_with_tap();

// The builder's Submission for `program`, or its refusal (stage "input"
// when the builder did not say otherwise). `sized_maps` get
// kDefaultMapEntries entries (--map-size), as the native load gave them.
Result<Submission> build(const std::string& object_path, const std::string& program,
                         const std::vector<std::string>& sized_maps, std::vector<std::string>* notes);

// Offload::load for one flavor. Notes from every stage go to `notes`,
// prefixed with the flavor.
Outcome offload(const Submission& sub, Flavor flavor, const OffloadTarget& target, std::vector<std::string>* notes);

}  // namespace xo::corpus
