// A member LLM in trainable form: leaf parameters (requires_grad) under their Hugging Face
// names and a batched forward with autograd, built from the same decoder math as the
// inference runtime (actors/llama_ops.h), so what is trained is what CausalLM runs.
//
//   rlae::TrainableLM lm(config, /*seed=*/1);
//   at::Tensor logits = lm.logits(tokens);           // tokens [B, T] int64 -> [B, T, V]
//   at::cross_entropy(...).backward();               // gradients on lm.parameters()
//   lm.save("out/");                                 // config.json + model.safetensors
//   auto runtime = lm.to_causal_lm(opts);            // a CausalLM with a copy of the weights
//
// Padding: rows may be right-padded freely (causal attention never lets a real token see a
// later pad); ignore the pads' logits in the loss. Packing: several sequences in one row,
// each with its own positions (0, 1, ...) and segment id; attention stays inside a segment,
// so a packed row computes exactly what the sequences would alone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "actors/model.h"
#include "actors/model_config.h"

namespace rlae {

class TrainableLM {
 public:
  // Fresh weights as CausalLM::init_weights(config, seed, init_std) makes them.
  TrainableLM(const ModelConfig& config, uint64_t seed, double init_std = 0.02);
  // A copy of `weights` (Hugging Face names, every tensor of llama_weight_specs(config)).
  TrainableLM(const ModelConfig& config,
              const std::vector<std::pair<std::string, at::Tensor>>& weights);

  const ModelConfig& config() const { return config_; }
  // Float32 CPU leaf tensors with requires_grad, in llama_weight_specs() order (tied models
  // have no lm_head.weight).
  const std::vector<std::pair<std::string, at::Tensor>>& named_parameters() const { return params_; }
  std::vector<at::Tensor> parameters() const;
  int64_t num_parameters() const;

  // Logits [B, T, V] float32 with autograd. tokens [B, T] int64; positions [B, T] int64
  // (undefined: 0..T-1 in every row); segments [B, T] int64 (undefined: one segment per
  // row), see the header comment on packing.
  at::Tensor logits(const at::Tensor& tokens, const at::Tensor& positions = {},
                    const at::Tensor& segments = {}) const;
  // logits() in two halves, so that a loss can run the LM head only where it has labels:
  // the final RMSNorm output [B, T, H], and the head on any [..., H] -> [..., V].
  at::Tensor hidden_states(const at::Tensor& tokens, const at::Tensor& positions = {},
                           const at::Tensor& segments = {}) const;
  at::Tensor head(const at::Tensor& hidden) const;

  // Overwrites the parameters in place with `weights` (the same names and shapes; a checkpoint
  // being resumed). Every parameter must be given.
  void load_weights(const std::vector<std::pair<std::string, at::Tensor>>& weights);
  // A runtime model holding a copy of the current weights.
  std::unique_ptr<CausalLM> to_causal_lm(const ModelOptions& options = {}) const;
  // config.json, generation_config.json and model.safetensors, as CausalLM::save.
  void save(const std::string& dir, at::ScalarType dtype = at::kFloat) const;

 private:
  void adopt(const std::vector<std::pair<std::string, at::Tensor>>& weights);

  ModelConfig config_;
  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in params_
  at::Tensor inv_freq_;        // [D / 2] float32
};

}  // namespace rlae
