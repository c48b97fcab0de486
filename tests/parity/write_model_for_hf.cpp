// The other direction of the model parity test: rlae writes tiny random models with its own
// safetensors writer (CausalLM::save), reloads them, and records its logits; then
// tests/parity/compare_written_models.py loads the directories in transformers and checks
// that it computes the same logits (1e-4, float32).
//
//   rlae_model_writer OUT_DIR
//
// writes OUT_DIR/<case>/model/ (config.json, generation_config.json, model.safetensors) and
// OUT_DIR/<case>/expected.safetensors in the layout of make_model_fixtures.py's
// reference.safetensors (prompt_ids, prompt_lengths, tokens, logits, hidden), plus
// OUT_DIR/manifest.json listing the cases.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "actors/model.h"
#include "common/safetensors.h"

namespace {

constexpr int kSteps = 16;
const std::vector<int64_t> kPromptLengths = {5, 1, 9, 3};

struct Case {
  std::string name;
  rlae::ModelConfig config;
  at::ScalarType save_dtype;
};

rlae::ModelConfig base(rlae::ModelArch arch) {
  rlae::ModelConfig c;
  c.arch = arch;
  c.vocab_size = 96;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 256;
  c.rms_norm_eps = 1e-5;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  return c;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  {
    rlae::ModelConfig c = base(rlae::ModelArch::llama);
    c.qkv_bias = c.o_bias = true;
    c.rope.type = "llama3";
    c.rope.factor = 8;
    c.rope.low_freq_factor = 1;
    c.rope.high_freq_factor = 4;
    c.rope.original_max_position_embeddings = 64;
    out.push_back({"llama_written", c, at::kFloat});
  }
  {
    rlae::ModelConfig c = base(rlae::ModelArch::qwen2);
    c.qkv_bias = true;
    c.tie_word_embeddings = true;
    c.rope.theta = 1e6;
    out.push_back({"qwen2_written_bf16", c, at::kBFloat16});
  }
  {
    rlae::ModelConfig c = base(rlae::ModelArch::mistral);
    c.num_kv_heads = 1;
    c.sliding_window = 5;
    out.push_back({"mistral_written", c, at::kFloat});
  }
  return out;
}

// Unit-scale weights so that logits are O(1): N(0, 1/fan_in) matrices, N(0, 1) embeddings,
// norms around 1, small biases.
std::vector<std::pair<std::string, at::Tensor>> random_weights(const rlae::ModelConfig& c,
                                                               uint64_t seed) {
  auto w = rlae::CausalLM::init_weights(c, seed);
  at::Generator gen = at::detail::createCPUGenerator(seed + 1);
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (auto& [name, t] : w) {
    at::Tensor r = at::normal(0.0, 1.0, t.sizes(), gen);
    if (ends_with(name, "norm.weight"))
      t = 1.0 + 0.2 * r;
    else if (ends_with(name, ".bias"))
      t = 0.2 * r;
    else if (name == "model.embed_tokens.weight")
      t = r;
    else
      t = r / std::sqrt(static_cast<double>(t.size(1)));
  }
  return w;
}

void write_case(const std::string& out_dir, const Case& cs, uint64_t seed) {
  const std::string case_dir = out_dir + "/" + cs.name;
  ::mkdir(case_dir.c_str(), 0755);
  const std::string model_dir = case_dir + "/model";
  rlae::CausalLM::from_weights(cs.config, random_weights(cs.config, seed))->save(model_dir, cs.save_dtype);

  // Expectations come from what was written (bf16 rounding included).
  rlae::ModelOptions opt;
  opt.num_slots = static_cast<int64_t>(kPromptLengths.size());
  auto lm = rlae::CausalLM::load(model_dir, opt);
  at::Generator gen = at::detail::createCPUGenerator(seed + 2);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<int64_t> flat;
  for (int64_t n : kPromptLengths) {
    at::Tensor ids = at::randint(3, cs.config.vocab_size, {n}, gen, at::kLong);
    prompts.emplace_back();
    for (int64_t i = 0; i < n; ++i) {
      prompts.back().push_back(static_cast<int32_t>(ids[i].item<int64_t>()));
      flat.push_back(ids[i].item<int64_t>());
    }
  }
  std::vector<at::Tensor> logits, hidden, tokens;
  rlae::LMOutput out = lm->prefill(prompts);
  for (int s = 0; s <= kSteps; ++s) {
    logits.push_back(out.logits);
    hidden.push_back(out.hidden);
    if (s == kSteps) break;
    at::Tensor next = out.logits.argmax(-1);
    tokens.push_back(next);
    std::vector<int32_t> ids;
    for (int64_t b = 0; b < next.size(0); ++b) ids.push_back(static_cast<int32_t>(next[b].item<int64_t>()));
    out = lm->step(ids);
  }
  rlae::save_safetensors(case_dir + "/expected.safetensors",
                         {{"prompt_ids", at::tensor(flat, at::kLong)},
                          {"prompt_lengths", at::tensor(kPromptLengths, at::kLong)},
                          {"tokens", at::stack(tokens)},
                          {"logits", at::stack(logits)},
                          {"hidden", at::stack(hidden)}});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const std::string out_dir = argv[1];
    ::mkdir(out_dir.c_str(), 0755);
    std::string manifest = "{\"cases\": [";
    uint64_t seed = 7000;
    bool first = true;
    for (const Case& cs : cases()) {
      write_case(out_dir, cs, seed += 10);
      manifest += std::string(first ? "" : ", ") + "\"" + cs.name + "\"";
      first = false;
      std::cout << cs.name << ": written\n";
    }
    manifest += "], \"steps\": " + std::to_string(kSteps) + "}\n";
    std::ofstream(out_dir + "/manifest.json") << manifest;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rlae_model_writer: %s\n", e.what());
    return 1;
  }
  return 0;
}
