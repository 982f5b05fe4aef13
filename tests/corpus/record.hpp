// One corpus program's outcome: what the kernel says natively, what
// xoffload says in each flavor, and whether the program uses objects that
// only the guest can finish (redirect targets, AF_XDP, perf events).
// Records cross from the per-program child process to the parent as JSON.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"

namespace xo::corpus {

struct Outcome {
  bool ran = false;        // false: not attempted (compile failure, crash before it)
  bool ok = false;
  std::string reason;      // one line; empty when ok
  std::string stage;       // stage_name() for xoffload; "kernel" / "libbpf" natively
  int code = 0;            // positive errno of the refusal
};

struct ProgramRecord {
  std::string origin;   // linux | suricata | xdp-tools
  std::string source;   // source file (or shipped object) the program comes from
  std::string object;   // object path relative to the corpus build, "-" if none
  std::string program;  // function name, "-" for a file that did not compile
  std::string section;  // ELF section, e.g. "xdp", "xdp.frags", "xdp/devmap"
  bool compiled = true;
  std::string compile_error;  // first clang error line when !compiled

  Outcome native, tc, chain;
  // What the program uses that the guest has to finish, e.g.
  // "helper bpf_redirect_map (51)", "map tx_port (DEVMAP)". Empty: none.
  std::vector<std::string> guest_side;
  // Maps the loaded program references (with its subprograms), by the
  // object's names; from the native load.
  std::vector<std::string> used_maps;
  std::vector<std::string> notes;  // e.g. how the native load sized a map
  std::string crash;  // non-empty: the child died in this step (signal / timeout)

  bool target() const { return compiled && native.ok && guest_side.empty() && crash.empty(); }
};

std::string to_json(const ProgramRecord& r);
Result<ProgramRecord> from_json(const std::string& text);

// Outcome of an xoffload Error: its message, stage and errno.
Outcome refused(const Error& e);

}  // namespace xo::corpus
