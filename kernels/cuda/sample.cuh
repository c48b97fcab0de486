// CUDA: temperature sampling from the merged distribution (see kernels/mixture.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace rlae::cuda {

// probs [K, B, V], weights [B, K], uniforms [B] (device). kChunks threads per row.
void mix_dense_sample(const float* probs, const float* weights, int K, int B, int64_t V, double temperature,
                      const double* uniforms, int64_t* token, float* prob, cudaStream_t stream);
// ids [K, B, k] int32, probs [K, B, k], weights [B, K], uniforms [B] (device).
void mix_sparse_sample(const int32_t* ids, const float* probs, const float* weights, int K, int B, int k,
                       double temperature, const double* uniforms, int64_t* token, float* prob,
                       cudaStream_t stream);

}  // namespace rlae::cuda
