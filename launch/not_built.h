// Subcommands whose issue has not landed yet: they parse their options (so that
// a wrong option is still exit 2) and then say plainly that they are not built.
#pragma once

#include "common/options.h"

namespace rlae::cli {

int not_built(const CommandSpec& spec, const po::options_description& desc, int argc,
              const char* const* argv, const char* what_is_missing);

}  // namespace rlae::cli
