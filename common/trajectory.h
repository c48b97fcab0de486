// A batch of RLAE trajectories: what actors send and the learner trains on and
// stores (learner/replay.h documents the on-disk schema). N span steps, E
// episodes, A agents, K members; the steps of an episode are contiguous and in
// span order, its last step has done = 1.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rlae {

// Where a batch came from and where its rollout's time went (travels with the
// batch to the learner; not part of the replay schema).
struct RolloutInfo {
  int64_t iteration = -1;      // the training iteration the batch is for
  int64_t group = 0;           // the actor group that decoded it
  int64_t tokens = 0;          // chosen tokens (EOS included)
  double seconds = 0;          // wall time of the rollout
  double forward_seconds = 0;  // member forwards (the recording member's)
  double exchange_seconds = 0; // per-step collectives, waiting for slower members included
  double decide_seconds = 0;   // agent decisions
  double wait_params_seconds = 0;  // waiting for the learner's parameters before decoding
  static constexpr int kFields = 8;
};

struct TrajectoryBatch {
  at::Tensor obs;             // [N, A, obs_dim] float32
  at::Tensor share_obs;       // [N, share_dim] float32
  at::Tensor actions;         // [N, A, act_dim] float32
  at::Tensor logprobs;        // [N, A] float32
  at::Tensor weights;         // [N, K] float32
  at::Tensor rewards;         // [N] float32
  at::Tensor dones;           // [N] uint8
  at::Tensor values;          // [N] float32
  at::Tensor policy_version;  // [N] int64
  at::Tensor episode;         // [N] int64
  at::Tensor span_index;      // [N] int32
  std::vector<std::string> prompt_id, task, text;  // [E]
  std::vector<uint8_t> correct;                     // [E]
  RolloutInfo info;

  int64_t num_steps() const;
  int64_t num_episodes() const { return static_cast<int64_t>(prompt_id.size()); }
  // Throws rlae::Error naming the field whose shape or dtype is inconsistent.
  void validate() const;
};

// The batches of one iteration's groups as one batch, in the order given
// (episodes renumbered; info: of the first batch, tokens and times summed).
TrajectoryBatch concat_trajectories(const std::vector<TrajectoryBatch>& batches);

}  // namespace rlae
