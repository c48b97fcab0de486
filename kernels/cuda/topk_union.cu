#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/topk_union.cuh"

namespace rlae::cuda {
namespace {

constexpr int kThreads = 256;

// Block-wide reductions over kThreads threads through shared memory.
template <typename T, typename Op>
__device__ T block_reduce(T v, T* shared, Op op) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) shared[threadIdx.x] = op(shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  const T out = shared[0];
  __syncthreads();
  return out;
}

struct MaxF { __device__ float operator()(float a, float b) const { return fmaxf(a, b); } };
struct SumF { __device__ float operator()(float a, float b) const { return a + b; } };
struct MaxU64 {
  __device__ unsigned long long operator()(unsigned long long a, unsigned long long b) const {
    return a > b ? a : b;
  }
};

// Composite key: probability bits high (monotonic for p >= 0), inverted id low.
__device__ __forceinline__ unsigned long long make_key(float p, int64_t v) {
  return (static_cast<unsigned long long>(__float_as_uint(p)) << 32) |
         (0xFFFFFFFFull - static_cast<unsigned long long>(v));
}

// One block per row: max, sum of exp, then k rounds of "largest key below the
// previous one". k is small (the exchange payload), V up to ~150k.
__global__ void softmax_topk_union_kernel(const float* __restrict__ logits,
                                          const int32_t* __restrict__ union_map, int64_t V, int k,
                                          int32_t* __restrict__ ids, float* __restrict__ probs) {
  __shared__ float s_f[kThreads];
  __shared__ unsigned long long s_u[kThreads];
  const float* x = logits + static_cast<int64_t>(blockIdx.x) * V;

  float m = -INFINITY;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) m = fmaxf(m, x[v]);
  m = block_reduce(m, s_f, MaxF{});
  float s = 0.f;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) s += expf(x[v] - m);
  s = block_reduce(s, s_f, SumF{});
  const float inv = 1.f / s;

  unsigned long long prev = ~0ull;
  for (int j = 0; j < k; ++j) {
    unsigned long long best = 0;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
      const unsigned long long key = make_key(expf(x[v] - m) * inv, v);
      if (key < prev && key > best) best = key;
    }
    best = block_reduce(best, s_u, MaxU64{});
    if (threadIdx.x == 0) {
      const int64_t v = static_cast<int64_t>(0xFFFFFFFFull - (best & 0xFFFFFFFFull));
      ids[static_cast<int64_t>(blockIdx.x) * k + j] = union_map[v];
      probs[static_cast<int64_t>(blockIdx.x) * k + j] = __uint_as_float(static_cast<unsigned>(best >> 32));
    }
    prev = best;
  }
}

}  // namespace

void softmax_topk_union(const float* logits, const int32_t* union_map, int B, int64_t V, int k,
                        int32_t* ids, float* probs, cudaStream_t stream) {
  if (B == 0) return;
  softmax_topk_union_kernel<<<B, kThreads, 0, stream>>>(logits, union_map, V, k, ids, probs);
  RLAE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace rlae::cuda
