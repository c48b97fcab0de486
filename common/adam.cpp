#include "common/adam.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "common/check.h"

namespace rlae {

Adam::Adam(std::vector<at::Tensor> params, const AdamOptions& options, std::vector<std::string> names,
           std::vector<bool> decay)
    : params_(std::move(params)), names_(std::move(names)), decay_(std::move(decay)), options_(options) {
  RLAE_ASSERT(names_.empty() || names_.size() == params_.size(), "adam: ", names_.size(), " names for ",
              params_.size(), " parameters");
  RLAE_ASSERT(decay_.empty() || decay_.size() == params_.size(), "adam: ", decay_.size(),
              " decay flags for ", params_.size(), " parameters");
  if (decay_.empty()) decay_.assign(params_.size(), false);
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
  }
}

void Adam::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

double Adam::clip_grad_norm(double max_norm, GradNorm how) {
  double total = 0;
  if (how == GradNorm::sum_of_squares) {
    for (auto& p : params_)
      if (p.grad().defined()) total += p.grad().pow(2).sum().item<double>();
    total = std::sqrt(total);
  } else {
    std::vector<at::Tensor> norms;
    for (auto& p : params_)
      if (p.grad().defined()) norms.push_back(p.grad().norm());
    if (norms.empty()) return 0;
    total = at::stack(norms).norm().item<double>();
  }
  if (max_norm > 0 && total > max_norm) {
    const double scale = max_norm / (total + 1e-6);
    for (auto& p : params_)
      if (p.grad().defined()) p.mutable_grad().mul_(scale);
  }
  return total;
}

void Adam::step(double lr) {
  at::NoGradGuard no_grad;
  ++step_;
  const AdamOptions& o = options_;
  const double bc1 = 1 - std::pow(o.beta1, static_cast<double>(step_));
  const double bc2 = 1 - std::pow(o.beta2, static_cast<double>(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    const at::Tensor& g = params_[i].grad();
    if (decay_[i] && o.weight_decay > 0) params_[i].mul_(1 - lr * o.weight_decay);
    m_[i].mul_(o.beta1).add_(g, 1 - o.beta1);
    v_[i].mul_(o.beta2).addcmul_(g, g, 1 - o.beta2);
    const at::Tensor denom = (v_[i] / bc2).sqrt_().add_(o.eps);
    params_[i].addcdiv_(m_[i], denom, -lr / bc1);
  }
}

std::string Adam::key(size_t i) const { return names_.empty() ? std::to_string(i) : names_[i]; }

NamedTensors Adam::moments(const std::string& prefix) const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(prefix + "m." + key(i), m_[i]);
    out.emplace_back(prefix + "v." + key(i), v_[i]);
  }
  return out;
}

void Adam::load_moments(const std::function<const at::Tensor*(const std::string&)>& find,
                        const std::string& prefix, const std::string& where) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (at::Tensor* dst : {&m_[i], &v_[i]}) {
      const std::string name = prefix + (dst == &m_[i] ? "m." : "v.") + key(i);
      const at::Tensor* src = find(name);
      RLAE_CHECK(src != nullptr, where, ": optimizer state '", name, "' is missing");
      RLAE_CHECK(src->sizes() == dst->sizes(), where, ": optimizer state '", name, "' has shape ",
                 src->sizes(), ", the parameter ", dst->sizes());
      dst->copy_(*src);
    }
  }
}

}  // namespace rlae
