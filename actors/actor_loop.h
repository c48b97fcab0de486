// The actor's loop under mpirun: ranks 1..G*K form G ensemble groups of K
// actors (actor (g, i) = rank 1 + g*K + i hosts member i of group g). Group g
// decodes iteration i's prompts (actors/rollout.h) with the newest parameters
// it has, waiting while they are more than max_policy_lag versions behind i;
// the group's member 0 sends the batch to the learner over ZeroMQ and hands
// new parameters to the rest of its group through the group's Communicator.
// With max_policy_lag 0 every batch of iteration i acts with version i: the
// run is the in-process trainer's, rank for thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/agent_policy.h"
#include "actors/decode_session.h"
#include "actors/model.h"
#include "actors/rollout.h"
#include "common/channel.h"
#include "common/mpi_env.h"

namespace rlae {

// What an actor needs of the run's configuration (learner/trainer.h's TrainConfig::actor()).
struct ActorConfig {
  std::vector<std::string> members;
  std::string train_data;
  std::vector<std::string> families;
  std::string out;  // the run directory (the union vocabulary's cache)
  AgentAlgo algo = AgentAlgo::mappo;
  AgentObs agent_obs = AgentObs::own;
  uint64_t seed = 0;
  int iterations = 0;
  int64_t slots = 16;
  int64_t agent_hidden = 64;
  ModelOptions model;
  EnsembleOptions ensemble;
  RolloutSettings rollout;
};

struct DistributedConfig {
  ChannelConfig channel;
  int64_t max_policy_lag = 1;
};

// Runs this actor rank; returns the process exit code (0, or 1 after a failure
// whose one-line reason has been printed or reported to the learner). `finished`
// (when given) tells whether the run ended by finishing its iterations: only then
// do all ranks meet in MPI_Finalize. A SIGTERM / SIGINT ends the actor by itself
// 2 s later if nothing ended it sooner (common/stop_signal.h: exit_after_stop).
int run_actor(const ActorConfig& cfg, const DistributedConfig& dist, const MpiSession& mpi,
              bool* finished = nullptr);

}  // namespace rlae
