// libFuzzer target for the host's program path: a guest Submission (decoded
// from the fuzz bytes, layout in fuzz_input.hpp) goes through the
// pre-verifier, and when it is accepted, through the translator, exactly as
// the daemon runs them on a PROG_LOAD.
//
// Properties (a violation traps, which libFuzzer reports as a crash):
//  * preverify() and translate() never crash; a rejection is an Error with a
//    one-line message naming the program, and a pc (when set) inside the
//    guest program;
//  * translate() asks the handle->fd function only about declared handles;
//  * an accepted translation decodes with isa::decode and has a valid
//    structure (isa::analyze), every map reference carries one of the host
//    fds that were handed out, the prog type matches the flavor, the index
//    map covers every guest slot with host slots in range and in order, and
//    func_info / line_info are strictly increasing and inside the program.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>

#include "fuzz/verifier/fuzz_input.hpp"
#include "translator/isa/codec.hpp"
#include "translator/isa/program.hpp"
#include "translator/passes/epilogue.hpp"
#include "translator/passes/passes.hpp"
#include "verifier-front/preverify.hpp"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr int kFirstHostFd = 100;
constexpr int kStatsFd = 99;
constexpr std::uint32_t kTapIfindex = 9;

void check_rejection(const xo::Error& e, const xo::Submission& sub) {
  require(!e.message.empty());
  require(e.message.find('\n') == std::string::npos);
  require(e.message.rfind("prog '" + sub.name + "'", 0) == 0);
  if (e.pc) require(*e.pc < sub.insns.size());
}

template <typename Info>
void check_sorted_inside(const std::vector<Info>& infos, std::size_t host_slots,
                         std::span<const std::size_t> layout) {
  for (std::size_t i = 0; i < infos.size(); ++i) {
    require(infos[i].insn_off < host_slots);
    require(xo::isa::index_at_slot(layout, infos[i].insn_off).has_value());
    if (i > 0) require(infos[i - 1].insn_off < infos[i].insn_off);
  }
}

void check_translation(const xo::translator::Translated& out, std::span<const xo::isa::RawInsn> bytes,
                       const xo::fuzz::FuzzCase& c, std::size_t guest_slots) {
  using namespace xo::isa;
  require(out.prog_type == (c.flavor == xo::Flavor::Tc ? xo::uapi::kProgTypeSchedCls
                                                        : xo::uapi::kProgTypeXdp));
  auto host = decode(bytes);
  require(host.ok());
  auto structure = analyze(*host);
  require(structure.ok());
  const std::size_t host_slots = bytes.size();

  for (const Insn& insn : *host) {
    std::optional<int> fd;
    std::optional<std::uint32_t> value_off;
    if (auto* m = std::get_if<LoadMapFd>(&insn)) fd = m->fd;
    if (auto* v = std::get_if<LoadMapValue>(&insn)) fd = v->fd, value_off = v->off;
    require(!std::holds_alternative<LoadMapIdx>(insn));
    require(!std::holds_alternative<LoadMapIdxValue>(insn));
    if (!fd) continue;
    if (c.stats_map && *fd == kStatsFd && value_off == 0u) continue;  // the stats row base
    const int index = *fd - kFirstHostFd;
    require(index >= 0 && std::size_t(index) < c.sub.maps.size());
    if (value_off) require(*value_off < c.sub.maps[std::size_t(index)].value_size);
  }

  const IndexMap& map = out.index_map;
  require(map.old_to_new.size() == guest_slots + 1);
  require(map.new_to_old.size() == host_slots);
  for (std::size_t s = 0; s < map.old_to_new.size(); ++s) {
    require(map.old_to_new[s] <= host_slots);
    if (s > 0) require(map.old_to_new[s - 1] <= map.old_to_new[s]);
  }
  for (const auto& old : map.new_to_old)
    if (old) require(*old < guest_slots);

  check_sorted_inside(out.func_info, host_slots, structure->layout);
  check_sorted_inside(out.line_info, host_slots, structure->layout);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return 0;  // long inputs only slow the search down
  const xo::fuzz::FuzzCase c = xo::fuzz::parse_fuzz_input(std::span(data, size));
  const xo::Submission& sub = c.sub;

  const xo::DefaultPolicy policy;
  const xo::SubmissionMaps maps(sub);
  auto report = xo::preverify(sub, policy, maps, c.flavor);
  if (!report.ok()) {
    check_rejection(report.error(), sub);
    return 0;
  }
  for (const auto& note : report->notes) {
    require(note.pc < sub.insns.size());
    require(note.message.find('\n') == std::string::npos);
  }

  // The session's maps: declared handles get host fds 100, 101, ... in
  // declaration order (the first declaration wins, as in SubmissionMaps).
  auto host_fd_of_handle = [&sub, &c](std::uint32_t handle) -> std::optional<int> {
    if (handle == xo::translator::kStatsMapHandle && c.stats_map) return kStatsFd;
    for (std::size_t i = 0; i < sub.maps.size(); ++i)
      if (sub.maps[i].handle == handle) return kFirstHostFd + int(i);
    __builtin_trap();  // encoding must only ask about declared handles
  };
  xo::translator::TranslateOptions options;
  options.flavor = c.flavor;
  options.tap_ifindex = kTapIfindex;
  options.stats = c.stats_map;
  options.stats_cpus = 2;
  options.guest_ifindex = sub.guest_ifindex;
  auto translated = xo::translator::translate(sub, policy, options);
  if (!translated.ok()) {
    check_rejection(translated.error(), sub);
    // Only tc, chain and tun are translated here; other flavors must be refused.
    return 0;
  }
  require(c.flavor == xo::Flavor::Tc || c.flavor == xo::Flavor::Chain || c.flavor == xo::Flavor::Tun);
  auto bytes = translated->encode(sub, host_fd_of_handle);
  require(bytes.ok());
  check_translation(*translated, *bytes, c, sub.insns.size());
  return 0;
}
