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

// Temperature sampling from the same merged values (the argmax's sibling; same
// inputs, plus temperature T > 0 and uniforms [B] float64 in [0, 1) on the
// inputs' device). Over the candidates in a fixed order, with s the merged value
// and best its maximum (in float64):
//   w = s > 0 ? exp(log(s / best) / T) : 0,   token = the first candidate whose
//   running sum of w exceeds u * sum(w);      best <= 0: the argmax.
// Sparse: candidates in (member, rank) order of first appearance. Dense: ids in
// order, summed in kSampleChunks contiguous chunks of ceil(V / kSampleChunks)
// (chunk sums added in order), so the CUDA kernel (one thread per chunk) and the
// CPU reference add the same numbers in the same order; the two can differ only
// where exp/log round differently (last bit), i.e. when u falls within ~1e-16
// of a boundary. prob: the merged value of the token drawn.
constexpr int64_t kSampleChunks = 256;
MixResult mix_dense_sample(const at::Tensor& probs, const at::Tensor& weights, double temperature,
                           const at::Tensor& uniforms);
MixResult mix_dense_sample_cpu(const at::Tensor& probs, const at::Tensor& weights, double temperature,
                               const at::Tensor& uniforms);
MixResult mix_sparse_sample(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights,
                            double temperature, const at::Tensor& uniforms);
MixResult mix_sparse_sample_cpu(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights,
                                double temperature, const at::Tensor& uniforms);

// The project's one tie-break: argmax over the last dimension of x [rows, V]
// (any dtype, any device), the smallest index among equal maxima -> [rows] int64.
at::Tensor argmax_smallest_id(const at::Tensor& x);

}  // namespace rlae::kernels
