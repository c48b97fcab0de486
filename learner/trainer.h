// RLAE training: one training iteration shared by every run.
//
//   iteration i:  for each actor group g:  rollout(i, g)    (actors/rollout.h)
//                 learner step over the G batches           (learner/learner_step.h)
//
// train_inprocess() is the single-process case: the K members decode on K
// threads of this process and the G groups (default 1) decode one after
// another. Under mpirun the same rollouts run on G groups of K actor ranks and
// the same learner step on rank 0 (launch/ dispatches the roles; the actor loop
// is actors/actor_loop.h, the learner loop learner/learner_loop.h). With the
// same seed, and policy lag 0, both write the same checkpoints and metrics.
// Writes, under the run directory:
//   config.ini                 the fully resolved configuration
//   metrics.jsonl              one line per iteration (with where the time went)
//   replay/shard-NNNNNN.h5     every iteration's batch (learner/replay.h schema)
//   checkpoints/ckpt-NNNNNN.safetensors + checkpoints/latest
#pragma once
#include <stdexcept>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "actors/actor_loop.h"
#include "actors/agent_checkpoint.h"
#include "actors/agent_policy.h"
#include "actors/ensemble.h"
#include "actors/model.h"
#include "actors/rollout.h"
#include "common/answer.h"
#include "common/dataset.h"
#include "common/rng.h"
#include "learner/ppo.h"

namespace rlae {

struct TrainConfig {
  std::vector<std::string> members;  // model directories
  std::string train_data;            // JSONL
  std::vector<std::string> families; // only these task families (empty: all)
  std::string out = "runs/train";
  AgentAlgo algo = AgentAlgo::mappo;
  AgentObs agent_obs = AgentObs::own;  // what each MAPPO agent observes (actors/agent_policy.h)
  uint64_t seed = 0;
  int iterations = 100;
  int prompts_per_iteration = 16;    // per group
  int groups = 1;                    // actor groups (in-process: decoded one after another)
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

  RolloutSettings rollout() const { return {seed, prompts_per_iteration, answer_mode}; }
  ActorConfig actor() const {
    return {members, train_data, families, out, algo, agent_obs, seed, iterations, slots, agent_hidden, model,
            ensemble, rollout()};
  }
};

// Where an iteration's wall time went (seconds). Rollout parts are summed over
// the iteration's groups (the recording member of each).
struct TimeBreakdown {
  double forward = 0;      // member forwards (prefill, steps, appends)
  double exchange = 0;     // per-step collectives inside the group
  double decide = 0;       // agent decisions
  double wait_params = 0;  // actors waiting for the learner's parameters
  double update = 0;       // the PPO / MAPPO update
  double replay = 0;       // writing the replay shard
  double checkpoint = 0;   // writing a checkpoint
  double rollout = 0;      // the rollouts' wall time (forward + exchange + decide + the rest of decoding)
};

struct IterationMetrics {
  int64_t iteration = 0, policy_version = 0, episodes = 0, tokens = 0;
  double mean_reward = 0, accuracy = 0, entropy = 0, approx_kl = 0, clip_fraction = 0, value_loss = 0,
         policy_loss = 0, episodes_per_s = 0, tokens_per_s = 0, seconds = 0;
  int64_t policy_lag = 0;
  TimeBreakdown time;
  std::string to_json() const;  // timings under "seconds", "episodes_per_s", "tokens_per_s" and "time"
};

using TrainProgress = std::function<void(const IterationMetrics&)>;

// What one PPO update on `batch` says: episodes, mean reward and accuracy of the
// batch, and the update's entropy, approximate KL, clip fraction and losses.
void set_update_metrics(IterationMetrics& m, const TrajectoryBatch& batch, const PpoStats& st);

// Runs (or resumes) training in this process; returns the metrics of the last iteration run.
IterationMetrics train_inprocess(const TrainConfig& config, const TrainProgress& progress = {});

// A run stopped by SIGTERM or SIGINT at an iteration boundary; saved: what
// became of its checkpoint ("checkpoint saved at iteration N" or why not).
struct TrainStopped : std::runtime_error {
  TrainStopped(int signo, int64_t iteration, const std::string& what, std::string saved)
      : std::runtime_error(what), signo(signo), iteration(iteration), saved(std::move(saved)) {}
  int signo;
  int64_t iteration;
  std::string saved;
};

// Checks of the configuration that need no members: rlae::Error naming the value.
void check_train_config(const TrainConfig& cfg);
// The agents' observation width for these members: the widest 2 * hidden size + 4.
int64_t observation_width(const std::vector<Member>& members);
// The training problems of cfg (train_data, families).
std::vector<Problem> load_training_problems(const TrainConfig& cfg);
// "ckpt-000400.safetensors": a checkpoint's file name in OUT/checkpoints/.
std::string checkpoint_name(int64_t iteration);
// Writes OUT/checkpoints/checkpoint_name(iteration) atomically and points OUT/checkpoints/latest at it.
void write_checkpoint(const TrainConfig& cfg, const PpoLearner& learner, int64_t iteration, int64_t version,
                      const std::string& fingerprint);
// The checkpoint --resume continues from (cfg.out's latest), checked against this
// run before any work: written for these members in this order (members_fingerprint),
// this algorithm and this --agent-obs (a checkpoint without "agent_obs" is own), with
// a readable iteration. Its path; an Error naming it otherwise.
std::string resumable_checkpoint(const TrainConfig& cfg, const std::string& fingerprint);
// Loads the run's latest checkpoint into `learner`; returns (iteration, policy version).
std::pair<int64_t, int64_t> resume_learner(const TrainConfig& cfg, PpoLearner& learner, const std::string& fingerprint);
// Creates the run directory and its subdirectories; rlae::Error when not writable.
void prepare_run_dirs(const TrainConfig& cfg);

}  // namespace rlae
