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

  int64_t num_steps() const;
  int64_t num_episodes() const { return static_cast<int64_t>(prompt_id.size()); }
  // Throws rlae::Error naming the field whose shape or dtype is inconsistent.
  void validate() const;
};

}  // namespace rlae
