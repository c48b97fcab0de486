// The dense mixture kernel: CPU reference against a naive loop, and CUDA against
// the CPU reference on fresh random inputs (where a GPU is visible).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <random>
#include <vector>

#include "common/check.h"
#include "kernels/device.h"
#include "kernels/mixture.h"

#ifdef RLAE_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/mix_dense.cuh"
#endif

namespace rlae {
namespace {

// Naive reference: explicit loops in float, same summation order.
std::pair<std::vector<int64_t>, std::vector<float>> naive_mix(const at::Tensor& probs,
                                                             const at::Tensor& weights) {
  const int64_t K = probs.size(0), B = probs.size(1), V = probs.size(2);
  auto p = probs.accessor<float, 3>();
  auto w = weights.accessor<float, 2>();
  std::vector<int64_t> tok(B);
  std::vector<float> val(B);
  for (int64_t b = 0; b < B; ++b) {
    float best = -1;
    int64_t best_id = -1;
    for (int64_t v = 0; v < V; ++v) {
      float acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float prod = p[k][b][v] * w[b][k];
        acc = acc + prod;
      }
      if (acc > best) {  // strict: the first (smallest) id wins ties
        best = acc;
        best_id = v;
      }
    }
    tok[b] = best_id;
    val[b] = best;
  }
  return {tok, val};
}

TEST(Mixture, CpuMatchesNaiveLoop) {
  at::manual_seed(7);
  for (int64_t K : {1, 2, 3, 5}) {
    const int64_t B = 6, V = 301;
    at::Tensor probs = at::softmax(at::randn({K, B, V}) * 3, 2);
    at::Tensor weights = at::rand({B, K});
    const auto res = kernels::mix_dense_argmax(probs, weights);
    const auto ref = naive_mix(probs, weights);
    for (int64_t b = 0; b < B; ++b) {
      EXPECT_EQ(res.token[b].item<int64_t>(), ref.first[b]) << "K=" << K << " b=" << b;
      EXPECT_EQ(res.prob[b].item<float>(), ref.second[b]) << "K=" << K << " b=" << b;
    }
  }
}

TEST(Mixture, TiesGoToTheSmallestId) {
  at::Tensor probs = at::zeros({2, 1, 8});
  probs[0][0][5] = 0.5f;
  probs[1][0][2] = 0.5f;  // equal merged value at ids 2 and 5
  at::Tensor weights = at::full({1, 2}, 0.5f);
  EXPECT_EQ(kernels::mix_dense_argmax(probs, weights).token[0].item<int64_t>(), 2);
}

TEST(Mixture, OneHotWeightsPickThatMember) {
  at::manual_seed(3);
  at::Tensor probs = at::softmax(at::randn({3, 4, 50}), 2);
  at::Tensor weights = at::zeros({4, 3});
  weights.select(1, 1).fill_(1.0f);
  const auto res = kernels::mix_dense_argmax(probs, weights);
  EXPECT_TRUE(at::equal(res.token, probs[1].argmax(1)));
}

TEST(Mixture, BadShapesAreUserErrors) {
  EXPECT_THROW(kernels::mix_dense_argmax(at::rand({2, 3}), at::rand({3, 2})), Error);
  EXPECT_THROW(kernels::mix_dense_argmax(at::rand({2, 3, 4}), at::rand({3, 3})), Error);
  EXPECT_THROW(kernels::mix_dense_argmax(at::rand({2, 3, 4}, at::kDouble), at::rand({3, 2})), Error);
}

// CUDA vs CPU on fresh random inputs, as ggml's test-backend-ops does.
TEST(MixtureCuda, MatchesCpuReference) {
  const CudaStatus cuda = cuda_status();
  if (!cuda.compiled) GTEST_SKIP() << "built without CUDA (RLAE_CUDA=OFF): nothing to compare";
  if (cuda.device_count == 0) GTEST_SKIP() << "CUDA kernels compiled, but no GPU is visible here (" << cuda.driver << ")";
#ifdef RLAE_WITH_CUDA
  std::mt19937 rng(std::random_device{}());
  for (int trial = 0; trial < 20; ++trial) {
    const int K = 1 + static_cast<int>(rng() % 4), B = 1 + static_cast<int>(rng() % 33);
    const int64_t V = 1 + static_cast<int64_t>(rng() % 70000);
    at::manual_seed(rng());
    at::Tensor probs = at::softmax(at::randn({K, B, V}) * 4, 2).contiguous();
    if (trial % 4 == 0) probs = (probs * 64).round() / 64;  // many exact ties
    at::Tensor weights = at::rand({B, K}).contiguous();
    const auto ref = kernels::mix_dense_argmax_cpu(probs, weights);

    float *d_probs = nullptr, *d_w = nullptr, *d_val = nullptr;
    int64_t* d_tok = nullptr;
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_probs), probs.numel() * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_w), weights.numel() * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_val), B * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_tok), B * sizeof(int64_t)), cudaSuccess);
    cudaMemcpy(d_probs, probs.data_ptr<float>(), probs.numel() * sizeof(float), cudaMemcpyHostToDevice);
    cudaMemcpy(d_w, weights.data_ptr<float>(), weights.numel() * sizeof(float), cudaMemcpyHostToDevice);
    cuda::mix_dense_argmax(d_probs, d_w, K, B, V, d_tok, d_val, nullptr);
    std::vector<int64_t> tok(B);
    std::vector<float> val(B);
    ASSERT_EQ(cudaMemcpy(tok.data(), d_tok, B * sizeof(int64_t), cudaMemcpyDeviceToHost), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(val.data(), d_val, B * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    cudaFree(d_probs);
    cudaFree(d_w);
    cudaFree(d_val);
    cudaFree(d_tok);
    for (int b = 0; b < B; ++b) {
      EXPECT_EQ(tok[b], ref.token[b].item<int64_t>()) << "trial " << trial << " K=" << K << " V=" << V;
      EXPECT_EQ(val[b], ref.prob[b].item<float>()) << "trial " << trial;
    }
  }
#endif
}

}  // namespace
}  // namespace rlae
