#include "learner/learner_loop.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "actors/agent_checkpoint.h"
#include "common/check.h"
#include "common/log.h"
#include "common/stop_signal.h"
#include "learner/learner_channel.h"
#include "learner/learner_step.h"

namespace rlae {
namespace {

// Checks that need no actor, before any work starts; the verdict (0 ok, 1 error,
// 2 a bad option value) reaches every rank, which then all return it.
int check_setup(const TrainConfig& cfg) {
  std::string error;
  int code = 0;
  try {
    check_train_config(cfg);
    prepare_run_dirs(cfg);
    if (cfg.resume) (void)resumable_checkpoint(cfg, members_fingerprint(cfg.members));
    load_training_problems(cfg);
  } catch (const UsageError& e) {
    error = e.what();
    code = 2;
  } catch (const Error& e) {
    error = e.what();
    code = 1;
  }
  // Printed before the verdict goes out, so that no rank can end the job first.
  if (code == 2) std::fprintf(stderr, "%s\n", error.c_str());
  if (code == 1) std::fprintf(stderr, "rlae train: error: %s\n", error.c_str());
  RLAE_MPI_CHECK(MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD));
  return code;
}

// The G batches of each iteration, as they arrive.
class BatchQueue {
 public:
  explicit BatchQueue(int groups) : groups_(groups) {}
  void add(TrajectoryBatch b, int sender, int64_t current) {
    const RolloutInfo& i = b.info;
    RLAE_CHECK(i.group >= 0 && i.group < groups_ && i.iteration >= current, "rank ", sender,
               " sent a batch for iteration ", i.iteration, " of group ", i.group, " (at iteration ", current, " of ",
               groups_, " groups)");
    auto& slot = pending_[i.iteration];
    RLAE_CHECK(!slot.count(i.group), "rank ", sender, " sent iteration ", i.iteration, " of group ", i.group, " twice");
    slot.emplace(i.group, std::move(b));
  }
  // Iteration `it`'s batches in group order, once all are in.
  std::optional<std::vector<TrajectoryBatch>> take(int64_t it) {
    auto found = pending_.find(it);
    if (found == pending_.end() || static_cast<int>(found->second.size()) < groups_) return std::nullopt;
    std::vector<TrajectoryBatch> out;
    for (auto& [g, b] : found->second) out.push_back(std::move(b));
    pending_.erase(found);
    return out;
  }

 private:
  int groups_;
  std::map<int64_t, std::map<int64_t, TrajectoryBatch>> pending_;
};

int learner_iterations(const DistributedConfig& dist, LearnerChannel& channel,
                       TrainLearner& learner, int groups, const TrainProgress& progress) {
  auto fail = [&](const std::string& why) {
    const std::string saved = learner.checkpoint_on_exit();
    channel.broadcast_shutdown(why, /*failure=*/true);
    std::fprintf(stderr, "rlae train: %s; %s\n", why.c_str(), saved.c_str());
    return 1;
  };
  // SIGTERM / SIGINT: the iteration's shard is complete (steps write it whole);
  // checkpoint, tell the actors to stop cleanly, exit 128 + signal.
  auto stop = [&](int signo) {
    const std::string saved = learner.checkpoint_on_exit();
    channel.broadcast_shutdown("stopped by " + signal_name(signo), /*failure=*/false);
    std::fprintf(stderr, "rlae train: stopped by %s; %s (continue with --resume)\n", signal_name(signo).c_str(),
                 saved.c_str());
    return stop_exit_code(signo);
  };
  BatchQueue queue(groups);
  channel.publish_params(static_cast<uint64_t>(learner.version()), learner.agents().named_parameters());
  try {
    while (!learner.done()) {
      if (const int s = stop_requested()) return stop(s);
      const auto lost = channel.dead_actors();
      if (!lost.empty()) return fail("lost " + describe(lost.front()));
      auto msg = channel.recv(200);
      if (msg) {
        if (msg->type == wire::MsgType::failure) {
          return fail("rank " + std::to_string(msg->sender) + " on " + msg->host + " failed: " + msg->reason);
        }
        queue.add(std::move(msg->batch), msg->sender, learner.iteration());
      }
      while (auto batches = queue.take(learner.iteration())) {
        const IterationMetrics m = learner.step(*batches);
        channel.publish_params(static_cast<uint64_t>(learner.version()), learner.agents().named_parameters());
        if (progress) progress(m);
      }
    }
  } catch (const std::exception& e) {
    if (const int s = stop_requested()) return stop(s);
    return fail(std::string("rank 0 (learner) failed: ") + e.what());
  }
  (void)dist;
  channel.broadcast_shutdown(kTrainingFinished, /*failure=*/false);
  return 0;
}

std::string member_name(const std::string& dir) {
  const std::filesystem::path p(dir);
  return p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
}

}  // namespace

int run_learner(const TrainConfig& cfg, const DistributedConfig& dist, const MpiSession& mpi,
                const TrainProgress& progress) {
  const int world = mpi.topology().size;
  const int64_t K = static_cast<int64_t>(cfg.members.size());
  if (const int code = check_setup(cfg)) return code;
  // Actors split the world into groups; the learner takes no group.
  MPI_Comm none;
  RLAE_MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, MPI_UNDEFINED, 0, &none));
  LearnerChannel channel(0, dist.channel);
  exchange_endpoints(MPI_COMM_WORLD, 0, channel.endpoints());
  const auto hosts = gather_hosts(MPI_COMM_WORLD);
  for (int r = 1; r < world; ++r) channel.expect_actor(r, hosts[static_cast<size_t>(r)]);
  // Every actor loaded its member (the failing one has printed why).
  // 1: all started; 0: one failed; -1: one found a bad option value (prompts that
  // do not fit with --max-new-tokens), which every rank then returns as exit 2.
  int actors_ok = 1;
  RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &actors_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
  if (actors_ok != 1) {
    std::fprintf(stderr, "rlae train: an actor rank failed to start (see its message); stopping\n");
    return actors_ok < 0 ? 2 : 1;
  }
  // Where every rank runs: rank -> host -> device.
  const auto devices = gather_strings(MPI_COMM_WORLD, "cpu");
  for (int r = 0; r < world; ++r) {
    const auto i = static_cast<size_t>(r);
    if (r == 0) {
      std::fprintf(stderr, "rlae train: rank 0 on %s: learner, %s\n", hosts[i].c_str(), devices[i].c_str());
      continue;
    }
    const int64_t g = (r - 1) / K, m = (r - 1) % K;
    std::fprintf(stderr, "rlae train: rank %d on %s: group %lld member %lld (%s), %s\n", r, hosts[i].c_str(),
                 static_cast<long long>(g), static_cast<long long>(m),
                 member_name(cfg.members[static_cast<size_t>(m)]).c_str(), devices[i].c_str());
  }
  int64_t width = 0;  // the widest observation of the members (the actors' sessions know it)
  RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &width, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD));
  std::unique_ptr<TrainLearner> learner;
  try {
    learner = std::make_unique<TrainLearner>(cfg, K, width);
  } catch (const std::exception& e) {
    channel.broadcast_shutdown(e.what(), /*failure=*/true);
    std::fprintf(stderr, "rlae train: error: %s\n", e.what());
    return 1;
  }
  return learner_iterations(dist, channel, *learner, static_cast<int>((world - 1) / K), progress);
}

}  // namespace rlae
