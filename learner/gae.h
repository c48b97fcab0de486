// Generalized advantage estimation (Schulman et al. 2016) over span steps.
#pragma once

#include <ATen/core/Tensor.h>

namespace rlae {

struct GaeResult {
  at::Tensor advantages;  // [T, N]
  at::Tensor returns;     // [T, N] = advantages + values[:T]
};

// rewards [T, N], dones [T, N] (1 where the episode ended after step t),
// values [T+1, N] (values[T] bootstraps the step after the last).
//   delta_t = r_t + gamma * V_{t+1} * (1 - d_t) - V_t
//   A_t     = delta_t + gamma * lambda * (1 - d_t) * A_{t+1}
GaeResult compute_gae(const at::Tensor& rewards, const at::Tensor& values, const at::Tensor& dones,
                      double gamma, double lambda);

}  // namespace rlae
