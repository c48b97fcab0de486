#include "learner/trainer.h"

#include <sys/stat.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <cmath>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "actors/agent_checkpoint.h"
#include "common/channel.h"
#include "common/check.h"
#include "common/checkpoint_meta.h"
#include "common/dataset.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/prompt.h"
#include "common/safetensors.h"
#include "common/stop_signal.h"
#include "learner/learner_step.h"
#include "learner/replay.h"
#include "rlae_build_info.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;

// Creates `dir` and checks that it is writable: fail before any work starts.
void make_writable_dir(const std::string& dir) {
  make_dirs(dir);
  const std::string probe = dir + "/.write-test";
  std::ofstream f(probe);
  RLAE_CHECK(f.good(), dir, ": directory is not writable");
  f.close();
  std::remove(probe.c_str());
}

}  // namespace

void set_update_metrics(IterationMetrics& m, const TrajectoryBatch& batch, const PpoStats& st) {
  m.episodes = batch.num_episodes();
  const int64_t correct = std::count(batch.correct.begin(), batch.correct.end(), 1);
  m.mean_reward = batch.rewards.sum().item<double>() / static_cast<double>(std::max<int64_t>(1, m.episodes));
  m.accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, m.episodes));
  m.entropy = st.entropy;
  m.approx_kl = st.approx_kl;
  m.clip_fraction = st.clip_fraction;
  m.value_loss = st.value_loss;
  m.policy_loss = st.policy_loss;
}

std::string checkpoint_name(int64_t iteration) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "ckpt-%06lld.safetensors", static_cast<long long>(iteration));
  return buf;
}

void write_checkpoint(const TrainConfig& cfg, const PpoLearner& learner, int64_t iteration, int64_t version,
                      const std::string& fingerprint) {
  const std::string name = checkpoint_name(iteration);
  std::map<std::string, std::string> meta = {
      {"iteration", std::to_string(iteration)},
      {"policy_version", std::to_string(version)},
      {"algo", agent_algo_name(learner.agents().algo)},
      {"agent_obs", agent_obs_name(learner.agents().agent_obs)},
      {"num_members", std::to_string(learner.agents().num_members)},
      {"obs_width", std::to_string(learner.agents().obs_width)},
      {"members_fingerprint", fingerprint},
      {"fingerprint_covers", kFingerprintCovers},
      {"config_hash", cfg.config_hash},
      {"rlae_version", RLAE_VERSION},
      {"seed", std::to_string(cfg.seed)}};
  std::string names;
  for (const auto& d : cfg.members) names += (names.empty() ? "" : ",") + d;
  meta["members"] = names;
  save_safetensors(cfg.out + "/checkpoints/" + name, learner.state(), meta);
  write_file_atomic(cfg.out + "/checkpoints/latest", name + "\n");
}

std::string resumable_checkpoint(const TrainConfig& cfg, const std::string& fingerprint) {
  const std::string latest = cfg.out + "/checkpoints/latest";
  std::string name;
  try {
    name = read_file(latest);
  } catch (const Error&) {
    RLAE_FAIL(cfg.out, ": --resume but no checkpoint (", latest, " missing)");
  }
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  const std::string path = cfg.out + "/checkpoints/" + name;
  const auto file = SafetensorsFile::open(path);
  const auto& meta = file->metadata();
  RLAE_CHECK(meta.count("fingerprint_covers") && meta.at("fingerprint_covers") == kFingerprintCovers, path,
             ": written by an older rlae whose member fingerprint did not cover the weights; cannot resume from it "
             "(start the run afresh in another --out)");
  RLAE_CHECK(meta.count("members_fingerprint") && meta.at("members_fingerprint") == fingerprint, path,
             ": trained for other members (", meta.count("members") ? meta.at("members") : "?",
             "); cannot resume with these (their weights, config.json or tokenizer.json, or their order, differ)");
  RLAE_CHECK(meta.count("algo") && meta.at("algo") == agent_algo_name(cfg.algo), path, ": algorithm ",
             meta.count("algo") ? meta.at("algo") : "?", ", but --algo is ", agent_algo_name(cfg.algo));
  // Checkpoints written before --agent-obs existed hold own agents.
  const std::string obs = meta.count("agent_obs") ? meta.at("agent_obs") : "own";
  RLAE_CHECK(obs == agent_obs_name(cfg.agent_obs), path, ": agents trained with --agent-obs ", obs,
             ", but --agent-obs is ", agent_obs_name(cfg.agent_obs), " (their networks take other inputs)");
  (void)checkpoint_meta_int(meta, "iteration", path);
  (void)checkpoint_meta_int(meta, "policy_version", path);
  return path;
}

std::pair<int64_t, int64_t> resume_learner(const TrainConfig& cfg, PpoLearner& learner, const std::string& fingerprint) {
  int64_t start = 0, version = 0;
  const std::string path = resumable_checkpoint(cfg, fingerprint);
  auto file = SafetensorsFile::open(path);
  const auto& meta = file->metadata();
  start = checkpoint_meta_int(meta, "iteration", path);
  version = checkpoint_meta_int(meta, "policy_version", path);
  NamedTensors state;
  for (const auto& n : file->names()) state.push_back({n, file->get(n).clone()});
  learner.load_state(state);
  RLAE_LOG(info, "resuming from ", path, " at iteration ", start);
  return {start, version};
}

void prepare_run_dirs(const TrainConfig& cfg) {
  make_writable_dir(cfg.out);
  make_writable_dir(cfg.out + "/checkpoints");
  if (cfg.write_replay) make_writable_dir(cfg.out + "/replay");
  // Temporary files of writes an earlier, interrupted run left behind (a shard's
  // "shard-N.h5.tmp", "NAME.tmp.PID" of atomic writes): never read, removed now.
  int removed = 0;
  for (const std::string d : {cfg.out, cfg.out + "/checkpoints", cfg.out + "/replay", cfg.out + "/cache"}) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      const bool stale = (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) ||
                         name.find(".tmp.") != std::string::npos;
      if (stale && e.is_regular_file(ec) && std::filesystem::remove(e.path(), ec)) ++removed;
    }
  }
  if (removed > 0) RLAE_LOG(info, "train: removed ", removed, " temporary file(s) of an interrupted run in ", cfg.out);
}

std::string IterationMetrics::to_json() const {
  nlohmann::json j = {{"iteration", iteration},     {"policy_version", policy_version},
                      {"episodes", episodes},       {"tokens", tokens},
                      {"mean_reward", mean_reward}, {"accuracy", accuracy},
                      {"entropy", entropy},         {"approx_kl", approx_kl},
                      {"clip_fraction", clip_fraction}, {"value_loss", value_loss},
                      {"policy_loss", policy_loss}, {"episodes_per_s", episodes_per_s},
                      {"tokens_per_s", tokens_per_s}, {"policy_lag", policy_lag},
                      {"seconds", seconds}};
  j["time"] = {{"forward", time.forward},       {"exchange", time.exchange}, {"decide", time.decide},
               {"wait_params", time.wait_params}, {"update", time.update},   {"replay", time.replay},
               {"checkpoint", time.checkpoint}, {"rollout", time.rollout}};
  return j.dump();
}

int64_t observation_width(const std::vector<Member>& members) {
  int64_t w = 0;
  for (const auto& m : members) w = std::max(w, agent_observation_width(m.model->config().hidden_size));
  return w;
}

std::vector<Problem> load_training_problems(const TrainConfig& cfg) {
  return load_training_problems(cfg.train_data, cfg.families);
}

void check_train_config(const TrainConfig& cfg) {
  // Bad option values: UsageError (exit 2), checked before any member loads.
  RLAE_CHECK(cfg.members.size() >= 2, "train: an ensemble needs at least 2 members, got ", cfg.members.size());
  RLAE_USAGE_CHECK(cfg.iterations >= 0, "rlae train: --iterations must be >= 0, got ", cfg.iterations);
  RLAE_USAGE_CHECK(cfg.prompts_per_iteration >= 1, "rlae train: --batch must be >= 1, got ", cfg.prompts_per_iteration);
  RLAE_USAGE_CHECK(cfg.checkpoint_every >= 1, "rlae train: --checkpoint-every must be >= 1, got ",
                   cfg.checkpoint_every);
  RLAE_USAGE_CHECK(cfg.groups >= 1, "rlae train: --groups must be >= 1, got ", cfg.groups);
  RLAE_USAGE_CHECK(cfg.slots >= 1, "rlae train: --slots must be >= 1, got ", cfg.slots);
  check_agent_obs(cfg.algo, cfg.agent_obs, "rlae train");
  RLAE_USAGE_CHECK(cfg.agent_hidden >= 1 && cfg.ppo.critic_hidden >= 1,
                   "rlae train: --agent-hidden and --critic-hidden must be >= 1, got ", cfg.agent_hidden, " and ",
                   cfg.ppo.critic_hidden);
  // The learner's own settings (PpoLearner checks them again).
  RLAE_USAGE_CHECK(cfg.ppo.lr > 0 && std::isfinite(cfg.ppo.lr), "rlae train: --lr must be > 0, got ", cfg.ppo.lr);
  RLAE_USAGE_CHECK(cfg.ppo.clip > 0 && std::isfinite(cfg.ppo.clip), "rlae train: --clip must be > 0, got ",
                   cfg.ppo.clip);
  RLAE_USAGE_CHECK(cfg.ppo.epochs >= 1 && cfg.ppo.minibatches >= 1,
                   "rlae train: --epochs and --minibatches must be >= 1, got ", cfg.ppo.epochs, " and ",
                   cfg.ppo.minibatches);
  RLAE_USAGE_CHECK(cfg.ppo.gamma >= 0 && cfg.ppo.gamma <= 1 && cfg.ppo.gae_lambda >= 0 && cfg.ppo.gae_lambda <= 1,
                   "rlae train: --gamma and --gae-lambda must be in [0, 1], got ", cfg.ppo.gamma, " and ",
                   cfg.ppo.gae_lambda);
  RLAE_USAGE_CHECK(cfg.ppo.entropy_coef >= 0 && cfg.ppo.value_coef >= 0 && std::isfinite(cfg.ppo.entropy_coef) &&
                       std::isfinite(cfg.ppo.value_coef),
                   "rlae train: --entropy-coef and --value-coef must be >= 0, got ", cfg.ppo.entropy_coef, " and ",
                   cfg.ppo.value_coef);
  RLAE_USAGE_CHECK(cfg.ppo.max_grad_norm >= 0, "rlae train: --max-grad-norm must be >= 0 (0: no clipping), got ",
                   cfg.ppo.max_grad_norm);
}

IterationMetrics train_inprocess(const TrainConfig& cfg, const TrainProgress& progress) {
  check_train_config(cfg);
  // Everything that can be checked is checked before any work starts.
  prepare_run_dirs(cfg);
  if (cfg.resume) (void)resumable_checkpoint(cfg, members_fingerprint(cfg.members));
  const std::vector<Problem> data = load_training_problems(cfg);
  ModelOptions mo = cfg.model;
  mo.num_slots = std::max<int64_t>(1, std::min<int64_t>(cfg.slots, cfg.prompts_per_iteration));
  std::vector<Member> members;
  for (const auto& d : cfg.members) members.push_back(load_member(d, mo));
  for (const Member& m : members) check_prompts_fit(m, data, cfg.train_data, cfg.ensemble.max_new_tokens);
  RLAE_LOG(info, "train: one process on ", local_host_name(), ": ", members.size(), " members on ", mo.device.str(),
           " (--device ", mo.placement, "), learner on cpu");
  const UnionVocab vocab = UnionVocab::load_or_build(vocab_members(members), cfg.out + "/cache");
  InprocessEnsemble ensemble(members, vocab, cfg.ensemble);
  TrainLearner learner(cfg, static_cast<int64_t>(members.size()), ensemble.session(0).obs_width());
  IterationMetrics last;
  // A stop or a failure ends the run with the checkpoint the distributed
  // learner writes on its way out (TrainLearner::checkpoint_on_exit).
  try {
    while (!learner.done()) {
      if (const int s = stop_requested()) {  // the last shard is complete: checkpoint and stop
        throw TrainStopped(s, learner.iteration(), "stopped by " + signal_name(s), learner.checkpoint_on_exit());
      }
      std::vector<TrajectoryBatch> batches;
      for (int g = 0; g < cfg.groups; ++g) {
        batches.push_back(rollout_inprocess(ensemble, learner.agents(), cfg.rollout(), data, learner.version(),
                                            learner.iteration(), g));
      }
      last = learner.step(batches);
      if (progress) progress(last);
    }
  } catch (const TrainStopped&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(std::string(e.what()) + "; " + learner.checkpoint_on_exit());
  }
  return last;
}

}  // namespace rlae
