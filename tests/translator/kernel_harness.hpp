// Real-kernel plumbing for the semantics test: maps from a Submission's map
// definitions, program loads with BTF + func/line info, BPF_PROG_TEST_RUN,
// and map dumps. Every fd has one owner (UniqueFd).
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "translator/isa/codec.hpp"
#include "core/policy.hpp"
#include "core/submission.hpp"
#include "core/unique_fd.hpp"

namespace xo::test {

inline std::string errno_text(int e) { return std::string(std::strerror(e)); }

// Host maps for one submission: one kernel map per MapDef, by guest handle.
class HostMaps {
 public:
  // Empty `error()` on success.
  // With a BTF fd, maps that name value/key types get them (a bpf_spin_lock
  // in a value needs its BTF), as host/core/host_maps.cpp creates them.
  explicit HostMaps(const std::vector<MapDef>& defs, int btf_fd = -1) {
    for (const auto& d : defs) {
      LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = d.flags);
      if (btf_fd >= 0 && (d.btf_key_type_id || d.btf_value_type_id)) {
        o.btf_fd = static_cast<__u32>(btf_fd);
        o.btf_key_type_id = d.btf_key_type_id;
        o.btf_value_type_id = d.btf_value_type_id;
      }
      std::string name = d.name.substr(0, 15);
      for (char& c : name)
        if (c == '.') c = '_';
      int fd = bpf_map_create(static_cast<bpf_map_type>(d.type), name.c_str(), d.key_size,
                              d.value_size, d.max_entries, &o);
      if (fd < 0) {
        error_ = "bpf_map_create(" + d.name + "): " + errno_text(errno);
        return;
      }
      UniqueFd owned(fd);
      if (!d.initial_value.empty()) {
        std::uint32_t key = 0;
        std::vector<std::uint8_t> v = d.initial_value;
        v.resize(d.value_size);
        if (bpf_map_update_elem(fd, &key, v.data(), 0)) {
          error_ = "initial value of " + d.name + ": " + errno_text(errno);
          return;
        }
      }
      maps_.push_back({d, std::move(owned)});
    }
  }
  const std::string& error() const { return error_; }

  std::optional<int> fd_of(std::uint32_t handle) const {
    for (const auto& m : maps_)
      if (m.def.handle == handle) return m.fd.get();
    return std::nullopt;
  }

  // name -> sorted (key, value) pairs, values of per-CPU maps for all CPUs.
  using Dump = std::map<std::string, std::map<std::vector<std::uint8_t>, std::vector<std::uint8_t>>>;
  Dump dump() const {
    Dump out;
    const int ncpu = libbpf_num_possible_cpus();
    for (const auto& m : maps_) {
      const bool percpu = m.def.type == MapType::PercpuArray || m.def.type == MapType::PercpuHash ||
                          m.def.type == MapType::LruPercpuHash;
      const std::size_t vsize = percpu ? ((m.def.value_size + 7) / 8 * 8) * ncpu : m.def.value_size;
      auto& entries = out[m.def.name];
      std::vector<std::uint8_t> key(m.def.key_size), next(m.def.key_size), value(vsize);
      void* prev = nullptr;
      while (bpf_map_get_next_key(m.fd.get(), prev, next.data()) == 0) {
        if (bpf_map_lookup_elem(m.fd.get(), next.data(), value.data()) == 0) entries[next] = value;
        key = next;
        prev = key.data();
      }
    }
    return out;
  }

 private:
  struct Map {
    MapDef def;
    UniqueFd fd;
  };
  std::vector<Map> maps_;
  std::string error_;
};

// Host fds instead of guest handles, in place (the original program, run as is).
inline std::vector<isa::RawInsn> with_host_fds(const std::vector<isa::RawInsn>& raw,
                                               const HostMaps& maps) {
  auto insns = isa::decode(raw);
  if (!insns) return {};
  for (auto& i : *insns) {
    if (auto* m = std::get_if<isa::LoadMapFd>(&i)) m->fd = maps.fd_of(m->fd).value_or(-1);
    if (auto* v = std::get_if<isa::LoadMapValue>(&i)) v->fd = maps.fd_of(v->fd).value_or(-1);
  }
  return isa::encode(*insns);
}

struct Loaded {
  UniqueFd prog;
  std::string log;  // verifier log on failure
};

inline Loaded load_program(std::uint32_t prog_type, const std::string& name,
                           const std::vector<isa::RawInsn>& insns, const Submission& sub,
                           const std::vector<FuncInfo>& func_info,
                           const std::vector<LineInfo>& line_info, int btf_fd,
                           std::uint32_t expected_attach_type = 0) {
  static_assert(sizeof(isa::RawInsn) == sizeof(bpf_insn));
  Loaded out;
  std::vector<char> log(1 << 20);
  LIBBPF_OPTS(bpf_prog_load_opts, o,
              .expected_attach_type = static_cast<bpf_attach_type>(expected_attach_type));
  if (btf_fd >= 0) {
    o.prog_btf_fd = btf_fd;
    if (!func_info.empty()) {
      o.func_info = func_info.data();
      o.func_info_cnt = func_info.size();
      o.func_info_rec_size = sizeof(FuncInfo);
    }
    if (!line_info.empty()) {
      o.line_info = line_info.data();
      o.line_info_cnt = line_info.size();
      o.line_info_rec_size = sizeof(LineInfo);
    }
  }
  o.log_buf = log.data();
  o.log_size = log.size();
  o.log_level = 0;
  int fd = bpf_prog_load(static_cast<bpf_prog_type>(prog_type), name.substr(0, 15).c_str(),
                         sub.license.empty() ? "GPL" : sub.license.c_str(),
                         reinterpret_cast<const bpf_insn*>(insns.data()), insns.size(), &o);
  if (fd < 0) {
    const int e = errno;
    o.log_level = 1;  // again, to get the verifier's reasons
    int again = bpf_prog_load(static_cast<bpf_prog_type>(prog_type), name.substr(0, 15).c_str(),
                              "GPL", reinterpret_cast<const bpf_insn*>(insns.data()),
                              insns.size(), &o);
    if (again >= 0) ::close(again);
    out.log = "bpf_prog_load: " + errno_text(e) + "\n" + std::string(log.data());
    return out;
  }
  out.prog = UniqueFd(fd);
  return out;
}

inline UniqueFd load_btf(const std::vector<std::uint8_t>& btf) {
  if (btf.empty()) return UniqueFd();
  return UniqueFd(bpf_btf_load(btf.data(), btf.size(), nullptr));
}

struct RunResult {
  int err = 0;  // errno of BPF_PROG_TEST_RUN, 0 on success
  std::uint32_t retval = 0;
  std::vector<std::uint8_t> packet;
};

inline RunResult test_run(int prog_fd, const std::vector<std::uint8_t>& packet) {
  RunResult r;
  std::vector<std::uint8_t> out(8192);
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = packet.data(), .data_out = out.data(),
              .data_size_in = static_cast<__u32>(packet.size()),
              .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
  if (bpf_prog_test_run_opts(prog_fd, &o) != 0) {
    r.err = errno;
    return r;
  }
  r.retval = o.retval;
  out.resize(o.data_size_out);
  r.packet = std::move(out);
  return r;
}

// What the translated program returns for the guest's XDP action, written
// from ARCHITECTURE.md, not from the translator:
//   tc:    PASS -> TC_ACT_OK; TX -> TC_ACT_REDIRECT (bpf_redirect to the tap's
//          ingress); ABORTED, DROP, REDIRECT, unknown -> TC_ACT_SHOT
//   chain: ABORTED, DROP, TX native; PASS -> XDP_REDIRECT (bpf_redirect into
//          the tap); REDIRECT, unknown -> XDP_DROP
inline std::uint32_t expected_host_verdict(Flavor f, std::uint32_t xdp_action) {
  if (f == Flavor::Tc) {
    switch (xdp_action) {
      case 2: return 0;
      case 3: return 7;
      default: return 2;
    }
  }
  switch (xdp_action) {
    case 0: case 1: case 3: return xdp_action;
    case 2: return 4;
    default: return 1;
  }
}

}  // namespace xo::test
