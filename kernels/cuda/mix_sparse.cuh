// CUDA: weighted merge of K members' sparse top-k payloads + argmax (see kernels/mixture.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace rlae::cuda {

// ids [K, B, k] int32, probs [K, B, k] float32, weights [B, K] float32 (device).
void mix_sparse_argmax(const int32_t* ids, const float* probs, const float* weights, int K, int B,
                       int k, int64_t* token, float* prob, cudaStream_t stream);

}  // namespace rlae::cuda
