// Shared helpers for the builder tests: object paths and raw-insn scans.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <tuple>
#include <vector>

#include "guest/builder/elf_builder.hpp"
#include "translator/isa/codec.hpp"

namespace xo::guest::testing {

inline std::string prog_obj(const std::string& name) {
  return std::string(XO_BUILDER_PROGS_DIR) + "/builder_" + name + ".o";
}

inline Submission build_ok(const std::string& path, std::optional<std::string> prog = std::nullopt) {
  auto sub = build_submission_from_file(path, prog);
  if (!sub) {
    ADD_FAILURE() << path << ": " << sub.error().message;
    return {};
  }
  return std::move(sub).value();
}

struct MapRef {
  std::size_t pc;
  std::uint8_t src;  // BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE
  std::int32_t handle;
  std::int32_t off;  // second slot imm
  bool operator==(const MapRef&) const = default;
};

// Every ld_imm64 that names a map (fd or value), in order.
inline std::vector<MapRef> map_refs(const Submission& s) {
  std::vector<MapRef> out;
  isa::for_each_insn(s.insns, [&](std::size_t pc, const isa::Insn& insn) {
    if (auto* m = std::get_if<isa::LoadMapFd>(&insn)) out.push_back({pc, BPF_PSEUDO_MAP_FD, m->fd, 0});
    if (auto* v = std::get_if<isa::LoadMapValue>(&insn))
      out.push_back({pc, BPF_PSEUDO_MAP_VALUE, v->fd, static_cast<std::int32_t>(v->off)});
  });
  return out;
}

inline const MapDef* map_named(const Submission& s, const std::string& name) {
  for (const auto& m : s.maps)
    if (m.name == name) return &m;
  return nullptr;
}

// Slots of every bpf-to-bpf call target (pc + 1 + imm).
inline std::vector<std::size_t> call_targets(const Submission& s) {
  std::vector<std::size_t> out;
  isa::for_each_insn(s.insns, [&](std::size_t pc, const isa::Insn& insn) {
    if (auto* c = std::get_if<isa::CallLocal>(&insn))
      out.push_back(static_cast<std::size_t>(static_cast<std::int64_t>(pc) + 1 + c->off));
  });
  return out;
}

}  // namespace xo::guest::testing
