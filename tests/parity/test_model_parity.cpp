// Parity of rlae::CausalLM with Hugging Face transformers: for every case that
// tests/parity/make_model_fixtures.py wrote (tiny random Llama / Qwen2 / Mistral models in
// the Hugging Face layout), the last-position logits and final hidden states over a batch of
// mixed-length prompts and 16 greedy steps agree with transformers to 1e-4 in float32; so do
// the no-cache logits at every position of one sequence.
//
// The fixture directory comes from RLAE_MODEL_FIXTURES (set by tests/parity/model.cmake); a
// missing directory or case is a failure, never a skip.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "actors/model.h"
#include "common/safetensors.h"

namespace {

constexpr double kTol = 1e-4;

// Keep in sync with cases() in make_model_fixtures.py.
const char* const kCases[] = {"llama_llama3_gqa", "llama_tied_bias_sharded", "qwen2_tied",
                              "qwen2_window",     "mistral_bf16",            "mistral_window"};

std::string fixture_dir() {
  const char* dir = std::getenv("RLAE_MODEL_FIXTURES");
  return dir ? dir : "";
}

struct Reference {
  std::vector<std::vector<int32_t>> prompts;
  at::Tensor tokens;  // [STEPS, B] int64
  at::Tensor logits;  // [STEPS + 1, B, V]
  at::Tensor hidden;  // [STEPS + 1, B, H]
  std::vector<int32_t> full_ids;
  at::Tensor full_logits;  // [T, V]
};

std::vector<int32_t> to_ids(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous();
  const int64_t* p = c.data_ptr<int64_t>();
  return std::vector<int32_t>(p, p + c.numel());
}

Reference read_reference(const std::string& path) {
  auto f = rlae::load_safetensors(path);
  Reference r;
  const std::vector<int32_t> flat = to_ids(f.at("prompt_ids"));
  const std::vector<int32_t> lengths = to_ids(f.at("prompt_lengths"));
  std::size_t off = 0;
  for (int32_t n : lengths) {
    r.prompts.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(off),
                           flat.begin() + static_cast<std::ptrdiff_t>(off + n));
    off += static_cast<std::size_t>(n);
  }
  r.tokens = f.at("tokens");
  r.logits = f.at("logits");
  r.hidden = f.at("hidden");
  r.full_ids = to_ids(f.at("full_ids"));
  r.full_logits = f.at("full_logits");
  return r;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

class ModelParity : public ::testing::TestWithParam<const char*> {};

TEST(ModelParityFixtures, Present) {
  const std::string dir = fixture_dir();
  ASSERT_FALSE(dir.empty()) << "RLAE_MODEL_FIXTURES is not set";
  std::ifstream manifest(dir + "/manifest.json");
  ASSERT_TRUE(manifest.good()) << dir << "/manifest.json is missing: run "
                               << "tests/parity/make_model_fixtures.py " << dir;
}

// Runs the fixture's batch through `lm`, placing prompt b in slots[b], and compares every
// step with transformers. Returns the largest logits difference.
double run_and_compare(rlae::CausalLM& lm, const Reference& ref, const std::vector<int64_t>& slots,
                       const std::string& what) {
  const int64_t B = static_cast<int64_t>(ref.prompts.size());
  const int64_t steps = ref.tokens.size(0);
  double worst = 0, worst_hidden = 0;
  rlae::LMOutput out = lm.prefill(slots, ref.prompts);
  for (int64_t s = 0; s <= steps; ++s) {
    const double d = max_diff(out.logits, ref.logits[s]);
    const double dh = max_diff(out.hidden, ref.hidden[s]);
    EXPECT_LE(d, kTol) << what << ": logits at step " << s;
    EXPECT_LE(dh, kTol) << what << ": hidden states at step " << s;
    worst = std::max(worst, d);
    worst_hidden = std::max(worst_hidden, dh);
    if (s == steps) break;
    // Greedy choice agrees (random weights make exact ties implausible).
    EXPECT_TRUE(out.logits.argmax(-1).equal(ref.tokens[s])) << what << ": greedy token at step " << s;
    out = lm.step(slots, to_ids(ref.tokens[s]));
  }
  for (int64_t b = 0; b < B; ++b)
    EXPECT_EQ(lm.length(slots[static_cast<std::size_t>(b)]),
              static_cast<int64_t>(ref.prompts[static_cast<std::size_t>(b)].size()) + steps);
  std::cout << "[parity] " << what << ": max |logits - HF| = " << worst
            << ", max |hidden - HF| = " << worst_hidden << "\n";
  return worst;
}

TEST_P(ModelParity, MatchesTransformers) {
  const std::string dir = fixture_dir();
  ASSERT_FALSE(dir.empty()) << "RLAE_MODEL_FIXTURES is not set";
  const std::string case_dir = dir + "/" + GetParam();
  std::ifstream probe(case_dir + "/reference.safetensors");
  ASSERT_TRUE(probe.good()) << case_dir << "/reference.safetensors is missing";
  const Reference ref = read_reference(case_dir + "/reference.safetensors");
  const int64_t B = static_cast<int64_t>(ref.prompts.size());

  // Slots 0..B-1 (contiguous: the cache is read through views).
  rlae::ModelOptions opt;
  opt.num_slots = B;
  auto lm = rlae::CausalLM::load(case_dir + "/model", opt);
  std::vector<int64_t> slots(static_cast<std::size_t>(B));
  for (int64_t b = 0; b < B; ++b) slots[static_cast<std::size_t>(b)] = b;
  run_and_compare(*lm, ref, slots, std::string(GetParam()) + " (slots 0..B-1)");

  // Scattered slots in a larger cache, growing from a small capacity (gathered reads).
  opt.num_slots = B + 3;
  auto lm2 = rlae::CausalLM::load(case_dir + "/model", opt);
  std::vector<int64_t> scattered = {B + 2, 0, 3, 1};
  scattered.resize(static_cast<std::size_t>(B));
  lm2->append(2, {5, 6, 7});  // another sequence in the cache that must not interfere
  run_and_compare(*lm2, ref, scattered, std::string(GetParam()) + " (scattered slots)");

  // All positions at once, without the cache.
  const at::Tensor full = lm->forward_full(ref.full_ids);
  const double d = max_diff(full, ref.full_logits);
  EXPECT_LE(d, kTol) << GetParam() << ": full-sequence logits";
  std::cout << "[parity] " << GetParam() << " (full sequence, no cache): max |logits - HF| = " << d
            << "\n";
}

INSTANTIATE_TEST_SUITE_P(Cases, ModelParity, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

}  // namespace
