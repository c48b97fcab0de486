#include "kernels/cuda/block_argmax.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/mix_dense.cuh"

namespace rlae::cuda {
namespace {

constexpr int kThreads = 256;

// One block per sequence b; threads stride over the vocabulary.
__global__ void mix_dense_argmax_kernel(const float* __restrict__ probs,
                                        const float* __restrict__ weights, int K, int B,
                                        int64_t V, int64_t* __restrict__ token,
                                        float* __restrict__ prob) {
  const int b = blockIdx.x;
  float best = -INFINITY;
  int64_t best_id = V;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    float acc = 0.f;
    for (int k = 0; k < K; ++k) {
      // Separately rounded multiply and add, as the CPU reference does.
      acc = __fadd_rn(acc, __fmul_rn(probs[(static_cast<int64_t>(k) * B + b) * V + v],
                                     weights[b * K + k]));
    }
    arg_better(best, best_id, acc, v);
  }
  block_argmax<kThreads>(best, best_id);
  if (threadIdx.x == 0) {
    token[b] = best_id;
    prob[b] = best;
  }
}

}  // namespace

void mix_dense_argmax(const float* probs, const float* weights, int K, int B, int64_t V,
                      int64_t* token, float* prob, cudaStream_t stream) {
  if (B == 0) return;
  mix_dense_argmax_kernel<<<B, kThreads, 0, stream>>>(probs, weights, K, B, V, token, prob);
  RLAE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace rlae::cuda
