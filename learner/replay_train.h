// Re-training the agents offline from a run's HDF5 replay shards, without
// running the members: one PPO update per shard, in the order the run made
// them, through a fresh learner built from a training configuration.
//
//   auto shards = list_replay_shards("runs/quickstart");           // replay/shard-*.h5, in order
//   TrainConfig cfg = ...;  cfg.out = "runs/requick"; cfg.ppo.lr = 3e-4;
//   replay_train(cfg, shards, /*passes=*/1);                        // checkpoints + metrics.jsonl
//
// With the run's own settings the updates repeat the run's exactly (same
// batches, same order, same seeds): the last checkpoint equals the run's. With
// other settings the learner sees the same data the run collected; the PPO
// ratios are then taken against the recorded behaviour policy, which the
// clipping keeps honest only while the new policy stays near it.
#pragma once

#include <string>
#include <vector>

#include "learner/trainer.h"

namespace rlae {

// DIR/replay/shard-*.h5 of a run directory, sorted by name (= by iteration);
// rlae::Error when there are none.
std::vector<std::string> list_replay_shards(const std::string& run_dir);

struct ReplayTrainResult {
  int64_t updates = 0;
  std::string last_checkpoint;  // path
};

// Replays `shards` `passes` times. The agents' shape (algorithm, --agent-obs,
// members, observation width) comes from the first shard and must match the
// others, cfg.algo and cfg.agent_obs; checkpoints (every cfg.checkpoint_every updates and the last) and
// metrics.jsonl go to cfg.out in rlae train's format, so `rlae eval --policy
// rlae:CKPT` takes them (cfg.members name the members they were trained for).
// rlae::Error naming the shard for a shard that is unreadable or does not fit.
ReplayTrainResult replay_train(const TrainConfig& cfg, const std::vector<std::string>& shards, int passes,
                               const TrainProgress& progress = {});

}  // namespace rlae
