// rlae::pretrain on a generated maths suite with a hand-written character-level tokenizer:
// the loss falls, the written directory is a model CausalLM loads (with the trained
// weights), a resumed run repeats an uninterrupted one exactly, and bad configurations fail
// with one clear error before training. With RLAE_PRETRAIN_FIXTURE=DIR, Pretrain.FixtureForHf
// leaves a trained model and rlae's logits for tests/parity/check_pretrained_in_hf.py (and
// checks them itself).
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/model.h"
#include "common/check.h"
#include "common/dataset.h"
#include "common/fs.h"
#include "common/prompt.h"
#include "common/safetensors.h"
#include "common/task_suite.h"
#include "common/tokenizer.h"
#include "learner/pretrain/pretrain.h"
#include "learner/pretrain/word_noise.h"

namespace rlae {
namespace {

// A character-level tokenizer.json: one token per character of `text`, "</s>" special, and
// a Fuse decoder (tokens concatenated).
std::string char_tokenizer_json(const std::string& text) {
  std::set<std::string> chars;
  for (char ch : text) chars.insert(std::string(1, ch));
  nlohmann::json vocab = nlohmann::json::object();
  vocab["</s>"] = 0;
  for (const auto& s : chars) vocab[s] = static_cast<int>(vocab.size());
  nlohmann::json j = {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
      {"added_tokens", {{{"id", 0}, {"content", "</s>"}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}}}},
      {"normalizer", nullptr}, {"pre_tokenizer", nullptr}, {"post_processor", nullptr},
      {"decoder", {{"type", "Fuse"}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                 {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                 {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
                 {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  return j.dump();
}

class Pretrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = ::testing::TempDir() + "rlae_pretrain_" + std::to_string(::getpid());
    ASSERT_EQ(std::system(("rm -rf " + root_ + " && mkdir -p " + root_).c_str()), 0);
    SuiteOptions o;
    o.seed = 3;
    o.families = {"add", "sub"};
    o.train_per_family = 300;
    o.dev_per_family = 20;
    o.test_per_family = 0;
    const Suite s = make_task_suite(o);
    write_dataset(root_ + "/train.jsonl", s.train);
    write_dataset(root_ + "/dev.jsonl", s.dev);
    std::string text = "Question: \nAnswer: 0123456789#.+-*/=";
    for (const auto* split : {&s.train, &s.dev})
      for (const auto& p : *split) text += p.question + p.answer;
    write_file_atomic(root_ + "/tokenizer.json", char_tokenizer_json(text));
  }
  static void TearDownTestSuite() { std::system(("rm -rf " + root_).c_str()); }

  // A ~50k-parameter model that trains in a few seconds.
  PretrainConfig tiny(const std::string& name) const {
    PretrainConfig c;
    c.tokenizer = root_ + "/tokenizer.json";
    c.data = {root_ + "/train.jsonl"};
    c.out = root_ + "/" + name;
    c.hidden_size = 32;
    c.num_layers = 2;
    c.num_heads = 2;
    c.intermediate_size = 64;
    c.max_seq_len = 192;
    c.batch_size = 8;
    c.steps = 40;
    c.warmup_steps = 5;
    c.lr = 5e-3;
    c.min_lr = 5e-4;
    c.eval_every = 0;
    c.checkpoint_every = 0;
    c.log_every = 5;
    c.threads = 1;
    c.progress = false;
    return c;
  }

  static std::string root_;
};
std::string Pretrain::root_;

double mean(const std::vector<double>& v, size_t from, size_t n) {
  double s = 0;
  for (size_t i = from; i < from + n; ++i) s += v[i];
  return s / static_cast<double>(n);
}

// The runs of `parts` (an interrupted run and its resumption) trained exactly what `whole` did:
// the same loss at every step and the same final weights.
void expect_same_run(const PretrainResult& whole, const std::string& whole_out,
                     const std::vector<PretrainResult>& parts, const std::string& parts_out) {
  std::vector<double> joined;
  for (const PretrainResult& r : parts) joined.insert(joined.end(), r.losses.begin(), r.losses.end());
  ASSERT_EQ(joined.size(), whole.losses.size());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], whole.losses[i]) << "step " << i + 1;
  EXPECT_EQ(read_file(whole_out + "/model.safetensors"), read_file(parts_out + "/model.safetensors"));
}

TEST_F(Pretrain, LossFallsAndTheOutputIsAModel) {
  PretrainConfig c = tiny("falls");
  c.dev_data = root_ + "/dev.jsonl";
  c.eval_problems = 4;
  c.recipe_ini = "steps = 40\n";
  const PretrainResult r = pretrain(c);
  ASSERT_EQ(r.losses.size(), 40u);
  EXPECT_EQ(r.last_step, 40);
  EXPECT_LT(mean(r.losses, 35, 5), 0.7 * mean(r.losses, 0, 5))
      << "first " << r.losses.front() << " last " << r.losses.back();
  EXPECT_GT(r.tokens_per_second, 0);
  ASSERT_EQ(r.evals.size(), 1u);  // only at the end with eval-every 0
  EXPECT_EQ(r.evals[0].step, 40);
  ASSERT_EQ(r.evals[0].families.size(), 2u);
  EXPECT_EQ(r.evals[0].families[0].name, "add");
  EXPECT_EQ(r.evals[0].families[0].problems, 4);
  EXPECT_TRUE(std::isfinite(r.evals[0].loss));

  for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                        "tokenizer_config.json", "pretrain.ini", "metrics.jsonl"})
    EXPECT_EQ(::access((c.out + "/" + f).c_str(), R_OK), 0) << f;
  EXPECT_EQ(read_file(c.out + "/pretrain.ini"), "steps = 40\n");
  EXPECT_EQ(read_file(c.out + "/tokenizer.json"), read_file(c.tokenizer));

  // The written model: the trained weights (= the final checkpoint's), EOS from the tokenizer.
  auto lm = CausalLM::load(c.out);
  EXPECT_EQ(lm->config().vocab_size, Tokenizer::from_file(c.tokenizer).vocab_size());
  EXPECT_EQ(lm->config().eos_token_ids, std::vector<int64_t>{0});
  EXPECT_EQ(lm->max_seq_len(), 192);
  const auto ck = load_safetensors(c.out + "/checkpoints/step-00000040/weights.safetensors");
  for (const auto& [name, t] : lm->named_weights())
    EXPECT_TRUE(at::equal(t.contiguous(), ck.at(name))) << name;

  // metrics.jsonl: a train record every 5 steps, then the evaluation.
  std::ifstream in(c.out + "/metrics.jsonl");
  std::string line;
  int train = 0, eval = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    (j.at("type") == "train" ? train : eval) += 1;
  }
  EXPECT_EQ(train, 8);
  EXPECT_EQ(eval, 1);
}

// An interrupted run (stop-after, then resume) repeats the uninterrupted one bit for bit:
// packing exercises the example carried between batches, checkpoints the AdamW state, the
// sampler's random state and the schedule.
TEST_F(Pretrain, ResumeContinuesIdentically) {
  PretrainConfig full = tiny("full");
  full.packing = true;
  full.steps = 24;
  full.checkpoint_every = 8;
  const PretrainResult a = pretrain(full);

  PretrainConfig part = full;
  part.out = root_ + "/part";
  part.stop_after = 12;  // not a checkpoint step: the run writes one at its end
  const PretrainResult b = pretrain(part);
  EXPECT_EQ(b.last_step, 12);
  EXPECT_THROW(pretrain(part), Error);  // a checkpoint is there: --resume or another --out
  part.stop_after = 0;
  part.resume = true;
  const PretrainResult c = pretrain(part);
  EXPECT_EQ(c.first_step, 12);
  EXPECT_EQ(c.last_step, 24);

  expect_same_run(a, full.out, {b, c}, part.out);
  // metrics.jsonl holds each step once.
  std::ifstream in(part.out + "/metrics.jsonl");
  std::string line;
  std::vector<int64_t> steps;
  while (std::getline(in, line)) steps.push_back(nlohmann::json::parse(line).at("step").get<int64_t>());
  EXPECT_EQ(steps, (std::vector<int64_t>{5, 10, 15, 20, 24}));
}

TEST_F(Pretrain, FamilyWeightsSelectTheMix) {
  PretrainConfig c = tiny("mix");
  c.steps = 2;
  c.families = parse_family_weights("add:1");
  EXPECT_NO_THROW(pretrain(c));
  c.families = parse_family_weights("add:1,mul:1");  // no mul problems in the data
  try {
    pretrain(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'mul'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(parse_family_weights("add:1, sub:0.5,*:0.1"),
            (std::vector<std::pair<std::string, double>>{{"add", 1}, {"sub", 0.5}, {"*", 0.1}}));
  EXPECT_THROW(parse_family_weights("add:x"), UsageError);
  EXPECT_THROW(parse_family_weights("add:-1"), UsageError);
}

TEST_F(Pretrain, BadConfigurationsFailBeforeTraining) {
  auto expect_error = [](PretrainConfig c, const std::string& needle, bool usage) {
    try {
      pretrain(c);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const UsageError& e) {
      EXPECT_TRUE(usage) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    } catch (const Error& e) {
      EXPECT_FALSE(usage) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_NE(::access((c.out + "/model.safetensors").c_str(), F_OK), 0) << needle;
  };
  PretrainConfig c = tiny("bad");
  c.tokenizer = root_ + "/missing.json";
  expect_error(c, "missing.json", false);
  c = tiny("bad");
  c.tokenizer = "";
  expect_error(c, "--tokenizer", true);
  c = tiny("bad");
  c.num_heads = 3;
  expect_error(c, "--heads 3 must divide --hidden-size 32", true);
  c = tiny("bad");
  c.num_kv_heads = 3;
  expect_error(c, "--kv-heads", true);
  c = tiny("bad");
  c.out = "/proc/rlae-pretrain-out";
  expect_error(c, "/proc/rlae-pretrain-out", false);
  c = tiny("bad");
  c.data = {root_ + "/none.jsonl"};
  expect_error(c, "none.jsonl", false);
  c = tiny("bad");
  c.eos_token = "<eos>";
  expect_error(c, "<eos>", false);
  c = tiny("bad");
  c.steps = 0;
  expect_error(c, "--max-minutes", true);
  c = tiny("bad");
  c.word_noise = 1.0;
  expect_error(c, "--word-noise must be in [0, 1), got 1", true);
}

// Word noise changes what is trained on, and a resumed run still repeats an uninterrupted one
// bit for bit (the noise of a step is drawn from its own stream, not from a running state).
TEST_F(Pretrain, WordNoiseResumesIdentically) {
  PretrainConfig full = tiny("noise-full");
  full.packing = true;
  full.steps = 16;
  full.word_noise = 0.3;
  const PretrainResult a = pretrain(full);

  PretrainConfig clean = full;
  clean.out = root_ + "/noise-clean";
  clean.word_noise = 0;
  const PretrainResult z = pretrain(clean);
  ASSERT_EQ(z.losses.size(), a.losses.size());
  EXPECT_EQ(z.losses[0] == a.losses[0] && z.losses[1] == a.losses[1], false) << "the noise changed nothing";

  PretrainConfig part = full;
  part.out = root_ + "/noise-part";
  part.stop_after = 7;
  const PretrainResult b = pretrain(part);
  part.stop_after = 0;
  part.resume = true;
  const PretrainResult c = pretrain(part);
  expect_same_run(a, full.out, {b, c}, part.out);
}

TEST(WordNoise, ReplacesLetterWordsAndKeepsNumbers) {
  using pretraining::WordNoise;
  std::vector<Problem> ps(2);
  ps[0].question = "Tom has 12 red apples and four bags.";
  ps[1].question = "Ann gives 3 pears to Bo, twice.";
  const std::vector<const Problem*> qs = {&ps[0], &ps[1]};
  const WordNoise off(0, 1, qs);
  EXPECT_EQ(off.apply(ps[0].question, 0, 0, 0), ps[0].question);

  const WordNoise noise(0.5, 7, qs);
  // Every distinct word but the number words, in first-seen order.
  EXPECT_EQ(noise.vocabulary(), 11u);  // Tom has red apples and bags Ann gives pears to Bo
  const std::set<std::string> vocab = {"Tom", "has", "red", "apples", "and", "bags", "Ann",
                                       "gives", "pears", "to", "Bo"};
  int replaced = 0, words = 0;
  for (int64_t step = 0; step < 200; ++step) {
    const std::string q = noise.apply(ps[0].question, step, 1, 2);
    EXPECT_EQ(q, noise.apply(ps[0].question, step, 1, 2)) << "not repeatable";
    // Numbers, number words, spaces and punctuation stay where they were.
    std::istringstream in(q);
    std::vector<std::string> got;
    for (std::string w; in >> w;) got.push_back(w);
    const std::vector<std::string> orig = {"Tom", "has", "12", "red", "apples", "and", "four", "bags."};
    ASSERT_EQ(got.size(), orig.size()) << q;
    EXPECT_EQ(got[2], "12");
    EXPECT_EQ(got[6], "four");
    EXPECT_EQ(got[7].back(), '.');
    for (size_t i : {0, 1, 3, 4, 5, 7}) {
      std::string w = i == 7 ? got[i].substr(0, got[i].size() - 1) : got[i];
      std::string o = i == 7 ? orig[i].substr(0, orig[i].size() - 1) : orig[i];
      ++words;
      if (w == o) continue;
      ++replaced;
      // A word of the list, starting in the case of the word it replaced.
      bool listed = false;
      for (const std::string& v : vocab)
        listed = listed || (v.substr(1) == w.substr(1) && std::tolower(v[0]) == std::tolower(w[0]));
      EXPECT_TRUE(listed) << w;
      EXPECT_EQ(std::isupper(static_cast<unsigned char>(w[0])) != 0, std::isupper(static_cast<unsigned char>(o[0])) != 0)
          << w << " for " << o;
    }
  }
  // p = 0.5; a replacement may draw the word itself (1 in 11), so about 0.45 change.
  const double rate = static_cast<double>(replaced) / words;
  EXPECT_GT(rate, 0.38);
  EXPECT_LT(rate, 0.52);
  EXPECT_NE(noise.apply(ps[0].question, 1, 0, 0), noise.apply(ps[0].question, 2, 0, 0));
  EXPECT_TRUE(WordNoise::is_number_word("Twelve"));
  EXPECT_FALSE(WordNoise::is_number_word("apples"));
  EXPECT_THROW(WordNoise(1.0, 1, qs), UsageError);
}

TEST(PretrainSchedule, WarmupThenCosineToMinLr) {
  PretrainConfig c;
  c.lr = 1.0;
  c.min_lr = 0.1;
  c.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(pretrain_lr(c, 0, 14), 0.25);
  EXPECT_DOUBLE_EQ(pretrain_lr(c, 3, 14), 1.0);
  EXPECT_DOUBLE_EQ(pretrain_lr(c, 4, 14), 1.0);
  EXPECT_NEAR(pretrain_lr(c, 9, 15), 0.55, 1e-12);  // half way: (9 - 4) / (15 - 1 - 4)
  EXPECT_DOUBLE_EQ(pretrain_lr(c, 13, 14), 0.1);    // the last step
  EXPECT_DOUBLE_EQ(pretrain_lr(c, 10, -1), 1.0);    // horizon not known yet
}

// Leaves a trained model and rlae's own logits on a few prompts for the transformers check
// (tests/parity/pretrain.cmake), and checks what it leaves: the loss fell, the directory loads
// as the configured model with the final checkpoint's weights, and expected.safetensors reads
// back as the ids and logits of the loaded model. Without RLAE_PRETRAIN_FIXTURE it writes into
// the temp dir.
TEST_F(Pretrain, FixtureForHf) {
  const char* env = std::getenv("RLAE_PRETRAIN_FIXTURE");
  const std::string dir = env ? env : root_ + "/fixture";
  ASSERT_EQ(std::system(("rm -rf " + dir).c_str()), 0);
  PretrainConfig c = tiny("fixture");
  c.out = dir;
  c.num_kv_heads = 1;  // grouped-query attention in the written model
  c.tie_embeddings = false;
  c.steps = 20;
  const PretrainResult r = pretrain(c);
  ASSERT_EQ(r.losses.size(), 20u);
  EXPECT_LT(mean(r.losses, 15, 5), mean(r.losses, 0, 5)) << "first " << r.losses.front() << " last " << r.losses.back();

  const Tokenizer tok = Tokenizer::from_file(dir + "/tokenizer.json");
  auto lm = CausalLM::load(dir);
  EXPECT_EQ(lm->config().num_kv_heads, 1);
  EXPECT_EQ(lm->config().num_heads, 2);
  EXPECT_FALSE(lm->config().tie_word_embeddings);
  EXPECT_EQ(lm->config().vocab_size, tok.vocab_size());
  const auto ck = load_safetensors(dir + "/checkpoints/step-00000020/weights.safetensors");
  const auto weights = lm->named_weights();
  EXPECT_EQ(weights.size(), ck.size());
  bool has_head = false;
  for (const auto& [name, t] : weights) {
    has_head |= name == "lm_head.weight";
    ASSERT_TRUE(ck.count(name)) << name;
    EXPECT_TRUE(at::equal(t.contiguous(), ck.at(name))) << name;
  }
  EXPECT_TRUE(has_head) << "untied embeddings: lm_head.weight is written";

  const auto problems = load_dataset(root_ + "/dev.jsonl");
  std::vector<std::pair<std::string, at::Tensor>> out;
  // Problems that fit the model's positions (the tokenizer is character-level), spread over the file.
  int n = 0;
  for (size_t k = 0; k < problems.size() && n < 3; k += 7) {
    const Problem& p = problems[k];
    std::vector<int32_t> ids = tok.encode(format_prompt(p.question), true);
    const auto target = tok.encode(format_target(p.answer));
    ids.insert(ids.end(), target.begin(), target.end());
    if (static_cast<int64_t>(ids.size()) > lm->max_seq_len()) continue;
    out.emplace_back("ids." + std::to_string(n), at::tensor(std::vector<int64_t>(ids.begin(), ids.end())));
    out.emplace_back("logits." + std::to_string(n), lm->forward_full(ids));
    write_file_atomic(dir + "/text." + std::to_string(n) + ".txt", format_prompt(p.question) + format_target(p.answer));
    ++n;
  }
  ASSERT_EQ(n, 3) << "three dev problems that fit " << lm->max_seq_len() << " positions";
  save_safetensors(dir + "/expected.safetensors", out);

  const auto back = load_safetensors(dir + "/expected.safetensors");
  ASSERT_EQ(back.size(), out.size());
  for (const auto& [name, t] : out) {
    ASSERT_TRUE(back.count(name)) << name;
    EXPECT_TRUE(at::equal(back.at(name), t)) << name;
  }
  for (int i = 0; i < 3; ++i) {
    const at::Tensor logits = back.at("logits." + std::to_string(i));
    EXPECT_EQ(logits.size(0), back.at("ids." + std::to_string(i)).size(0));
    EXPECT_EQ(logits.size(1), tok.vocab_size());
    EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
  }
}

}  // namespace
}  // namespace rlae
