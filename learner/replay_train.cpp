#include "learner/replay_train.h"

#include <dirent.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <chrono>
#include <fstream>

#include "common/check.h"
#include "common/fs.h"
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
  const std::string fingerprint = members_fingerprint(cfg.members);
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
    RLAE_CHECK(b.weights.size(1) == K && b.obs.sizes().slice(1) == first.obs.sizes().slice(1), path,
               ": trajectories of another shape than the first shard's (obs ", b.obs.sizes(), " vs ",
               first.obs.sizes(), ")");
  }
  RLAE_CHECK(K == static_cast<int64_t>(cfg.members.size()), shards.front(), ": trajectories of ", K,
             " members, but ", cfg.members.size(), " members are given");
  RLAE_CHECK(info.algo == agent_algo_name(cfg.algo), shards.front(), ": trajectories of ", info.algo,
             " agents, but the algorithm is ", agent_algo_name(cfg.algo));
  const int64_t D = cfg.algo == AgentAlgo::mappo ? first.obs.size(2) : first.obs.size(2) / K;
  PpoLearner learner(AgentSet::create(cfg.algo, K, D, cfg.agent_hidden, cfg.seed), cfg.ppo);

  std::ofstream metrics(cfg.out + "/metrics.jsonl", std::ios::trunc);
  RLAE_CHECK(metrics.good(), cfg.out, "/metrics.jsonl: cannot write");
  ReplayTrainResult res;
  const int64_t total = static_cast<int64_t>(shards.size()) * passes;
  for (int pass = 0; pass < passes; ++pass) {
    for (const std::string& path : shards) {
      const auto t0 = std::chrono::steady_clock::now();
      const TrajectoryBatch batch = read_replay_shard(path);
      PpoStats st;
      try {
        st = learner.update(batch);
      } catch (const Error& e) {
        RLAE_FAIL(path, ": ", e.what());
      }
      ++res.updates;
      IterationMetrics m;
      m.iteration = res.updates;
      m.policy_version = res.updates;
      set_update_metrics(m, batch, st);
      m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      m.episodes_per_s = static_cast<double>(m.episodes) / std::max(m.seconds, 1e-9);
      metrics << m.to_json() << "\n";
      metrics.flush();
      if (res.updates % cfg.checkpoint_every == 0 || res.updates == total) {
        write_checkpoint(cfg, learner, res.updates, res.updates, fingerprint);
      }
      if (progress) progress(m);
    }
  }
  res.last_checkpoint = cfg.out + "/checkpoints/" + checkpoint_name(res.updates);
  return res;
}

}  // namespace rlae
