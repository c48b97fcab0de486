// Option tables of the subcommands that are not built yet. Each moves to its own
// cmd_<name>.cpp when its issue lands.
#include "launch/commands.h"
#include "launch/not_built.h"

namespace rlae::cli {

int cmd_sweep(int argc, const char* const* argv) {
  po::options_description desc("sweep");
  desc.add_options()("grid", opt<std::string>("FILE"), "sweep definition");
  return not_built({"sweep", "hyperparameter sweeps", "rlae sweep --grid FILE"}, desc, argc, argv,
                   "sweeps are not built yet (no issue filed)");
}


}  // namespace rlae::cli
