#include "learner/replay_train.h"

#include <dirent.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <chrono>
#include <fstream>

#include "common/check.h"
#include "common/fs.h"
#include "learner/learner_step.h"
#include "learner/replay.h"

namespace rlae {

std::vector<std::string> list_replay_shards(const std::string& run_dir) {
  const std::string dir = run_dir + "/replay";
  DIR* d = ::opendir(dir.c_str());
  RLAE_CHECK(d != nullptr, dir, ": no replay directory (was the run trained with --replay false?)");
  std::vector<std::string> out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("shard-", 0) == 0 && name.size() > 9 && name.compare(name.size() - 3, 3, ".h5") == 0) {
      out.push_back(dir + "/" + name);
    }
  }
  ::closedir(d);
  RLAE_CHECK(!out.empty(), dir, ": no replay shards (shard-*.h5)");
  std::sort(out.begin(), out.end());
  return out;
}

ReplayTrainResult replay_train(const TrainConfig& cfg, const std::vector<std::string>& shards, int passes,
                               const TrainProgress& progress) {
  RLAE_CHECK(!shards.empty(), "replay train: no shards");
  RLAE_CHECK(passes >= 1 && cfg.checkpoint_every >= 1, "replay train: passes and checkpoint-every must be >= 1");
  RLAE_CHECK(!cfg.members.empty(), "replay train: the members the agents are for are needed (--members)");
  // Everything checkable first: the members' fingerprint, the output directory,
  // the agents' shape from the first shard.
  (void)members_fingerprint(cfg.members);  // every member readable, before any update
  TrainConfig dirs = cfg;
  dirs.write_replay = false;  // a replay run writes checkpoints and metrics only
  prepare_run_dirs(dirs);
  ShardInfo info;
  const TrajectoryBatch first = read_replay_shard(shards.front(), &info);
  const int64_t K = first.weights.size(1);
  // Every shard readable and of the same shape before the first update.
  for (const std::string& path : shards) {
    ShardInfo si;
    const TrajectoryBatch b = read_replay_shard(path, &si);
    RLAE_CHECK(si.algo == info.algo, path, ": trajectories of ", si.algo, " agents, the first shard's are ", info.algo);
    RLAE_CHECK(si.agent_obs == info.agent_obs, path, ": agents with --agent-obs ", si.agent_obs,
               ", the first shard's have ", info.agent_obs);
    RLAE_CHECK(b.weights.size(1) == K && b.obs.sizes().slice(1) == first.obs.sizes().slice(1), path,
               ": trajectories of another shape than the first shard's (obs ", b.obs.sizes(), " vs ",
               first.obs.sizes(), ")");
  }
  RLAE_CHECK(K == static_cast<int64_t>(cfg.members.size()), shards.front(), ": trajectories of ", K,
             " members, but ", cfg.members.size(), " members are given");
  RLAE_CHECK(info.algo == agent_algo_name(cfg.algo), shards.front(), ": trajectories of ", info.algo,
             " agents, but the algorithm is ", agent_algo_name(cfg.algo));
  RLAE_CHECK(info.agent_obs == agent_obs_name(cfg.agent_obs), shards.front(),
             ": trajectories of agents with --agent-obs ", info.agent_obs, ", but --agent-obs is ",
             agent_obs_name(cfg.agent_obs));
  // One member's observation width D: the critic's share_obs is K*D in every mode
  // (the agents' obs is D, or K*D for ppo and --agent-obs group).
  const int64_t D = first.share_obs.size(1) / K;
  // The training loop's own learner step, one update per shard in the run's order.
  const int64_t total = static_cast<int64_t>(shards.size()) * passes;
  dirs.iterations = static_cast<int>(total);
  dirs.resume = false;
  TrainLearner learner(dirs, K, D);
  ReplayTrainResult res;
  for (int pass = 0; pass < passes; ++pass) {
    for (const std::string& path : shards) {
      TrajectoryBatch batch = read_replay_shard(path);
      batch.info.iteration = learner.iteration();
      IterationMetrics m;
      try {
        m = learner.step({batch});
      } catch (const Error& e) {
        RLAE_FAIL(path, ": ", e.what());
      }
      ++res.updates;
      if (progress) progress(m);
    }
  }
  res.last_checkpoint = cfg.out + "/checkpoints/" + checkpoint_name(res.updates);
  return res;
}

}  // namespace rlae
