// Every xoffload subcommand: one cmd_<name>.cpp each. Keep in step with the
// table in main.cpp.
#pragma once

#include "tools/cli.hpp"

namespace xo::cli {

const Command& disasm_command();
const Command& asm_command();
const Command& verify_command();
const Command& translate_command();
const Command& dump_command();
const Command& run_command();
const Command& load_command();
const Command& unload_command();
const Command& status_command();

}  // namespace xo::cli
