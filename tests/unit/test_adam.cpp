// rlae::Adam (common/adam.h), the optimizer of the PPO learner and of member pretraining:
// the update against a scalar double-precision reference, decoupled weight decay only where
// asked, both gradient-norm clippings, and its state as named tensors.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/adam.h"
#include "common/check.h"

namespace rlae {
namespace {

at::Tensor leaf(at::IntArrayRef shape, at::Generator& gen) {
  return at::randn(shape, gen).set_requires_grad(true);
}

void set_grad(at::Tensor& p, const at::Tensor& g) { p.mutable_grad() = g.clone(); }

// One parameter element through `steps` updates, in doubles.
struct Reference {
  double p, m = 0, v = 0;
  void step(double g, double lr, int64_t t, const AdamOptions& o, bool decays) {
    if (decays && o.weight_decay > 0) p *= 1 - lr * o.weight_decay;
    m = o.beta1 * m + (1 - o.beta1) * g;
    v = o.beta2 * v + (1 - o.beta2) * g * g;
    const double bc1 = 1 - std::pow(o.beta1, static_cast<double>(t));
    const double bc2 = 1 - std::pow(o.beta2, static_cast<double>(t));
    p -= lr / bc1 * m / (std::sqrt(v / bc2) + o.eps);
  }
};

TEST(Adam, MatchesTheFormulaWithDecoupledDecayWhereAsked) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  at::Tensor w = leaf({3, 4}, gen), b = leaf({4}, gen);
  const AdamOptions o{0.9, 0.95, 1e-8, 0.1};
  Adam opt({w, b}, o, {"w", "b"}, {true, false});
  std::vector<Reference> rw, rb;
  for (int64_t i = 0; i < w.numel(); ++i) rw.push_back({w.view(-1)[i].item<double>()});
  for (int64_t i = 0; i < b.numel(); ++i) rb.push_back({b.view(-1)[i].item<double>()});
  const double lrs[] = {1e-2, 5e-3, 2e-3, 1e-3};
  for (int64_t t = 1; t <= 4; ++t) {
    const at::Tensor gw = at::randn({3, 4}, gen), gb = at::randn({4}, gen);
    set_grad(w, gw);
    set_grad(b, gb);
    opt.step(lrs[t - 1]);
    for (int64_t i = 0; i < w.numel(); ++i) rw[i].step(gw.view(-1)[i].item<double>(), lrs[t - 1], t, o, true);
    for (int64_t i = 0; i < b.numel(); ++i) rb[i].step(gb.view(-1)[i].item<double>(), lrs[t - 1], t, o, false);
  }
  EXPECT_EQ(opt.step_count(), 4);
  for (int64_t i = 0; i < w.numel(); ++i) EXPECT_NEAR(w.view(-1)[i].item<double>(), rw[i].p, 1e-5) << i;
  for (int64_t i = 0; i < b.numel(); ++i) EXPECT_NEAR(b.view(-1)[i].item<double>(), rb[i].p, 1e-5) << i;
  // The decay matters: the same run without it ends elsewhere for w, identically for b.
  at::Generator gen2 = at::make_generator<at::CPUGeneratorImpl>(5);
  at::Tensor w2 = leaf({3, 4}, gen2), b2 = leaf({4}, gen2);
  Adam plain({w2, b2}, AdamOptions{0.9, 0.95, 1e-8, 0.0});
  for (int64_t t = 1; t <= 4; ++t) {
    set_grad(w2, at::randn({3, 4}, gen2));
    set_grad(b2, at::randn({4}, gen2));
    plain.step(lrs[t - 1]);
  }
  EXPECT_FALSE(at::equal(w, w2));
  EXPECT_TRUE(at::equal(b, b2));
}

TEST(Adam, ParametersWithoutGradientsStayPut) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  at::Tensor a = leaf({5}, gen), b = leaf({2}, gen);
  const at::Tensor b0 = b.detach().clone();
  Adam opt({a, b}, AdamOptions{});
  set_grad(a, at::ones({5}));
  opt.step(0.1);
  EXPECT_TRUE(at::equal(b, b0));
  EXPECT_EQ(opt.step_count(), 1);
  opt.zero_grad();
  EXPECT_EQ(a.grad().abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(b.grad().defined());
}

TEST(Adam, ClipsTheGlobalNormEitherWay) {
  for (GradNorm how : {GradNorm::sum_of_squares, GradNorm::norm_of_norms}) {
    at::Tensor a = at::zeros({2}).set_requires_grad(true), b = at::zeros({1}).set_requires_grad(true);
    Adam opt({a, b}, AdamOptions{});
    EXPECT_EQ(opt.clip_grad_norm(1.0, how), 0.0) << "no gradients";
    set_grad(a, at::tensor({3.0f, 0.0f}));
    set_grad(b, at::tensor({4.0f}));
    EXPECT_NEAR(opt.clip_grad_norm(0.0, how), 5.0, 1e-6) << "0: measured, not clipped";
    EXPECT_FLOAT_EQ(b.grad().item<float>(), 4.0f);
    EXPECT_NEAR(opt.clip_grad_norm(10.0, how), 5.0, 1e-6) << "under the limit: untouched";
    EXPECT_FLOAT_EQ(b.grad().item<float>(), 4.0f);
    EXPECT_NEAR(opt.clip_grad_norm(1.0, how), 5.0, 1e-6);
    EXPECT_NEAR(a.grad()[0].item<double>(), 3.0 / (5.0 + 1e-6), 1e-6);
    EXPECT_NEAR(b.grad().item<double>(), 4.0 / (5.0 + 1e-6), 1e-6);
  }
}

TEST(Adam, StateIsNamedTensorsThatRoundTrip) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor a = leaf({2, 3}, gen), b = leaf({3}, gen);
  at::Tensor a2 = a.detach().clone().set_requires_grad(true), b2 = b.detach().clone().set_requires_grad(true);
  Adam one({a, b}, AdamOptions{}), two({a2, b2}, AdamOptions{});
  for (int t = 0; t < 3; ++t) {
    const at::Tensor ga = at::randn({2, 3}, gen), gb = at::randn({3}, gen);
    set_grad(a, ga);
    set_grad(b, gb);
    one.step(1e-2);
    if (t < 2) {
      set_grad(a2, ga);
      set_grad(b2, gb);
      two.step(1e-2);
    }
  }
  const NamedTensors s = one.moments("adam.");
  std::vector<std::string> names;
  for (const auto& [n, t] : s) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"adam.m.0", "adam.v.0", "adam.m.1", "adam.v.1"}));
  auto find_in = [](const NamedTensors& st) {
    return [&st](const std::string& name) -> const at::Tensor* {
      for (const auto& [n, t] : st)
        if (n == name) return &t;
      return nullptr;
    };
  };
  // Restoring one's state into two (and its parameters) makes the next steps identical.
  two.load_moments(find_in(s), "adam.", "test state");
  two.set_step_count(one.step_count());
  {
    at::NoGradGuard no_grad;
    a2.copy_(a);
    b2.copy_(b);
  }
  const at::Tensor ga = at::randn({2, 3}, gen), gb = at::randn({3}, gen);
  set_grad(a, ga);
  set_grad(b, gb);
  set_grad(a2, ga);
  set_grad(b2, gb);
  one.step(1e-2);
  two.step(1e-2);
  EXPECT_TRUE(at::equal(a, a2));
  EXPECT_TRUE(at::equal(b, b2));

  // Named parameters key their moments by name; missing or misshapen state names itself.
  Adam named({a, b}, AdamOptions{}, {"x.weight", "x.bias"});
  EXPECT_EQ(named.moments("").at(3).first, "v.x.bias");
  NamedTensors partial = named.moments("");
  partial.pop_back();
  try {
    named.load_moments(find_in(partial), "", "ckpt/optimizer.safetensors");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ckpt/optimizer.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'v.x.bias' is missing"), std::string::npos) << e.what();
  }
  NamedTensors wrong = named.moments("");
  wrong[0].second = at::zeros({7});
  EXPECT_THROW(named.load_moments(find_in(wrong), "", "ckpt"), Error);
}

}  // namespace
}  // namespace rlae
