// The actor <-> learner transport across real MPI ranks (ctest runs this under
// mpirun with 2 and 3 ranks): rank 0 is the learner, every other rank an actor.
// Endpoints travel over MPI; trajectories and parameters over ZeroMQ on loopback.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <mpi.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/actor_channel.h"
#include "common/channel.h"
#include "common/check.h"
#include "learner/learner_channel.h"
#include "tests/unit/traj_fixtures.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

ChannelConfig mpi_test_config() {
  ChannelConfig cfg;
  cfg.interface = "127.0.0.1";  // every rank of the test runs on this node
  cfg.heartbeat_ms = 50;
  cfg.dead_after_ms = 10000;
  cfg.republish_min_ms = 10;
  return cfg;
}

wire::NamedTensors make_params(uint64_t version) {
  wire::NamedTensors p;
  p.emplace_back("agent.w", at::full({8, 4}, static_cast<float>(version)));
  p.emplace_back("agent.steps", at::full({2}, static_cast<int64_t>(version * 10)));
  return p;
}

void expect_params(const PolicyParams& p, uint64_t version) {
  ASSERT_EQ(p.version, version);
  const wire::NamedTensors want = make_params(version);
  ASSERT_EQ(p.tensors.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(p.tensors[i].first, want[i].first);
    EXPECT_TRUE(at::equal(p.tensors[i].second, want[i].second));
  }
}

// What actor `rank` sends: deterministic, so that the learner can recompute it.
TrajectoryBatch actor_batch(int rank, int i) {
  const int64_t n = (rank * 5 + i * 3) % 24 + 1;
  return testing::make_batch(static_cast<uint64_t>(rank) * 100 + i, n, std::min<int64_t>(n, 1 + i % 3));
}

TEST(ChannelsMpi, TrajectoriesAndParametersFlowBetweenRanks) {
  constexpr int K = 20;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  ASSERT_GE(size, 2) << "run under mpirun -np >= 2";
  const ChannelConfig cfg = mpi_test_config();
  const std::vector<std::string> hosts = gather_hosts(MPI_COMM_WORLD);

  std::unique_ptr<LearnerChannel> learner;
  ChannelEndpoints mine;
  if (rank == 0) {
    learner = std::make_unique<LearnerChannel>(0, cfg);
    mine = learner->endpoints();
  }
  const ChannelEndpoints ep = exchange_endpoints(MPI_COMM_WORLD, 0, mine);
  EXPECT_EQ(ep.learner_rank, 0);
  EXPECT_EQ(ep.learner_host, hosts[0]);
  EXPECT_EQ(ep.trajectories.rfind("tcp://127.0.0.1:", 0), 0u) << ep.trajectories;

  if (rank == 0) {
    for (int r = 1; r < size; ++r) learner->expect_actor(r, hosts[r]);
    learner->publish_params(1, make_params(1));  // before any actor connected
    std::vector<int> count(size, 0);
    std::vector<uint64_t> sum(size, 0), want(size, 0);
    for (int r = 1; r < size; ++r) {
      for (int i = 0; i < K; ++i) want[r] += testing::batch_checksum(actor_batch(r, i));
    }
    int total = 0;
    const auto start = Clock::now();
    while (total < (size - 1) * K && seconds_since(start) < 60) {
      auto m = learner->recv(100);
      if (!m) continue;
      ASSERT_EQ(m->type, wire::MsgType::trajectory) << m->reason;
      ++count[m->sender];
      sum[m->sender] += testing::batch_checksum(m->batch);
      ++total;
    }
    for (int r = 1; r < size; ++r) {
      EXPECT_EQ(count[r], K) << "actor " << r;
      EXPECT_EQ(sum[r], want[r]) << "actor " << r;
    }
    EXPECT_EQ(learner->rejected(), 0u) << learner->last_rejection();
    learner->publish_params(2, make_params(2));
    // Every actor gets version 2, then says goodbye.
    const auto wait = Clock::now();
    while (learner->departed().size() < static_cast<size_t>(size - 1) && seconds_since(wait) < 60) learner->recv(50);
    EXPECT_EQ(learner->departed().size(), static_cast<size_t>(size - 1));
    EXPECT_TRUE(learner->dead_actors().empty());
  } else {
    ActorChannel ch(ep, rank, hosts[rank], cfg);
    expect_params(ch.wait_for_version(1, 30000), 1);
    for (int i = 0; i < K; ++i) ch.send_trajectory(actor_batch(rank, i), 1);
    expect_params(ch.wait_for_version(2, 30000), 2);
    ch.close("done");
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// The last rank stops answering: the learner names it within the timeout and
// shuts the run down; every actor sees the shutdown with that rank and host.
TEST(ChannelsMpi, LostActorIsNamedToEveryRank) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  ASSERT_GE(size, 2);
  ChannelConfig cfg = mpi_test_config();
  cfg.dead_after_ms = 2000;
  const std::vector<std::string> hosts = gather_hosts(MPI_COMM_WORLD);
  const int lost_rank = size - 1;
  const std::string lost_line = "rank " + std::to_string(lost_rank) + " on " + hosts[lost_rank];

  std::unique_ptr<LearnerChannel> learner;
  ChannelEndpoints mine;
  if (rank == 0) {
    learner = std::make_unique<LearnerChannel>(0, cfg);
    mine = learner->endpoints();
  }
  const ChannelEndpoints ep = exchange_endpoints(MPI_COMM_WORLD, 0, mine);
  if (rank == 0) {
    for (int r = 1; r < size; ++r) learner->expect_actor(r, hosts[r]);
    learner->publish_params(1, make_params(1));
    std::vector<LostPeer> lost;
    const auto start = Clock::now();
    while (lost.empty() && seconds_since(start) < 60) {
      learner->recv(50);
      lost = learner->dead_actors();
    }
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0].rank, lost_rank);
    EXPECT_NE(describe(lost[0]).find(lost_line), std::string::npos) << describe(lost[0]);
    learner->broadcast_shutdown(describe(lost[0]) + " stopped answering", true);
  } else {
    ActorChannel ch(ep, rank, hosts[rank], cfg);
    expect_params(ch.wait_for_version(1, 30000), 1);
    if (rank == lost_rank) ch.stop_heartbeats_for_testing();
    bool got = false;
    const auto start = Clock::now();
    while (!got && seconds_since(start) < 60) {
      try {
        ch.wait_for_version(2, 200);
      } catch (const ChannelShutdown& e) {
        got = true;
        EXPECT_TRUE(e.failure());
        EXPECT_NE(std::string(e.what()).find(lost_line), std::string::npos) << e.what();
      } catch (const Error&) {
        // version 2 never comes: keep waiting for the shutdown
      }
    }
    EXPECT_TRUE(got) << "rank " << rank << " never heard of the shutdown";
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace rlae
