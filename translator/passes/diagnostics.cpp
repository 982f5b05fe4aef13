#include "translator/passes/diagnostics.hpp"

namespace xo::translator {

Error Diagnoser::at(std::size_t pc, const std::string& reason) const {
  std::string msg = "prog '" + sub_.name + "': insn " + std::to_string(pc);
  if (auto line = source_line(sub_, strings_, pc)) msg += " (" + format_location(*line) + ")";
  return err_at(pc, msg + ": " + reason);
}

Error Diagnoser::whole(const std::string& reason) const {
  return err("prog '" + sub_.name + "': " + reason);
}

}  // namespace xo::translator
