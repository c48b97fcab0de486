// The rollout step of training, shared by every run: the problems of one
// (iteration, group), decoded by the group's K members with the agents
// sampling weights every span, scored by the answer check, as a trajectory
// batch. The single-process trainer runs it on an InprocessEnsemble (the
// one-group case, or G groups one after another); distributed actors run it on
// their own rank's DecodeSession. Prompts and sampling streams are named by
// (iteration, group) only, so every layout decodes the same prompts with the
// same samples, and a resumed run draws what an uninterrupted one would.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/agent_policy.h"
#include "actors/decode_session.h"
#include "actors/ensemble.h"
#include "common/answer.h"
#include "common/dataset.h"

namespace rlae {

struct RolloutSettings {
  uint64_t seed = 0;
  int prompts_per_iteration = 16;
  AnswerMode answer_mode = AnswerMode::numeric;
};

// Training problems of `path`, only the given families (all when empty).
std::vector<Problem> load_training_problems(const std::string& path, const std::vector<std::string>& families);
// The problems of (iteration, group): stream "rollout.prompts".
std::vector<const Problem*> rollout_problems(const RolloutSettings& s, const std::vector<Problem>& data,
                                             int64_t iteration, int64_t group);
// Terminal rewards from the answer check.
std::vector<EpisodeOutcome> score_episodes(AnswerMode mode, const std::vector<const Problem*>& problems,
                                           const std::vector<EnsembleResult>& results);

// One group's rollout in this process (K threads); the batch and its info.
TrajectoryBatch rollout_inprocess(InprocessEnsemble& ensemble, const AgentSet& agents, const RolloutSettings& s,
                                  const std::vector<Problem>& data, int64_t version, int64_t iteration, int64_t group);
// Member m's side of a group's rollout on its own rank: the batch on member 0
// (the recorder), an empty batch (info only) on the others.
TrajectoryBatch rollout_member(DecodeSession& session, const AgentSet& agents, const RolloutSettings& s,
                               const std::vector<Problem>& data, int64_t version, int64_t iteration, int64_t group);

// The agents' parameters (and their version) from `root` to every rank of the
// group, through the group's communicator (staged on the device for NCCL).
void broadcast_agents(Communicator& comm, AgentSet& agents, int64_t& version, int root = 0);

}  // namespace rlae
