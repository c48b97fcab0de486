#include "actors/agent.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "common/check.h"

namespace rlae {
namespace {

// PyTorch's nn.Linear initialization: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
std::pair<at::Tensor, at::Tensor> linear_init(int64_t in, int64_t out, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  at::Tensor w = at::empty({out, in}, at::kFloat).uniform_(-bound, bound, gen);
  at::Tensor b = at::empty({out}, at::kFloat).uniform_(-bound, bound, gen);
  return {w, b};
}

}  // namespace

AgentNet::AgentNet(int64_t in_dim, int64_t out_dim, int64_t hidden, uint64_t seed) : in_(in_dim), out_(out_dim) {
  RLAE_CHECK(in_dim >= 1 && out_dim >= 1 && hidden >= 1, "agent network: dimensions must be >= 1 (in ", in_dim,
             ", out ", out_dim, ", hidden ", hidden, ")");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::tie(w1_, b1_) = linear_init(in_dim, hidden, gen);
  std::tie(w2_, b2_) = linear_init(hidden, hidden, gen);
  std::tie(w3_, b3_) = linear_init(hidden, out_dim, gen);
  w3_.mul_(0.01);                       // small head: the initial policy is nearly state-independent
  b3_.fill_(std::log(std::exp(1.0) - 1.0));  // softplus^-1(1): Dirichlet(1, ..., 1)
  norm_mean_ = at::zeros({in_dim}, at::kFloat);
  norm_var_ = at::ones({in_dim}, at::kFloat);
  norm_count_ = at::zeros({1}, at::kFloat);
}

void AgentNet::observe(const at::Tensor& obs) {
  RLAE_CHECK(obs.dim() == 2 && obs.size(1) == in_, "agent network: observation must be [rows, ", in_, "], got ",
             obs.sizes());
  const int64_t rows = obs.size(0);
  if (rows == 0) return;
  at::NoGradGuard no_grad;
  const at::Tensor x = obs.detach().to(at::kDouble);
  const at::Tensor bmean = x.mean(0);
  const at::Tensor bvar = x.var(0, /*unbiased=*/false);
  const double n0 = norm_count_.item<double>(), n1 = static_cast<double>(rows), n = n0 + n1;
  const at::Tensor mean0 = norm_mean_.to(at::kDouble);
  const at::Tensor delta = bmean - mean0;
  const at::Tensor m2 = (n0 > 0 ? norm_var_.to(at::kDouble) * n0 : at::zeros_like(bvar)) + bvar * n1 +
                        delta.pow(2) * (n0 * n1 / n);
  norm_mean_.copy_(mean0 + delta * (n1 / n));
  norm_var_.copy_(m2 / n);
  norm_count_.fill_(n);
}

at::Tensor AgentNet::normalize(const at::Tensor& obs) const {
  return ((obs - norm_mean_) / norm_var_.sqrt().clamp_min(1e-2)).clamp(-5.0, 5.0);
}

at::Tensor AgentNet::raw(const at::Tensor& obs) const {
  RLAE_CHECK(obs.dim() == 2 && obs.size(1) == in_, "agent network: observation must be [rows, ", in_, "], got ",
             obs.sizes());
  at::Tensor h = at::tanh(at::linear(normalize(obs), w1_, b1_));
  h = at::tanh(at::linear(h, w2_, b2_));
  return at::linear(h, w3_, b3_);
}

at::Tensor AgentNet::concentration(const at::Tensor& obs) const { return at::softplus(raw(obs)) + 1e-4; }

NamedTensors AgentNet::named_parameters(const std::string& prefix) const {
  return {{prefix + "l1.weight", w1_}, {prefix + "l1.bias", b1_}, {prefix + "l2.weight", w2_},
          {prefix + "l2.bias", b2_},   {prefix + "l3.weight", w3_}, {prefix + "l3.bias", b3_},
          {prefix + "norm.mean", norm_mean_}, {prefix + "norm.var", norm_var_}, {prefix + "norm.count", norm_count_}};
}

std::vector<at::Tensor> AgentNet::parameters() const { return {w1_, b1_, w2_, b2_, w3_, b3_}; }

void AgentNet::load(const NamedTensors& params, const std::string& prefix) {
  for (auto& [name, dst] : named_parameters(prefix)) {
    auto it = std::find_if(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
    RLAE_CHECK(it != params.end(), "agent parameters: '", name, "' is missing");
    RLAE_CHECK(it->second.sizes() == dst.sizes(), "agent parameters: '", name, "' has shape ", it->second.sizes(),
               ", expected ", dst.sizes());
    at::NoGradGuard no_grad;
    const_cast<at::Tensor&>(dst).copy_(it->second);
  }
}

void AgentNet::set_requires_grad(bool on) {
  for (at::Tensor* t : {&w1_, &b1_, &w2_, &b2_, &w3_, &b3_}) t->set_requires_grad(on);
}

at::Tensor gamma_log_prob(const at::Tensor& alpha, const at::Tensor& g) {
  return (alpha - 1) * at::log(g) - g - at::lgamma(alpha);
}

at::Tensor gamma_entropy(const at::Tensor& alpha) {
  return alpha + at::lgamma(alpha) + (1 - alpha) * at::digamma(alpha);
}

at::Tensor sample_gamma(const at::Tensor& alpha, at::Generator& gen) {
  return at::_standard_gamma(alpha.detach(), gen).clamp_min(1e-30);
}

}  // namespace rlae
