// Role dispatch of a distributed rlae train: rank 0 runs the learner's loop
// (learner/learner_loop.h), ranks 1..G*K the actors' (actors/actor_loop.h).
#pragma once

#include "actors/actor_loop.h"
#include "learner/trainer.h"

namespace rlae {

// The distributed options (--max-policy-lag, the channel's --interface,
// --heartbeat-ms, --dead-after-ms): UsageError naming the bad one.
void check_distributed_config(const DistributedConfig& dist);

// Checks the world fits 1 learner + G groups of K, then runs this rank's role;
// returns the process exit code. `finished` (when given): the run ended by finishing
// its iterations, on this rank's knowledge (then every rank meets in MPI_Finalize).
int train_distributed(const TrainConfig& config, const DistributedConfig& dist, const MpiSession& mpi,
                      const TrainProgress& progress = {}, bool* finished = nullptr);

}  // namespace rlae
