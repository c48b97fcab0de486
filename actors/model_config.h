// The configuration of a member model, read from a Hugging Face model directory:
//   config.json             architecture and shapes (required)
//   generation_config.json  bos / eos / pad token ids (optional; wins over config.json)
//   tokenizer_config.json   bos_token / eos_token / pad_token as strings, resolved to ids
//                           through tokenizer.json (optional; used for ids still unknown)
//
// Supported architectures (configs written by transformers 4.x and 5.x):
//   LlamaForCausalLM    rope: none, "linear" or "llama3" (5.x "rope_parameters", or 4.x
//                       "rope_theta" + "rope_scaling"); attention_bias, mlp_bias, head_dim
//   Qwen2ForCausalLM    q/k/v biases; the sliding window applies to the layers that
//                       "layer_types" marks "sliding_attention" (5.x); without layer_types,
//                       use_sliding_window applies it to every layer (4.46's eager attention)
//   MistralForCausalLM  sliding_window (null = none) on every layer; head_dim; no rope scaling
// hidden_act must be "silu". Anything else is a clear rlae::Error naming the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rlae {

enum class ModelArch { llama, qwen2, mistral };

// "LlamaForCausalLM", ...
const char* model_arch_class(ModelArch arch);
// "llama", "qwen2", "mistral" (config.json "model_type")
const char* model_arch_type(ModelArch arch);

struct RopeConfig {
  std::string type = "default";  // "default", "linear" or "llama3"
  double theta = 10000.0;
  double factor = 1.0;  // linear, llama3
  double low_freq_factor = 1.0;  // llama3
  double high_freq_factor = 4.0;  // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3
};

struct ModelConfig {
  ModelArch arch = ModelArch::llama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;    // num_hidden_layers
  int64_t num_heads = 0;     // num_attention_heads
  int64_t num_kv_heads = 0;  // num_key_value_heads (default: num_heads)
  int64_t head_dim = 0;      // default hidden_size / num_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool qkv_bias = false;    // Qwen2: always; Llama: attention_bias
  bool o_bias = false;      // Llama: attention_bias
  bool mlp_bias = false;    // Llama: mlp_bias
  bool tie_word_embeddings = false;
  int64_t sliding_window = 0;  // 0: none; else a query attends to the last sliding_window keys
  // Per layer, whether the window applies ("layer_types"); empty: every layer.
  std::vector<bool> windowed_layers;
  bool layer_windowed(int64_t layer) const {
    return sliding_window > 0 && (windowed_layers.empty() ||
                                  windowed_layers[static_cast<std::size_t>(layer)]);
  }
  // Some layers attend to every key although sliding_window > 0.
  bool mixed_windows() const {
    for (bool w : windowed_layers)
      if (!w) return sliding_window > 0;
    return false;
  }
  std::string torch_dtype;     // as stored in config.json ("float32", "bfloat16", ...), may be empty

  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // may hold several (generation_config lists)
  std::optional<int64_t> pad_token_id;

  std::string source;  // where it was read from, for error messages

  // Reads and validates config.json, generation_config.json and tokenizer_config.json of `dir`.
  static ModelConfig from_dir(const std::string& dir);
  // Parses config.json text; `source` names it in errors. Token ids only from this text.
  static ModelConfig from_json(const std::string& text, const std::string& source);

  // Throws rlae::Error (naming `source`) when shapes are inconsistent.
  void validate() const;

  // config.json text that transformers 4.46 reads back as the same model.
  std::string to_json() const;
  // generation_config.json text (token ids only).
  std::string generation_config_json() const;
};

}  // namespace rlae
