// An actor's end of the actor <-> learner transport (common/channel.h).
//
//   auto ep = exchange_endpoints(MPI_COMM_WORLD, 0, {});
//   ActorChannel ch(ep, rank, host, cfg);          // PUSH + SUB, heartbeat thread
//   PolicyParams p = ch.wait_for_version(0, 60000);
//   for (;;) {
//     if (auto newer = ch.sync_policy(p.version, max_lag, 60000)) p = *newer;
//     ... decode with p ...
//     ch.send_trajectory(batch, p.version);
//   }
//   ch.close("done");
//
// Every call drains the parameter socket first: learner heartbeats, new
// parameters (the newest wins) and shutdown. A shutdown from the learner
// throws ChannelShutdown with its reason; a learner silent for dead_after_ms
// throws rlae::Error naming its rank, host and endpoint. Not thread-safe: one
// thread uses an ActorChannel (its heartbeat thread has its own socket).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/channel.h"
#include "common/wire_tensor.h"

namespace rlae {

struct TrajectoryBatch;

struct PolicyParams {
  uint64_t version = 0;
  wire::NamedTensors tensors;  // in the learner's order
};

class ActorChannel {
 public:
  // Connects to the learner (rlae::Error naming the endpoint when it cannot,
  // or when the learner binds on loopback while this actor is on another host).
  ActorChannel(const ChannelEndpoints& ep, int rank, const std::string& host, const ChannelConfig& cfg);
  ~ActorChannel();  // close("done") when not closed yet; never throws
  ActorChannel(const ActorChannel&) = delete;
  ActorChannel& operator=(const ActorChannel&) = delete;

  // Queues `batch` for the learner. Blocks while the queue is full (send_hwm)
  // and the learner is alive; rlae::Error when the learner is lost or
  // cfg.send_timeout_ms passes. Never drops a batch silently.
  void send_trajectory(const TrajectoryBatch& batch, uint64_t policy_version);

  // Newer parameters than any returned before, if any arrived (non-blocking).
  std::optional<PolicyParams> poll_params();
  // The newest parameters with version >= min_version, waiting up to
  // timeout_ms; rlae::Error naming the learner when they do not come.
  PolicyParams wait_for_version(uint64_t min_version, int timeout_ms);
  // The policy-lag bound: newer parameters if any arrived; when the learner's
  // announced version exceeds current_version + max_lag, blocks until
  // parameters within the bound arrive (rlae::Error after timeout_ms).
  std::optional<PolicyParams> sync_policy(uint64_t current_version, uint64_t max_lag, int timeout_ms);

  // The newest version the learner announced (heartbeats, parameters); 0 before any.
  uint64_t learner_version() const;
  const ChannelEndpoints& endpoints() const;

  // Tells the learner this actor fails with `reason` (best effort, no throw).
  void report_failure(const std::string& reason);
  // Says goodbye after every queued trajectory and closes the sockets, waiting
  // up to linger_ms for queued trajectories to leave.
  void close(const std::string& reason = "done");

  // Testing: stop the heartbeat thread as a hung or dead actor would.
  void stop_heartbeats_for_testing();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rlae
