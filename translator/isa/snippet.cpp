#include "translator/isa/snippet.hpp"

#include <cstdint>
#include <variant>

namespace xo::isa {

Snippet& Snippet::emit(Insn insn) {
  items_.push_back({std::move(insn), {}});
  return *this;
}

Snippet& Snippet::jump(Insn insn, const std::string& label) {
  items_.push_back({std::move(insn), label});
  return *this;
}

Snippet& Snippet::label(const std::string& name) {
  labels_.emplace_back(name, items_.size());
  return *this;
}

Snippet& Snippet::append(const Snippet& other) {
  const std::size_t base = items_.size();
  for (const auto& [name, at] : other.labels_) labels_.emplace_back(name, base + at);
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  return *this;
}

Snippet Snippet::scoped(const std::string& prefix) const {
  Snippet out = *this;
  for (auto& [name, at] : out.labels_) name = prefix + name;
  for (auto& item : out.items_)
    if (!item.target.empty()) item.target = prefix + item.target;
  return out;
}


std::vector<Emit> Snippet::build() const {
  std::vector<std::size_t> slot(items_.size() + 1, 0);
  for (std::size_t i = 0; i < items_.size(); ++i) slot[i + 1] = slot[i] + slot_width(items_[i].insn);
  auto slot_of_label = [&](const std::string& name) -> std::size_t {
    for (const auto& [n, at] : labels_)
      if (n == name) return slot[at];
    return slot.back();  // unreachable for well-formed snippets: jump to the end
  };
  std::vector<Emit> out;
  out.reserve(items_.size());
  for (std::size_t i = 0; i < items_.size(); ++i) {
    Insn insn = items_[i].insn;
    if (!items_[i].target.empty()) {
      auto off = static_cast<std::int64_t>(slot_of_label(items_[i].target)) -
                 static_cast<std::int64_t>(slot[i] + 1);
      if (auto* j = std::get_if<Jmp>(&insn)) j->off = static_cast<std::int16_t>(off);
      if (auto* a = std::get_if<Ja>(&insn)) a->off = static_cast<std::int32_t>(off);
    }
    out.push_back(Emit{insn});
  }
  return out;
}

}  // namespace xo::isa
