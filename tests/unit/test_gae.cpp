#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "common/check.h"
#include "learner/gae.h"

namespace rlae {
namespace {

TEST(Gae, TerminalRewardOnly) {
  // One episode of 3 span steps, reward 1 at the end, zero values:
  // A_2 = 1, A_1 = g*l*1, A_0 = (g*l)^2.
  const double g = 0.99, l = 0.95;
  at::Tensor r = at::tensor({0.0, 0.0, 1.0}, at::kDouble).unsqueeze(1);
  at::Tensor d = at::tensor({0.0, 0.0, 1.0}, at::kDouble).unsqueeze(1);
  at::Tensor v = at::zeros({4, 1}, at::kDouble);
  const auto out = compute_gae(r, v, d, g, l);
  EXPECT_NEAR(out.advantages[2][0].item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(out.advantages[1][0].item<double>(), g * l, 1e-12);
  EXPECT_NEAR(out.advantages[0][0].item<double>(), g * l * g * l, 1e-12);
  EXPECT_TRUE(at::allclose(out.returns, out.advantages));
}

TEST(Gae, DoneStopsBootstrapAndValuesEnter) {
  // Two columns; column 1 ends after step 0, so step 1 starts a new episode.
  at::Tensor r = at::tensor({1.0f, 0.5f, 2.0f, 0.0f}).view({2, 2});
  at::Tensor d = at::tensor({0.0f, 1.0f, 1.0f, 0.0f}).view({2, 2});
  at::Tensor v = at::tensor({0.1f, 0.2f, 0.3f, 0.4f, 9.0f, 0.6f}).view({3, 2});
  const double g = 0.9, l = 0.8;
  const auto out = compute_gae(r, v, d, g, l);
  // column 0: d1 = 2 - 0.3 (done), d0 = 1 + 0.9*0.3 - 0.1
  const double a01 = 2.0 - 0.3, a00 = (1.0 + 0.9 * 0.3 - 0.1) + g * l * a01;
  // column 1: d1 = 0 + 0.9*0.6 - 0.4, d0 = 0.5 - 0.2 (done: no bootstrap, no carry)
  const double a11 = 0.9 * 0.6 - 0.4, a10 = 0.5 - 0.2;
  EXPECT_NEAR(out.advantages[0][0].item<float>(), a00, 1e-6);
  EXPECT_NEAR(out.advantages[1][0].item<float>(), a01, 1e-6);
  EXPECT_NEAR(out.advantages[0][1].item<float>(), a10, 1e-6);
  EXPECT_NEAR(out.advantages[1][1].item<float>(), a11, 1e-6);
  EXPECT_NEAR(out.returns[0][1].item<float>(), a10 + 0.2, 1e-6);
}

TEST(Gae, ShapeErrors) {
  EXPECT_THROW(compute_gae(at::zeros({3, 2}), at::zeros({3, 2}), at::zeros({3, 2}), 0.99, 0.95), Error);
  EXPECT_THROW(compute_gae(at::zeros({3, 2}), at::zeros({4, 2}), at::zeros({3, 2}), 1.5, 0.95), Error);
}

}  // namespace
}  // namespace rlae
