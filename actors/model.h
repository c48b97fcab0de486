// The member LLM runtime: Llama / Qwen2 / Mistral causal LMs in pure ATen, with a KV cache
// and batched incremental decoding over a fixed set of sequence slots.
//
//   rlae::ModelOptions opt;                 // compute dtype, device, slots, KV capacity
//   opt.num_slots = 8;
//   auto lm = rlae::CausalLM::load("experiments/zoo/tiny-llama", opt);
//   auto out = lm->prefill({{1, 5, 9}, {1, 7}});     // slots 0 and 1, different lengths
//   out.logits;                                      // [2, vocab] float32, last positions
//   out = lm->step({42, 17});                        // one more token for slots 0 and 1
//   out = lm->append(1, {3, 4, 5});                  // several tokens to slot 1 at once
//   lm->reset(0);                                    // slot 0 is empty again
//
// Semantics follow transformers 4.46 (eager attention); tests/parity checks logits against it
// to 1e-4 in float32. Each slot holds one sequence; its tokens sit at cache positions
// 0..length-1 with position ids 0..length-1, so batches never contain padding in the cache:
// a batch call pads internally (right side) and masks. Sliding windows (Mistral, Qwen2 with
// use_sliding_window) mask keys more than sliding_window - 1 positions back; the cache keeps
// every key (it is not a rolling buffer).
//
// All public calls run under c10::InferenceMode: returned tensors are inference tensors
// (clone() them outside inference mode before using them with autograd). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "actors/llama_ops.h"
#include "actors/model_config.h"

namespace rlae {

struct ModelOptions {
  at::ScalarType dtype = at::kFloat;  // compute dtype: weights are converted to it at load,
                                      // the KV cache is kept in it (float32, bfloat16, or
                                      // float16 on CUDA only)
  at::Device device = at::kCPU;
  // The --device request it was resolved from ("auto", "cuda", "cuda:1", "cpu"): under
  // mpirun each actor resolves it again with its node-local rank (kernels/placement.h).
  std::string placement = "cpu";
  int64_t num_slots = 1;    // sequences held at once (rows of the KV cache)
  int64_t max_seq_len = 0;  // tokens per slot at most; 0: config.max_position_embeddings.
                            // The cache grows on demand up to this.
};

// Outputs at the last new token of each row of a call; row r belongs to the r-th slot given.
struct LMOutput {
  at::Tensor logits;  // [rows, vocab_size] float32
  at::Tensor hidden;  // [rows, hidden_size] float32: the final RMSNorm output
  // [rows, hidden_size] float32: the final RMSNorm output averaged over the tokens fed in
  // this call (after prefill: a summary of the whole prompt; after one token: = hidden).
  at::Tensor mean_hidden;
};

class CausalLM {
 public:
  // Reads config.json (+ generation_config.json, tokenizer_config.json) and the safetensors
  // weights (single or sharded) of a Hugging Face model directory. Every problem (missing
  // tensor, wrong shape or dtype, unknown architecture, corrupt file) is an rlae::Error
  // naming the file.
  static std::unique_ptr<CausalLM> load(const std::string& dir, const ModelOptions& options = {});
  // From a config and weights under their Hugging Face names (as named_weights() returns).
  static std::unique_ptr<CausalLM> from_weights(
      const ModelConfig& config, const std::vector<std::pair<std::string, at::Tensor>>& weights,
      const ModelOptions& options = {});
  // Freshly initialized float32 CPU weights under Hugging Face names, as transformers
  // initializes them: linear and embedding weights ~ N(0, std), norms 1, biases 0.
  static std::vector<std::pair<std::string, at::Tensor>> init_weights(const ModelConfig& config,
                                                                      uint64_t seed,
                                                                      double std = 0.02);
  ~CausalLM();

  const ModelConfig& config() const { return config_; }
  const ModelOptions& options() const { return options_; }
  int64_t num_slots() const { return options_.num_slots; }
  int64_t max_seq_len() const { return max_seq_len_; }
  // Tokens held in the slot's cache.
  int64_t length(int64_t slot) const;

  // Appends ids[r] (at least one token) to slot slots[r] for every r, in one batched forward
  // pass (rows may have different lengths; slots must be distinct). The general call; the
  // ones below are shorthands.
  LMOutput extend(const std::vector<int64_t>& slots, const std::vector<std::vector<int32_t>>& ids);
  // Empties slots 0..B-1 and feeds prompts[b] into slot b.
  LMOutput prefill(const std::vector<std::vector<int32_t>>& prompts);
  // Empties the given slots and feeds prompts[r] into slots[r].
  LMOutput prefill(const std::vector<int64_t>& slots, const std::vector<std::vector<int32_t>>& prompts);
  // One token for each listed slot.
  LMOutput step(const std::vector<int64_t>& slots, const std::vector<int32_t>& ids);
  // One token for each of slots 0..ids.size()-1.
  LMOutput step(const std::vector<int32_t>& ids);
  // Several tokens appended to one slot at once (e.g. a chosen ensemble token that
  // re-tokenizes into more than one id).
  LMOutput append(int64_t slot, const std::vector<int32_t>& ids);
  void reset(int64_t slot);
  void reset_all();

  // Logits at every position of one sequence, computed without touching the cache:
  // [ids.size(), vocab_size] float32.
  at::Tensor forward_full(const std::vector<int32_t>& ids);

  // The weights under their Hugging Face names, in the compute dtype and device (views).
  // Tied models have no lm_head.weight.
  std::vector<std::pair<std::string, at::Tensor>> named_weights() const;
  // Writes config.json, generation_config.json and model.safetensors (weights converted to
  // `dtype`) into `dir` (created if missing); transformers 4.46 loads the result.
  void save(const std::string& dir, at::ScalarType dtype = at::kFloat) const;

  // Internal: where load_weights() reads tensors from (a checkpoint or a list).
  class WeightSource;

  using Layer = LlamaLayer;  // the shared layer layout (actors/llama_ops.h)

 private:
  CausalLM(ModelConfig config, ModelOptions options);
  void load_weights(const WeightSource& src);
  void ensure_capacity(int64_t tokens);
  // The batched forward over rows of new tokens; writes the cache when `slots` is non-empty.
  // Returns the final hidden states (before the final norm) [rows, T, H].
  at::Tensor forward_rows(const std::vector<int64_t>& slots, const std::vector<int64_t>& starts,
                          const std::vector<std::vector<int32_t>>& ids);
  LMOutput head(const at::Tensor& x, const std::vector<std::vector<int32_t>>& ids);

  ModelConfig config_;
  ModelOptions options_;
  int64_t max_seq_len_ = 0;

  at::Tensor embed_;    // [V, H]
  at::Tensor norm_;     // [H]
  at::Tensor lm_head_;  // [V, H] (the embedding when tied)
  at::Tensor inv_freq_; // [D / 2] float32
  std::vector<Layer> layers_;

  // KV cache per layer: [num_slots, Hkv, capacity + 1, D]; position `capacity` is scratch
  // that receives the internal padding of batched calls and is never attended.
  std::vector<at::Tensor> k_cache_, v_cache_;
  int64_t capacity_ = 0;
  std::vector<int64_t> lengths_;  // per slot
};

}  // namespace rlae
