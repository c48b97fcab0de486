#include "launch/train_roles.h"

#include "common/check.h"
#include "learner/learner_loop.h"

namespace rlae {

void check_distributed_config(const DistributedConfig& dist) {
  RLAE_USAGE_CHECK(dist.max_policy_lag >= 0, "rlae train: --max-policy-lag must be >= 0, got ", dist.max_policy_lag);
  try {
    dist.channel.validate();
  } catch (const UsageError& e) {
    RLAE_USAGE_CHECK(false, "rlae train: ", e.what(), " (--interface, --heartbeat-ms, --dead-after-ms)");
  }
}

int train_distributed(const TrainConfig& cfg, const DistributedConfig& dist, const MpiSession& mpi,
                      const TrainProgress& progress, bool* finished) {
  if (finished) *finished = false;
  const int world = mpi.topology().size;
  const int64_t K = static_cast<int64_t>(cfg.members.size());
  RLAE_CHECK(K >= 2, "train: an ensemble needs at least 2 members, got ", K);
  RLAE_CHECK(world >= 1 + K && (world - 1) % K == 0, "train: ", world, " MPI ranks do not fit 1 learner + G groups of ",
             K, " members (use -np ", 1 + K, ", ", 1 + 2 * K, ", ...)");
  RLAE_CHECK(cfg.groups == 1 || cfg.groups == (world - 1) / K, "train: --groups ", cfg.groups, " but ", world,
             " ranks make ", (world - 1) / K, " groups of ", K, " (under mpirun the ranks set the groups)");
  check_distributed_config(dist);
  TrainConfig run = cfg;
  run.groups = static_cast<int>((world - 1) / K);
  if (mpi.topology().rank == 0) {
    const int rc = run_learner(run, dist, mpi, progress);
    if (finished) *finished = rc == 0;
    return rc;
  }
  return run_actor(run.actor(), dist, mpi, finished);
}

}  // namespace rlae
