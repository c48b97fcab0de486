// HDF5 replay shards: every trajectory batch the learner receives, on disk.
//
// Schema (version kReplaySchemaVersion; N span steps, E episodes, A agents,
// K members):
//   /steps/obs            float32 [N, A, obs_dim]    each agent's observation
//                         (actors/policy.h: per member [last hidden | prompt context |
//                         entropy, top-1, margin, span/32], zero-padded to the widest
//                         member D; MAPPO A = K, obs_dim D, or K*D (every agent the
//                         share_obs) with agent_obs "group"; PPO A = 1 with the K concatenated)
//   /steps/share_obs      float32 [N, share_dim]     the critic's global state
//   /steps/actions        float32 [N, A, act_dim]    each agent's action (Gamma sample)
//   /steps/logprobs       float32 [N, A]             log-probability of that action
//   /steps/weights        float32 [N, K]             the ensemble weights applied
//   /steps/rewards        float32 [N]
//   /steps/dones          uint8   [N]                1 on an episode's last span
//   /steps/values         float32 [N]                critic value estimate
//   /steps/policy_version int64   [N]                version that acted
//   /steps/episode        int64   [N]                row in /episodes
//   /steps/span_index     int32   [N]                span number within the episode
//   /episodes/prompt_id   string  [E]   /episodes/task string [E]
//   /episodes/text        string  [E]   (the generated answer)
//   /episodes/correct     uint8   [E]
// Root attributes: schema_version (int), config_hash (string), run_id (string),
// iteration (int64), rlae_version (string), algo (string), agent_obs (string,
// "own" | "group": rlae train --agent-obs; shards written before it existed lack
// it and are "own").
// Datasets are chunked and deflate-compressed. The first kShardFrameBytes are
// HDF5's user block and hold rlae's frame, one text line
//   "rlae replay shard; frame 1; bytes N; crc32 XXXXXXXX\n" (zero-padded)
// with the size and the CRC-32 of the rest of the file; a shard whose frame does
// not match is refused before libhdf5 reads it. A shard is written under a
// temporary name and renamed when complete: a crash never leaves a half shard
// that looks whole. Readable with h5py.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/trajectory.h"

namespace rlae {

constexpr int kReplaySchemaVersion = 1;
constexpr size_t kShardFrameBytes = 512;

struct ShardInfo {
  std::string config_hash;
  std::string run_id;
  std::string algo;
  int64_t iteration = 0;
  int schema_version = kReplaySchemaVersion;
  std::string agent_obs = "own";  // what the MAPPO agents observed (rlae train --agent-obs)
};

// Writes `batch` to `path` (through path + ".tmp", renamed when complete).
void write_replay_shard(const std::string& path, const TrajectoryBatch& batch, const ShardInfo& info);

// Reads a shard back; rlae::Error naming the file and the problem for a file
// that is not a complete rlae shard of a known schema version, or whose frame
// (size, CRC-32) does not match its bytes.
TrajectoryBatch read_replay_shard(const std::string& path, ShardInfo* info = nullptr);

// The same without the frame check: for a shard the user made or edited (h5py)
// and vouches for. libhdf5 parses whatever the file holds.
TrajectoryBatch read_replay_shard_unverified(const std::string& path, ShardInfo* info = nullptr);

// rlae replay seal: reads `path` unverified, checks it as a trajectory batch
// and rewrites it (atomically) with a frame, so read_replay_shard accepts it.
void seal_replay_shard(const std::string& path);

}  // namespace rlae
