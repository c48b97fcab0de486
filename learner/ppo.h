// PPO / MAPPO updates of the RLAE agents with a centralized critic.
//
// One update over a batch of trajectories (learner/replay.h layout: N span
// steps, episodes contiguous and in span order, terminal reward):
//   observe: agents' and critic's running input statistics take in the batch
//   values  = critic(share_obs)                       [N]
//   A, R    = GAE(rewards, values, dones; gamma, lambda), A normalized
//   for each epoch, for each minibatch:
//     ratio_a = exp(log pi_a(action_a | obs_a) - old logprob_a)   per agent a
//     L_pi    = -mean_a,t min(ratio * A, clip(ratio, 1 +- eps) * A)
//     L       = L_pi - entropy_coef * H + value_coef * (R - V)^2
//     Adam step after clipping the gradient norm.
// With value_norm (MAPPO's ValueNorm, Yu et al. 2022): the critic predicts returns
// standardized by a debiased running mean and variance of the returns seen so far
// (decay 0.99999); V is de-standardized for GAE and the loss is on standardized R.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "actors/agent_policy.h"
#include "learner/replay.h"

namespace rlae {

struct PpoConfig {
  double lr = 1e-4;
  double clip = 0.2;
  double entropy_coef = 0.01;
  double value_coef = 0.5;
  int epochs = 3;
  int minibatches = 4;
  double gamma = 0.99;
  double gae_lambda = 0.95;
  double max_grad_norm = 1.0;
  int64_t critic_hidden = 128;
  bool value_norm = false;
  uint64_t seed = 0;
};

// MAPPO's ValueNorm: exponentially weighted running mean and mean of squares of the
// returns with a debiasing weight (as Adam debiases its moments).
class ValueNorm {
 public:
  explicit ValueNorm(double beta = 0.99999) : beta_(beta) {}
  void update(const at::Tensor& returns);
  at::Tensor normalize(const at::Tensor& x) const;
  at::Tensor denormalize(const at::Tensor& x) const;
  double mean() const;
  double var() const;
  // For checkpoints: {mean, mean of squares, debiasing weight}.
  at::Tensor state() const;
  void load_state(const at::Tensor& s);

 private:
  double beta_;
  double mean_ = 0, mean_sq_ = 0, debias_ = 0;
};

struct PpoStats {
  double policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0, grad_norm = 0;
  double mean_return = 0;
  int64_t steps = 0, minibatch_updates = 0;
  at::Tensor values;  // [N] the critic values the update used (after taking in the batch's input statistics)
};

class PpoLearner {
 public:
  PpoLearner(AgentSet agents, const PpoConfig& config);
  ~PpoLearner();

  PpoStats update(const TrajectoryBatch& batch);
  // Critic values of share_obs [N, K*D] -> [N].
  at::Tensor values(const at::Tensor& share_obs) const;
  // Log-probabilities of the batch's actions under the current agents: [N, A].
  at::Tensor log_probs(const TrajectoryBatch& batch) const;

  const AgentSet& agents() const { return agents_; }
  const PpoConfig& config() const { return config_; }
  // Agents, critic and optimizer state, for checkpoints.
  NamedTensors state() const;
  void load_state(const NamedTensors& state);

 private:
  struct Optim;
  AgentSet agents_;
  AgentNet critic_;
  PpoConfig config_;
  ValueNorm value_norm_;
  std::unique_ptr<Optim> optim_;
  uint64_t updates_ = 0;
};

}  // namespace rlae
