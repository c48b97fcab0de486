// RLAE training on one node: the K members decode in this process (one thread
// each, in-process group, the same loop the distributed actors run), the agents
// sample weights every span, the terminal reward is the answer check, and the
// learner runs PPO / MAPPO after every batch. Writes, under the run directory:
//   config.ini                 the fully resolved configuration
//   metrics.jsonl              one line per iteration
//   replay/shard-NNNNNN.h5     every trajectory batch (learner/replay.h schema)
//   checkpoints/ckpt-NNNNNN.safetensors + checkpoints/latest
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/agent_policy.h"
#include "actors/ensemble.h"
#include "actors/model.h"
#include "common/answer.h"
#include "common/dataset.h"
#include "learner/ppo.h"

namespace rlae {

struct TrainConfig {
  std::vector<std::string> members;  // model directories
  std::string train_data;            // JSONL
  std::vector<std::string> families; // only these task families (empty: all)
  std::string out = "runs/train";
  AgentAlgo algo = AgentAlgo::mappo;
  uint64_t seed = 0;
  int iterations = 100;
  int prompts_per_iteration = 16;
  EnsembleOptions ensemble;          // span, max_new_tokens, mix, top_k
  int64_t slots = 16;                // KV-cache slots per member
  ModelOptions model;
  PpoConfig ppo;
  int64_t agent_hidden = 64;
  int checkpoint_every = 10;
  bool resume = false;
  bool write_replay = true;
  AnswerMode answer_mode = AnswerMode::numeric;
  std::string config_hash;           // of the resolved configuration
};

struct IterationMetrics {
  int64_t iteration = 0, policy_version = 0, episodes = 0, tokens = 0;
  double mean_reward = 0, accuracy = 0, entropy = 0, approx_kl = 0, clip_fraction = 0, value_loss = 0,
         policy_loss = 0, episodes_per_s = 0, tokens_per_s = 0, seconds = 0;
  int64_t policy_lag = 0;
  std::string to_json() const;
};

using TrainProgress = std::function<void(const IterationMetrics&)>;

// What one PPO update on `batch` says: episodes, mean reward and accuracy of the
// batch, and the update's entropy, approximate KL, clip fraction and losses.
void set_update_metrics(IterationMetrics& m, const TrajectoryBatch& batch, const PpoStats& st);

// FNV-1a over `s` continuing from `h`, and a 64-bit value as 16 hex digits
// (members' fingerprints, config hashes).
uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ULL);
std::string hex64(uint64_t h);

// Runs (or resumes) training; returns the metrics of the last iteration run.
IterationMetrics train_inprocess(const TrainConfig& config, const TrainProgress& progress = {});

// A fingerprint of the member set (hash of every member's config.json and
// tokenizer.json, in order), stored in checkpoints.
std::string members_fingerprint(const std::vector<std::string>& member_dirs);

// The agents of a checkpoint, checked against the members they will steer:
// rlae::Error when the checkpoint was trained for a different member set.
AgentSet load_agents(const std::string& checkpoint, const std::vector<std::string>& member_dirs);

// The agents' observation width for these members: the widest hidden size + 4.
int64_t observation_width(const std::vector<Member>& members);

// The pieces both the single-node and the distributed trainer use.
std::vector<Problem> load_training_problems(const TrainConfig& cfg);
// The problems of one iteration for one actor group (seeded by seed, iteration, group).
std::vector<const Problem*> sample_problems(const TrainConfig& cfg, const std::vector<Problem>& data,
                                            int64_t iteration, int64_t group);
// Terminal rewards from the answer check.
std::vector<EpisodeOutcome> score_episodes(const TrainConfig& cfg, const std::vector<const Problem*>& problems,
                                           const std::vector<EnsembleResult>& results);
// "ckpt-000400.safetensors": a checkpoint's file name in OUT/checkpoints/.
std::string checkpoint_name(int64_t iteration);
// Writes OUT/checkpoints/checkpoint_name(iteration) atomically and points OUT/checkpoints/latest at it.
void write_checkpoint(const TrainConfig& cfg, const PpoLearner& learner, int64_t iteration, int64_t version,
                      const std::string& fingerprint);
// Loads the run's latest checkpoint into `learner`; returns (iteration, policy version).
std::pair<int64_t, int64_t> resume_learner(const TrainConfig& cfg, PpoLearner& learner, const std::string& fingerprint);
// Creates the run directory and its subdirectories; rlae::Error when not writable.
void prepare_run_dirs(const TrainConfig& cfg);

}  // namespace rlae
