#include "kernels/cuda/block_argmax.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/sample.cuh"
#include "kernels/cuda/sparse_merge.cuh"

namespace rlae::cuda {
namespace {

constexpr int kChunks = 256;  // == kernels::kSampleChunks

__device__ __forceinline__ float dense_merged(const float* probs, const float* weights, int K, int B, int64_t V,
                                              int b, int64_t v) {
  float acc = 0.f;
  for (int k = 0; k < K; ++k) {
    acc = __fadd_rn(acc, __fmul_rn(probs[(static_cast<int64_t>(k) * B + b) * V + v], weights[b * K + k]));
  }
  return acc;
}

__device__ __forceinline__ double sample_weight(float s, double best, double temperature) {
  return s > 0.f ? exp(log(static_cast<double>(s) / best) / temperature) : 0.0;
}

// One block per row, thread t owns the contiguous chunk t of the vocabulary.
__global__ void mix_dense_sample_kernel(const float* __restrict__ probs, const float* __restrict__ weights, int K,
                                        int B, int64_t V, double temperature, const double* __restrict__ uniforms,
                                        int64_t* __restrict__ token, float* __restrict__ prob) {
  __shared__ double s_sum[kChunks];
  const int b = blockIdx.x;
  const int64_t chunk = (V + kChunks - 1) / kChunks;
  const int64_t lo = threadIdx.x * chunk, hi = min(V, lo + chunk);
  float best = -INFINITY;
  int64_t best_id = V;
  for (int64_t v = lo; v < hi; ++v) arg_better(best, best_id, dense_merged(probs, weights, K, B, V, b, v), v);
  block_argmax<kChunks>(best, best_id);
  if (best <= 0.f) {
    if (threadIdx.x == 0) {
      token[b] = best_id;
      prob[b] = best;
    }
    return;
  }
  double sum = 0;
  for (int64_t v = lo; v < hi; ++v) sum += sample_weight(dense_merged(probs, weights, K, B, V, b, v), best, temperature);
  s_sum[threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.x != 0) return;
  double total = 0;
  for (int c = 0; c < kChunks; ++c) total += s_sum[c];
  const double threshold = uniforms[b] * total;
  double acc = 0;
  int64_t pick = best_id;
  for (int c = 0; c < kChunks; ++c) {
    if (threshold < acc + s_sum[c] || c == kChunks - 1) {
      const int64_t clo = c * chunk, chi = min(V, clo + chunk);
      for (int64_t v = clo; v < chi; ++v) {
        const float s = dense_merged(probs, weights, K, B, V, b, v);
        acc += sample_weight(s, best, temperature);
        if (threshold < acc && s > 0.f) {
          pick = v;
          break;
        }
      }
      break;
    }
    acc += s_sum[c];
  }
  token[b] = pick;
  prob[b] = dense_merged(probs, weights, K, B, V, b, pick);
}

// One thread per row: the K*k candidates in (member, rank) order of first appearance.
__global__ void mix_sparse_sample_kernel(const int32_t* __restrict__ ids, const float* __restrict__ probs,
                                         const float* __restrict__ weights, int K, int B, int k, double temperature,
                                         const double* __restrict__ uniforms, int64_t* __restrict__ token,
                                         float* __restrict__ prob) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= B) return;
  auto at = [&](int m, int j) { return (static_cast<int64_t>(m) * B + b) * k + j; };
  auto merged = [&](int m, int j, float& s) { return sparse_merged(ids, probs, weights, K, B, k, b, m, j, s); };
  float best = -1.f;
  int64_t best_id = INT64_MAX;
  for (int m = 0; m < K; ++m)
    for (int j = 0; j < k; ++j) {
      float s;
      if (merged(m, j, s)) arg_better(best, best_id, s, ids[at(m, j)]);
    }
  if (best <= 0.f) {
    token[b] = best_id;
    prob[b] = best;
    return;
  }
  double total = 0;
  for (int m = 0; m < K; ++m)
    for (int j = 0; j < k; ++j) {
      float s;
      if (merged(m, j, s)) total += sample_weight(s, best, temperature);
    }
  const double threshold = uniforms[b] * total;
  double acc = 0;
  int64_t pick = best_id;
  float pick_s = best;
  for (int m = 0; m < K; ++m)
    for (int j = 0; j < k; ++j) {
      float s;
      if (!merged(m, j, s)) continue;
      acc += sample_weight(s, best, temperature);
      if (threshold < acc && s > 0.f) {
        token[b] = ids[at(m, j)];
        prob[b] = s;
        return;
      }
      if (s > 0.f) {
        pick = ids[at(m, j)];
        pick_s = s;
      }
    }
  token[b] = pick;  // rounding left the threshold past the sum: the last positive candidate
  prob[b] = pick_s;
}

}  // namespace

void mix_dense_sample(const float* probs, const float* weights, int K, int B, int64_t V, double temperature,
                      const double* uniforms, int64_t* token, float* prob, cudaStream_t stream) {
  if (B == 0) return;
  mix_dense_sample_kernel<<<B, kChunks, 0, stream>>>(probs, weights, K, B, V, temperature, uniforms, token, prob);
  RLAE_CUDA_CHECK(cudaGetLastError());
}

void mix_sparse_sample(const int32_t* ids, const float* probs, const float* weights, int K, int B, int k,
                       double temperature, const double* uniforms, int64_t* token, float* prob,
                       cudaStream_t stream) {
  if (B == 0) return;
  const int threads = 64;
  mix_sparse_sample_kernel<<<(B + threads - 1) / threads, threads, 0, stream>>>(ids, probs, weights, K, B, k,
                                                                                temperature, uniforms, token, prob);
  RLAE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace rlae::cuda
