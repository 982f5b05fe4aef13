#include "tests/corpus/manifest.hpp"

#include <fstream>
#include <sstream>

namespace xo::corpus {

Result<Manifest> read_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) return err(ENOENT, "cannot read the corpus manifest " + path);
  Manifest m;
  auto slash = path.rfind('/');
  m.dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      m.provenance.push_back(line.substr(line.rfind("# ", 0) == 0 ? 2 : 1));
      continue;
    }
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string x;
    while (std::getline(fields, x, '\t')) f.push_back(x);
    if (f.size() < 4) return err(path + ":" + std::to_string(n) + ": expected origin, source, object, status, note");
    f.resize(5);
    m.entries.push_back({f[0], f[1], f[2], f[3], f[4]});
  }
  if (m.entries.empty()) return err(path + ": the manifest lists no source file");
  return m;
}

}  // namespace xo::corpus
