// Option tables of the subcommands that are not built yet. Each moves to its own
// cmd_<name>.cpp when its issue lands.
#include "launch/commands.h"
#include "launch/not_built.h"

namespace rlae::cli {

int cmd_replay(int argc, const char* const* argv) {
  po::options_description desc("replay");
  desc.add_options()("shards", opt<std::string>("DIR"), "replay shard directory");
  return not_built({"replay", "inspect and re-train from replay shards", "rlae replay --shards DIR"},
                   desc, argc, argv, "replay shards come with RL training, issue 7");
}

int cmd_sweep(int argc, const char* const* argv) {
  po::options_description desc("sweep");
  desc.add_options()("grid", opt<std::string>("FILE"), "sweep definition");
  return not_built({"sweep", "hyperparameter sweeps", "rlae sweep --grid FILE"}, desc, argc, argv,
                   "sweeps need RL training, issue 7");
}


}  // namespace rlae::cli
