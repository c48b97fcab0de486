// The Llama / Qwen2 / Mistral decoder math as free functions, shared by the inference runtime
// (actors/model.h: CausalLM with its KV cache, under InferenceMode) and the trainer
// (actors/lm_train.h: TrainableLM, with autograd). One copy of RMSNorm, RoPE, grouped-query
// attention and SwiGLU; each mirrors transformers 4.46 operation by operation.
//
// Shapes: n rows (sequences), T new tokens per row, K keys per row, H hidden size, Hq / Hkv
// query / key-value heads of size D, I intermediate size.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "actors/model_config.h"

namespace rlae {

// ---------------------------------------------------------------------------
// Weights: names and shapes in the Hugging Face layout
// ---------------------------------------------------------------------------

enum class WeightKind { linear, embedding, norm, bias };

struct WeightSpec {
  std::string name;             // "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;
  WeightKind kind;
};

// Every tensor of the model, in a fixed order (embedding, layers, final norm, lm_head unless
// tied).
std::vector<WeightSpec> llama_weight_specs(const ModelConfig& config);

// "model.layers.<i>."
std::string llama_layer_prefix(int64_t layer);

// One decoder layer with the projections fused (q|k|v and gate|up concatenated along the
// output dimension). Biases are undefined tensors when the architecture has none.
struct LlamaLayer {
  at::Tensor ln_attn, ln_mlp;       // [H]
  at::Tensor w_qkv, b_qkv;          // [(Hq + 2 Hkv) D, H], [(Hq + 2 Hkv) D]
  at::Tensor w_o, b_o;              // [H, Hq D], [H]
  at::Tensor w_gate_up, b_gate_up;  // [2 I, H], [2 I]
  at::Tensor w_down, b_down;        // [H, I], [H]
};

// Builds layer `layer` from tensors under their Hugging Face names; `get(name)` returns one.
// The fusion is at::cat, so gradients flow back to the separate tensors under autograd.
LlamaLayer llama_make_layer(const ModelConfig& config, int64_t layer,
                            const std::function<at::Tensor(const std::string&)>& get);

// ---------------------------------------------------------------------------
// Math
// ---------------------------------------------------------------------------

// x * rsqrt(mean(x^2) + eps) in float32, back to x's dtype, times the weight.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// x W^T (+ b when b is defined).
at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);

// Inverse RoPE frequencies [D / 2] float32 (default, linear or llama3 scaling), on the CPU.
at::Tensor rope_inv_freq(const ModelConfig& config);

// RoPE tables for positions [n, T] (int64): cos and sin [n, T, 1, D] in `dtype`, with the
// angles computed in float32 as transformers does.
struct RopeTables {
  at::Tensor cos, sin;
};
RopeTables rope_tables(const at::Tensor& positions, const at::Tensor& inv_freq, at::ScalarType dtype);

// x * cos + rotate_half(x) * sin; x: [n, T, heads, D].
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// Which keys each query must NOT see, as the boolean mask [n, 1, 1, T, K] that attention()
// takes (true = hidden). Key j (0..K-1, in sequence order) is visible from the query whose
// own index in that order is query_index[r, t] when j <= query_index[r, t], when
// query_index[r, t] - j < sliding_window (if sliding_window > 0), and, when `segments`
// ([n, K] int64, the segment of every key; queries are the last T keys' segments) is defined,
// when both lie in the same segment (packed training sequences).
at::Tensor attention_hidden_mask(const at::Tensor& query_index, int64_t num_keys,
                                 int64_t sliding_window, const at::Tensor& segments = {});

// Grouped-query attention of queries q [n, T, Hq, D] over keys, values [n, Hkv, K, D] with
// the mask of attention_hidden_mask(); scores and softmax in float32. Returns [n, T, Hq D].
at::Tensor attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                     const at::Tensor& hidden_mask);

// Where a layer's keys and values come from: given the layer index and its new keys and
// values [n, T, Hkv, D] (after RoPE), returns the keys and values to attend, [n, Hkv, K, D]
// (the KV cache's, or just the new ones permuted when there is no cache).
using KvSource = std::function<std::pair<at::Tensor, at::Tensor>(
    size_t layer, const at::Tensor& k, const at::Tensor& v)>;

// The decoder layers over embedded tokens x [n, T, H]: for each layer, pre-norm attention
// with RoPE and a residual, then pre-norm SwiGLU MLP with a residual. `kv` may be empty (no
// cache: the keys are the new tokens). Returns the hidden states before the final norm
// [n, T, H]. `full_mask` (when defined) replaces `hidden_mask` on the layers that
// config.layer_windowed() leaves without the sliding window.
at::Tensor decoder_layers(at::Tensor x, const std::vector<LlamaLayer>& layers,
                          const ModelConfig& config, const RopeTables& rope,
                          const at::Tensor& hidden_mask, const KvSource& kv = {},
                          const at::Tensor& full_mask = {});

}  // namespace rlae
