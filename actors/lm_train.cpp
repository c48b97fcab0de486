#include "actors/lm_train.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

#include <map>

#include "actors/llama_ops.h"
#include "common/check.h"

namespace rlae {
namespace {

// The embedding lookup. Its autograd backward on the CPU (LibTorch 1.13) adds one row per
// token, ~10 us each; for small vocabularies a one-hot matmul is exact (one nonzero term
// per sum) and several times faster.
at::Tensor embed(const at::Tensor& weight, const at::Tensor& tokens) {
  const int64_t V = weight.size(0), H = weight.size(1);
  if (V * H > (int64_t{1} << 17)) return at::embedding(weight, tokens);
  at::Tensor one_hot = tokens.unsqueeze(-1).eq(at::arange(V, tokens.options())).to(weight.scalar_type());
  return at::matmul(one_hot, weight);
}

}  // namespace

TrainableLM::TrainableLM(const ModelConfig& config, uint64_t seed, double init_std)
    : config_(config) {
  config_.validate();
  adopt(CausalLM::init_weights(config_, seed, init_std));
}

TrainableLM::TrainableLM(const ModelConfig& config,
                         const std::vector<std::pair<std::string, at::Tensor>>& weights)
    : config_(config) {
  config_.validate();
  adopt(weights);
}

void TrainableLM::adopt(const std::vector<std::pair<std::string, at::Tensor>>& weights) {
  std::map<std::string, at::Tensor> given;
  for (const auto& [n, t] : weights) given[n] = t;
  params_.clear();
  index_.clear();
  for (const auto& spec : llama_weight_specs(config_)) {
    auto it = given.find(spec.name);
    RLAE_CHECK(it != given.end(), "TrainableLM: missing tensor '", spec.name, "'");
    RLAE_CHECK(it->second.sizes().vec() == spec.shape, "TrainableLM: tensor '", spec.name,
               "' has the wrong shape");
    // clone() outside InferenceMode: a normal tensor even when given an inference tensor.
    at::Tensor p;
    {
      c10::InferenceMode off(false);
      p = it->second.detach().to(at::kCPU, at::kFloat).clone().contiguous();
    }
    p.requires_grad_(true);
    index_[spec.name] = params_.size();
    params_.emplace_back(spec.name, p);
  }
  inv_freq_ = rope_inv_freq(config_);
}

std::vector<at::Tensor> TrainableLM::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& kv : params_) out.push_back(kv.second);
  return out;
}

int64_t TrainableLM::num_parameters() const {
  int64_t n = 0;
  for (const auto& kv : params_) n += kv.second.numel();
  return n;
}

at::Tensor TrainableLM::logits(const at::Tensor& tokens, const at::Tensor& positions,
                               const at::Tensor& segments) const {
  return head(hidden_states(tokens, positions, segments));
}

at::Tensor TrainableLM::head(const at::Tensor& hidden) const {
  const at::Tensor& w = params_[index_.at(config_.tie_word_embeddings ? "model.embed_tokens.weight"
                                                                      : "lm_head.weight")].second;
  return at::linear(hidden, w);
}

at::Tensor TrainableLM::hidden_states(const at::Tensor& tokens, const at::Tensor& positions,
                                      const at::Tensor& segments) const {
  RLAE_CHECK(tokens.dim() == 2 && tokens.scalar_type() == at::kLong,
             "TrainableLM::logits: tokens must be [B, T] int64");
  const int64_t B = tokens.size(0), T = tokens.size(1);
  RLAE_CHECK(B > 0 && T > 0, "TrainableLM::logits: empty batch");
  at::Tensor pos = positions.defined() ? positions
                                       : at::arange(T, at::kLong).unsqueeze(0).expand({B, T});
  RLAE_CHECK(pos.sizes() == tokens.sizes(), "TrainableLM::logits: positions must be [B, T]");
  RLAE_CHECK(!segments.defined() || segments.sizes() == tokens.sizes(),
             "TrainableLM::logits: segments must be [B, T]");
  auto get = [&](const std::string& n) -> at::Tensor { return params_[index_.at(n)].second; };

  std::vector<LlamaLayer> layers;
  for (int64_t i = 0; i < config_.num_layers; ++i) layers.push_back(llama_make_layer(config_, i, get));
  const RopeTables rope = rope_tables(pos, inv_freq_, at::kFloat);
  // Keys are the row's own tokens in order: query t has index t. Without segments the mask
  // is the same for every row ([1, 1, 1, T, T], broadcast).
  at::Tensor qidx = at::arange(T, at::kLong).unsqueeze(0);
  at::Tensor mask = segments.defined()
                        ? attention_hidden_mask(qidx.expand({B, T}), T, config_.sliding_window, segments)
                        : attention_hidden_mask(qidx, T, config_.sliding_window);
  at::Tensor full;
  if (config_.mixed_windows())
    full = segments.defined() ? attention_hidden_mask(qidx.expand({B, T}), T, 0, segments)
                              : attention_hidden_mask(qidx, T, 0);
  at::Tensor x = embed(get("model.embed_tokens.weight"), tokens);  // [B, T, H]
  x = decoder_layers(x, layers, config_, rope, mask, {}, full);
  return rms_norm(x, get("model.norm.weight"), config_.rms_norm_eps);
}

void TrainableLM::load_weights(const std::vector<std::pair<std::string, at::Tensor>>& weights) {
  std::map<std::string, at::Tensor> given;
  for (const auto& [n, t] : weights) given[n] = t;
  at::NoGradGuard no_grad;
  for (auto& [name, p] : params_) {
    auto it = given.find(name);
    RLAE_CHECK(it != given.end(), "TrainableLM::load_weights: missing tensor '", name, "'");
    RLAE_CHECK(it->second.sizes() == p.sizes(), "TrainableLM::load_weights: tensor '", name,
               "' has shape ", it->second.sizes(), ", expected ", p.sizes());
    p.copy_(it->second);
  }
}

std::unique_ptr<CausalLM> TrainableLM::to_causal_lm(const ModelOptions& options) const {
  std::vector<std::pair<std::string, at::Tensor>> w;
  for (const auto& [n, p] : params_) w.emplace_back(n, p.detach().clone());
  return CausalLM::from_weights(config_, w, options);
}

void TrainableLM::save(const std::string& dir, at::ScalarType dtype) const {
  to_causal_lm()->save(dir, dtype);
}

}  // namespace rlae
