// The RLAE agents: small networks that turn observations into Gamma
// concentrations, so that normalized Gamma samples are exactly Dirichlet
// weights and each agent's log-probability is its own Gamma term.
//
//   RLAE_MAPPO  one agent per member: its own member's observation -> alpha_i;
//               g_i ~ Gamma(alpha_i, 1); weights = g / sum(g)
//   RLAE_PPO    one agent: the concatenated observation -> alpha [K]
// Inference uses the Dirichlet mean: weights = alpha / sum(alpha).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rlae {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// An MLP: in -> hidden -> hidden (tanh) -> out, concentration = softplus(.) + 1e-4.
// The output bias starts at softplus^-1(1): a flat Dirichlet(1, ..., 1) policy.
//
// Inputs are standardized first with running statistics (the learner's
// observe(): mean and variance of every observation it has trained on), then
// clipped to +-5. Members' hidden states share large common components and
// differ between contexts in small directions (on the zoo, the between-family
// spread is a third of the within-family spread per dimension); without
// standardization the agents learned one global weight vector instead of
// weights per context. The statistics travel with the parameters
// ("norm.mean", "norm.var", "norm.count") but are not trained by gradients.
class AgentNet {
 public:
  AgentNet() = default;
  AgentNet(int64_t in_dim, int64_t out_dim, int64_t hidden, uint64_t seed);

  // obs [rows, in_dim] -> concentration [rows, out_dim] (autograd when the parameters require grad).
  at::Tensor concentration(const at::Tensor& obs) const;
  // The MLP output before the softplus (the critic uses the same network shape).
  at::Tensor raw(const at::Tensor& obs) const;

  // Folds a batch of observations [rows, in_dim] into the running statistics
  // (Chan et al.'s parallel mean/variance update).
  void observe(const at::Tensor& obs);
  // obs standardized by the running statistics and clipped to +-5.
  at::Tensor normalize(const at::Tensor& obs) const;

  int64_t in_dim() const { return in_; }
  int64_t out_dim() const { return out_; }
  // Parameters and normalization statistics under stable names ("l1.weight",
  // ..., "norm.mean"), the tensors themselves (all float32).
  NamedTensors named_parameters(const std::string& prefix = "") const;
  std::vector<at::Tensor> parameters() const;  // the trained ones only
  // Copies values from `params` (named as named_parameters(prefix)); rlae::Error
  // naming the missing or mis-shaped tensor.
  void load(const NamedTensors& params, const std::string& prefix = "");
  void set_requires_grad(bool on);

 private:
  int64_t in_ = 0, out_ = 0;
  at::Tensor w1_, b1_, w2_, b2_, w3_, b3_;
  at::Tensor norm_mean_, norm_var_, norm_count_;  // [in], [in], [1]; starts as the identity
};

// log Gamma(alpha, 1) density at g: (alpha - 1) log g - g - lgamma(alpha).
at::Tensor gamma_log_prob(const at::Tensor& alpha, const at::Tensor& g);
// Entropy of Gamma(alpha, 1): alpha + lgamma(alpha) + (1 - alpha) digamma(alpha).
at::Tensor gamma_entropy(const at::Tensor& alpha);
// g ~ Gamma(alpha, 1), kept above 1e-30 so that weights never all vanish.
at::Tensor sample_gamma(const at::Tensor& alpha, at::Generator& gen);

}  // namespace rlae
