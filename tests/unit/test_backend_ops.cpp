// Every ensemble op on CUDA against the CPU reference, through the dispatch
// functions the decode session calls (kernels/mixture.h, kernels/topk_union.h) on
// CUDA tensors, on a side stream made current (so the current-stream lookup and
// the device checks run too), on fresh random inputs (as ggml's test-backend-ops
// does). Every test prints its seed; RLAE_TEST_SEED=N replays it. Runs where a
// GPU is visible; skipped with the reason elsewhere; always compiled with nvcc.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kernels/device.h"
#include "kernels/mixture.h"
#include "kernels/topk_union.h"

#ifdef RLAE_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace rlae {
namespace {

#define RLAE_SKIP_WITHOUT_GPU()                                                                  \
  do {                                                                                           \
    const CudaStatus cuda = cuda_status();                                                       \
    if (!cuda.compiled) GTEST_SKIP() << "built without CUDA (RLAE_CUDA=OFF): no backend to compare"; \
    if (cuda.device_count == 0)                                                                  \
      GTEST_SKIP() << "CUDA kernels compiled, but no GPU is visible here (" << cuda.driver << ")"; \
  } while (0)

uint64_t test_seed(const char* test) {
  const char* env = std::getenv("RLAE_TEST_SEED");
  const uint64_t seed = env ? std::stoull(env) : std::random_device{}();
  std::printf("BackendOps.%s seed %llu (replay: RLAE_TEST_SEED=%llu)\n", test, static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  return seed;
}

// Normalized mean squared error, as test-backend-ops reports it.
double nmse(const at::Tensor& a, const at::Tensor& ref) {
  const double num = (a.cpu().to(at::kDouble) - ref.to(at::kDouble)).pow(2).sum().item<double>();
  const double den = ref.to(at::kDouble).pow(2).sum().item<double>();
  return den == 0 ? num : num / den;
}

at::Tensor gpu(const at::Tensor& t) { return t.to(at::Device(at::kCUDA, 0)); }

#ifdef RLAE_WITH_CUDA
// Runs the body with a pooled (non-default) stream current on cuda:0.
struct SideStream {
  SideStream() : guard(c10::cuda::getStreamFromPool(false, 0)) {}
  c10::cuda::CUDAStreamGuard guard;
};
#else
struct SideStream {};
#endif

TEST(BackendOps, MixDense) {
  RLAE_SKIP_WITHOUT_GPU();
  SideStream side;
  std::mt19937_64 rng(test_seed("MixDense"));
  for (int trial = 0; trial < 20; ++trial) {
    const int K = 1 + static_cast<int>(rng() % 4), B = 1 + static_cast<int>(rng() % 33);
    const int64_t V = 1 + static_cast<int64_t>(rng() % 70000);
    at::manual_seed(rng());
    at::Tensor probs = at::softmax(at::randn({K, B, V}) * 4, 2).contiguous();
    if (trial % 4 == 0) probs = (probs * 64).round() / 64;  // many exact ties
    const at::Tensor weights = at::rand({B, K}).contiguous();
    const auto ref = kernels::mix_dense_argmax_cpu(probs, weights);
    const auto got = kernels::mix_dense_argmax(gpu(probs), gpu(weights));
    ASSERT_TRUE(got.token.is_cuda());
    // Same summation order and rounding: bit-identical.
    EXPECT_TRUE(at::equal(got.token.cpu(), ref.token)) << "trial " << trial << " K=" << K << " B=" << B << " V=" << V;
    EXPECT_TRUE(at::equal(got.prob.cpu(), ref.prob)) << "trial " << trial;
  }
}

TEST(BackendOps, SoftmaxTopKUnion) {
  RLAE_SKIP_WITHOUT_GPU();
  SideStream side;
  std::mt19937_64 rng(test_seed("SoftmaxTopKUnion"));
  for (int trial = 0; trial < 20; ++trial) {
    const int B = 1 + static_cast<int>(rng() % 33);
    const int64_t V = 64 + static_cast<int64_t>(rng() % 152000);
    const int k = 1 + static_cast<int>(rng() % 32);
    at::manual_seed(rng());
    const at::Tensor logits = (at::randn({B, V}) * 3).contiguous();
    const at::Tensor map = at::randperm(V, at::kLong).to(at::kInt).contiguous();
    const auto ref = kernels::softmax_topk_union_cpu(logits, map, k);
    const auto got = kernels::softmax_topk_union(gpu(logits), gpu(map), k);
    const at::Tensor ids = got.ids.cpu(), probs = got.probs.cpu();
    EXPECT_LT(nmse(probs, ref.probs), 1e-10) << "trial " << trial << " V=" << V << " k=" << k;
    // expf differs from the CPU's vectorized exp in the last bits: ids may swap
    // only between near-equal probabilities.
    const at::Tensor differ = ids.ne(ref.ids);
    const at::Tensor near = (probs - ref.probs).abs().le(1e-6 * ref.probs.abs() + 1e-12);
    EXPECT_TRUE(differ.logical_and(near.logical_not()).sum().item<int64_t>() == 0)
        << "trial " << trial << ": ids differ where probabilities do not tie";
  }
}

at::Tensor random_ids(std::mt19937_64& rng, int K, int B, int k) {
  const int64_t U = k + static_cast<int64_t>(rng() % 200);  // small union: many shared ids
  std::vector<at::Tensor> ids;
  for (int m = 0; m < K * B; ++m) ids.push_back(at::randperm(U, at::kLong).slice(0, 0, k));
  return at::stack(ids).view({K, B, k}).to(at::kInt).contiguous();
}

TEST(BackendOps, MixSparse) {
  RLAE_SKIP_WITHOUT_GPU();
  SideStream side;
  std::mt19937_64 rng(test_seed("MixSparse"));
  for (int trial = 0; trial < 20; ++trial) {
    const int K = 1 + static_cast<int>(rng() % 4), B = 1 + static_cast<int>(rng() % 33);
    const int k = 1 + static_cast<int>(rng() % 32);
    at::manual_seed(rng());
    const at::Tensor id = random_ids(rng, K, B, k);
    at::Tensor probs = at::softmax(at::randn({K, B, k}), 2).contiguous();
    if (trial % 4 == 0) probs = (probs * 16).round() / 16;
    const at::Tensor w = at::rand({B, K}).contiguous();
    const auto ref = kernels::mix_sparse_argmax_cpu(id, probs, w);
    const auto got = kernels::mix_sparse_argmax(gpu(id), gpu(probs), gpu(w));
    EXPECT_TRUE(at::equal(got.token.cpu(), ref.token)) << "trial " << trial;
    EXPECT_TRUE(at::equal(got.prob.cpu(), ref.prob)) << "trial " << trial;
  }
}

// Temperature sampling: the CUDA kernels draw what the CPU reference draws
// (same candidates, order and chunked sums; a u within ~1e-16 of a boundary
// could flip on exp/log rounding, which random inputs do not hit).
TEST(BackendOps, MixDenseSample) {
  RLAE_SKIP_WITHOUT_GPU();
  SideStream side;
  std::mt19937_64 rng(test_seed("MixDenseSample"));
  for (int trial = 0; trial < 20; ++trial) {
    const int K = 1 + static_cast<int>(rng() % 4), B = 1 + static_cast<int>(rng() % 33);
    const int64_t V = 1 + static_cast<int64_t>(rng() % 70000);
    const double T = 0.2 + static_cast<double>(rng() % 1000) / 500.0;
    at::manual_seed(rng());
    const at::Tensor probs = at::softmax(at::randn({K, B, V}) * 4, 2).contiguous();
    const at::Tensor weights = at::rand({B, K}).contiguous();
    const at::Tensor u = at::rand({B}, at::kDouble).contiguous();
    const auto ref = kernels::mix_dense_sample_cpu(probs, weights, T, u);
    const auto got = kernels::mix_dense_sample(gpu(probs), gpu(weights), T, gpu(u));
    EXPECT_TRUE(at::equal(got.token.cpu(), ref.token)) << "trial " << trial << " K=" << K << " B=" << B << " V=" << V;
    EXPECT_TRUE(at::equal(got.prob.cpu(), ref.prob)) << "trial " << trial;
  }
}

TEST(BackendOps, MixSparseSample) {
  RLAE_SKIP_WITHOUT_GPU();
  SideStream side;
  std::mt19937_64 rng(test_seed("MixSparseSample"));
  for (int trial = 0; trial < 20; ++trial) {
    const int K = 1 + static_cast<int>(rng() % 4), B = 1 + static_cast<int>(rng() % 33);
    const int k = 1 + static_cast<int>(rng() % 32);
    const double T = 0.2 + static_cast<double>(rng() % 1000) / 500.0;
    at::manual_seed(rng());
    const at::Tensor id = random_ids(rng, K, B, k);
    const at::Tensor probs = at::softmax(at::randn({K, B, k}), 2).contiguous();
    const at::Tensor w = at::rand({B, K}).contiguous();
    const at::Tensor u = at::rand({B}, at::kDouble).contiguous();
    const auto ref = kernels::mix_sparse_sample_cpu(id, probs, w, T, u);
    const auto got = kernels::mix_sparse_sample(gpu(id), gpu(probs), gpu(w), T, gpu(u));
    EXPECT_TRUE(at::equal(got.token.cpu(), ref.token)) << "trial " << trial;
    EXPECT_TRUE(at::equal(got.prob.cpu(), ref.prob)) << "trial " << trial;
  }
}

// Inputs on different devices are refused with a message, not a crash.
TEST(BackendOps, MixedDevicesAreRefused) {
  RLAE_SKIP_WITHOUT_GPU();
  const at::Tensor probs = at::softmax(at::randn({2, 3, 50}), 2);
  const at::Tensor w = at::rand({3, 2});
  EXPECT_THROW(kernels::mix_dense_argmax(gpu(probs), w), std::exception);
  EXPECT_THROW(kernels::softmax_topk_union(gpu(at::randn({3, 50})), at::arange(50).to(at::kInt), 4),
               std::exception);
}

}  // namespace
}  // namespace rlae
