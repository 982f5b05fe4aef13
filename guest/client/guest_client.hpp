// The guest side of xoffload: offload a clang-built XDP object to the host
// that feeds this VM's NIC, then read and write its maps and counters there.
//
//   auto c = GuestClient::connect();            // /dev/xoffload0, a vport or a unix socket
//   auto off = c->offload_file("xdp1_kern.o", {.ifname = "eth0"});
//   auto v = c->map_lookup(off->prog, "rxcnt", key_bytes);
//
// offload() runs the whole protocol sequence for one program:
//   BTF_LOAD (when the object has BTF) -> MAP_CREATE per map, with initial
//   values -> PROG_LOAD (map refs rewritten from builder handles to the
//   host's handles; a refusal is an Error ending with the mapped verifier
//   log) -> PROG_ATTACH.
// Anything created before a failing step is freed again (PROG_UNLOAD,
// MAP_FREE, BTF_FREE).
//
// Guests only ever see host handles. The client keeps, per offloaded
// program, the names of its maps so that callers can use "rxcnt" instead of
// a handle; state that must outlive the process (the CLI) is saved with
// offload_state.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "guest/client/guest_side.hpp"
#include "guest/client/rate_pacer.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "transport/client.hpp"

namespace xo::guest {

// Where the client connects when no path is given.
inline constexpr const char* kDefaultPortLink = "/dev/xoffload0";

struct OffloadedMap {
  std::string name;  // as in the object: "rxcnt", ".data", ...
  std::uint32_t handle = 0;  // host handle
  MapType type = MapType::Array;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  bool operator==(const OffloadedMap&) const = default;
};

struct OffloadedProgram {
  std::string name;             // program (function) name
  std::uint32_t prog = 0;       // host program handle
  std::uint32_t btf = 0;        // host BTF handle, 0 = none
  std::uint8_t flavor = transport::kFlavorAny;  // flavor the host chose
  bool attached = false;
  std::vector<OffloadedMap> maps;
  // A program that defers to the guest (PROTOCOL.md 8): where its
  // guest-side maps are pinned ("" when it has none) and the trampoline on
  // the guest NIC (id 0: none), so that a later process can remove them.
  std::string guest_pin_dir;
  std::uint32_t trampoline_ifindex = 0;
  std::uint32_t trampoline_id = 0;
  std::uint32_t trampoline_mode = 0;  // XDP_FLAGS_*_MODE it was attached with
  std::string log;  // verifier log of a successful load (may be empty)
  // The cookie the program was loaded with (0: it defers nothing); the
  // guest's trampoline must carry the same one.
  std::uint64_t cookie = 0;
  std::vector<std::string> notes;  // the builder's, from offload_file (maps left out, ...); not saved
  const OffloadedMap* find_map(const std::string& name) const;
  bool operator==(const OffloadedProgram&) const = default;
};

struct OffloadOptions {
  std::uint8_t flavor = transport::kFlavorAny;  // preferred flavor
  std::string ifname;           // guest NIC; its ifindex is what ctx->ingress_ifindex reads
  std::uint32_t ifindex = 0;    // used when ifname is empty
  bool attach = true;           // false: load only (PROG_ATTACH later)
  std::optional<std::string> program;  // which program of the object (nullopt: the only one)
  // offload_file: max_entries by map name, set before load (parse_map_size
  // in elf_builder.hpp reads "NAME=N"); for maps the object leaves at 0 for
  // its loader to size, or to resize any other.
  std::map<std::string, std::uint32_t, std::less<>> map_sizes;
  // Guest-side maps (DEVMAP, XSKMAP, PERF_EVENT_ARRAY, ...) are created here
  // and pinned under <pin_root>/<ifname> (guest_maps.hpp); "" = kGuestPinRoot.
  std::string pin_root;
  // XDP_FLAGS_* for the trampoline's native attach on the NIC (0: the
  // kernel's choice, native on virtio_net).
  std::uint32_t xdp_flags = 0;
  // false: create no guest-side maps and install no trampoline here; the
  // caller carries out the descriptors itself (host-side tests that read
  // them off the tap). The cookie is still drawn and sent.
  bool install_guest_side = true;
  // PROG_LOAD's cookie (PROTOCOL.md 8.1) for a program that defers work to
  // the guest's trampoline: 0 lets offload() draw a random one when the
  // program may defer (may_defer()); OffloadedProgram::cookie says which.
  std::uint64_t cookie = 0;
};

// "tc", "chain", "devmap", "tun", "any" <-> protocol flavor numbers.
Result<std::uint8_t> parse_flavor(const std::string& name);
std::string flavor_name(std::uint8_t flavor);
// "tc,chain" for a CAPS flavor bit set.
std::string flavor_set_name(std::uint8_t bits);

// A per-CPU map value as the host returns it: one slot per host CPU, each
// value_size rounded up to 8 bytes. Sums each slot as a little-endian
// integer of min(value_size, 8) bytes. Fails when the length is not a
// whole number of slots.
Result<std::uint64_t> sum_percpu_u64(std::span<const std::uint8_t> value, std::uint32_t value_size);
// Same for a plain value: the first min(value_size, 8) bytes, little-endian.
std::uint64_t value_as_u64(std::span<const std::uint8_t> value);

class GuestClient {
 public:
  // `where` empty: /dev/xoffload0 if present, else the virtio port named
  // org.xoffload.0. A path to a unix socket connects to it; anything else is
  // opened as a character device. Pending bytes from an earlier process on
  // the same port are discarded so their replies cannot be taken for ours.
  static Result<GuestClient> connect(const std::string& where = "", int timeout_ms = 10'000);
  explicit GuestClient(transport::Client client) : client_(std::move(client)) {}

  // Also sets the client-side pacing to the host's advertised request rate.
  Result<transport::CapsReply> caps();

  Result<OffloadedProgram> offload(const Submission& submission, const OffloadOptions& options);
  // Builds the submission from a BPF ELF object first.
  Result<OffloadedProgram> offload_file(const std::string& elf_path, const OffloadOptions& options);

  // ---- maps, by handle ----
  Result<std::optional<std::vector<std::uint8_t>>> map_lookup(std::uint32_t map,
                                                             std::span<const std::uint8_t> key);
  Status map_update(std::uint32_t map, std::span<const std::uint8_t> key,
                    std::span<const std::uint8_t> value, std::uint64_t flags = 0);
  Status map_delete(std::uint32_t map, std::span<const std::uint8_t> key);
  Result<std::optional<std::vector<std::uint8_t>>> map_get_next_key(
      std::uint32_t map, std::span<const std::uint8_t> key);
  // ---- maps, by name within an offloaded program ----
  Result<const OffloadedMap*> map_named(const OffloadedProgram& prog, const std::string& name) const;
  Result<std::optional<std::vector<std::uint8_t>>> map_lookup(const OffloadedProgram& prog,
                                                             const std::string& map,
                                                             std::span<const std::uint8_t> key);
  Status map_update(const OffloadedProgram& prog, const std::string& map,
                    std::span<const std::uint8_t> key, std::span<const std::uint8_t> value,
                    std::uint64_t flags = 0);
  Status map_delete(const OffloadedProgram& prog, const std::string& map,
                    std::span<const std::uint8_t> key);
  Result<std::optional<std::vector<std::uint8_t>>> map_get_next_key(
      const OffloadedProgram& prog, const std::string& map, std::span<const std::uint8_t> key);
  // Every (key, value) of a map, walking GET_NEXT_KEY; bounded by max_entries.
  struct Entry {
    std::vector<std::uint8_t> key, value;
  };
  Result<std::vector<Entry>> dump_map(const OffloadedMap& map);

  // ---- programs ----
  Result<std::vector<transport::ActionCounter>> stats(std::uint32_t prog);
  Status attach(OffloadedProgram& prog);
  Status detach(OffloadedProgram& prog);
  // Detach (if attached), unload, remove its trampoline from the guest NIC,
  // free its maps, then its BTF; with `unpin`, also unpin its guest-side
  // maps (without: they stay for a native fallback or the next offload).
  // Keeps going after an error and returns the first one.
  Status unload(OffloadedProgram& prog, bool unpin = true);
  // Leaves the trampoline of `prog` on the NIC when this client goes away
  // (the CLI exits while the host runs the program); a later unload()
  // removes it by the id `prog` records.
  void keep_guest_side(const OffloadedProgram& prog);
  // Frees everything this session owns on the host (every program, map, BTF).
  Status reset();

  // ---- events (offload lost, detached, quota) ----
  Result<std::vector<transport::Event>> take_events() { return client_.take_events(); }
  Result<transport::Event> wait_event(int timeout_ms) { return client_.wait_event(timeout_ms); }

  transport::Client& raw() { return client_; }

 private:
  Result<std::uint32_t> create_maps(const Submission& s, std::uint32_t btf, const GuestSide& side,
                                    OffloadedProgram& out);
  // Removes prog's trampoline (owned here, or by the id it records).
  void remove_trampoline(OffloadedProgram& prog);
  // Before each request: learn the host's rate once (CAPS), then pace to it.
  void pace();
  transport::Client client_;
  bool caps_asked_ = false;
  RatePacer pacer_;
  // The guest halves of offloads made by this client, by program handle:
  // their trampolines go when the client does (RAII) unless kept.
  std::map<std::uint32_t, GuestSide> guest_sides_;
};

// The guest ifindex of a NIC name, or an Error naming it.
Result<std::uint32_t> guest_ifindex(const std::string& ifname);

// The MAP_CREATE request for one of a submission's maps. The map is typed by
// BTF only when `btf_handle` is non-zero and the def names key/value types.
// A map of maps names its inner map template by the host's handle: the one
// `host_handles` gives for def.inner_map (builder handle -> host handle;
// the template comes first in Submission::maps, so it exists already).
Result<transport::MapCreateRequest> map_create_request(
    const MapDef& def, std::uint32_t btf_handle,
    const std::vector<std::pair<std::uint32_t, std::uint32_t>>& host_handles = {});

// The PROG_LOAD request for a submission whose map references `insns`
// already name host handles (rewrite_map_handles). func_info and line_info
// travel only with a BTF (`btf_handle` non-zero), which they index.
// `cookie` travels only in protocol version 2 (0: the program defers nothing).
transport::ProgLoadRequest prog_load_request(const Submission& s, std::uint32_t guest_ifindex, std::uint8_t flavor,
                                             std::uint32_t btf_handle, std::vector<isa::RawInsn> insns,
                                             std::uint64_t cookie = 0);

// A random non-zero cookie (getrandom) for a program that defers.
std::uint64_t random_cookie();

// Rewrites map references (ld_imm64 with BPF_PSEUDO_MAP_FD/_VALUE) from the
// builder's handles to the host's: `host_handles[builder_handle]`. An insn
// naming a handle with no entry is an Error with its pc.
Result<std::vector<isa::RawInsn>> rewrite_map_handles(
    std::span<const isa::RawInsn> insns, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& host_handles);

}  // namespace xo::guest
