// The actor <-> learner transport over ZeroMQ: what both ends share.
//
// The learner (learner/learner_channel.h) binds a PULL socket (trajectories,
// heartbeats, failure notices and parameter requests from actors) and a PUB
// socket (parameters, its own heartbeats, shutdown) on the interface the config
// names; exchange_endpoints() gives their concrete addresses to every actor
// over MPI; actors (actors/actor_channel.h) connect PUSH and SUB. Messages are
// common/wire.h frames, checked on receipt. Both ends send a heartbeat every
// heartbeat_ms from a thread with its own socket, and report a peer silent for
// dead_after_ms as lost, naming its rank and host.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"

namespace rlae {

struct ChannelConfig {
  // Where the learner binds: an IPv4 address, an interface name ("eth0"), or
  // "*" (all interfaces: only when asked for explicitly). Loopback by default,
  // which serves every rank on one node.
  std::string interface = "127.0.0.1";
  int heartbeat_ms = 1000;      // both directions
  int dead_after_ms = 15000;    // a peer silent this long is lost
  int send_timeout_ms = 0;      // a trajectory send gives up after this (0: waits while the learner lives)
  // Queues (ZeroMQ high-water marks, in messages). At most send_hwm + recv_hwm
  // trajectories of one actor are in flight; the learner holds at most
  // recv_hwm x actors of them unread. A full queue blocks send_trajectory.
  int send_hwm = 16;
  int recv_hwm = 16;
  // Messages (parameters, heartbeats) queued per subscriber. Beyond it the
  // publisher drops new ones; an actor that missed parameters sees the
  // learner's version in the next heartbeat and asks for them again.
  int params_hwm = 16;
  int linger_ms = 10000;        // how long closing an actor waits for its queued trajectories
  int republish_min_ms = 100;   // at most one re-publication of the parameters per this interval
  uint64_t max_message_bytes = uint64_t{1} << 30;
  void validate() const;  // rlae::UsageError naming the bad value
};

// The learner's concrete endpoints, as actors must connect to them.
struct ChannelEndpoints {
  std::string trajectories;  // "tcp://HOST:PORT" of the learner's PULL socket
  std::string params;        // "tcp://HOST:PORT" of the learner's PUB socket
  int learner_rank = 0;
  std::string learner_host;
};

// Collective over `comm`: rank `root` (the learner) passes its endpoints, every
// rank returns them. Every MPI call checked.
ChannelEndpoints exchange_endpoints(MPI_Comm comm, int root, const ChannelEndpoints& at_root);
// Collective: every rank's host name, indexed by rank.
std::vector<std::string> gather_hosts(MPI_Comm comm);
// Every rank's `mine` (at most 255 bytes), in rank order, on every rank.
std::vector<std::string> gather_strings(MPI_Comm comm, const std::string& mine);

// The learner stopped the run; thrown by ActorChannel calls. failure() is false
// for a normal end of training.
// The learner's shutdown reason when every iteration is done (the one clean end).
inline constexpr const char* kTrainingFinished = "training finished";

class ChannelShutdown : public Error {
 public:
  ChannelShutdown(const std::string& msg, std::string reason, bool failure)
      : Error(msg), reason_(std::move(reason)), failure_(failure) {}
  const std::string& reason() const { return reason_; }
  bool failure() const { return failure_; }

 private:
  std::string reason_;
  bool failure_;
};

std::string local_host_name();
// "tcp://<interface>:*" for bind(); UsageError for an empty or malformed interface.
std::string channel_bind_address(const std::string& interface);
// The address peers connect to: a wildcard bind ("tcp://0.0.0.0:PORT") becomes
// "tcp://<host>:PORT"; anything else is returned as is.
std::string advertised_endpoint(const std::string& bound, const std::string& host);
// True for tcp://127.x.x.x:PORT and tcp://localhost:PORT.
bool is_loopback_endpoint(const std::string& endpoint);

}  // namespace rlae
