// CUDA: softmax + top-k + map to union ids for one member (see kernels/topk_union.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace rlae::cuda {

// logits [B, V] float32, union_map [V] int32 (device pointers). Writes ids [B, k]
// (union ids) and probs [B, k], probability descending then member id ascending.
void softmax_topk_union(const float* logits, const int32_t* union_map, int B, int64_t V, int k,
                        int32_t* ids, float* probs, cudaStream_t stream);

}  // namespace rlae::cuda
