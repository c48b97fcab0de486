#include "actors/agent_policy.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include "common/check.h"
#include "common/rng.h"

namespace rlae {

AgentAlgo parse_agent_algo(const std::string& name) {
  if (name == "mappo") return AgentAlgo::mappo;
  if (name == "ppo") return AgentAlgo::ppo;
  RLAE_FAIL("algorithm '", name, "' is not one of mappo|ppo");
}

const char* agent_algo_name(AgentAlgo algo) { return algo == AgentAlgo::mappo ? "mappo" : "ppo"; }

AgentObs parse_agent_obs(const std::string& name) {
  if (name == "own") return AgentObs::own;
  if (name == "group") return AgentObs::group;
  RLAE_FAIL("agent observation '", name, "' is not one of own|group");
}

const char* agent_obs_name(AgentObs obs) { return obs == AgentObs::own ? "own" : "group"; }

void check_agent_obs(AgentAlgo algo, AgentObs obs, const std::string& context) {
  RLAE_USAGE_CHECK(algo == AgentAlgo::mappo || obs == AgentObs::own, context,
                   ": --agent-obs group is for --algo mappo (the ppo agent sees the whole group already)");
}

AgentSet AgentSet::create(AgentAlgo algo, int64_t K, int64_t D, int64_t hidden, uint64_t seed, AgentObs agent_obs) {
  check_agent_obs(algo, agent_obs, "agents");
  AgentSet s;
  s.algo = algo;
  s.agent_obs = agent_obs;
  s.num_members = K;
  s.obs_width = D;
  if (algo == AgentAlgo::mappo) {
    // Group agents differ from own ones only in their input width (same seeds).
    const int64_t in = agent_obs == AgentObs::group ? K * D : D;
    for (int64_t i = 0; i < K; ++i) {
      s.nets.emplace_back(in, 1, hidden, derive_seed(seed, "agents.init", {static_cast<uint64_t>(i)}));
    }
  } else {
    s.nets.emplace_back(K * D, K, hidden, derive_seed(seed, "agents.init.joint"));
  }
  return s;
}

NamedTensors AgentSet::named_parameters() const {
  NamedTensors out;
  for (size_t i = 0; i < nets.size(); ++i) {
    for (auto& p : nets[i].named_parameters("agent" + std::to_string(i) + ".")) out.push_back(std::move(p));
  }
  return out;
}

void AgentSet::load(const NamedTensors& params) {
  for (size_t i = 0; i < nets.size(); ++i) nets[i].load(params, "agent" + std::to_string(i) + ".");
}

std::string AgentSet::describe() const {
  return std::string(agent_algo_name(algo)) + ", --agent-obs " + agent_obs_name(agent_obs);
}

namespace {

// The group's observation per sequence: [K, rows, D] -> [rows, K*D] (member-major).
at::Tensor group_observation(const DecisionContext& ctx) {
  const int64_t K = ctx.observations.size(0), rows = ctx.observations.size(1), D = ctx.observations.size(2);
  return ctx.observations.permute({1, 0, 2}).reshape({rows, K * D});
}

}  // namespace

AgentPolicy::AgentPolicy(const AgentSet& agents, bool sample, uint64_t seed, bool record)
    : agents_(agents), sample_(sample), seed_(seed), record_(record) {}

std::string AgentPolicy::name() const {
  return std::string("rlae-") + agent_algo_name(agents_.algo) + (agents_.agent_obs == AgentObs::group ? "+group" : "") +
         (sample_ ? " (sampling)" : " (mean)");
}

at::Tensor AgentPolicy::local(int m, const MemberObs&, const DecisionContext& ctx) {
  const int64_t rows = static_cast<int64_t>(ctx.prompts.size());
  if (agents_.algo != AgentAlgo::mappo) return at::zeros({rows, 2});
  RLAE_CHECK(ctx.observations.size(2) == agents_.obs_width, "agents: observation width ", ctx.observations.size(2),
             " but the agents were built for ", agents_.obs_width, " (a checkpoint from different members?)");
  RLAE_CHECK(ctx.observations.size(0) == agents_.num_members, "agents: built for ", agents_.num_members,
             " members, the ensemble has ", ctx.observations.size(0));
  c10::InferenceMode guard;
  // own: member m's observation [rows, D]; group: every member's, as the critic's share_obs [rows, K*D].
  const at::Tensor obs = agents_.agent_obs == AgentObs::group ? group_observation(ctx) : ctx.observations[m];
  const at::Tensor alpha = agents_.nets[static_cast<size_t>(m)].concentration(obs).squeeze(1);  // [rows]
  if (!sample_) return at::stack({alpha, at::zeros_like(alpha)}, 1);
  if (!gen_) gen_ = std::make_unique<at::Generator>(at::make_generator<at::CPUGeneratorImpl>(derive_seed(seed_, "agents.sample", {static_cast<uint64_t>(m)})));
  const at::Tensor g = sample_gamma(alpha, *gen_);
  return at::stack({g, gamma_log_prob(alpha, g)}, 1);
}

at::Tensor AgentPolicy::combine(const at::Tensor& feats, const DecisionContext& ctx) {
  c10::InferenceMode guard;
  const int64_t K = feats.size(0), rows = feats.size(1), D = ctx.observations.size(2);
  RLAE_CHECK(K == agents_.num_members, "agents: built for ", agents_.num_members, " members, the ensemble has ", K);
  const at::Tensor share = group_observation(ctx);  // [rows, K*D]
  at::Tensor g, logp, obs, actions;
  if (agents_.algo == AgentAlgo::mappo) {
    g = feats.select(2, kLocal).t().contiguous();            // [rows, K]
    logp = feats.select(2, kLocalLogProb).t().contiguous();  // [rows, K]
    obs = agents_.agent_obs == AgentObs::group ? share.unsqueeze(1).expand({rows, K, K * D})  // [rows, K, K*D]
                                               : ctx.observations.permute({1, 0, 2});        // [rows, K, D]
    actions = g.unsqueeze(2);                                // [rows, K, 1]
  } else {
    RLAE_CHECK(K * D == agents_.nets[0].in_dim(), "agents: observation width ", K * D, " but the agent was built for ",
               agents_.nets[0].in_dim(), " (a checkpoint from different members?)");
    const at::Tensor alpha = agents_.nets[0].concentration(share);  // [rows, K]
    if (sample_) {
      if (!gen_) gen_ = std::make_unique<at::Generator>(at::make_generator<at::CPUGeneratorImpl>(derive_seed(seed_, "agents.sample.joint")));
      g = sample_gamma(alpha, *gen_);
      logp = gamma_log_prob(alpha, g).sum(1, /*keepdim=*/true);  // [rows, 1]
    } else {
      g = alpha;
      logp = at::zeros({rows, 1});
    }
    obs = share.unsqueeze(1);      // [rows, 1, K*D]
    actions = g.unsqueeze(1);      // [rows, 1, K]
  }
  if (record_) {
    // Records leave inference mode: the learner trains on them with autograd.
    c10::InferenceMode normal(false);
    const at::Tensor w = g / g.sum(1, /*keepdim=*/true);
    for (int64_t r = 0; r < rows; ++r) {
      DecisionRecord rec;
      rec.share_obs = share[r].clone();
      rec.obs = obs[r].clone();
      rec.actions = actions[r].clone();
      rec.logprobs = logp[r].clone();
      rec.weights = w[r].clone();
      rec.span_index = ctx.span_index[static_cast<size_t>(r)];
      records_[ctx.prompts[static_cast<size_t>(r)]].push_back(std::move(rec));
    }
  }
  return g;
}

std::map<size_t, std::vector<DecisionRecord>> AgentPolicy::take_records() { return std::move(records_); }

TrajectoryBatch build_trajectories(const std::map<size_t, std::vector<DecisionRecord>>& records,
                                   const std::vector<EpisodeOutcome>& outcomes, int64_t policy_version) {
  std::vector<at::Tensor> share, obs, act, logp, w;
  std::vector<float> rewards;
  std::vector<uint8_t> dones;
  std::vector<int64_t> episode;
  std::vector<int32_t> span;
  TrajectoryBatch b;
  for (const auto& [prompt, recs] : records) {
    RLAE_CHECK(prompt < outcomes.size(), "trajectories: decision for prompt ", prompt, " but only ",
               outcomes.size(), " outcomes");
    if (recs.empty()) continue;
    const EpisodeOutcome& o = outcomes[prompt];
    const int64_t e = static_cast<int64_t>(b.prompt_id.size());
    b.prompt_id.push_back(o.prompt_id);
    b.task.push_back(o.task);
    b.text.push_back(o.text);
    b.correct.push_back(o.correct ? 1 : 0);
    for (size_t i = 0; i < recs.size(); ++i) {
      const DecisionRecord& r = recs[i];
      share.push_back(r.share_obs);
      obs.push_back(r.obs);
      act.push_back(r.actions);
      logp.push_back(r.logprobs);
      w.push_back(r.weights);
      const bool last = i + 1 == recs.size();
      rewards.push_back(last ? o.reward : 0.0f);
      dones.push_back(last ? 1 : 0);
      episode.push_back(e);
      span.push_back(static_cast<int32_t>(r.span_index));
    }
  }
  RLAE_CHECK(!share.empty(), "trajectories: no decisions recorded");
  const int64_t N = static_cast<int64_t>(share.size());
  b.share_obs = at::stack(share);
  b.obs = at::stack(obs);
  b.actions = at::stack(act);
  b.logprobs = at::stack(logp);
  b.weights = at::stack(w);
  b.rewards = at::tensor(rewards, at::kFloat);
  b.dones = at::tensor(std::vector<int64_t>(dones.begin(), dones.end()), at::kLong).to(at::kByte);
  b.values = at::zeros({N});
  b.policy_version = at::full({N}, policy_version, at::kLong);
  b.episode = at::tensor(episode, at::kLong);
  b.span_index = at::tensor(std::vector<int64_t>(span.begin(), span.end()), at::kLong).to(at::kInt);
  b.validate();
  return b;
}

}  // namespace rlae
