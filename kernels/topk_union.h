// Ensemble math, per member: softmax + top-k + map to union-vocabulary ids.
//
// The sparse exchange payload of one member: for every sequence, its k most
// probable tokens as (union id, probability), in a fixed-size [B, k] layout
// ready for an all-gather. Order: probability descending, then member token id
// ascending (deterministic on ties). One dispatch point; CPU (ATen) is the
// reference, CUDA in kernels/cuda/topk_union.cu.
#pragma once

#include <ATen/core/Tensor.h>

namespace rlae::kernels {

struct TopKUnion {
  at::Tensor ids;    // [B, k] int32 union ids
  at::Tensor probs;  // [B, k] float32 softmax probabilities
};

// logits [B, V] (float32/bf16/f16; softmax in float32), union_map [V] int32
// (member id -> union id), 1 <= k <= V.
TopKUnion softmax_topk_union(const at::Tensor& logits, const at::Tensor& union_map, int64_t k);
TopKUnion softmax_topk_union_cpu(const at::Tensor& logits, const at::Tensor& union_map, int64_t k);

}  // namespace rlae::kernels
