// Block-wide argmax with a deterministic tie-break (larger value, then smaller
// id), shared by the mixture kernels.
#pragma once

#include <cstdint>

namespace rlae::cuda {

// Keeps the larger value; on equal values the smaller index.
__device__ __forceinline__ void arg_better(float& v, int64_t& i, float ov, int64_t oi) {
  if (ov > v || (ov == v && oi < i)) {
    v = ov;
    i = oi;
  }
}

// Reduces every thread's (value, id) to thread 0's; blockDim.x == kThreads, a power of two.
template <int kThreads>
__device__ void block_argmax(float& value, int64_t& id) {
  __shared__ float s_val[kThreads];
  __shared__ int64_t s_id[kThreads];
  s_val[threadIdx.x] = value;
  s_id[threadIdx.x] = id;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      arg_better(s_val[threadIdx.x], s_id[threadIdx.x], s_val[threadIdx.x + stride], s_id[threadIdx.x + stride]);
    }
    __syncthreads();
  }
  value = s_val[0];
  id = s_id[0];
}

}  // namespace rlae::cuda
