// The learner's loop under mpirun (rank 0): trajectory batches arrive over
// ZeroMQ from the G actor groups, in any order; iteration i's learner step
// (learner/learner_step.h) runs once all G batches of i are in (group order),
// then the parameters are published. A lost rank (silent past the channel's
// timeout, or a failure notice) or an error here ends the job: the learner
// saves a checkpoint, tells every actor to stop, and prints one line naming
// the rank, host and cause.
#pragma once

#include "actors/actor_loop.h"
#include "learner/trainer.h"

namespace rlae {

// Returns the process exit code (0, or 1 after a failure whose reason is printed).
int run_learner(const TrainConfig& cfg, const DistributedConfig& dist, const MpiSession& mpi,
                const TrainProgress& progress = {});

}  // namespace rlae
