// rlae::TrainableLM: its autograd forward computes what the runtime (CausalLM) computes on the
// same weights, for every architecture; packed rows equal their sequences alone; gradients
// reach every parameter; saved models load back into CausalLM with the same logits.
#include <stdlib.h>

#include <cmath>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include "actors/lm_train.h"
#include "actors/model.h"
#include "common/check.h"

namespace {

rlae::ModelConfig config_for(rlae::ModelArch arch) {
  rlae::ModelConfig c;
  c.arch = arch;
  c.vocab_size = 40;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 128;
  c.rms_norm_eps = 1e-5;
  if (arch == rlae::ModelArch::qwen2) c.qkv_bias = true;
  if (arch == rlae::ModelArch::mistral) c.sliding_window = 5;
  if (arch == rlae::ModelArch::llama) {
    c.o_bias = c.qkv_bias = c.mlp_bias = true;
    c.tie_word_embeddings = true;
  }
  return c;
}

// O(1) random weights (N(0, 0.02) would make every logit ~0 and the comparison vacuous).
std::vector<std::pair<std::string, at::Tensor>> weights_for(const rlae::ModelConfig& c, uint64_t seed) {
  auto w = rlae::CausalLM::init_weights(c, seed);
  at::Generator gen = at::detail::createCPUGenerator(seed + 7);
  for (auto& [name, t] : w) {
    at::Tensor r = at::normal(0.0, 1.0, t.sizes(), gen);
    if (t.dim() == 2)
      t = name == "model.embed_tokens.weight" ? r : r / std::sqrt(static_cast<double>(t.size(1)));
    else if (name.find("norm") != std::string::npos)
      t = 1.0 + 0.2 * r;
    else
      t = 0.2 * r;
  }
  return w;
}

std::vector<int32_t> tokens(int n, int offset) {
  std::vector<int32_t> s;
  for (int i = 0; i < n; ++i) s.push_back((i * 11 + offset * 7 + 1) % 40);
  return s;
}

at::Tensor as_row(const std::vector<int32_t>& ids) {
  return at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong).unsqueeze(0);
}

class LmTrainArchs : public ::testing::TestWithParam<rlae::ModelArch> {};

TEST_P(LmTrainArchs, LogitsEqualRuntimeForwardFull) {
  const rlae::ModelConfig c = config_for(GetParam());
  const auto w = weights_for(c, 3);
  rlae::TrainableLM lm(c, w);
  auto runtime = rlae::CausalLM::from_weights(c, w);
  const std::vector<int32_t> a = tokens(17, 1), b = tokens(17, 2);
  const at::Tensor batch = at::cat({as_row(a), as_row(b)}, 0);  // [2, 17]
  const at::Tensor got = lm.logits(batch);                       // [2, 17, V]
  ASSERT_EQ(got.sizes(), (at::IntArrayRef{2, 17, 40}));
  EXPECT_TRUE(got.requires_grad());
  for (int r = 0; r < 2; ++r) {
    const at::Tensor want = runtime->forward_full(r == 0 ? a : b);
    EXPECT_LE((got[r].detach() - want).abs().max().item<double>(), 1e-5) << "row " << r;
  }
  // A shorter row right-padded: its real positions are unaffected by the padding.
  const std::vector<int32_t> s = tokens(9, 4);
  at::Tensor padded = at::zeros({1, 17}, at::kLong);
  padded.narrow(1, 0, 9).copy_(as_row(s));
  const at::Tensor got_s = lm.logits(padded)[0].narrow(0, 0, 9).detach();
  EXPECT_LE((got_s - runtime->forward_full(s)).abs().max().item<double>(), 1e-5);
}

TEST_P(LmTrainArchs, PackedRowEqualsItsSequencesAlone) {
  const rlae::ModelConfig c = config_for(GetParam());
  rlae::TrainableLM lm(c, weights_for(c, 5));
  const std::vector<int32_t> a = tokens(7, 1), b = tokens(10, 3);
  std::vector<int32_t> row = a;
  row.insert(row.end(), b.begin(), b.end());
  row.push_back(0);  // a pad in its own segment
  std::vector<int64_t> pos, seg;
  for (int i = 0; i < 7; ++i) pos.push_back(i), seg.push_back(0);
  for (int i = 0; i < 10; ++i) pos.push_back(i), seg.push_back(1);
  pos.push_back(0), seg.push_back(-1);
  const at::Tensor got = lm.logits(as_row(row), at::tensor(pos).unsqueeze(0), at::tensor(seg).unsqueeze(0))[0].detach();
  const at::Tensor la = lm.logits(as_row(a))[0].detach(), lb = lm.logits(as_row(b))[0].detach();
  EXPECT_LE((got.narrow(0, 0, 7) - la).abs().max().item<double>(), 1e-5);
  EXPECT_LE((got.narrow(0, 7, 10) - lb).abs().max().item<double>(), 1e-5);
}

TEST_P(LmTrainArchs, GradientsReachEveryParameter) {
  const rlae::ModelConfig c = config_for(GetParam());
  rlae::TrainableLM lm(c, weights_for(c, 9));
  const at::Tensor x = at::cat({as_row(tokens(12, 1)), as_row(tokens(12, 5))}, 0);
  at::Tensor logits = lm.logits(x);
  at::cross_entropy_loss(logits.view({-1, c.vocab_size}), x.view({-1})).backward();
  for (const auto& [name, p] : lm.named_parameters()) {
    EXPECT_TRUE(p.is_leaf() && p.requires_grad()) << name;
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0) << name;
  }
}

TEST_P(LmTrainArchs, SaveLoadsInCausalLMWithTheSameLogits) {
  const rlae::ModelConfig c = config_for(GetParam());
  rlae::TrainableLM lm(c, weights_for(c, 13));
  const std::string dir = ::testing::TempDir() + "rlae_lm_train_" + std::to_string(::getpid()) + "_" +
                          rlae::model_arch_type(c.arch);
  lm.save(dir);
  auto loaded = rlae::CausalLM::load(dir);
  const std::vector<int32_t> s = tokens(15, 6);
  EXPECT_LE((loaded->forward_full(s) - lm.logits(as_row(s))[0].detach()).abs().max().item<double>(), 1e-5);
  EXPECT_LE((lm.to_causal_lm()->forward_full(s) - loaded->forward_full(s)).abs().max().item<double>(), 0);
  std::system(("rm -rf " + dir).c_str());
}

INSTANTIATE_TEST_SUITE_P(Archs, LmTrainArchs,
                         ::testing::Values(rlae::ModelArch::llama, rlae::ModelArch::qwen2,
                                           rlae::ModelArch::mistral),
                         [](const auto& info) { return std::string(rlae::model_arch_type(info.param)); });

TEST(LmTrain, FreshInitMatchesCausalLMInitAndCopiesItsInput) {
  const rlae::ModelConfig c = config_for(rlae::ModelArch::qwen2);
  rlae::TrainableLM lm(c, 21);
  const auto init = rlae::CausalLM::init_weights(c, 21);
  ASSERT_EQ(lm.named_parameters().size(), init.size());
  for (size_t i = 0; i < init.size(); ++i) {
    EXPECT_EQ(lm.named_parameters()[i].first, init[i].first);
    EXPECT_TRUE(at::equal(lm.named_parameters()[i].second.detach(), init[i].second));
  }
  // Training the copy leaves the given tensors alone; load_weights restores them.
  {
    at::NoGradGuard g;
    lm.named_parameters()[0].second.add_(1.0);
  }
  EXPECT_FALSE(at::equal(lm.named_parameters()[0].second.detach(), init[0].second));
  lm.load_weights(init);
  EXPECT_TRUE(at::equal(lm.named_parameters()[0].second.detach(), init[0].second));
  EXPECT_THROW(lm.load_weights({}), rlae::Error);
}

}  // namespace
