// RLAE training under mpirun: rank 0 is the learner; ranks 1..G*K form G
// ensemble groups of K actors (actor (g, i) = rank 1 + g*K + i hosts member i of
// group g). Groups decode their own prompts; the group's member 0 sends each
// trajectory batch to the learner over ZeroMQ; the learner updates after every
// batch and publishes the parameters; actors block when their policy lags the
// learner's by more than `max_policy_lag` versions. A lost rank (silent past
// the channel's timeout, or a failure notice) ends the job: the learner saves a
// checkpoint and every surviving rank exits non-zero with one line naming the
// lost rank and host.
#pragma once

#include "common/channel.h"
#include "common/mpi_env.h"
#include "learner/trainer.h"

namespace rlae {

struct DistributedConfig {
  ChannelConfig channel;
  int64_t max_policy_lag = 1;
};

// Runs this rank's role; returns the process exit code (0, or 1 after a failure
// whose one-line reason has been printed).
int train_distributed(const TrainConfig& config, const DistributedConfig& dist, const MpiSession& mpi,
                      const TrainProgress& progress = {});

}  // namespace rlae
