#include "launch/not_built.h"

#include <cstdio>
#include <iostream>

#include "launch/commands.h"

namespace rlae::cli {

int not_built(const CommandSpec& spec, const po::options_description& desc, int argc,
              const char* const* argv, const char* what_is_missing) {
  if (!parse_command_options(spec, desc, argc, argv, std::cout)) return kExitOk;  // --help
  std::fprintf(stderr, "rlae %s: not built yet (%s)\n", spec.name.c_str(), what_is_missing);
  return kExitNotBuilt;
}

}  // namespace rlae::cli
