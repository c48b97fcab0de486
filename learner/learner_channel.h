// The learner's end of the actor <-> learner transport (common/channel.h).
//
//   LearnerChannel ch(/*rank=*/0, cfg);                  // binds PULL + PUB
//   auto ep = exchange_endpoints(MPI_COMM_WORLD, 0, ch.endpoints());
//   for (int r = 1; r < size; ++r) ch.expect_actor(r, hosts[r]);
//   ch.publish_params(0, params);
//   while (...) {
//     if (auto m = ch.recv(100)) { ... m->batch ... }
//     if (auto lost = ch.dead_actors(); !lost.empty()) { ch.broadcast_shutdown(..., true); fail }
//   }
//
// Parameters and slow joiners: a SUB socket misses what was published before
// it connected. The learner keeps the newest parameter message; its heartbeats
// (every heartbeat_ms, from a publisher thread that owns the PUB socket) carry
// the current version; an actor whose newest parameters are older asks with a
// params_request on its PUSH socket, and the learner re-publishes the kept
// message (at most once per republish_min_ms). No periodic re-broadcast of
// large parameters.
//
// One thread uses a LearnerChannel; its internal publisher thread is private.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/channel.h"
#include "common/trajectory.h"
#include "common/wire.h"
#include "common/wire_tensor.h"

namespace rlae {

// A message for the learner's loop. Heartbeats, parameter requests and
// goodbyes are handled inside the channel and never returned.
struct LearnerMessage {
  wire::MsgType type = wire::MsgType::trajectory;  // trajectory or failure
  int sender = -1;
  uint64_t policy_version = 0;  // trajectory: the version that acted
  std::string host;             // the sender's host, when known
  std::string reason;           // failure: what the actor reported
  TrajectoryBatch batch;        // trajectory
  size_t bytes = 0;             // frame size
};

struct LostPeer {
  int rank = -1;
  std::string host;
  int64_t silent_ms = 0;
};
// "rank 3 on node07 (silent for 15.2 s)"
std::string describe(const LostPeer& p);

class LearnerChannel {
 public:
  // Binds both sockets on cfg.interface (rlae::Error naming the address when it cannot).
  LearnerChannel(int rank, const ChannelConfig& cfg);
  ~LearnerChannel();
  LearnerChannel(const LearnerChannel&) = delete;
  LearnerChannel& operator=(const LearnerChannel&) = delete;

  // The concrete endpoints actors connect to (a wildcard bind advertises this host's name).
  const ChannelEndpoints& endpoints() const;

  // Watch `rank` from now on: dead_actors() reports it when it stays silent.
  void expect_actor(int rank, const std::string& host);

  // The next valid trajectory or failure notice, or nothing within timeout_ms.
  // Invalid frames are logged with the reason, counted and skipped.
  std::optional<LearnerMessage> recv(int timeout_ms);

  // Watched actors silent for longer than `timeout_ms` (cfg.dead_after_ms when
  // negative), after processing every message already queued. Actors that said
  // goodbye are not watched any more.
  std::vector<LostPeer> dead_actors(int timeout_ms = -1);

  // Publishes `params` as version `version` (kept for re-publication).
  void publish_params(uint64_t version, const wire::NamedTensors& params);
  // Tells every actor to stop with `reason`; repeated with every heartbeat
  // from now on so that late or lossy subscribers get it too.
  void broadcast_shutdown(const std::string& reason, bool failure);

  uint64_t current_version() const;
  uint64_t rejected() const;               // invalid frames so far
  const std::string& last_rejection() const;
  std::vector<int> departed() const;       // actors that closed cleanly
  uint64_t republished() const;            // parameter re-publications on request

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rlae
