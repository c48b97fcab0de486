// The learner step of training, shared by every run: the iteration's batches
// (one per actor group, in group order) become one PPO / MAPPO update, a
// metrics line, a replay shard and, every checkpoint-every iterations, a
// checkpoint. The policy version is the number of iterations done: batches of
// iteration i acted with version i when the policy lag is 0.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "learner/ppo.h"
#include "learner/trainer.h"

namespace rlae {

class TrainLearner {
 public:
  // Builds the agents for K members of observation width D; with cfg.resume,
  // loads the run's latest checkpoint (rlae::Error when it belongs to other
  // members, another algorithm or another --agent-obs) and drops metrics lines past it.
  TrainLearner(const TrainConfig& cfg, int64_t K, int64_t obs_width);
  ~TrainLearner();

  int64_t iteration() const { return iteration_; }  // iterations done
  int64_t version() const { return version_; }
  bool done() const { return iteration_ >= cfg_.iterations; }
  const AgentSet& agents() const { return learner_.agents(); }
  const PpoLearner& ppo() const { return learner_; }

  // One step over iteration() 's batches; wait_seconds: time the learner spent
  // waiting for them (distributed) beyond the rollouts' own time.
  IterationMetrics step(const std::vector<TrajectoryBatch>& batches);
  // A checkpoint at the current iteration (also used when the job stops).
  void save_checkpoint();
  // The checkpoint on the way out of a failed or stopped run, as a phrase for
  // the job's last line ("checkpoint saved at iteration N", or why there is
  // none and which one is the latest on disk). Never throws. Nothing is written
  // when a step failed midway: its update, shard or metric line may be partial,
  // and a checkpoint always has its iteration's shard and metric line.
  std::string checkpoint_on_exit() noexcept;
  // The iteration of the latest checkpoint on disk (written or resumed from); -1: none.
  int64_t checkpointed() const { return checkpointed_; }

 private:
  const TrainConfig& cfg_;
  PpoLearner learner_;
  std::string fingerprint_;
  int64_t iteration_ = 0, version_ = 0;
  int64_t checkpointed_ = -1;
  bool in_step_ = false;  // a step began and its metric line is not out yet
  int64_t step_iteration_ = 0;  // the iteration that step makes (its metric line's)
  std::ofstream metrics_;
  double last_step_end_ = 0;  // seconds on a steady clock
  double checkpoint_seconds_ = 0;  // the last checkpoint's write, reported on the next metric line
};

}  // namespace rlae
