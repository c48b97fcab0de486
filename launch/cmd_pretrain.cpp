// rlae pretrain: train a tiny member from scratch.
#include "launch/commands.h"
#include "launch/not_built.h"

namespace rlae::cli {

int cmd_pretrain(int argc, const char* const* argv) {
  po::options_description desc("pretrain");
  desc.add_options()("out", opt<std::string>("DIR"), "output model directory");
  return not_built({"pretrain", "train a tiny member", "rlae pretrain --config X.ini"}, desc, argc, argv,
                   "member pretraining is issue 4");
}

}  // namespace rlae::cli
