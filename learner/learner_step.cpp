#include "learner/learner_step.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/check.h"
#include "common/fs.h"
#include "common/log.h"
#include "learner/replay.h"

namespace rlae {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Keeps the lines of metrics.jsonl up to iteration `last` (a resumed run
// rewrites what followed its checkpoint; no iteration appears twice).
void truncate_metrics(const std::string& path, int64_t last) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error&) {
    return;  // no metrics yet
  }
  std::istringstream in(text);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).at("iteration").get<int64_t>() > last) continue;
    } catch (const std::exception&) {
      continue;  // a line cut by an interruption
    }
    kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace

TrainLearner::TrainLearner(const TrainConfig& cfg, int64_t K, int64_t obs_width)
    : cfg_(cfg),
      learner_(AgentSet::create(cfg.algo, K, obs_width, cfg.agent_hidden, cfg.seed, cfg.agent_obs), cfg.ppo),
      fingerprint_(members_fingerprint(cfg.members)) {
  const std::string path = cfg.out + "/metrics.jsonl";
  if (cfg.resume) {
    std::tie(iteration_, version_) = resume_learner(cfg, learner_, fingerprint_);
    checkpointed_ = iteration_;
    truncate_metrics(path, iteration_);
  }
  metrics_.open(path, cfg.resume ? std::ios::app : std::ios::trunc);
  RLAE_CHECK(metrics_.good(), path, ": cannot write");
  last_step_end_ = now_seconds();
}

TrainLearner::~TrainLearner() = default;

void TrainLearner::save_checkpoint() {
  write_checkpoint(cfg_, learner_, iteration_, version_, fingerprint_);
  checkpointed_ = iteration_;
}

std::string TrainLearner::checkpoint_on_exit() noexcept {
  const auto latest = [&] {
    return checkpointed_ >= 0 ? "the latest is iteration " + std::to_string(checkpointed_) + ", intact)"
                              : std::string("there is no earlier one to resume from)");
  };
  try {
    if (in_step_) {
      return "no checkpoint of the failed iteration " + std::to_string(step_iteration_) + " (" + latest();
    }
    if (checkpointed_ == iteration_) return "checkpoint saved at iteration " + std::to_string(iteration_);
    save_checkpoint();
    return "checkpoint saved at iteration " + std::to_string(iteration_);
  } catch (const std::exception& e) {
    RLAE_LOG(warn, "could not save a checkpoint: ", e.what());
    try {
      return "no checkpoint at iteration " + std::to_string(iteration_) + " (could not write it; " + latest();
    } catch (...) {
    }
  } catch (...) {
  }
  return "no checkpoint";
}

IterationMetrics TrainLearner::step(const std::vector<TrajectoryBatch>& batches) {
  RLAE_CHECK(!batches.empty(), "learner: no batches for iteration ", iteration_);
  IterationMetrics m;
  for (const auto& b : batches) {
    RLAE_CHECK(b.info.iteration == iteration_, "learner: a batch of iteration ", b.info.iteration, " (group ",
               b.info.group, ") at iteration ", iteration_);
  }
  TrajectoryBatch batch = concat_trajectories(batches);
  int64_t acted = version_;
  if (batch.num_steps() > 0) acted = batch.policy_version.min().item<int64_t>();
  auto t0 = now_seconds();
  in_step_ = true;  // until the metric line is out
  step_iteration_ = iteration_ + 1;
  const PpoStats st = learner_.update(batch);
  if (st.values.defined()) batch.values = st.values;  // the values the update used, into the shard
  m.time.update = now_seconds() - t0;
  ++iteration_;
  ++version_;
  if (cfg_.write_replay) {
    t0 = now_seconds();
    char name[64];
    std::snprintf(name, sizeof(name), "/replay/shard-%06lld.h5", static_cast<long long>(iteration_ - 1));
    ShardInfo info{cfg_.config_hash, cfg_.out, agent_algo_name(cfg_.algo), iteration_ - 1};
    info.agent_obs = agent_obs_name(cfg_.agent_obs);
    write_replay_shard(cfg_.out + name, batch, info);
    m.time.replay = now_seconds() - t0;
  }
  m.iteration = iteration_;
  m.policy_version = version_;
  set_update_metrics(m, batch, st);
  m.policy_lag = iteration_ - 1 - acted;
  m.tokens = batch.info.tokens;
  m.time.forward = batch.info.forward_seconds;
  m.time.exchange = batch.info.exchange_seconds;
  m.time.decide = batch.info.decide_seconds;
  m.time.wait_params = batch.info.wait_params_seconds;
  m.time.rollout = batch.info.seconds;
  // The metric line goes out before the checkpoint: a kill between the two
  // leaves a line past the checkpoint (cut back on --resume), never a
  // checkpoint without its line. So time.checkpoint and seconds of a line
  // count the checkpoint written after the previous line.
  const double end = now_seconds();
  m.seconds = end - last_step_end_;
  last_step_end_ = end;
  m.time.checkpoint = checkpoint_seconds_;
  checkpoint_seconds_ = 0;
  m.episodes_per_s = m.episodes / std::max(m.seconds, 1e-9);
  m.tokens_per_s = static_cast<double>(m.tokens) / std::max(m.seconds, 1e-9);
  metrics_ << m.to_json() << "\n";
  metrics_.flush();
  RLAE_CHECK(metrics_.good(), cfg_.out, "/metrics.jsonl: write failed (disk full?)");
  in_step_ = false;
  if (iteration_ % cfg_.checkpoint_every == 0 || iteration_ == cfg_.iterations) {
    t0 = now_seconds();
    save_checkpoint();
    checkpoint_seconds_ = now_seconds() - t0;
  }
  return m;
}

}  // namespace rlae
