#include "learner/pretrain/setup.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/llama_ops.h"
#include "actors/lm_train.h"
#include "common/adam.h"
#include "common/check.h"
#include "common/log.h"
#include "common/tokenizer.h"
#include "learner/pretrain/pretrain.h"

namespace rlae {
namespace pretraining {
namespace fs = std::filesystem;

void check_config(const PretrainConfig& c) {
  RLAE_USAGE_CHECK(!c.tokenizer.empty(), "rlae pretrain: --tokenizer FILE (tokenizer.json) is required");
  RLAE_USAGE_CHECK(!c.data.empty(), "rlae pretrain: --data FILE[,FILE...] is required");
  RLAE_USAGE_CHECK(!c.out.empty(), "rlae pretrain: --out DIR is required");
  RLAE_USAGE_CHECK(c.data_weights.empty() || c.data_weights.size() == c.data.size(),
                   "--data-weights: ", c.data_weights.size(), " weights for ", c.data.size(), " files");
  for (double w : c.data_weights) RLAE_USAGE_CHECK(w >= 0, "--data-weights must be >= 0");
  for (const auto& kv : c.families) RLAE_USAGE_CHECK(kv.second >= 0, "--families: weights must be >= 0");
  RLAE_USAGE_CHECK(c.hidden_size > 0 && c.num_layers > 0 && c.num_heads > 0,
                   "--hidden-size, --layers and --heads must be positive");
  RLAE_USAGE_CHECK(c.hidden_size % c.num_heads == 0, "--heads ", c.num_heads,
                   " must divide --hidden-size ", c.hidden_size);
  RLAE_USAGE_CHECK((c.hidden_size / c.num_heads) % 2 == 0, "--hidden-size / --heads = ",
                   c.hidden_size / c.num_heads, " must be even (RoPE rotates pairs)");
  const int64_t kv = c.num_kv_heads ? c.num_kv_heads : c.num_heads;
  RLAE_USAGE_CHECK(kv > 0 && c.num_heads % kv == 0, "--kv-heads ", kv, " must divide --heads ", c.num_heads);
  RLAE_USAGE_CHECK(c.intermediate_size >= 0, "--intermediate-size must be >= 0");
  RLAE_USAGE_CHECK(c.max_seq_len >= 8, "--max-seq-len must be >= 8, got ", c.max_seq_len);
  RLAE_USAGE_CHECK(c.rope_theta > 0, "--rope-theta must be positive");
  RLAE_USAGE_CHECK(c.lr > 0 && c.min_lr >= 0 && c.min_lr <= c.lr, "--lr must be positive and --min-lr in [0, lr]");
  RLAE_USAGE_CHECK(c.warmup_steps >= 0 && c.weight_decay >= 0 && c.grad_clip >= 0,
                   "--warmup-steps, --weight-decay and --grad-clip must be >= 0");
  RLAE_USAGE_CHECK(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1,
                   "--beta1 and --beta2 must be in [0, 1), got ", c.beta1, " and ", c.beta2);
  RLAE_USAGE_CHECK(c.init_std > 0 && c.init_std < 1e3, "--init-std must be positive, got ", c.init_std);
  RLAE_USAGE_CHECK(c.batch_size > 0, "--batch-size must be positive");
  RLAE_USAGE_CHECK(c.steps >= 0 && c.max_minutes >= 0 && c.stop_after >= 0,
                   "--steps, --max-minutes and --stop-after must be >= 0");
  RLAE_USAGE_CHECK(c.steps > 0 || c.max_minutes > 0, "rlae pretrain: give --steps or --max-minutes");
  RLAE_USAGE_CHECK(c.eval_every >= 0 && c.eval_problems > 0 && c.checkpoint_every >= 0 && c.log_every > 0,
                   "--eval-every and --checkpoint-every must be >= 0, --eval-problems and --log-every positive");
  RLAE_USAGE_CHECK(c.threads >= 0, "--threads must be >= 0");
  RLAE_USAGE_CHECK(c.word_noise >= 0 && c.word_noise < 1, "--word-noise must be in [0, 1), got ", c.word_noise);
}

int32_t resolve_eos(const PretrainConfig& c, const Tokenizer& tok) {
  if (!c.eos_token.empty()) {
    auto id = tok.token_to_id(c.eos_token);
    RLAE_CHECK(id.has_value(), c.tokenizer, ": --eos-token '", c.eos_token, "' is not a token");
    return *id;
  }
  for (const char* name : {"</s>", "<|endoftext|>", "<eos>", "<|eos|>", "<|end|>", "<|im_end|>",
                           "<|end_of_text|>", "<|eot_id|>", "[EOS]", "<EOS>"}) {
    auto id = tok.token_to_id(name);
    if (id && tok.is_special(*id)) return *id;
  }
  RLAE_FAIL(c.tokenizer, ": no special EOS token (</s>, <|endoftext|>, <eos>, ...); name one "
            "with --eos-token");
}

std::optional<int32_t> resolve_bos(const PretrainConfig& c, const Tokenizer& tok) {
  const std::vector<int32_t> templ = tok.encode("", true);
  std::optional<int32_t> from_template;
  if (!templ.empty() && tok.encode("a", true).front() == templ.front()) from_template = templ.front();
  if (c.bos_token.empty()) return from_template;
  auto id = tok.token_to_id(c.bos_token);
  RLAE_CHECK(id.has_value(), c.tokenizer, ": --bos-token '", c.bos_token, "' is not a token");
  if (from_template != id)
    RLAE_LOG(warn, c.tokenizer, ": its post-processor does not start sequences with --bos-token '",
             c.bos_token, "'; prompts are encoded as generation encodes them (without it), and "
             "the id is only recorded in config.json");
  return id;
}

ModelConfig model_config(const PretrainConfig& c, const Tokenizer& tok, int32_t eos, std::optional<int32_t> bos) {
  ModelConfig m;
  m.arch = ModelArch::llama;
  m.vocab_size = tok.vocab_size();
  m.hidden_size = c.hidden_size;
  m.num_layers = c.num_layers;
  m.num_heads = c.num_heads;
  m.num_kv_heads = c.num_kv_heads ? c.num_kv_heads : c.num_heads;
  m.head_dim = c.hidden_size / c.num_heads;
  m.intermediate_size = c.intermediate_size ? c.intermediate_size : (8 * c.hidden_size / 3 + 31) / 32 * 32;
  m.max_position_embeddings = c.max_seq_len;
  m.rms_norm_eps = 1e-5;
  m.rope.theta = c.rope_theta;
  m.tie_word_embeddings = c.tie_embeddings;
  m.torch_dtype = "float32";
  m.bos_token_id = bos;
  m.eos_token_ids = {eos};
  m.source = "rlae pretrain";
  m.validate();
  return m;
}

std::string tokenizer_config_json(const Tokenizer& tok, int32_t eos, std::optional<int32_t> bos, int64_t max_len) {
  nlohmann::json j;
  j["tokenizer_class"] = "PreTrainedTokenizerFast";
  j["eos_token"] = tok.id_to_token(eos);
  if (bos) j["bos_token"] = tok.id_to_token(*bos);
  j["model_max_length"] = max_len;
  j["clean_up_tokenization_spaces"] = false;
  return j.dump(2) + "\n";
}

void prepare_out(const std::string& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  RLAE_CHECK(!ec && fs::is_directory(out), out, ": cannot create the output directory (",
             ec ? ec.message() : std::string("not a directory"), ")");
  const std::string probe = out + "/.rlae-write-test";
  {
    std::ofstream f(probe);
    f << "x";
    f.flush();
    RLAE_CHECK(f.good(), out, ": the output directory is not writable");
  }
  fs::remove(probe, ec);
}

Adam make_adamw(const TrainableLM& lm, const PretrainConfig& c) {
  std::map<std::string, WeightKind> kinds;
  for (const auto& s : llama_weight_specs(lm.config())) kinds[s.name] = s.kind;
  std::vector<at::Tensor> params;
  std::vector<std::string> names;
  std::vector<bool> decay;
  for (const auto& [n, p] : lm.named_parameters()) {
    names.push_back(n);
    params.push_back(p);
    const WeightKind k = kinds.at(n);
    decay.push_back(k == WeightKind::linear || k == WeightKind::embedding);
  }
  const AdamOptions o{c.beta1, c.beta2, c.adam_eps, c.weight_decay};
  return Adam(std::move(params), o, std::move(names), std::move(decay));
}

}  // namespace pretraining

std::vector<std::pair<std::string, double>> parse_family_weights(const std::string& text) {
  std::vector<std::pair<std::string, double>> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (item.empty()) continue;
    const auto colon = item.rfind(':');
    std::string name = item.substr(0, colon);
    double w = 1.0;
    if (colon != std::string::npos) {
      const std::string num = item.substr(colon + 1);
      char* end = nullptr;
      w = std::strtod(num.c_str(), &end);
      RLAE_USAGE_CHECK(!num.empty() && end && *end == '\0' && w >= 0 && std::isfinite(w),
                       "--families: expected NAME:WEIGHT with WEIGHT >= 0, got '", item, "'");
    }
    RLAE_USAGE_CHECK(!name.empty(), "--families: empty family name in '", text, "'");
    out.emplace_back(name, w);
  }
  return out;
}

double pretrain_lr(const PretrainConfig& c, int64_t step, int64_t horizon) {
  if (c.warmup_steps > 0 && step < c.warmup_steps)
    return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  const int64_t span = horizon - 1 - c.warmup_steps;
  if (horizon < 0 || span <= 0) return c.lr;
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup_steps) / static_cast<double>(span));
  return c.min_lr + 0.5 * (c.lr - c.min_lr) * (1 + std::cos(M_PI * progress));
}

}  // namespace rlae
