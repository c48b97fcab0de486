// Trained agents as `rlae eval`, `rlae generate` and the trainer read them back:
// a checkpoint (learner/trainer.h writes it) is tied to the member set it was
// trained for by a fingerprint.
#pragma once

#include <string>
#include <vector>

#include "actors/agent_policy.h"

namespace rlae {

// A fingerprint of the member set, in order: every member's config.json,
// tokenizer.json and weights (the bytes of model.safetensors, or of the shards that
// model.safetensors.index.json lists). Stored in checkpoints. Hashing weights reads
// them once: the result is cached per file by path, size and modification time in
// $RLAE_CACHE_DIR (default $XDG_CACHE_HOME/rlae or ~/.cache/rlae), so later runs
// and the ranks of one node pay nothing.
std::string members_fingerprint(const std::vector<std::string>& member_dirs);

// The hash of one file's bytes (64-bit, word-wise), through that cache.
std::string weights_file_hash(const std::string& path);

// What members_fingerprint covers, stored beside it ("config,tokenizer,weights").
inline constexpr const char* kFingerprintCovers = "config,tokenizer,weights";

// The agents of a checkpoint, checked against the members they will steer:
// rlae::Error when the checkpoint was trained for a different member set. The
// algorithm and --agent-obs come from its metadata ("agent_obs" absent: own).
AgentSet load_agents(const std::string& checkpoint, const std::vector<std::string>& member_dirs);

}  // namespace rlae
