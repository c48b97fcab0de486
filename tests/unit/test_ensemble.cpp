// The ensemble engine over an in-process group: one-hot weights reproduce a
// member alone, sparse top-V equals dense for a shared tokenizer, every member's
// cache follows the chosen text (multi-id appends included), policies.
#include <gtest/gtest.h>

#include <unistd.h>

#include <ATen/ATen.h>
#include <cstdlib>
#include <map>

#include "actors/ensemble.h"
#include "kernels/device.h"
#include "actors/generate.h"
#include "common/check.h"
#include "common/fs.h"
#include "ensemble_fixtures.h"

namespace rlae {
namespace {

using rlae::testing::byte_level_tokenizer;
using rlae::testing::metaspace_tokenizer;
using rlae::testing::write_member;

class EnsembleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "rlae_ens_" + std::to_string(::getpid()));
    ASSERT_EQ(std::system(("mkdir -p " + *dir_ + "/a " + *dir_ + "/b " + *dir_ + "/c").c_str()), 0);
    // A: ByteLevel with merges B lacks; B: Metaspace with merges A lacks; C: A's tokenizer, other weights.
    const auto ta = byte_level_tokenizer({{"a", "b"}, {"\xC4\xA0", "t"}, {"e", "s"}, {"1", "2"}});
    write_member(*dir_ + "/a", ta, 0, 1);
    write_member(*dir_ + "/b", metaspace_tokenizer({{"\xE2\x96\x81", "a"}, {"t", "h"}, {"=", "\xE2\x96\x81"}}), 2, 2);
    write_member(*dir_ + "/c", ta, 0, 3);
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf " + *dir_).c_str());
    delete dir_;
  }

  std::vector<Member> load(const std::vector<std::string>& names, int64_t slots = 3,
                           at::Device device = at::kCPU) {
    std::vector<Member> out;
    ModelOptions o;
    o.device = device;
    o.num_slots = slots;
    o.max_seq_len = 256;
    for (const auto& n : names) out.push_back(load_member(*dir_ + "/" + n, o));
    return out;
  }
  static std::vector<EnsemblePrompt> prompts() {
    return {{"Question: Tom has 12 apples and 7 more. How many?\nAnswer:", "add"},
            {"Question: 3 boxes of 4 eggs?\nAnswer:", "mul"},
            {"the test is about 12 things", ""},
            {"ab ab ab", "add"},
            {"x", "mul"}};
  }
  static std::vector<std::string> names(const std::vector<Member>& ms) {
    std::vector<std::string> n;
    for (const auto& m : ms) n.push_back(m.dir);
    return n;
  }
  static std::string* dir_;
};
std::string* EnsembleTest::dir_ = nullptr;

PolicyFactory fixed(const std::string& spec, const std::vector<std::string>& names) {
  return [=](int) { return make_policy(spec, names); };
}

TEST_F(EnsembleTest, OneHotWeightsReproduceTheMemberAlone) {
  auto members = load({"a", "b"});
  const UnionVocab vocab = UnionVocab::build(vocab_members(members));
  EnsembleOptions opt;
  opt.max_new_tokens = 24;
  opt.add_special_tokens = false;
  for (int solo = 0; solo < 2; ++solo) {
    std::vector<std::vector<EnsembleResult>> per;
    ensemble_decode_inprocess(members, vocab, fixed("single:" + std::to_string(solo), names(members)), prompts(),
                              opt, nullptr, {}, &per);
    auto alone = load({solo == 0 ? "a" : "b"});
    std::vector<std::string> texts;
    for (const auto& p : prompts()) texts.push_back(p.text);
    GenerateOptions go;
    go.max_new_tokens = 24;
    go.add_special_tokens = false;
    const auto ref = generate(*alone[0].model, alone[0].tokenizer, texts, go);
    for (size_t i = 0; i < texts.size(); ++i) {
      const auto& ids = per[static_cast<size_t>(solo)][i].member_ids;
      const std::vector<int32_t> gen(ids.begin() + static_cast<std::ptrdiff_t>(alone[0].tokenizer.encode(texts[i]).size()), ids.end());
      EXPECT_EQ(gen, ref[i].ids) << "member " << solo << " prompt " << i;
      EXPECT_EQ(per[0][i].stopped_at_eos, ref[i].stopped_at_eos) << "member " << solo << " prompt " << i;
    }
  }
}

TEST_F(EnsembleTest, SparseTopVEqualsDenseForASharedTokenizer) {
  auto members = load({"a", "c"});
  const UnionVocab vocab = UnionVocab::build(vocab_members(members));
  EnsembleOptions opt;
  opt.max_new_tokens = 20;
  opt.mode = MixMode::dense;
  const auto policy = fixed("weights:0.3,0.7", names(members));
  const auto dense = ensemble_decode_inprocess(members, vocab, policy, prompts(), opt);
  opt.mode = MixMode::sparse;
  opt.top_k = static_cast<int>(members[0].model->config().vocab_size);
  const auto sparse = ensemble_decode_inprocess(members, vocab, policy, prompts(), opt);
  opt.mode = MixMode::full;
  const auto full = ensemble_decode_inprocess(members, vocab, policy, prompts(), opt);
  for (size_t i = 0; i < dense.size(); ++i) {
    EXPECT_EQ(dense[i].tokens, sparse[i].tokens) << "prompt " << i;
    EXPECT_EQ(dense[i].tokens, full[i].tokens) << "prompt " << i;
    EXPECT_EQ(dense[i].text, sparse[i].text);
  }
  // Dense mixing of different tokenizers is refused with a clear error, not a wrong answer.
  auto mixed = load({"a", "b"});
  const UnionVocab v2 = UnionVocab::build(vocab_members(mixed));
  opt.mode = MixMode::dense;
  EXPECT_THROW(ensemble_decode_inprocess(mixed, v2, fixed("uniform", names(mixed)), prompts(), opt), Error);
}

TEST_F(EnsembleTest, EveryMemberFollowsTheChosenText) {
  auto members = load({"a", "b", "c"});
  const UnionVocab vocab = UnionVocab::build(vocab_members(members));
  EnsembleOptions opt;
  opt.max_new_tokens = 40;
  opt.top_k = 8;
  std::vector<std::vector<EnsembleResult>> per;
  const auto out = ensemble_decode_inprocess(members, vocab, fixed("weights:0.45,0.35,0.2", names(members)),
                                             prompts(), opt, nullptr, {}, &per);
  int64_t multi_appends = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_FALSE(out[i].tokens.empty());
    for (int m = 0; m < 3; ++m) {
      const Tokenizer& tok = members[static_cast<size_t>(m)].tokenizer;
      const auto& ids = per[static_cast<size_t>(m)][i].member_ids;
      const size_t plen = tok.encode(prompts()[i].text).size();
      std::string bytes;
      for (size_t j = plen; j < ids.size(); ++j) bytes += tok.token_bytes(ids[j]);
      EXPECT_EQ(bytes, out[i].text) << "member " << m << " prompt " << i;
      multi_appends += static_cast<int64_t>(ids.size() - plen) - static_cast<int64_t>(out[i].tokens.size());
    }
    // One decision per span of 4 tokens.
    EXPECT_EQ(out[i].decisions.size(), (out[i].tokens.size() + (out[i].stopped_at_eos ? 1 : 0) + 3) / 4);
  }
  EXPECT_GT(multi_appends, 0) << "no chosen token was missing from a member's vocabulary: the test proves nothing";
}

TEST_F(EnsembleTest, AppendOfALackedTokenKeepsTheCacheExact) {
  auto members = load({"a", "b"});
  const UnionVocab vocab = UnionVocab::build(vocab_members(members));
  CausalLM& b = *members[1].model;
  const Tokenizer& tb = members[1].tokenizer;
  const int32_t ab = vocab.member_to_union(0)[*members[0].tokenizer.token_to_id("ab")];
  ASSERT_EQ(vocab.union_to_member(1)[static_cast<size_t>(ab)], -1);
  const auto app = vocab.append_ids(1, ab);
  ASSERT_EQ(app.size(), 2u);
  const std::vector<int32_t> prompt = tb.encode("the test");
  b.prefill({0}, {prompt});
  const at::Tensor after = b.append(0, app).logits[0];
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), app.begin(), app.end());
  const at::Tensor fresh = b.forward_full(all)[static_cast<int64_t>(all.size()) - 1];
  EXPECT_LT((after - fresh).abs().max().item<float>(), 1e-5);
  EXPECT_EQ(tb.decode(all), "the testab");
}

TEST_F(EnsembleTest, PoliciesAndBadWeights) {
  const std::vector<std::string> n = {"x", "y", "z"};
  EXPECT_THROW(make_policy("weights:0.5,0.5", n), Error);
  EXPECT_THROW(make_policy("weights:0.5,-0.1,0.6", n), Error);
  EXPECT_THROW(make_policy("weights:0.5,nan,0.6", n), Error);
  EXPECT_THROW(make_policy("weights:0,0,0", n), Error);
  EXPECT_THROW(make_policy("single:w", n), Error);
  EXPECT_THROW(make_policy("gac-threshold:1.5", n), Error);
  EXPECT_THROW(make_policy("packllm:0", n), Error);
  EXPECT_THROW(make_policy("schedule:/nonexistent", n), Error);
  EXPECT_THROW(make_policy("best-guess", n), Error);
  EXPECT_THROW(normalize_weights(at::tensor({1.0f, NAN, 0.0f}).view({1, 3}), 1, 3, "t"), Error);
  EXPECT_THROW(normalize_weights(at::ones({2, 2}), 2, 3, "t"), Error);

  DecisionContext ctx;
  ctx.num_members = 3;
  ctx.span_index = {0, 5};
  ctx.solution_step = {0, 2};
  ctx.tasks = {"add", "mul_sub"};
  at::Tensor feats = at::zeros({3, 2, kNumFeatures});
  EXPECT_TRUE(at::allclose(make_policy("single:y", n)->combine(feats, ctx)[1], at::tensor({0.0f, 1.0f, 0.0f})));
  // Members named by directory: the last path component names them too, if unique.
  const std::vector<std::string> dirs = {"zoo/addsub", "zoo/muldiv/", "other/addsub"};
  EXPECT_TRUE(at::allclose(make_policy("single:muldiv", dirs)->combine(feats, ctx)[0], at::tensor({0.0f, 1.0f, 0.0f})));
  EXPECT_THROW(make_policy("single:addsub", dirs), Error);  // ambiguous
  EXPECT_TRUE(at::allclose(make_policy("single:other/addsub", dirs)->combine(feats, ctx)[0], at::tensor({0.0f, 0.0f, 1.0f})));
  // GaC-threshold: primary z confident on row 0 only.
  feats[2][0][kTop1] = 0.95f;
  feats[2][1][kTop1] = 0.5f;
  const at::Tensor g = make_policy("gac-threshold:0.9:z", n)->combine(feats, ctx);
  EXPECT_TRUE(at::allclose(g[0], at::tensor({0.0f, 0.0f, 1.0f})));
  EXPECT_TRUE(at::allclose(g[1], at::full({3}, 1.0f / 3)));
  // PackLLM: the member with the lowest prompt NLL weighs most.
  feats.select(2, kPromptNll).copy_(at::tensor({2.0f, 1.0f, 3.0f}).unsqueeze(1).expand({3, 2}));
  const at::Tensor p = make_policy("packllm:0.5", n)->combine(feats, ctx);
  EXPECT_EQ(p[0].argmax().item<int64_t>(), 1);
  EXPECT_NEAR(p[0].sum().item<float>(), 1.0f, 1e-6);
  // A schedule: family lines beat '*', later triggers beat earlier ones.
  const std::string path = ::testing::TempDir() + "rlae_sched_" + std::to_string(::getpid());
  write_file_atomic(path, "# test\n* span:0 1,0,0\nmul_sub span:0 0,1,0\nmul_sub step:2 0,0,1\nadd span:3 0,0,1\n");
  const at::Tensor s = make_policy("schedule:" + path, n)->combine(feats, ctx);
  EXPECT_TRUE(at::allclose(s[0], at::tensor({1.0f, 0.0f, 0.0f})));  // add at span 0: '*'
  EXPECT_TRUE(at::allclose(s[1], at::tensor({0.0f, 0.0f, 1.0f})));  // mul_sub at step 2
  write_file_atomic(path, "mul span:x 1,1,1\n");
  EXPECT_THROW(make_policy("schedule:" + path, n), Error);
  std::remove(path.c_str());
}

// A policy that wants observations and keeps member 0's view of every decision.
class ObservationProbe final : public WeightPolicy {
 public:
  explicit ObservationProbe(std::map<size_t, std::vector<at::Tensor>>* seen) : seen_(seen) {}
  std::string name() const override { return "probe"; }
  bool wants_observations() const override { return true; }
  at::Tensor combine(const at::Tensor& feats, const DecisionContext& ctx) override {
    if (seen_ != nullptr) {
      EXPECT_EQ(ctx.obs_dims, (std::vector<int64_t>{agent_observation_width(32), agent_observation_width(32)}));
      for (size_t r = 0; r < ctx.prompts.size(); ++r) {
        (*seen_)[ctx.prompts[r]].push_back(ctx.observations.select(1, static_cast<int64_t>(r)).clone());
        EXPECT_FLOAT_EQ(ctx.observations[0][static_cast<int64_t>(r)][2 * 32 + 3].item<float>(),
                        static_cast<float>(ctx.span_index[r]) / 32.0f);
      }
    }
    return at::ones({feats.size(1), feats.size(0)});
  }

 private:
  std::map<size_t, std::vector<at::Tensor>>* seen_;
};

// Agents observe [last hidden | prompt context | entropy, top-1, margin, span]:
// the context is each member's final hidden state averaged over its own
// tokenization of the prompt, the same at every decision of a sequence, also
// when prompts enter free slots mid-decode (3 slots, 5 prompts).
TEST_F(EnsembleTest, AgentObservationsCarryThePromptContext) {
  auto members = load({"a", "b"});
  const UnionVocab vocab = UnionVocab::build(vocab_members(members));
  EnsembleOptions opt;
  opt.max_new_tokens = 12;
  opt.span = 4;
  opt.add_special_tokens = false;
  std::map<size_t, std::vector<at::Tensor>> seen;
  ensemble_decode_inprocess(
      members, vocab,
      [&](int m) { return std::make_unique<ObservationProbe>(m == 0 ? &seen : nullptr); }, prompts(), opt);
  ASSERT_EQ(seen.size(), prompts().size());
  for (int m = 0; m < 2; ++m) {
    auto alone = load({m == 0 ? "a" : "b"}, 1);
    for (const auto& [p, views] : seen) {
      const auto ids = alone[0].tokenizer.encode(prompts()[p].text, false);
      const at::Tensor want = alone[0].model->prefill({ids}).mean_hidden[0];
      ASSERT_FALSE(views.empty());
      for (size_t d = 0; d < views.size(); ++d) {
        EXPECT_LE((views[d][m].narrow(0, 32, 32) - want).abs().max().item<float>(), 1e-4)
            << "member " << m << " prompt " << p << " decision " << d;
      }
      // The first decision's last hidden state is the prompt's last position.
      EXPECT_LE((views[0][m].narrow(0, 0, 32) - alone[0].model->prefill({ids}).hidden[0]).abs().max().item<float>(),
                1e-4);
    }
  }
}

TEST_F(EnsembleTest, AFailingMemberEndsTheGroupWithItsError) {
  auto members = load({"a", "b"});
  const UnionVocab vocab = UnionVocab::build(vocab_members(members));
  EnsembleOptions opt;
  opt.max_new_tokens = 250;  // too long for the 256-token cache with these prompts
  try {
    ensemble_decode_inprocess(members, vocab, fixed("uniform", names(members)), prompts(), opt);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_seq_len"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rlae

namespace rlae {
namespace {

TEST_F(EnsembleTest, SeededSamplingIsReproducibleAndAgreesAcrossMembers) {
  auto members = load({"a", "b"});
  const UnionVocab vocab = UnionVocab::build(vocab_members(members));
  EnsembleOptions opt;
  opt.max_new_tokens = 20;
  opt.temperature = 1.5;
  opt.seed = 11;
  for (MixMode mode : {MixMode::sparse, MixMode::full}) {
    opt.mode = mode;
    // Members agreeing on every sampled token is asserted inside the call.
    const auto a = ensemble_decode_inprocess(members, vocab, fixed("uniform", names(members)), prompts(), opt);
    const auto b = ensemble_decode_inprocess(members, vocab, fixed("uniform", names(members)), prompts(), opt);
    opt.seed = 12;
    const auto c = ensemble_decode_inprocess(members, vocab, fixed("uniform", names(members)), prompts(), opt);
    opt.seed = 11;
    opt.temperature = 0;
    const auto g = ensemble_decode_inprocess(members, vocab, fixed("uniform", names(members)), prompts(), opt);
    opt.temperature = 1.5;
    bool differs_seed = false, differs_greedy = false;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].tokens, b[i].tokens) << "prompt " << i;
      differs_seed = differs_seed || a[i].tokens != c[i].tokens;
      differs_greedy = differs_greedy || a[i].tokens != g[i].tokens;
    }
    EXPECT_TRUE(differs_seed) << "another seed drew the same tokens everywhere";
    EXPECT_TRUE(differs_greedy) << "sampling drew the greedy tokens everywhere";
  }
  opt.temperature = -1;
  EXPECT_THROW(ensemble_decode_inprocess(members, vocab, fixed("uniform", names(members)), prompts(), opt), Error);
}

// All members on one GPU in one process: the same tokens as on the CPU, for fixed
// weights in every mixture mode and for seeded sampling (the in-process group then
// exchanges on the GPU: device buffers, CUDA kernels).
TEST_F(EnsembleTest, OnTheGpuTheMembersChooseTheCpuTokens) {
  const CudaStatus cuda = cuda_status();
  if (cuda.device_count == 0)
    GTEST_SKIP() << (cuda.compiled ? "no GPU visible (" + cuda.driver + ")" : std::string("built without CUDA"));
  auto cpu = load({"a", "b", "c"});
  auto gpu = load({"a", "b", "c"}, 3, at::Device(at::kCUDA, 0));
  const UnionVocab vocab = UnionVocab::build(vocab_members(cpu));
  const auto policy = fixed("weights:0.45,0.35,0.2", names(cpu));
  for (MixMode mode : {MixMode::sparse, MixMode::dense, MixMode::full}) {
    for (double temperature : {0.0, 0.8}) {
      EnsembleOptions opt;
      opt.max_new_tokens = 24;
      opt.mode = mode;
      opt.temperature = temperature;
      opt.seed = 7;
      const auto want = ensemble_decode_inprocess(cpu, vocab, policy, prompts(), opt);
      const auto got = ensemble_decode_inprocess(gpu, vocab, policy, prompts(), opt);
      ASSERT_EQ(want.size(), got.size());
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_EQ(want[i].tokens, got[i].tokens)
            << "prompt " << i << ", mode " << static_cast<int>(mode) << ", temperature " << temperature;
    }
  }
}

}  // namespace
}  // namespace rlae
