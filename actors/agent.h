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
class AgentNet {
 public:
  AgentNet() = default;
  AgentNet(int64_t in_dim, int64_t out_dim, int64_t hidden, uint64_t seed);

  // obs [rows, in_dim] -> concentration [rows, out_dim] (autograd when the parameters require grad).
  at::Tensor concentration(const at::Tensor& obs) const;
  // The MLP output before the softplus (the critic uses the same network shape).
  at::Tensor raw(const at::Tensor& obs) const;

  int64_t in_dim() const { return in_; }
  int64_t out_dim() const { return out_; }
  // Parameters under stable names ("l1.weight", ...), the tensors themselves.
  NamedTensors named_parameters(const std::string& prefix = "") const;
  std::vector<at::Tensor> parameters() const;
  // Copies values from `params` (named as named_parameters(prefix)); rlae::Error
  // naming the missing or mis-shaped tensor.
  void load(const NamedTensors& params, const std::string& prefix = "");
  void set_requires_grad(bool on);

 private:
  int64_t in_ = 0, out_ = 0;
  at::Tensor w1_, b1_, w2_, b2_, w3_, b3_;
};

// log Gamma(alpha, 1) density at g: (alpha - 1) log g - g - lgamma(alpha).
at::Tensor gamma_log_prob(const at::Tensor& alpha, const at::Tensor& g);
// Entropy of Gamma(alpha, 1): alpha + lgamma(alpha) + (1 - alpha) digamma(alpha).
at::Tensor gamma_entropy(const at::Tensor& alpha);
// g ~ Gamma(alpha, 1), kept above 1e-30 so that weights never all vanish.
at::Tensor sample_gamma(const at::Tensor& alpha, at::Generator& gen);

}  // namespace rlae
