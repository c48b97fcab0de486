// rlae::CausalLM and rlae::ModelConfig: KV-cache consistency (step-by-step = full forward,
// append = steps, reset, mixed-length batch = each sequence alone, scattered slots, cache
// growth), save/load round trips, and clear errors for bad model directories and calls.
// Parity with Hugging Face itself is tests/parity/test_model_parity.cpp.
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/model.h"
#include "actors/model_config.h"
#include "common/check.h"
#include "common/safetensors.h"

namespace {

constexpr double kTol = 2e-5;

std::string make_temp_dir() {
  std::string tmpl = ::testing::TempDir() + "rlae_model_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  EXPECT_NE(::mkdtemp(buf.data()), nullptr);
  return std::string(buf.data());
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

rlae::ModelConfig tiny_config(rlae::ModelArch arch) {
  rlae::ModelConfig c;
  c.arch = arch;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 512;
  c.rms_norm_eps = 1e-5;
  if (arch == rlae::ModelArch::qwen2) c.qkv_bias = true;
  if (arch == rlae::ModelArch::mistral) c.sliding_window = 7;
  if (arch == rlae::ModelArch::llama) {
    c.rope.type = "llama3";
    c.rope.factor = 8;
    c.rope.original_max_position_embeddings = 64;
  }
  return c;
}

// Unit-scale random weights (O(1) logits), including norms and biases.
std::vector<std::pair<std::string, at::Tensor>> unit_weights(const rlae::ModelConfig& c,
                                                             uint64_t seed) {
  auto w = rlae::CausalLM::init_weights(c, seed);
  at::Generator gen = at::detail::createCPUGenerator(seed + 1);
  for (auto& [name, t] : w) {
    at::Tensor r = at::normal(0.0, 1.0, t.sizes(), gen);
    if (t.dim() == 2)
      t = name == "model.embed_tokens.weight" ? r : r / std::sqrt(static_cast<double>(t.size(1)));
    else if (name.find("norm") != std::string::npos)
      t = 1.0 + 0.2 * r;
    else
      t = 0.2 * r;
  }
  return w;
}

std::unique_ptr<rlae::CausalLM> tiny_model(rlae::ModelArch arch, int64_t slots,
                                           int64_t max_seq_len = 0) {
  rlae::ModelOptions opt;
  opt.num_slots = slots;
  opt.max_seq_len = max_seq_len;
  const rlae::ModelConfig c = tiny_config(arch);
  return rlae::CausalLM::from_weights(c, unit_weights(c, 11), opt);
}

std::vector<int32_t> seq(int n, int offset) {
  std::vector<int32_t> s;
  for (int i = 0; i < n; ++i) s.push_back((i * 7 + offset * 13 + 3) % 50);
  return s;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

class ModelArchs : public ::testing::TestWithParam<rlae::ModelArch> {};

TEST_P(ModelArchs, StepByStepEqualsFullForward) {
  auto lm = tiny_model(GetParam(), 1);
  const std::vector<int32_t> ids = seq(20, 1);
  const at::Tensor full = lm->forward_full(ids);  // [20, V]
  rlae::LMOutput out = lm->prefill({{ids[0]}});
  EXPECT_LE(max_diff(out.logits[0], full[0]), kTol);
  for (std::size_t t = 1; t < ids.size(); ++t) {
    out = lm->step({ids[t]});
    EXPECT_LE(max_diff(out.logits[0], full[static_cast<int64_t>(t)]), kTol) << "position " << t;
  }
  EXPECT_EQ(lm->length(0), 20);
}

TEST_P(ModelArchs, PrefillEqualsFullForwardAndHiddenIsFinalNorm) {
  auto lm = tiny_model(GetParam(), 1);
  const std::vector<int32_t> ids = seq(9, 2);
  rlae::LMOutput out = lm->prefill({ids});
  EXPECT_LE(max_diff(out.logits[0], lm->forward_full(ids)[8]), kTol);
  ASSERT_EQ(out.hidden.sizes(), (std::vector<int64_t>{1, 32}));
  // logits = lm_head(hidden)
  at::Tensor lm_head = lm->named_weights().back().second;  // untied: lm_head.weight last
  EXPECT_LE(max_diff(at::linear(out.hidden, lm_head), out.logits), kTol);
}

TEST_P(ModelArchs, AppendEqualsSteppingOneByOne) {
  auto a = tiny_model(GetParam(), 2);
  auto b = tiny_model(GetParam(), 2);
  a->prefill({seq(5, 3), seq(3, 4)});
  b->prefill({seq(5, 3), seq(3, 4)});
  const std::vector<int32_t> more = {7, 8, 9, 10};
  rlae::LMOutput ra = a->append(1, more);
  rlae::LMOutput rb;
  for (int32_t id : more) rb = b->step({1}, {id});
  EXPECT_LE(max_diff(ra.logits, rb.logits), kTol);
  EXPECT_LE(max_diff(ra.hidden, rb.hidden), kTol);
  EXPECT_EQ(a->length(1), 7);
  EXPECT_EQ(a->length(0), 5);
  // Both continue identically, for both slots.
  ra = a->step({1, 2});
  rb = b->step({1, 2});
  EXPECT_LE(max_diff(ra.logits, rb.logits), kTol);
}

// mean_hidden after a prefill is the final-norm hidden state averaged over the
// prompt's own tokens, also when shorter prompts are padded in the batch; after
// one token it is that token's hidden state.
TEST_P(ModelArchs, MeanHiddenAveragesThePromptsOwnPositions) {
  const std::vector<std::vector<int32_t>> prompts = {seq(6, 1), seq(1, 2), seq(4, 3)};
  auto lm = tiny_model(GetParam(), 3);
  rlae::LMOutput out = lm->prefill(prompts);
  ASSERT_EQ(out.mean_hidden.sizes(), (std::vector<int64_t>{3, 32}));
  for (size_t r = 0; r < prompts.size(); ++r) {
    // Reference: the hidden state at every position, one prefix at a time.
    auto ref = tiny_model(GetParam(), 1);
    at::Tensor sum = at::zeros({32});
    for (size_t t = 1; t <= prompts[r].size(); ++t) {
      sum += ref->prefill({std::vector<int32_t>(prompts[r].begin(), prompts[r].begin() + t)}).hidden[0];
    }
    EXPECT_LE(max_diff(out.mean_hidden[r], sum / static_cast<double>(prompts[r].size())), kTol) << "prompt " << r;
  }
  EXPECT_LE(max_diff(out.mean_hidden[1], out.hidden[1]), kTol);  // one token: its own hidden state
  out = lm->step({5, 6, 7});
  EXPECT_LE(max_diff(out.mean_hidden, out.hidden), 0.0);
}

TEST_P(ModelArchs, MixedLengthBatchEqualsEachSequenceAlone) {
  const std::vector<std::vector<int32_t>> prompts = {seq(6, 1), seq(1, 2), seq(11, 3), seq(3, 4)};
  auto batch = tiny_model(GetParam(), 4);
  rlae::LMOutput out = batch->prefill(prompts);
  std::vector<rlae::LMOutput> steps;
  for (int s = 0; s < 10; ++s) steps.push_back(batch->step({1, 2, 3, 4}));
  for (std::size_t b = 0; b < prompts.size(); ++b) {
    auto alone = tiny_model(GetParam(), 1);
    rlae::LMOutput o = alone->prefill({prompts[b]});
    EXPECT_LE(max_diff(o.logits[0], out.logits[static_cast<int64_t>(b)]), kTol) << "prompt " << b;
    EXPECT_LE(max_diff(o.hidden[0], out.hidden[static_cast<int64_t>(b)]), kTol) << "prompt " << b;
  }
  // Steps: sequence b received token b + 1 each time; compare against one alone.
  for (std::size_t b = 0; b < prompts.size(); ++b) {
    auto alone = tiny_model(GetParam(), 1);
    alone->prefill({prompts[b]});
    for (int s = 0; s < 10; ++s) {
      rlae::LMOutput o = alone->step({static_cast<int32_t>(b + 1)});
      EXPECT_LE(max_diff(o.logits[0], steps[static_cast<std::size_t>(s)].logits[static_cast<int64_t>(b)]),
                kTol)
          << "prompt " << b << " step " << s;
    }
  }
}

TEST_P(ModelArchs, ScatteredSlotsAndSubsetSteps) {
  auto lm = tiny_model(GetParam(), 5);
  auto ref = tiny_model(GetParam(), 1);
  lm->prefill({4, 1, 2}, {seq(4, 1), seq(7, 2), seq(2, 3)});
  rlae::LMOutput o = lm->step({2, 4}, {5, 6});  // slot 1 idle this step
  o = lm->extend({1, 4}, {{9, 9, 9}, {1}});     // different lengths in one call
  ref->prefill({seq(4, 1)});
  ref->step({6});
  rlae::LMOutput r = ref->step({1});
  EXPECT_LE(max_diff(o.logits[1], r.logits[0]), kTol);
  ref->prefill({seq(7, 2)});
  r = ref->append(0, {9, 9, 9});
  EXPECT_LE(max_diff(o.logits[0], r.logits[0]), kTol);
  EXPECT_EQ(lm->length(2), 3);
  EXPECT_EQ(lm->length(1), 10);
  EXPECT_EQ(lm->length(0), 0);
}

TEST_P(ModelArchs, ResetOneSlot) {
  auto lm = tiny_model(GetParam(), 2);
  lm->prefill({seq(8, 1), seq(5, 2)});
  lm->step({3, 4});
  lm->reset(0);
  EXPECT_EQ(lm->length(0), 0);
  EXPECT_EQ(lm->length(1), 6);
  rlae::LMOutput o = lm->extend({0}, {seq(3, 5)});
  auto fresh = tiny_model(GetParam(), 1);
  EXPECT_LE(max_diff(o.logits[0], fresh->prefill({seq(3, 5)}).logits[0]), kTol);
  // Slot 1 is unaffected.
  o = lm->step({1}, {7});
  auto alone = tiny_model(GetParam(), 1);
  alone->prefill({seq(5, 2)});
  alone->step({4});
  EXPECT_LE(max_diff(o.logits[0], alone->step({7}).logits[0]), kTol);
}

TEST_P(ModelArchs, CacheGrowsAcrossItsInitialCapacity) {
  auto lm = tiny_model(GetParam(), 2);
  const std::vector<int32_t> ids = seq(150, 6);
  lm->prefill({{ids[0]}, seq(3, 1)});
  rlae::LMOutput out;
  for (std::size_t t = 1; t < ids.size(); ++t) out = lm->step({0}, {ids[t]});
  EXPECT_LE(max_diff(out.logits[0], lm->forward_full(ids)[149]), kTol);
  // The other slot survived the reallocations.
  auto alone = tiny_model(GetParam(), 1);
  alone->prefill({seq(3, 1)});
  EXPECT_LE(max_diff(lm->step({1}, {2}).logits[0], alone->step({2}).logits[0]), kTol);
}

TEST_P(ModelArchs, SaveAndLoadRoundTrip) {
  auto lm = tiny_model(GetParam(), 1);
  const std::string dir = make_temp_dir() + "/m";
  lm->save(dir);
  rlae::ModelOptions opt;
  auto back = rlae::CausalLM::load(dir, opt);
  const std::vector<int32_t> ids = seq(6, 2);
  EXPECT_EQ(max_diff(back->forward_full(ids), lm->forward_full(ids)), 0.0);
  EXPECT_EQ(back->config().arch, GetParam());
  EXPECT_EQ(back->config().sliding_window, lm->config().sliding_window);
  // bf16 weights load into float32 compute with bf16-rounded values.
  lm->save(dir, at::kBFloat16);
  back = rlae::CausalLM::load(dir, opt);
  EXPECT_EQ(rlae::SafetensorsFile::open(dir + "/model.safetensors")->entry("model.norm.weight").dtype,
            rlae::StDtype::BF16);
  EXPECT_LE(max_diff(back->forward_full(ids), lm->forward_full(ids)), 0.5);
  lm->save(dir, at::kHalf);
  back = rlae::CausalLM::load(dir, opt);
  EXPECT_EQ(rlae::SafetensorsFile::open(dir + "/model.safetensors")->entry("model.norm.weight").dtype,
            rlae::StDtype::F16);
  EXPECT_LE(max_diff(back->forward_full(ids), lm->forward_full(ids)), 0.5);
}

TEST_P(ModelArchs, LowerPrecisionComputeStaysClose) {
  const rlae::ModelConfig c = tiny_config(GetParam());
  const auto w = unit_weights(c, 11);
  auto f32 = rlae::CausalLM::from_weights(c, w);
  rlae::ModelOptions opt;
  opt.dtype = at::kBFloat16;
  auto bf16 = rlae::CausalLM::from_weights(c, w, opt);
  const std::vector<int32_t> ids = seq(12, 3);
  const at::Tensor a = f32->prefill({ids}).logits, b = bf16->prefill({ids}).logits;
  EXPECT_EQ(b.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::isfinite(b).all().item<bool>());
  EXPECT_LE(max_diff(a, b), 0.1 * a.abs().max().item<double>() + 0.1);
}

INSTANTIATE_TEST_SUITE_P(Archs, ModelArchs,
                         ::testing::Values(rlae::ModelArch::llama, rlae::ModelArch::qwen2,
                                           rlae::ModelArch::mistral),
                         [](const ::testing::TestParamInfo<rlae::ModelArch>& info) {
                           return std::string(rlae::model_arch_type(info.param));
                         });

TEST(Model, SlidingWindowLimitsAttention) {
  // With window 7, the logits at position 20 do not depend on token 0..13.
  auto lm = tiny_model(rlae::ModelArch::mistral, 1);
  std::vector<int32_t> a = seq(21, 1), b = a;
  for (int i = 0; i < 7; ++i) b[static_cast<std::size_t>(i)] = (b[static_cast<std::size_t>(i)] + 5) % 50;
  // 2 layers: information travels at most 2 * 6 positions back.
  EXPECT_LE(max_diff(lm->forward_full(a)[20], lm->forward_full(b)[20]), kTol);
  EXPECT_GT(max_diff(lm->forward_full(a)[10], lm->forward_full(b)[10]), 1e-3);
}

// The three architectures on CUDA against the CPU: f32 to 1e-3 (TF32 is off in
// LibTorch by default for matmuls), bf16 within bf16's own error of the f32 logits.
TEST(Model, CudaMatchesCpu) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  for (rlae::ModelArch arch : {rlae::ModelArch::llama, rlae::ModelArch::qwen2, rlae::ModelArch::mistral}) {
    const rlae::ModelConfig c = tiny_config(arch);
    const auto w = unit_weights(c, 11);
    rlae::ModelOptions opt;
    opt.num_slots = 2;
    auto cpu = rlae::CausalLM::from_weights(c, w, opt);
    opt.device = at::Device(at::kCUDA, 0);
    auto gpu = rlae::CausalLM::from_weights(c, w, opt);
    opt.dtype = at::kBFloat16;
    auto bf16 = rlae::CausalLM::from_weights(c, w, opt);
    const std::vector<std::vector<int32_t>> p = {seq(5, 1), seq(9, 2)};
    const at::Tensor ref = cpu->prefill(p).logits;
    EXPECT_LE(max_diff(ref, gpu->prefill(p).logits.cpu()), 1e-3) << static_cast<int>(arch);
    const at::Tensor half = bf16->prefill(p).logits.cpu();
    EXPECT_EQ(half.scalar_type(), at::kFloat);  // logits leave the model in f32
    EXPECT_LE(max_diff(ref, half), 0.1 * (ref.abs().max().item<double>() + 1)) << static_cast<int>(arch);
    const at::Tensor ref1 = cpu->step({3, 4}).logits;
    EXPECT_LE(max_diff(ref1, gpu->step({3, 4}).logits.cpu()), 1e-3) << static_cast<int>(arch);
  }
}

// ---------------------------------------------------------------------------
// Bad calls and bad model directories
// ---------------------------------------------------------------------------

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const rlae::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no rlae::Error";
  return "";
}

TEST(Model, BadCalls) {
  auto lm = tiny_model(rlae::ModelArch::llama, 2, /*max_seq_len=*/10);
  EXPECT_NE(error_of([&] { lm->prefill({{1, 2, 50}}); }).find("token id 50"), std::string::npos);
  EXPECT_NE(error_of([&] { lm->prefill({{1}, {2}, {3}}); }).find("slot 2 out of range"),
            std::string::npos);
  EXPECT_NE(error_of([&] { lm->step({0, 0}, {1, 2}); }).find("given twice"), std::string::npos);
  EXPECT_NE(error_of([&] { lm->append(0, {}); }).find("no tokens"), std::string::npos);
  EXPECT_NE(error_of([&] { lm->prefill({seq(11, 1)}); }).find("max_seq_len 10"), std::string::npos);
  lm->prefill({seq(10, 1)});
  EXPECT_NE(error_of([&] { lm->step({0}, {1}); }).find("max_seq_len"), std::string::npos);
  EXPECT_EQ(lm->length(0), 10);  // a failed call changes nothing
  rlae::ModelOptions half;
  half.dtype = at::kHalf;
  const rlae::ModelConfig c = tiny_config(rlae::ModelArch::llama);
  EXPECT_NE(error_of([&] { rlae::CausalLM::from_weights(c, unit_weights(c, 1), half); })
                .find("float16 compute needs a CUDA device"),
            std::string::npos);
}

class ModelDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir() + "/m";
    config_ = tiny_config(rlae::ModelArch::qwen2);
    rlae::CausalLM::from_weights(config_, unit_weights(config_, 3))->save(dir_);
  }
  std::string load_error() {
    return error_of([&] { rlae::CausalLM::load(dir_); });
  }
  void rewrite_weights(const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
    auto f = rlae::SafetensorsFile::open(dir_ + "/model.safetensors");
    std::vector<std::pair<std::string, at::Tensor>> w;
    for (const auto& n : f->names()) w.emplace_back(n, f->get(n).clone());
    f.reset();
    edit(w);
    rlae::save_safetensors(dir_ + "/model.safetensors", w);
  }
  std::string dir_;
  rlae::ModelConfig config_;
};

// The loaded model is the saved one: every config field, every weight bit, the same logits.
TEST_F(ModelDir, LoadsAsSaved) {
  std::unique_ptr<rlae::CausalLM> loaded;
  ASSERT_NO_THROW(loaded = rlae::CausalLM::load(dir_));
  const rlae::ModelConfig& c = loaded->config();
  EXPECT_EQ(c.arch, config_.arch);
  EXPECT_EQ(c.vocab_size, config_.vocab_size);
  EXPECT_EQ(c.hidden_size, config_.hidden_size);
  EXPECT_EQ(c.intermediate_size, config_.intermediate_size);
  EXPECT_EQ(c.num_layers, config_.num_layers);
  EXPECT_EQ(c.num_heads, config_.num_heads);
  EXPECT_EQ(c.num_kv_heads, config_.num_kv_heads);
  EXPECT_EQ(c.head_dim, config_.head_dim);
  EXPECT_EQ(c.max_position_embeddings, config_.max_position_embeddings);
  EXPECT_EQ(c.rms_norm_eps, config_.rms_norm_eps);
  EXPECT_EQ(c.rope.type, config_.rope.type);
  EXPECT_EQ(c.rope.theta, config_.rope.theta);
  EXPECT_EQ(c.qkv_bias, config_.qkv_bias);
  EXPECT_EQ(c.o_bias, config_.o_bias);
  EXPECT_EQ(c.mlp_bias, config_.mlp_bias);
  EXPECT_EQ(c.tie_word_embeddings, config_.tie_word_embeddings);
  EXPECT_EQ(c.sliding_window, config_.sliding_window);
  EXPECT_EQ(c.to_json(), config_.to_json());

  const auto saved = unit_weights(config_, 3);
  std::map<std::string, at::Tensor> got;
  for (const auto& [name, t] : loaded->named_weights()) got[name] = t;
  ASSERT_EQ(got.size(), saved.size());
  for (const auto& [name, t] : saved) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_EQ(got[name].dtype(), t.dtype()) << name;
    EXPECT_TRUE(at::equal(got[name].contiguous(), t.contiguous())) << name;
  }
  auto original = rlae::CausalLM::from_weights(config_, saved);
  const std::vector<int32_t> ids = seq(12, 2);
  EXPECT_TRUE(at::equal(loaded->forward_full(ids), original->forward_full(ids)));
}

TEST_F(ModelDir, UnknownArchitecture) {
  auto j = nlohmann::json::parse(read_text(dir_ + "/config.json"));
  j["architectures"] = {"GPT2LMHeadModel"};
  write_text(dir_ + "/config.json", j.dump());
  const std::string e = load_error();
  EXPECT_NE(e.find(dir_ + "/config.json"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown architecture 'GPT2LMHeadModel'"), std::string::npos) << e;
}

TEST_F(ModelDir, BadConfigValues) {
  auto j = nlohmann::json::parse(read_text(dir_ + "/config.json"));
  j["num_key_value_heads"] = 3;
  write_text(dir_ + "/config.json", j.dump());
  EXPECT_NE(load_error().find("multiple of num_key_value_heads"), std::string::npos);
  j["num_key_value_heads"] = 2;
  j["hidden_size"] = "big";
  write_text(dir_ + "/config.json", j.dump());
  EXPECT_NE(load_error().find("\"hidden_size\" must be an integer"), std::string::npos);
  j.erase("hidden_size");
  write_text(dir_ + "/config.json", j.dump());
  EXPECT_NE(load_error().find("missing \"hidden_size\""), std::string::npos);
  write_text(dir_ + "/config.json", "{ not json");
  EXPECT_NE(load_error().find("not valid JSON"), std::string::npos);
  ::remove((dir_ + "/config.json").c_str());
  EXPECT_NE(load_error().find("no config.json"), std::string::npos);
}

TEST_F(ModelDir, UnsupportedRopeScalingAndActivation) {
  auto j = nlohmann::json::parse(read_text(dir_ + "/config.json"));
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  write_text(dir_ + "/config.json", j.dump());
  EXPECT_NE(load_error().find("rope_scaling type 'yarn' is not supported"), std::string::npos);
  j["rope_scaling"] = nullptr;
  j["hidden_act"] = "gelu";
  write_text(dir_ + "/config.json", j.dump());
  EXPECT_NE(load_error().find("hidden_act 'gelu'"), std::string::npos);
}

TEST_F(ModelDir, MissingTensor) {
  rewrite_weights([](auto& w) {
    w.erase(std::remove_if(w.begin(), w.end(),
                           [](const auto& p) { return p.first == "model.layers.1.self_attn.k_proj.bias"; }),
            w.end());
  });
  const std::string e = load_error();
  EXPECT_NE(e.find(dir_ + "/model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("missing tensor 'model.layers.1.self_attn.k_proj.bias'"), std::string::npos) << e;
}

TEST_F(ModelDir, ShapeMismatch) {
  rewrite_weights([](auto& w) {
    for (auto& [n, t] : w)
      if (n == "model.layers.0.mlp.up_proj.weight") t = at::zeros({47, 32});
  });
  const std::string e = load_error();
  EXPECT_NE(e.find(dir_ + "/model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("'model.layers.0.mlp.up_proj.weight' has shape [47, 32], expected [48, 32]"),
            std::string::npos)
      << e;
}

TEST_F(ModelDir, DtypeMismatch) {
  rewrite_weights([](auto& w) {
    for (auto& [n, t] : w)
      if (n == "model.norm.weight") t = t.to(at::kInt);
  });
  const std::string e = load_error();
  EXPECT_NE(e.find("'model.norm.weight' has dtype I32"), std::string::npos) << e;
}

TEST_F(ModelDir, TruncatedWeights) {
  const std::string path = dir_ + "/model.safetensors";
  std::string bytes = read_text(path);
  write_text(path, bytes.substr(0, bytes.size() / 2));
  const std::string e = load_error();
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
}

TEST_F(ModelDir, NoWeights) {
  ::remove((dir_ + "/model.safetensors").c_str());
  EXPECT_NE(load_error().find("no model.safetensors"), std::string::npos);
}

TEST_F(ModelDir, TiedModelsOmitLmHead) {
  config_.tie_word_embeddings = true;
  rlae::CausalLM::from_weights(config_, unit_weights(config_, 4))->save(dir_);
  EXPECT_FALSE(rlae::SafetensorsFile::open(dir_ + "/model.safetensors")->contains("lm_head.weight"));
  auto lm = rlae::CausalLM::load(dir_);
  EXPECT_TRUE(lm->config().tie_word_embeddings);
}

TEST(ModelConfigTokens, GenerationConfigThenConfigThenTokenizerConfig) {
  const std::string dir = make_temp_dir();
  rlae::ModelConfig c = tiny_config(rlae::ModelArch::llama);
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  auto j = nlohmann::json::parse(c.to_json());
  write_text(dir + "/config.json", j.dump());
  EXPECT_EQ(rlae::ModelConfig::from_dir(dir).eos_token_ids, (std::vector<int64_t>{2}));

  write_text(dir + "/generation_config.json", R"({"eos_token_id": [2, 7], "pad_token_id": 0})");
  rlae::ModelConfig g = rlae::ModelConfig::from_dir(dir);
  EXPECT_EQ(g.eos_token_ids, (std::vector<int64_t>{2, 7}));
  EXPECT_EQ(g.pad_token_id.value_or(-1), 0);
  EXPECT_EQ(g.bos_token_id.value_or(-1), 1);

  // Only tokenizer_config.json knows the tokens: resolved through tokenizer.json.
  ::remove((dir + "/generation_config.json").c_str());
  j.erase("bos_token_id");
  j.erase("eos_token_id");
  write_text(dir + "/config.json", j.dump());
  write_text(dir + "/tokenizer_config.json",
             R"({"bos_token": "<s>", "eos_token": {"content": "</s>"}, "pad_token": null})");
  write_text(dir + "/tokenizer.json",
             R"({"added_tokens": [{"id": 3, "content": "<s>"}, {"id": 4, "content": "</s>"}],)"
             R"( "model": {"type": "BPE", "vocab": {"a": 5}}})");
  rlae::ModelConfig t = rlae::ModelConfig::from_dir(dir);
  EXPECT_EQ(t.bos_token_id.value_or(-1), 3);
  EXPECT_EQ(t.eos_token_ids, (std::vector<int64_t>{4}));
  EXPECT_FALSE(t.pad_token_id.has_value());

  write_text(dir + "/tokenizer_config.json", R"({"eos_token": "<eot>"})");
  EXPECT_NE(error_of([&] { rlae::ModelConfig::from_dir(dir); }).find("'<eot>' is not a token"),
            std::string::npos);
}

TEST(ModelConfigParse, DefaultsFollowTransformers) {
  rlae::ModelConfig c = rlae::ModelConfig::from_json(
      R"({"model_type": "mistral", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
          "num_hidden_layers": 1, "num_attention_heads": 2})",
      "inline");
  EXPECT_EQ(c.arch, rlae::ModelArch::mistral);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 4);
  EXPECT_EQ(c.sliding_window, 0);
  EXPECT_FALSE(c.tie_word_embeddings);
  rlae::ModelConfig q = rlae::ModelConfig::from_json(
      R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 10, "hidden_size": 8,
          "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
          "sliding_window": 4, "use_sliding_window": false})",
      "inline");
  EXPECT_TRUE(q.qkv_bias);
  EXPECT_EQ(q.sliding_window, 0);  // ignored unless use_sliding_window
}

// The model_config fuzz target's timeout: num_hidden_layers 911099999999994 was
// accepted and to_json() looped over the layers for minutes. Sizes beyond any real
// model are refused, naming the field; a large real shape still reads.
TEST(ModelConfigParse, SizesBeyondAnyRealModelAreRefused) {
  auto config = [](const std::string& field, const std::string& value) {
    std::string j = R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 152064, "hidden_size": 8192,
          "intermediate_size": 29568, "num_hidden_layers": 80, "num_attention_heads": 64,
          "num_key_value_heads": 8, "max_position_embeddings": 131072)";
    return j + ", \"" + field + "\": " + value + "}";
  };
  EXPECT_EQ(rlae::ModelConfig::from_json(config("rope_theta", "1000000.0"), "qwen72b").num_layers, 80);
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"num_hidden_layers", "911099999999994"}, {"vocab_size", "100000000"}, {"hidden_size", "1048576"},
           {"intermediate_size", "9999999999"}, {"max_position_embeddings", "4611686018427387904"}}) {
    try {
      rlae::ModelConfig::from_json(config(field, value), "dir/config.json");
      ADD_FAILURE() << field << " " << value << " accepted";
    } catch (const rlae::Error& e) {
      EXPECT_NE(std::string(e.what()).find("dir/config.json: " + field + " " + value + " is beyond any real model"),
                std::string::npos) << e.what();
    }
  }
}

}  // namespace
