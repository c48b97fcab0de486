#include "learner/gae.h"

#include <ATen/ATen.h>

#include "common/check.h"

namespace rlae {

GaeResult compute_gae(const at::Tensor& rewards, const at::Tensor& values, const at::Tensor& dones,
                      double gamma, double lambda) {
  RLAE_CHECK(rewards.dim() == 2, "compute_gae: rewards must be [T, N], got ", rewards.sizes());
  const int64_t T = rewards.size(0), N = rewards.size(1);
  RLAE_CHECK(values.dim() == 2 && values.size(0) == T + 1 && values.size(1) == N,
             "compute_gae: values must be [T+1, N] = [", T + 1, ", ", N, "], got ", values.sizes());
  RLAE_CHECK(dones.sizes() == rewards.sizes(), "compute_gae: dones ", dones.sizes(),
             " must match rewards ", rewards.sizes());
  RLAE_CHECK(gamma >= 0 && gamma <= 1 && lambda >= 0 && lambda <= 1,
             "compute_gae: gamma and lambda must lie in [0, 1], got ", gamma, " and ", lambda);
  const at::Tensor r = rewards.to(at::kDouble);
  const at::Tensor v = values.to(at::kDouble);
  const at::Tensor notdone = 1.0 - dones.to(at::kDouble);
  at::Tensor adv = at::zeros({T, N}, r.options());
  at::Tensor next = at::zeros({N}, r.options());
  for (int64_t t = T - 1; t >= 0; --t) {
    const at::Tensor delta = r[t] + gamma * v[t + 1] * notdone[t] - v[t];
    next = delta + gamma * lambda * notdone[t] * next;
    adv[t] = next;
  }
  const at::Tensor ret = adv + v.slice(0, 0, T);
  return {adv.to(rewards.scalar_type()), ret.to(rewards.scalar_type())};
}

}  // namespace rlae
