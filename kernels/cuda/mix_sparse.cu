#include "kernels/cuda/block_argmax.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/mix_sparse.cuh"
#include "kernels/cuda/sparse_merge.cuh"

namespace rlae::cuda {
namespace {

constexpr int kThreads = 128;

// One block per sequence; each thread scores entries (m, j) of the K*k payload,
// each union id once (at its first appearance), summing members in order with
// separately rounded multiply and add, exactly as the CPU reference.
__global__ void mix_sparse_argmax_kernel(const int32_t* __restrict__ ids,
                                         const float* __restrict__ probs,
                                         const float* __restrict__ weights, int K, int B, int k,
                                         int64_t* __restrict__ token, float* __restrict__ prob) {
  const int b = blockIdx.x;
  float best = -1.f;
  int64_t best_id = INT64_MAX;
  for (int e = threadIdx.x; e < K * k; e += blockDim.x) {
    const int m = e / k, j = e % k;
    float acc;
    if (sparse_merged(ids, probs, weights, K, B, k, b, m, j, acc)) {
      arg_better(best, best_id, acc, ids[(static_cast<int64_t>(m) * B + b) * k + j]);
    }
  }
  block_argmax<kThreads>(best, best_id);
  if (threadIdx.x == 0) {
    token[b] = best_id;
    prob[b] = best;
  }
}

}  // namespace

void mix_sparse_argmax(const int32_t* ids, const float* probs, const float* weights, int K, int B,
                       int k, int64_t* token, float* prob, cudaStream_t stream) {
  if (B == 0) return;
  mix_sparse_argmax_kernel<<<B, kThreads, 0, stream>>>(ids, probs, weights, K, B, k, token, prob);
  RLAE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace rlae::cuda
