#include "learner/ppo.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>

#include "common/adam.h"
#include "common/check.h"
#include "common/rng.h"
#include "learner/gae.h"

namespace rlae {

// Adam (common/adam.h) without weight decay at a constant lr; the gradient norm is clipped
// as a double sum of squares.
struct PpoLearner::Optim {
  Optim(std::vector<at::Tensor> params, double lr_)
      : adam(std::move(params), AdamOptions{/*beta1=*/0.9, /*beta2=*/0.999, /*eps=*/1e-8}), lr(lr_) {}
  Adam adam;
  double lr;
};

PpoLearner::PpoLearner(AgentSet agents, const PpoConfig& config)
    : agents_(std::move(agents)), config_(config) {
  RLAE_CHECK(config.lr > 0 && config.clip > 0 && config.epochs >= 1 && config.minibatches >= 1,
             "ppo: lr and clip must be > 0, epochs and minibatches >= 1");
  RLAE_CHECK(config.gamma >= 0 && config.gamma <= 1 && config.gae_lambda >= 0 && config.gae_lambda <= 1,
             "ppo: gamma and gae-lambda must lie in [0, 1]");
  const int64_t share = agents_.num_members * agents_.obs_width;
  critic_ = AgentNet(share, 1, config.critic_hidden, derive_seed(config.seed, "critic.init"));
  std::vector<at::Tensor> params;
  for (auto& net : agents_.nets) {
    net.set_requires_grad(true);
    for (auto& p : net.parameters()) params.push_back(p);
  }
  critic_.set_requires_grad(true);
  for (auto& p : critic_.parameters()) params.push_back(p);
  optim_ = std::make_unique<Optim>(params, config.lr);
}

PpoLearner::~PpoLearner() = default;

void ValueNorm::update(const at::Tensor& returns) {
  if (returns.numel() == 0) return;
  const at::Tensor r = returns.to(at::kDouble);
  // One batch counts as one observation of its mean and mean square, as in MAPPO.
  mean_ = beta_ * mean_ + (1 - beta_) * r.mean().item<double>();
  mean_sq_ = beta_ * mean_sq_ + (1 - beta_) * r.pow(2).mean().item<double>();
  debias_ = beta_ * debias_ + (1 - beta_);
}

double ValueNorm::mean() const { return debias_ > 0 ? mean_ / std::max(debias_, 1e-5) : 0.0; }

double ValueNorm::var() const {
  if (debias_ <= 0) return 1.0;
  const double m = mean();
  return std::max(mean_sq_ / std::max(debias_, 1e-5) - m * m, 1e-2);
}

at::Tensor ValueNorm::normalize(const at::Tensor& x) const { return (x - mean()) / std::sqrt(var()); }

at::Tensor ValueNorm::denormalize(const at::Tensor& x) const { return x * std::sqrt(var()) + mean(); }

at::Tensor ValueNorm::state() const { return at::tensor({mean_, mean_sq_, debias_}, at::kDouble); }

void ValueNorm::load_state(const at::Tensor& s) {
  RLAE_CHECK(s.numel() == 3, "learner state: 'ppo.value_norm' must hold 3 numbers, has ", s.numel());
  const at::Tensor d = s.to(at::kDouble).contiguous();
  mean_ = d[0].item<double>();
  mean_sq_ = d[1].item<double>();
  debias_ = d[2].item<double>();
}

at::Tensor PpoLearner::values(const at::Tensor& share_obs) const {
  at::NoGradGuard no_grad;
  const at::Tensor v = critic_.raw(share_obs).squeeze(1);
  return config_.value_norm ? value_norm_.denormalize(v) : v;
}

namespace {

// Per-agent log-probabilities [n, A] and entropies [n, A] of actions [n, A, act].
std::pair<at::Tensor, at::Tensor> policy_terms(const AgentSet& agents, const at::Tensor& obs, const at::Tensor& actions) {
  std::vector<at::Tensor> lp, ent;
  for (int64_t a = 0; a < agents.num_agents(); ++a) {
    const at::Tensor alpha = agents.nets[static_cast<size_t>(a)].concentration(obs.select(1, a));  // [n, act]
    const at::Tensor act = actions.select(1, a);                                                  // [n, act]
    lp.push_back(gamma_log_prob(alpha, act).sum(1));
    ent.push_back(gamma_entropy(alpha).sum(1));
  }
  return {at::stack(lp, 1), at::stack(ent, 1)};
}

void check_batch(const AgentSet& agents, const TrajectoryBatch& b) {
  b.validate();
  RLAE_CHECK(b.obs.size(1) == agents.num_agents(), "ppo: batch has ", b.obs.size(1), " agents, the learner ",
             agents.num_agents(), " (", agent_algo_name(agents.algo), ")");
  // A batch of the other --agent-obs differs here: each agent's input is D (own) or K*D (group).
  RLAE_CHECK(b.obs.size(2) == agents.agent_input_width(), "ppo: observation width ", b.obs.size(2),
             " but the agents take ", agents.agent_input_width(), " (", agents.describe(), ")");
  RLAE_CHECK(b.share_obs.size(1) == agents.num_members * agents.obs_width, "ppo: share_obs width ",
             b.share_obs.size(1), ", expected ", agents.num_members * agents.obs_width);
  // Episodes contiguous and in order: a step that does not end its episode is
  // followed by the next step of the same episode.
  const int64_t N = b.num_steps();
  const auto done = b.dones.accessor<uint8_t, 1>();
  const auto ep = b.episode.accessor<int64_t, 1>();
  for (int64_t i = 0; i < N; ++i) {
    if (!done[i]) {
      RLAE_CHECK(i + 1 < N && ep[i + 1] == ep[i], "ppo: step ", i, " of episode ", ep[i],
                 " is not its last, but the next step belongs elsewhere (episodes must be contiguous and end with done)");
    }
  }
}

}  // namespace

at::Tensor PpoLearner::log_probs(const TrajectoryBatch& batch) const {
  at::NoGradGuard no_grad;
  check_batch(agents_, batch);
  return policy_terms(agents_, batch.obs, batch.actions).first;
}

PpoStats PpoLearner::update(const TrajectoryBatch& batch) {
  check_batch(agents_, batch);
  const int64_t N = batch.num_steps();
  PpoStats st;
  st.steps = N;
  if (N == 0) return st;
  // The observation statistics first: this batch's actions were sampled under
  // the previous statistics, so the ratios below see the shift as part of the
  // policy change (it shrinks as the counts grow).
  for (int64_t a = 0; a < agents_.num_agents(); ++a) agents_.nets[static_cast<size_t>(a)].observe(batch.obs.select(1, a));
  critic_.observe(batch.share_obs);
  const at::Tensor v = values(batch.share_obs);  // [N]
  st.values = v;
  const at::Tensor vb = at::cat({v, at::zeros({1})}).unsqueeze(1);
  const GaeResult gae = compute_gae(batch.rewards.unsqueeze(1), vb, batch.dones.to(at::kFloat).unsqueeze(1),
                                    config_.gamma, config_.gae_lambda);
  const at::Tensor ret = gae.returns.squeeze(1);
  at::Tensor adv = gae.advantages.squeeze(1);
  // With value_norm the critic regresses standardized returns (statistics taken in first).
  at::Tensor target = ret;
  if (config_.value_norm) {
    value_norm_.update(ret);
    target = value_norm_.normalize(ret);
  }
  if (N > 1) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
  st.mean_return = ret.mean().item<double>();

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(derive_seed(config_.seed, "ppo.minibatches", {updates_++}));
  const int64_t mb = std::max<int64_t>(1, (N + config_.minibatches - 1) / config_.minibatches);
  double sum_pi = 0, sum_v = 0, sum_ent = 0, sum_kl = 0, sum_clip = 0, sum_norm = 0;
  int64_t count = 0;
  for (int e = 0; e < config_.epochs; ++e) {
    const at::Tensor perm = at::randperm(N, gen, at::kLong);
    for (int64_t start = 0; start < N; start += mb) {
      const at::Tensor idx = perm.slice(0, start, std::min(N, start + mb));
      const at::Tensor obs = batch.obs.index_select(0, idx);
      const at::Tensor act = batch.actions.index_select(0, idx);
      const at::Tensor old_lp = batch.logprobs.index_select(0, idx);  // [n, A]
      const at::Tensor a = adv.index_select(0, idx).unsqueeze(1);       // [n, 1]
      auto [lp, ent] = policy_terms(agents_, obs, act);
      const at::Tensor ratio = at::exp(lp - old_lp);
      const at::Tensor s1 = ratio * a, s2 = at::clamp(ratio, 1 - config_.clip, 1 + config_.clip) * a;
      const at::Tensor pi_loss = -at::min(s1, s2).mean();
      const at::Tensor value = critic_.raw(batch.share_obs.index_select(0, idx)).squeeze(1);
      const at::Tensor v_loss = (target.index_select(0, idx) - value).pow(2).mean();
      const at::Tensor entropy = ent.mean();
      const at::Tensor loss = pi_loss - config_.entropy_coef * entropy + config_.value_coef * v_loss;
      optim_->adam.zero_grad();
      loss.backward();
      sum_norm += optim_->adam.clip_grad_norm(config_.max_grad_norm, GradNorm::sum_of_squares);
      optim_->adam.step(optim_->lr);
      {
        at::NoGradGuard no_grad;
        sum_pi += pi_loss.item<double>();
        sum_v += v_loss.item<double>();
        sum_ent += entropy.item<double>();
        sum_kl += (old_lp - lp).mean().item<double>();
        sum_clip += ((ratio - 1).abs() > config_.clip).to(at::kFloat).mean().item<double>();
      }
      ++count;
    }
  }
  st.minibatch_updates = count;
  st.policy_loss = sum_pi / count;
  st.value_loss = sum_v / count;
  st.entropy = sum_ent / count;
  st.approx_kl = sum_kl / count;
  st.clip_fraction = sum_clip / count;
  st.grad_norm = sum_norm / count;
  return st;
}

NamedTensors PpoLearner::state() const {
  NamedTensors s = agents_.named_parameters();
  for (auto& p : critic_.named_parameters("critic.")) s.push_back(std::move(p));
  for (auto& m : optim_->adam.moments("adam.")) s.push_back(std::move(m));
  s.push_back({"adam.step", at::tensor({optim_->adam.step_count()}, at::kLong)});
  s.push_back({"ppo.updates", at::tensor({static_cast<int64_t>(updates_)}, at::kLong)});
  if (config_.value_norm) s.push_back({"ppo.value_norm", value_norm_.state()});
  return s;
}

void PpoLearner::load_state(const NamedTensors& s) {
  agents_.load(s);
  critic_.load(s, "critic.");
  auto find = [&](const std::string& name) -> const at::Tensor& {
    auto it = std::find_if(s.begin(), s.end(), [&](const auto& p) { return p.first == name; });
    RLAE_CHECK(it != s.end(), "learner state: '", name, "' is missing");
    return it->second;
  };
  optim_->adam.load_moments(
      [&](const std::string& name) -> const at::Tensor* {
        auto it = std::find_if(s.begin(), s.end(), [&](const auto& p) { return p.first == name; });
        return it == s.end() ? nullptr : &it->second;
      },
      "adam.", "learner state");
  optim_->adam.set_step_count(find("adam.step").item<int64_t>());
  updates_ = static_cast<uint64_t>(find("ppo.updates").item<int64_t>());
  auto vn = std::find_if(s.begin(), s.end(), [](const auto& p) { return p.first == "ppo.value_norm"; });
  RLAE_CHECK(!config_.value_norm || vn != s.end(),
             "learner state: 'ppo.value_norm' is missing (the checkpoint was trained without --value-norm; resume without it)");
  RLAE_CHECK(config_.value_norm || vn == s.end(),
             "learner state: the checkpoint was trained with --value-norm (its critic predicts standardized returns); resume with it");
  if (config_.value_norm) value_norm_.load_state(vn->second);
}

}  // namespace rlae
