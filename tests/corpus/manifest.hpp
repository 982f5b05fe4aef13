// The corpus manifest written by tests/corpus/fetch-and-build: TSV, one
// line per source file or shipped object (origin, source, object, status,
// note); '#' lines say where the sources came from.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"

namespace xo::corpus {

struct ManifestEntry {
  std::string origin, source, object, status, note;
  bool compiled() const { return status == "ok"; }
};

struct Manifest {
  std::string dir;                       // the corpus build directory (objects are relative to it)
  std::vector<std::string> provenance;   // the '#' lines, without '# '
  std::vector<ManifestEntry> entries;
};

Result<Manifest> read_manifest(const std::string& path);

}  // namespace xo::corpus
