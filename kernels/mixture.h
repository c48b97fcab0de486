// Ensemble math: weighted merge of K members' next-token distributions + argmax.
//
// One dispatch point for every backend: the CPU implementation (ATen) is the
// reference; CUDA tensors go to kernels/cuda/mix_dense.cu. Both add the members
// in order k = 0..K-1 with separately rounded multiply and add, so the merged
// values, and therefore the chosen tokens, are bit-identical across backends.
#pragma once

#include <ATen/core/Tensor.h>

namespace rlae::kernels {

struct MixResult {
  at::Tensor token;  // [B] int64: argmax_v sum_k w[b,k] * probs[k,b,v]; ties -> smallest v
  at::Tensor prob;   // [B] float32: the merged value at that token
};

// probs:   [K, B, V] float32, one distribution per member and sequence
// weights: [B, K]    float32, finite and >= 0 (not necessarily normalized)
MixResult mix_dense_argmax(const at::Tensor& probs, const at::Tensor& weights);

// The CPU reference, whatever device the inputs are on (tests compare with it).
MixResult mix_dense_argmax_cpu(const at::Tensor& probs, const at::Tensor& weights);

// Sparse top-k mode: each member contributes its top-k (union id, probability).
// ids   [K, B, k] int32 union ids (distinct within one member's row)
// probs [K, B, k] float32
// weights [B, K] float32
// merged(u) = sum over members m = 0..K-1 of w[b,m] * p_m(u), where p_m(u) = 0
// when u is not in member m's top-k; token = argmax (ties -> smallest union id).
MixResult mix_sparse_argmax(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights);
MixResult mix_sparse_argmax_cpu(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights);

}  // namespace rlae::kernels
