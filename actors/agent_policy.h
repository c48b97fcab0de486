// The learned weight policy (RLAE_MAPPO or RLAE_PPO) inside the ensemble loop,
// and the decisions it records for the learner.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/agent.h"
#include "actors/policy.h"
#include "common/trajectory.h"

namespace rlae {

enum class AgentAlgo { mappo, ppo };
AgentAlgo parse_agent_algo(const std::string& name);  // "mappo" | "ppo"
const char* agent_algo_name(AgentAlgo algo);

// What a MAPPO agent observes (rlae train --agent-obs):
//   own    its own member's observation [D] (the paper's decentralized agents)
//   group  the group's concatenated observation [K*D], the critic's share_obs
// Either way agent m keeps its own network and its own Gamma output, so the
// per-agent PPO ratios stay exact. The PPO agent sees the group already: only own.
enum class AgentObs { own, group };
AgentObs parse_agent_obs(const std::string& name);  // "own" | "group"
const char* agent_obs_name(AgentObs obs);
// rlae::UsageError "<context>: --agent-obs group is for --algo mappo ..." for ppo with group:
// the one check behind rlae train's options, its config check and AgentSet::create.
void check_agent_obs(AgentAlgo algo, AgentObs obs, const std::string& context);

// The agents' networks for K members with observation width D (padded):
//   mappo own: K nets, D -> 1;   mappo group: K nets, K*D -> 1;   ppo: one net, K*D -> K.
struct AgentSet {
  AgentAlgo algo = AgentAlgo::mappo;
  AgentObs agent_obs = AgentObs::own;
  int64_t num_members = 0;
  int64_t obs_width = 0;  // D, one member's observation
  std::vector<AgentNet> nets;

  // check_agent_obs(algo, agent_obs, "agents").
  static AgentSet create(AgentAlgo algo, int64_t num_members, int64_t obs_width, int64_t hidden, uint64_t seed,
                         AgentObs agent_obs = AgentObs::own);
  NamedTensors named_parameters() const;  // "agent<i>.l1.weight", ...
  void load(const NamedTensors& params);
  int64_t num_agents() const { return static_cast<int64_t>(nets.size()); }
  // Width of one agent's input: D (mappo own) or K*D (mappo group, ppo).
  int64_t agent_input_width() const {
    return algo == AgentAlgo::mappo && agent_obs == AgentObs::own ? obs_width : num_members * obs_width;
  }
  // "mappo, --agent-obs own": the set's kind, for error messages.
  std::string describe() const;
};

// One decision for one sequence, as the learner needs it (MAPPO layout:
// A agents; share_obs for the centralized critic).
struct DecisionRecord {
  at::Tensor share_obs;  // [K * D]
  at::Tensor obs;        // [A, obs_dim]   mappo own: [K, D];  mappo group: [K, K * D];  ppo: [1, K * D]
  at::Tensor actions;    // [A, act_dim]   mappo: [K, 1];  ppo: [1, K]   (Gamma samples)
  at::Tensor logprobs;   // [A]
  at::Tensor weights;    // [K]
  int64_t span_index = 0;
};

class AgentPolicy final : public WeightPolicy {
 public:
  // `agents` is shared by reference (the actor swaps in new parameters between
  // calls). sample: Gamma samples (training) or the Dirichlet mean (inference).
  // seed: the sampling stream; MAPPO member m draws from (seed, m); PPO draws on
  // every rank from the same stream so that all ranks take the same sample.
  AgentPolicy(const AgentSet& agents, bool sample, uint64_t seed, bool record);

  std::string name() const override;
  bool wants_observations() const override { return true; }
  at::Tensor local(int m, const MemberObs& obs, const DecisionContext& ctx) override;
  at::Tensor combine(const at::Tensor& feats, const DecisionContext& ctx) override;

  // The decisions recorded per prompt index (in decision order), moved out.
  std::map<size_t, std::vector<DecisionRecord>> take_records();

 private:
  const AgentSet& agents_;
  bool sample_;
  uint64_t seed_;
  bool record_;
  std::unique_ptr<at::Generator> gen_;  // created on first use (per member for MAPPO)
  std::map<size_t, std::vector<DecisionRecord>> records_;
};

// How an episode ended, for its trajectory.
struct EpisodeOutcome {
  std::string prompt_id, task, text;
  bool correct = false;
  float reward = 0;  // terminal reward, given on the episode's last decision
};

// Trajectories from recorded decisions: one episode per prompt index in
// `outcomes` (prompts with no decision are skipped), steps in decision order.
TrajectoryBatch build_trajectories(const std::map<size_t, std::vector<DecisionRecord>>& records,
                                   const std::vector<EpisodeOutcome>& outcomes, int64_t policy_version);

}  // namespace rlae
