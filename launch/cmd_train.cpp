// rlae train: the RLAE training job (learner on rank 0, actor groups on the rest).
#include "launch/commands.h"
#include "launch/not_built.h"

namespace rlae::cli {
namespace {

// The training configuration; reference defaults from ../shared/DESIGN.md.
po::options_description train_options() {
  po::options_description run("Run");
  run.add_options()
      ("members", opt<std::string>("DIR[,DIR...]"), "member model directories (K members)")
      ("train-data", opt<std::string>("FILE"), "training prompts (JSONL)")
      ("out", opt<std::string>("DIR", "runs/train"), "run directory (metrics, checkpoints, replay)")
      ("algo", opt<std::string>("NAME", "mappo"), "mappo (one agent per member) | ppo (one agent)")
      ("seed", opt<long long>("S", 0), "random seed")
      ("iterations", opt<int>("N", 100), "training iterations")
      ("resume", po::bool_switch(), "continue from the run directory's last checkpoint");
  po::options_description decode("Decoding");
  decode.add_options()
      ("span", opt<int>("L", 4), "tokens per weight decision")
      ("max-new-tokens", opt<int>("N", 128), "tokens generated per answer")
      ("batch", opt<int>("B", 16), "prompts decoded together per group");
  po::options_description ppo("PPO");
  ppo.add_options()
      ("lr", opt<double>("FLOAT", 1e-4), "Adam learning rate")
      ("clip", opt<double>("FLOAT", 0.2), "PPO clip range")
      ("entropy-coef", opt<double>("FLOAT", 0.01), "entropy bonus")
      ("value-coef", opt<double>("FLOAT", 0.5), "value loss coefficient")
      ("epochs", opt<int>("N", 3), "update epochs per batch")
      ("gamma", opt<double>("FLOAT", 0.99), "discount")
      ("gae-lambda", opt<double>("FLOAT", 0.95), "GAE lambda")
      ("max-grad-norm", opt<double>("FLOAT", 1.0), "gradient-norm clip");
  po::options_description all("train");
  all.add(run).add(decode).add(ppo);
  return all;
}

}  // namespace

int cmd_train(int argc, const char* const* argv) {
  return not_built({"train", "train an RLAE ensemble policy",
                    "mpirun -np 1+G*K rlae train --config run.ini [options]"},
                   train_options(), argc, argv, "RL training is issue 7");
}

}  // namespace rlae::cli
