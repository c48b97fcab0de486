// CUDA: weighted merge of K dense distributions + argmax (see kernels/mixture.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace rlae::cuda {

// probs [K, B, V], weights [B, K], all device pointers, contiguous float32.
// Writes token[B] (int64, ties -> smallest id) and prob[B] (the merged value).
void mix_dense_argmax(const float* probs, const float* weights, int K, int B, int64_t V,
                      int64_t* token, float* prob, cudaStream_t stream);

}  // namespace rlae::cuda
