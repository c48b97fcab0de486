// rlae train's options, shared with rlae replay train (which reads a run's
// resolved config.ini with them).
#include "launch/train_options.h"

#include "common/check.h"
#include "launch/model_options.h"

namespace rlae::cli {

// The training configuration; reference defaults from ../shared/DESIGN.md.
po::options_description train_options() {
  po::options_description run("Run");
  run.add_options()
      ("members", opt<std::string>("DIR[,DIR...]"), "member model directories (K members)")
      ("train-data", opt<std::string>("FILE"), "training prompts (JSONL)")
      ("families", opt<std::string>("LIST", ""), "train on these task families only (default: all)")
      ("out", opt<std::string>("DIR", "runs/train"), "run directory (metrics, checkpoints, replay)")
      ("algo", opt<std::string>("NAME", "mappo"), "mappo (one agent per member) | ppo (one agent)")
      ("agent-obs", opt<std::string>("own|group", "own"),
       "what each mappo agent observes: own (its member's observation) | group (all members', as the critic "
       "does; each agent keeps its own network and weight)")
      ("seed", opt<long long>("S", 0), "random seed")
      ("iterations", opt<int>("N", 100), "training iterations (one PPO update each)")
      ("batch", opt<int>("B", 16), "prompts decoded per iteration and actor group")
      ("groups", opt<int>("G", 1), "in-process: actor groups, decoded one after another (a distributed run's "
                                     "prompts and seeds); under mpirun the ranks set it")
      ("slots", opt<int>("N", 16), "sequences decoded at once per member")
      ("checkpoint-every", opt<int>("N", 10), "iterations between checkpoints")
      ("replay", opt<bool>("BOOL", true), "write every batch to an HDF5 replay shard")
      ("answer-mode", opt<std::string>("numeric|exact", "numeric"), "reward: numeric answer check or exact match")
      ("resume", po::bool_switch(), "continue from the run directory's last checkpoint");
  po::options_description distributed("Distributed (under mpirun)");
  distributed.add_options()
      ("interface", opt<std::string>("ADDR|NIC|*", "127.0.0.1"), "where the learner binds its ZeroMQ sockets")
      ("heartbeat-ms", opt<int>("MS", 1000), "heartbeat interval between actors and learner")
      ("dead-after-ms", opt<int>("MS", 15000), "a rank silent this long is lost: the job ends")
      ("max-policy-lag", opt<int>("N", 1), "actors decode iteration i with parameters of version >= i - N "
                                            "(0: every batch acts with the newest policy, exactly as in-process)");
  po::options_description decode("Decoding");
  decode.add_options()
      ("span", opt<int>("L", 4), "tokens per weight decision")
      ("max-new-tokens", opt<int>("N", 128), "tokens generated per answer")
      ("mix", opt<std::string>("sparse|dense|full", "sparse"), "mixture of the members' distributions")
      ("top-k", opt<int>("K", 10), "sparse mixture: tokens each member contributes");
  po::options_description ppo("PPO");
  ppo.add_options()
      ("lr", opt<double>("FLOAT", 1e-4), "Adam learning rate")
      ("clip", opt<double>("FLOAT", 0.2), "PPO clip range")
      ("entropy-coef", opt<double>("FLOAT", 0.01), "entropy bonus")
      ("value-coef", opt<double>("FLOAT", 0.5), "value loss coefficient")
      ("value-norm", opt<bool>("BOOL", false)->implicit_value(true),
       "critic regresses returns standardized by running statistics (MAPPO's ValueNorm)")
      ("epochs", opt<int>("N", 3), "update epochs per batch")
      ("minibatches", opt<int>("N", 4), "minibatches per epoch")
      ("gamma", opt<double>("FLOAT", 0.99), "discount")
      ("gae-lambda", opt<double>("FLOAT", 0.95), "GAE lambda")
      ("max-grad-norm", opt<double>("FLOAT", 1.0), "gradient-norm clip")
      ("agent-hidden", opt<int>("N", 64), "agent network width")
      ("critic-hidden", opt<int>("N", 128), "critic network width");
  po::options_description all("train");
  all.add(run).add(decode).add(ppo).add(distributed);
  add_model_options(all);
  return all;
}

TrainConfig train_config_from(const po::variables_map& vm) {
  RLAE_USAGE_CHECK(vm.count("members"), "rlae train: --members DIR,DIR,... is required");
  RLAE_USAGE_CHECK(vm.count("train-data"), "rlae train: --train-data FILE is required");
  TrainConfig cfg;
  option_values("rlae train: ", [&] {
    cfg.members = split_list(vm["members"].as<std::string>(), "--members");
    cfg.train_data = vm["train-data"].as<std::string>();
    if (!vm["families"].as<std::string>().empty()) cfg.families = split_list(vm["families"].as<std::string>(), "--families");
    cfg.out = vm["out"].as<std::string>();
    cfg.algo = parse_agent_algo(vm["algo"].as<std::string>());
    cfg.agent_obs = parse_agent_obs(vm["agent-obs"].as<std::string>());
    cfg.seed = static_cast<uint64_t>(vm["seed"].as<long long>());
    cfg.iterations = vm["iterations"].as<int>();
    cfg.prompts_per_iteration = vm["batch"].as<int>();
    cfg.groups = vm["groups"].as<int>();
    cfg.slots = vm["slots"].as<int>();
    cfg.checkpoint_every = vm["checkpoint-every"].as<int>();
    cfg.write_replay = vm["replay"].as<bool>();
    cfg.answer_mode = parse_answer_mode(vm["answer-mode"].as<std::string>());
    cfg.resume = vm["resume"].as<bool>();
    cfg.ensemble.span = vm["span"].as<int>();
    cfg.ensemble.max_new_tokens = vm["max-new-tokens"].as<int>();
    cfg.ensemble.mode = parse_mix_mode(vm["mix"].as<std::string>());
    cfg.ensemble.top_k = vm["top-k"].as<int>();
    cfg.ppo.lr = vm["lr"].as<double>();
    cfg.ppo.clip = vm["clip"].as<double>();
    cfg.ppo.entropy_coef = vm["entropy-coef"].as<double>();
    cfg.ppo.value_coef = vm["value-coef"].as<double>();
    cfg.ppo.value_norm = vm["value-norm"].as<bool>();
    cfg.ppo.epochs = vm["epochs"].as<int>();
    cfg.ppo.minibatches = vm["minibatches"].as<int>();
    cfg.ppo.gamma = vm["gamma"].as<double>();
    cfg.ppo.gae_lambda = vm["gae-lambda"].as<double>();
    cfg.ppo.max_grad_norm = vm["max-grad-norm"].as<double>();
    cfg.ppo.critic_hidden = vm["critic-hidden"].as<int>();
    cfg.ppo.seed = cfg.seed;
    cfg.agent_hidden = vm["agent-hidden"].as<int>();
  });
  cfg.model = model_options_from(vm, cfg.slots);
  RLAE_USAGE_CHECK(cfg.ensemble.span >= 1 && cfg.ensemble.max_new_tokens >= 1 && cfg.ensemble.top_k >= 1,
                   "rlae train: --span, --max-new-tokens and --top-k must be >= 1");
  // Here as well as in check_train_config: rlae sweep plan refuses such a trial.
  check_agent_obs(cfg.algo, cfg.agent_obs, "rlae train");

  return cfg;
}

std::string config_hash(const std::string& resolved) {
  // `resume` says how a run was started, not what it computes: a resumed run keeps
  // the hash of the run it continues (its checkpoints and shards equal an
  // uninterrupted run's). `agent-obs = own` is what every run did before the
  // option existed: left out, a run started before it keeps its hash on --resume.
  std::string kept;
  size_t at = 0;
  while (at < resolved.size()) {
    size_t end = resolved.find('\n', at);
    end = end == std::string::npos ? resolved.size() : end + 1;
    const std::string line = resolved.substr(at, end - at);
    const bool own = line == "agent-obs = own\n" || line.rfind("agent-obs = own  #", 0) == 0;
    if (line.rfind("resume = ", 0) != 0 && !own) kept += line;
    at = end;
  }
  return hex64(fnv1a(kept));
}

}  // namespace rlae::cli
