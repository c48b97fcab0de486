#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/mix_dense.cuh"

namespace rlae::cuda {
namespace {

constexpr int kThreads = 256;

// Keeps the larger value; on equal values the smaller index (deterministic).
__device__ __forceinline__ void arg_better(float& v, int64_t& i, float ov, int64_t oi) {
  if (ov > v || (ov == v && oi < i)) {
    v = ov;
    i = oi;
  }
}

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
  __shared__ float s_val[kThreads];
  __shared__ int64_t s_id[kThreads];
  s_val[threadIdx.x] = best;
  s_id[threadIdx.x] = best_id;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      arg_better(s_val[threadIdx.x], s_id[threadIdx.x], s_val[threadIdx.x + stride],
                 s_id[threadIdx.x + stride]);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    token[b] = s_id[0];
    prob[b] = s_val[0];
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
