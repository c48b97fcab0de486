// The agents and the PPO / MAPPO learner on a contextual bandit whose best
// weighting depends on the observation: both algorithms must learn it, through
// the same AgentPolicy and trajectory path the ensemble uses.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include "actors/agent_policy.h"
#include "common/check.h"
#include "learner/ppo.h"

namespace rlae {
namespace {

constexpr int64_t K = 3, D = 5;

// One decision per episode for `rows` sequences: member r's observation carries
// a flag where r is the right member; reward = weight on the right member.
struct Round {
  TrajectoryBatch batch;
  double mean_weight_on_right = 0;
};

// A decision context of K members over observations [K, rows, D], one prompt per row.
DecisionContext make_context(const at::Tensor& observations) {
  const int64_t rows = observations.size(1);
  DecisionContext ctx;
  ctx.num_members = K;
  ctx.observations = observations;
  ctx.obs_dims.assign(K, D);
  for (int64_t r = 0; r < rows; ++r) {
    ctx.prompts.push_back(static_cast<size_t>(r));
    ctx.span_index.push_back(0);
    ctx.solution_step.push_back(0);
    ctx.tasks.push_back("");
  }
  return ctx;
}

// Every agent's local() output as the features combine() takes [K, rows, kNumFeatures].
at::Tensor local_features(AgentPolicy& policy, const DecisionContext& ctx) {
  at::Tensor feats = at::zeros({K, ctx.observations.size(1), kNumFeatures});
  for (int m = 0; m < K; ++m) {
    MemberObs obs;
    const at::Tensor l = policy.local(m, obs, ctx);
    feats[m].select(1, kLocal).copy_(l.select(1, 0));
    feats[m].select(1, kLocalLogProb).copy_(l.select(1, 1));
  }
  return feats;
}

Round play(const AgentSet& agents, AgentPolicy& policy, int64_t rows, at::Generator& gen) {
  const at::Tensor right = at::randint(K, {rows}, gen, at::kLong);
  at::Tensor observations = at::randn({K, rows, D}, gen) * 0.1;
  for (int64_t r = 0; r < rows; ++r) observations[right[r].item<int64_t>()][r][0] = 1.0f;
  const DecisionContext ctx = make_context(observations);
  const at::Tensor g = policy.combine(local_features(policy, ctx), ctx);
  const at::Tensor w = g / g.sum(1, true);
  std::vector<EpisodeOutcome> outcomes(static_cast<size_t>(rows));
  Round out;
  for (int64_t r = 0; r < rows; ++r) {
    const float wr = w[r][right[r].item<int64_t>()].item<float>();
    outcomes[static_cast<size_t>(r)] = {"p" + std::to_string(r), "bandit", "", wr > 0.5f, wr};
    out.mean_weight_on_right += wr / rows;
  }
  out.batch = build_trajectories(policy.take_records(), outcomes, 0);
  (void)agents;
  return out;
}

double greedy_score(const AgentSet& agents, at::Generator& gen) {
  AgentPolicy mean(agents, /*sample=*/false, 0, /*record=*/true);
  return play(agents, mean, 256, gen).mean_weight_on_right;
}

void learns(AgentAlgo algo, bool value_norm = false, AgentObs agent_obs = AgentObs::own) {
  PpoConfig cfg;
  cfg.value_norm = value_norm;
  cfg.lr = 3e-3;
  cfg.epochs = 4;
  cfg.minibatches = 2;
  cfg.seed = 3;
  PpoLearner learner(AgentSet::create(algo, K, D, 32, 5, agent_obs), cfg);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const double before = greedy_score(learner.agents(), gen);
  EXPECT_NEAR(before, 1.0 / K, 0.05) << "the initial policy should be close to uniform";
  for (int it = 0; it < 60; ++it) {
    AgentPolicy policy(learner.agents(), /*sample=*/true, 100 + it, /*record=*/true);
    const Round r = play(learner.agents(), policy, 128, gen);
    if (it == 0) {
      // The learner recomputes exactly the log-probabilities the actors recorded.
      EXPECT_LT((learner.log_probs(r.batch) - r.batch.logprobs).abs().max().item<float>(), 1e-4);
    }
    const PpoStats st = learner.update(r.batch);
    EXPECT_TRUE(std::isfinite(st.policy_loss) && std::isfinite(st.value_loss) && std::isfinite(st.approx_kl));
  }
  const double after = greedy_score(learner.agents(), gen);
  EXPECT_GT(after, 0.6) << agent_algo_name(algo) << ": weight on the right member " << before << " -> " << after;
}

TEST(Ppo, MappoLearnsContextDependentWeights) { learns(AgentAlgo::mappo); }
TEST(Ppo, PpoLearnsContextDependentWeights) { learns(AgentAlgo::ppo); }
TEST(Ppo, MappoWithValueNormLearnsContextDependentWeights) { learns(AgentAlgo::mappo, /*value_norm=*/true); }
TEST(Ppo, MappoWithGroupObservationsLearnsContextDependentWeights) {
  learns(AgentAlgo::mappo, /*value_norm=*/false, AgentObs::group);
}

// --agent-obs group: agent m's concentration depends on every member's observation
// (own: on member m's alone); each agent keeps its own network and records the
// group's observation, the critic's share_obs, as its obs [K, K*D].
TEST(AgentPolicy, GroupObservationsReachEveryAgent) {
  constexpr int64_t rows = 6;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(21);
  const DecisionContext ctx = make_context(at::randn({K, rows, D}, gen));
  DecisionContext other = ctx;  // member 1's observation changes, member 0's does not
  other.observations = ctx.observations.clone();
  other.observations[1].add_(3.0);
  for (AgentObs mode : {AgentObs::own, AgentObs::group}) {
    const AgentSet agents = AgentSet::create(AgentAlgo::mappo, K, D, 16, 4, mode);
    ASSERT_EQ(agents.num_agents(), K);
    EXPECT_EQ(agents.nets[0].in_dim(), mode == AgentObs::group ? K * D : D);
    AgentPolicy policy(agents, /*sample=*/false, 0, /*record=*/false);
    MemberObs unused;
    const at::Tensor a = policy.local(0, unused, ctx).select(1, 0);    // agent 0's concentration [rows]
    const at::Tensor b = policy.local(0, unused, other).select(1, 0);
    if (mode == AgentObs::group) {
      EXPECT_GT((a - b).abs().max().item<float>(), 0.0f) << "a group agent sees the other members";
    } else {
      EXPECT_TRUE(at::equal(a, b)) << "an own agent sees its member alone";
    }
    // Own mode records [K, D] per decision; group mode [K, K*D], every row the share_obs.
    AgentPolicy recording(agents, /*sample=*/true, 3, /*record=*/true);
    recording.combine(local_features(recording, ctx), ctx);
    const auto records = recording.take_records();
    ASSERT_EQ(records.size(), static_cast<size_t>(rows));
    const DecisionRecord& rec = records.at(2).front();
    ASSERT_EQ(rec.obs.sizes(), (std::vector<int64_t>{K, agents.agent_input_width()}));
    for (int64_t m = 0; m < K; ++m) {
      EXPECT_TRUE(at::equal(rec.obs[m], mode == AgentObs::group ? rec.share_obs : ctx.observations[m][2])) << m;
    }
  }
  // The PPO agent sees the group already: a group PPO set is refused.
  EXPECT_THROW(AgentSet::create(AgentAlgo::ppo, K, D, 16, 4, AgentObs::group), Error);
  EXPECT_EQ(parse_agent_obs("group"), AgentObs::group);
  EXPECT_THROW(parse_agent_obs("all"), Error);
}

// A learner of one --agent-obs refuses the other's trajectories, naming the mode.
TEST(AgentPolicy, LearnerRefusesTheOtherObservationMode) {
  PpoConfig cfg;
  cfg.seed = 1;
  PpoLearner own(AgentSet::create(AgentAlgo::mappo, K, D, 16, 1), cfg);
  PpoLearner group(AgentSet::create(AgentAlgo::mappo, K, D, 16, 1, AgentObs::group), cfg);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  AgentPolicy pol(own.agents(), true, 1, true);
  const Round r = play(own.agents(), pol, 8, gen);
  try {
    group.update(r.batch);
    FAIL() << "an own batch was taken by group agents";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--agent-obs group"), std::string::npos) << e.what();
  }
}

// MAPPO's ValueNorm: debiased running moments (so the first batch already gives its own
// mean and variance), normalize and denormalize invert each other, and the learner's
// values come back in return units, round-trip through the state and refuse a state
// trained the other way.
TEST(Ppo, ValueNorm) {
  ValueNorm vn;
  EXPECT_DOUBLE_EQ(vn.mean(), 0.0);
  EXPECT_DOUBLE_EQ(vn.var(), 1.0);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor r1 = at::randn({400}, gen).to(at::kDouble) * 3 + 10;
  vn.update(r1);
  EXPECT_NEAR(vn.mean(), r1.mean().item<double>(), 1e-6);
  EXPECT_NEAR(vn.var(), r1.var(0, /*unbiased=*/false).item<double>(), 1e-4);
  const at::Tensor r2 = at::randn({400}, gen).to(at::kDouble) + 4;
  vn.update(r2);  // beta ~ 1: the two batches weigh (almost) equally
  const double m = (r1.mean().item<double>() + r2.mean().item<double>()) / 2;
  EXPECT_NEAR(vn.mean(), m, 1e-3);
  const at::Tensor x = at::randn({10}, gen);
  EXPECT_TRUE(at::allclose(vn.denormalize(vn.normalize(x)), x, 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(vn.normalize(at::full({1}, vn.mean(), at::kDouble)), at::zeros({1}, at::kDouble), 0, 1e-9));
  ValueNorm copy;
  copy.load_state(vn.state());
  EXPECT_DOUBLE_EQ(copy.mean(), vn.mean());
  EXPECT_DOUBLE_EQ(copy.var(), vn.var());
  EXPECT_THROW(copy.load_state(at::zeros({2})), Error);

  PpoConfig cfg;
  cfg.seed = 1;
  cfg.value_norm = true;
  PpoLearner a(AgentSet::create(AgentAlgo::mappo, K, D, 16, 1), cfg);
  AgentPolicy pol(a.agents(), true, 1, true);
  Round r = play(a.agents(), pol, 64, gen);
  for (int i = 0; i < 30; ++i) a.update(r.batch);
  // One decision per episode with a terminal reward: the return is the reward (its
  // mean here ~1/3, its spread ~0.1), and the de-standardized values come back in those
  // units: their mean near the rewards' mean, not near the standardized 0.
  const at::Tensor v = a.values(r.batch.share_obs);
  const double mean_r = r.batch.rewards.mean().item<double>();
  EXPECT_NEAR(v.mean().item<double>(), mean_r, 0.03) << "rewards' mean " << mean_r;
  PpoLearner b(AgentSet::create(AgentAlgo::mappo, K, D, 16, 2), cfg);
  b.load_state(a.state());
  EXPECT_TRUE(at::allclose(a.values(r.batch.share_obs), b.values(r.batch.share_obs)));
  PpoConfig plain = cfg;
  plain.value_norm = false;
  PpoLearner c(AgentSet::create(AgentAlgo::mappo, K, D, 16, 2), plain);
  EXPECT_THROW(c.load_state(a.state()), Error);
  EXPECT_THROW(b.load_state(c.state()), Error);
}

// The input statistics: after observing batches, mean and variance are those of
// all rows seen; inputs are standardized and clipped to +-5; the statistics
// travel with the named parameters but are not trained.
TEST(Ppo, AgentInputStatistics) {
  AgentNet net(4, 1, 8, 3);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const at::Tensor a = at::randn({50, 4}, gen) * 3 + 7, b = at::randn({30, 4}, gen) * 0.5 - 2;
  const at::Tensor x = at::randn({5, 4}, gen);
  EXPECT_TRUE(at::allclose(net.normalize(x), x.clamp(-5, 5))) << "before any batch: the identity";
  net.observe(a);
  net.observe(b);
  const at::Tensor all = at::cat({a, b});
  const at::Tensor mean = all.mean(0), sd = all.var(0, /*unbiased=*/false).sqrt();
  EXPECT_TRUE(at::allclose(net.normalize(x), ((x - mean) / sd).clamp(-5, 5), 1e-4, 1e-4));
  EXPECT_TRUE(at::allclose(net.normalize(all).mean(0), at::zeros({4}), 1e-4, 1e-4));
  EXPECT_FLOAT_EQ(net.normalize(mean + 100 * sd).max().item<float>(), 5.0f);
  // A constant input dimension does not blow up.
  AgentNet flat(2, 1, 8, 3);
  flat.observe(at::ones({10, 2}));
  EXPECT_TRUE(at::isfinite(flat.normalize(at::full({1, 2}, 2.0))).all().item<bool>());
  // Named for checkpoints and parameter broadcasts; not among the trained tensors.
  size_t named = 0;
  for (const auto& [n, t] : net.named_parameters()) named += n.rfind("norm.", 0) == 0;
  EXPECT_EQ(named, 3u);
  EXPECT_EQ(net.parameters().size(), 6u);
  AgentNet copy(4, 1, 8, 77);
  copy.load(net.named_parameters());
  EXPECT_TRUE(at::allclose(copy.normalize(x), net.normalize(x)));
  EXPECT_TRUE(at::allclose(copy.concentration(x), net.concentration(x)));
}

TEST(Ppo, StateRoundTripsAndBadBatchesAreErrors) {
  PpoConfig cfg;
  cfg.seed = 1;
  PpoLearner a(AgentSet::create(AgentAlgo::mappo, K, D, 16, 1), cfg);
  PpoLearner b(AgentSet::create(AgentAlgo::mappo, K, D, 16, 2), cfg);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  AgentPolicy pol(a.agents(), true, 1, true);
  Round r = play(a.agents(), pol, 16, gen);
  a.update(r.batch);
  b.load_state(a.state());
  EXPECT_TRUE(at::allclose(a.log_probs(r.batch), b.log_probs(r.batch)));
  EXPECT_TRUE(at::allclose(a.values(r.batch.share_obs), b.values(r.batch.share_obs)));
  // Identical state, identical next update.
  const PpoStats sa = a.update(r.batch), sb = b.update(r.batch);
  EXPECT_DOUBLE_EQ(sa.policy_loss, sb.policy_loss);
  EXPECT_TRUE(at::allclose(a.log_probs(r.batch), b.log_probs(r.batch)));
  // A batch from the other algorithm, or with a broken episode, is refused.
  PpoLearner ppo(AgentSet::create(AgentAlgo::ppo, K, D, 16, 1), cfg);
  EXPECT_THROW(ppo.update(r.batch), Error);
  TrajectoryBatch broken = r.batch;
  broken.dones = at::zeros_like(broken.dones);
  EXPECT_THROW(a.update(broken), Error);
}

}  // namespace
}  // namespace rlae
