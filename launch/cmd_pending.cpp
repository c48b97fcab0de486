// Option tables of the subcommands that are not built yet. Each moves to its own
// cmd_<name>.cpp when its issue lands.
#include "launch/commands.h"
#include "launch/not_built.h"

namespace rlae::cli {

int cmd_eval(int argc, const char* const* argv) {
  po::options_description desc("eval");
  desc.add_options()
      ("models", opt<std::string>("DIR[,DIR...]"), "member model directories")
      ("data", opt<std::string>("FILE"), "dataset (JSONL)")
      ("policy", opt<std::string>("POLICY", "uniform"), "uniform | weights:W,... | single:NAME | ...")
      ("out", opt<std::string>("FILE"), "write results as JSON");
  return not_built({"eval", "accuracy and latency on a dataset", "rlae eval --models A,B --data FILE"},
                   desc, argc, argv, "the evaluation harness is issue 4 / 5");
}

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

int cmd_pretrain(int argc, const char* const* argv) {
  po::options_description desc("pretrain");
  desc.add_options()("out", opt<std::string>("DIR"), "output model directory");
  return not_built({"pretrain", "train a tiny member", "rlae pretrain --config X.ini"}, desc, argc,
                   argv, "member pretraining is issue 4");
}

}  // namespace rlae::cli
