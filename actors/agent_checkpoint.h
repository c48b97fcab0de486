// Trained agents as `rlae eval`, `rlae generate` and the trainer read them back:
// a checkpoint (learner/trainer.h writes it) is tied to the member set it was
// trained for by a fingerprint.
#pragma once

#include <string>
#include <vector>

#include "actors/agent_policy.h"

namespace rlae {

// A fingerprint of the member set (hash of every member's config.json and
// tokenizer.json, in order), stored in checkpoints.
std::string members_fingerprint(const std::vector<std::string>& member_dirs);

// The agents of a checkpoint, checked against the members they will steer:
// rlae::Error when the checkpoint was trained for a different member set.
AgentSet load_agents(const std::string& checkpoint, const std::vector<std::string>& member_dirs);

}  // namespace rlae
