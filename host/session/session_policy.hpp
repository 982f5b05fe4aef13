// A session's policy: the default allowlist (verifier-front) minus the
// helpers the admin denies for this session, restricted to the flavors the
// session offers, with the session's loop bound. It is what CAPS advertises and what PROG_LOAD enforces.
#pragma once

#include <algorithm>
#include <vector>

#include "core/policy.hpp"

namespace xo::session {

class SessionPolicy final : public Policy {
 public:
  SessionPolicy(std::vector<std::int32_t> denied, FlavorSet flavors,
                std::uint64_t max_loop_iterations = kDefaultMaxLoopIterations)
      : denied_(std::move(denied)), flavors_(flavors & base_.flavors()), max_loop_iterations_(max_loop_iterations) {}

  const HelperProto* helper(std::int32_t id) const override {
    if (std::find(denied_.begin(), denied_.end(), id) != denied_.end()) return nullptr;
    return base_.helper(id);
  }
  std::vector<HelperProto> helpers() const override {
    std::vector<HelperProto> out;
    for (auto& h : base_.helpers())
      if (helper(h.id)) out.push_back(h);
    return out;
  }
  FlavorSet flavors() const override { return flavors_; }
  std::uint64_t max_loop_iterations() const override { return max_loop_iterations_; }
  const KfuncProto* kfunc(std::string_view name) const override { return base_.kfunc(name); }

 private:
  DefaultPolicy base_;
  std::vector<std::int32_t> denied_;
  FlavorSet flavors_;
  std::uint64_t max_loop_iterations_;
};

}  // namespace xo::session
