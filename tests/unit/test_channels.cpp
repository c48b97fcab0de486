// The actor <-> learner transport over real ZeroMQ sockets on 127.0.0.1: a
// learner channel and actor channels in threads of one process.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>
#include <vector>

#include "actors/actor_channel.h"
#include "common/channel.h"
#include "common/check.h"
#include "common/trajectory.h"
#include "common/wire.h"
#include "common/wire_tensor.h"
#include "learner/learner_channel.h"
#include "tests/unit/traj_fixtures.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Generous: the tests run on loaded 2-core machines.
ChannelConfig test_config() {
  ChannelConfig cfg;
  cfg.interface = "127.0.0.1";
  cfg.heartbeat_ms = 50;
  cfg.dead_after_ms = 5000;
  cfg.republish_min_ms = 10;
  cfg.linger_ms = 5000;
  return cfg;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

wire::NamedTensors make_params(uint64_t version) {
  wire::NamedTensors p;
  p.emplace_back("policy.w", at::full({4, 3}, static_cast<float>(version)));
  p.emplace_back("policy.b", at::arange(0, 3, at::kLong) + static_cast<int64_t>(version));
  return p;
}

void expect_params(const PolicyParams& p, uint64_t version) {
  EXPECT_EQ(p.version, version);
  const wire::NamedTensors want = make_params(version);
  ASSERT_EQ(p.tensors.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(p.tensors[i].first, want[i].first);
    EXPECT_TRUE(at::equal(p.tensors[i].second, want[i].second)) << want[i].first;
  }
}

TEST(Channels, BindsOnTheConfiguredInterfaceOnly) {
  LearnerChannel learner(0, test_config());
  const ChannelEndpoints& ep = learner.endpoints();
  EXPECT_EQ(ep.trajectories.rfind("tcp://127.0.0.1:", 0), 0u) << ep.trajectories;
  EXPECT_EQ(ep.params.rfind("tcp://127.0.0.1:", 0), 0u) << ep.params;
  EXPECT_NE(ep.trajectories, ep.params);
  EXPECT_EQ(ep.learner_rank, 0);
  EXPECT_EQ(ep.learner_host, local_host_name());
  EXPECT_EQ(advertised_endpoint("tcp://0.0.0.0:5555", "node07"), "tcp://node07:5555");
  EXPECT_EQ(advertised_endpoint("tcp://10.1.2.3:5555", "node07"), "tcp://10.1.2.3:5555");
  EXPECT_TRUE(is_loopback_endpoint("tcp://127.0.0.1:5"));
  EXPECT_FALSE(is_loopback_endpoint("tcp://10.0.0.1:5"));
}

TEST(Channels, BadInterfaceIsAClearError) {
  ChannelConfig cfg = test_config();
  cfg.interface = "tcp://127.0.0.1:5555";
  EXPECT_THROW(LearnerChannel(0, cfg), UsageError);
  cfg.interface = "192.0.2.1";  // TEST-NET-1: not an address of this machine
  try {
    LearnerChannel learner(0, cfg);
    FAIL() << "bound on " << cfg.interface;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("tcp://192.0.2.1:*"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ZeroMQ error"), std::string::npos) << msg;
  }
}

TEST(Channels, LoopbackLearnerWithActorOnAnotherHostIsAClearError) {
  ChannelEndpoints ep{"tcp://127.0.0.1:5001", "tcp://127.0.0.1:5002", 0, "node-a"};
  try {
    ActorChannel actor(ep, 1, "node-b", test_config());
    FAIL() << "accepted a loopback learner on another host";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("loopback"), std::string::npos) << e.what();
  }
}

// 8 actors x 50 trajectories of varied sizes at once: every one arrives, with
// the same contents (count and checksum per actor).
TEST(Channels, BurstFromAllActorsArrivesComplete) {
  constexpr int kActors = 8, kPerActor = 50;
  const ChannelConfig cfg = test_config();
  LearnerChannel learner(0, cfg);
  const ChannelEndpoints ep = learner.endpoints();
  const std::string host = local_host_name();
  for (int r = 1; r <= kActors; ++r) learner.expect_actor(r, host);

  std::vector<uint64_t> sent_sum(kActors + 1, 0);
  std::vector<std::string> errors(kActors + 1);
  std::vector<std::thread> actors;
  for (int r = 1; r <= kActors; ++r) {
    actors.emplace_back([&, r] {
      try {
        ActorChannel ch(ep, r, host, cfg);
        for (int i = 0; i < kPerActor; ++i) {
          const uint64_t seed = static_cast<uint64_t>(r) * 1000 + i;
          const int64_t n = (r * 7 + i * 13) % 48;  // 0..47 steps
          const TrajectoryBatch b = testing::make_batch(seed, n, std::min<int64_t>(n, 1 + i % 5));
          sent_sum[r] += testing::batch_checksum(b);
          ch.send_trajectory(b, static_cast<uint64_t>(i));
        }
        ch.close("done");
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  std::vector<int> count(kActors + 1, 0);
  std::vector<uint64_t> recv_sum(kActors + 1, 0);
  std::vector<uint64_t> last_version(kActors + 1, 0);
  int total = 0;
  const auto start = Clock::now();
  while (total < kActors * kPerActor && seconds_since(start) < 120) {
    auto m = learner.recv(200);
    if (!m) continue;
    ASSERT_EQ(m->type, wire::MsgType::trajectory) << m->reason;
    ASSERT_GE(m->sender, 1);
    ASSERT_LE(m->sender, kActors);
    // One actor's trajectories arrive in the order it sent them.
    if (count[m->sender] > 0) {
      EXPECT_EQ(m->policy_version, last_version[m->sender] + 1);
    }
    last_version[m->sender] = m->policy_version;
    ++count[m->sender];
    recv_sum[m->sender] += testing::batch_checksum(m->batch);
    ++total;
  }
  for (auto& t : actors) t.join();
  for (int r = 1; r <= kActors; ++r) {
    EXPECT_EQ(errors[r], "") << "actor " << r;
    EXPECT_EQ(count[r], kPerActor) << "actor " << r;
    EXPECT_EQ(recv_sum[r], sent_sum[r]) << "actor " << r;
  }
  EXPECT_EQ(total, kActors * kPerActor);
  EXPECT_EQ(learner.rejected(), 0u) << learner.last_rejection();
  // Every actor said goodbye after its last trajectory.
  const auto wait = Clock::now();
  while (learner.departed().size() < kActors && seconds_since(wait) < 30) learner.recv(50);
  EXPECT_EQ(learner.departed().size(), static_cast<size_t>(kActors));
  EXPECT_TRUE(learner.dead_actors().empty());
}

TEST(Channels, NewestParametersWinAndLateJoinersGetThem) {
  const ChannelConfig cfg = test_config();
  LearnerChannel learner(0, cfg);
  const std::string host = local_host_name();
  for (uint64_t v = 1; v <= 3; ++v) learner.publish_params(v, make_params(v));
  std::atomic<bool> stop{false};
  std::thread pump([&] {  // the learner's loop: answers parameter requests
    while (!stop) learner.recv(20);
  });
  {
    ActorChannel first(learner.endpoints(), 2, host, cfg);
    expect_params(first.wait_for_version(3, 30000), 3);
  }
  // Version 3 went out before `first` got it, so before this actor existed:
  // its SUB socket cannot have seen it and only a re-publication can bring it.
  ActorChannel actor(learner.endpoints(), 1, host, cfg);
  const PolicyParams p3 = actor.wait_for_version(3, 30000);
  expect_params(p3, 3);
  EXPECT_GE(learner.republished(), 1u);
  EXPECT_FALSE(actor.poll_params().has_value());  // nothing newer than what was returned

  for (uint64_t v = 4; v <= 8; ++v) learner.publish_params(v, make_params(v));
  const PolicyParams p8 = actor.wait_for_version(8, 30000);
  expect_params(p8, 8);
  EXPECT_EQ(actor.learner_version(), 8u);
  // Older versions that were queued are never handed out after a newer one.
  EXPECT_FALSE(actor.poll_params().has_value());

  learner.publish_params(9, make_params(9));
  std::optional<PolicyParams> p9;
  const auto start = Clock::now();
  while (!p9 && seconds_since(start) < 30) {
    p9 = actor.poll_params();
    if (!p9) std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_TRUE(p9.has_value());
  expect_params(*p9, 9);
  stop = true;
  pump.join();
}

TEST(Channels, WaitForVersionTimesOutNamingTheLearner) {
  const ChannelConfig cfg = test_config();
  LearnerChannel learner(0, cfg);
  ActorChannel actor(learner.endpoints(), 1, local_host_name(), cfg);
  learner.publish_params(2, make_params(2));
  const auto start = Clock::now();
  try {
    actor.wait_for_version(9, 400);
    FAIL() << "version 9 was never published";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no policy parameters of version >= 9"), std::string::npos) << msg;
    EXPECT_NE(msg.find("the learner (rank 0 on " + local_host_name() + ")"), std::string::npos) << msg;
    EXPECT_NE(msg.find(learner.endpoints().params), std::string::npos) << msg;
  }
  EXPECT_LT(seconds_since(start), 20);
}

TEST(Channels, PolicyLagBoundBlocksUntilParametersArrive) {
  const ChannelConfig cfg = test_config();
  LearnerChannel learner(0, cfg);
  ActorChannel actor(learner.endpoints(), 1, local_host_name(), cfg);
  std::atomic<bool> stop{false};
  std::thread pump([&] {
    while (!stop) learner.recv(20);
  });
  learner.publish_params(1, make_params(1));
  PolicyParams p = actor.wait_for_version(1, 30000);
  // Within the bound: no waiting needed, nothing newer yet.
  EXPECT_FALSE(actor.sync_policy(p.version, 2, 30000).has_value());
  learner.publish_params(6, make_params(6));
  // Lag 5 > 2 once the actor hears of version 6: sync_policy must return >= 4.
  const auto start = Clock::now();
  std::optional<PolicyParams> got;
  while (!got && seconds_since(start) < 30) got = actor.sync_policy(p.version, 2, 30000);
  ASSERT_TRUE(got.has_value());
  EXPECT_GE(got->version, 4u);
  expect_params(*got, 6);
  stop = true;
  pump.join();
}

// An actor busy for longer than dead_after_ms (loading its member, checking a large
// dataset) before its first wait: the heartbeats the learner sent meanwhile are
// queued, and they say the learner is alive (it used to be reported silent).
TEST(Channels, HeartbeatsQueuedWhileTheActorWasBusyCount) {
  ChannelConfig cfg = test_config();
  cfg.dead_after_ms = 600;
  LearnerChannel learner(0, cfg);
  ActorChannel actor(learner.endpoints(), 1, local_host_name(), cfg);
  std::this_thread::sleep_for(milliseconds(1500));  // busy: nothing read
  learner.publish_params(1, make_params(1));
  std::atomic<bool> stop{false};
  std::thread pump([&] {
    while (!stop) learner.recv(20);
  });
  EXPECT_NO_THROW(expect_params(actor.wait_for_version(1, 30000), 1));
  stop = true;
  pump.join();
}

// A raw PUSH socket sends garbage: the learner logs, counts and skips every
// bad frame and keeps serving the good ones.
TEST(Channels, LearnerRejectsMalformedFramesAndKeepsWorking) {
  const ChannelConfig cfg = test_config();
  LearnerChannel learner(0, cfg);
  zmq::context_t ctx(1);
  zmq::socket_t raw(ctx, zmq::socket_type::push);
  raw.set(zmq::sockopt::linger, 1000);
  raw.connect(learner.endpoints().trajectories);

  const TrajectoryBatch good = testing::make_batch(42, 10, 2);
  const std::vector<uint8_t> valid = wire::encode_trajectory(1, 3, good);
  std::vector<std::vector<uint8_t>> bad;
  bad.push_back({'h', 'e', 'l', 'l', 'o'});                                       // not rlae
  bad.emplace_back(valid.begin(), valid.begin() + 20);                            // truncated header
  bad.emplace_back(valid.begin(), valid.end() - 100);                             // truncated payload
  bad.push_back(valid); bad.back()[4] = 7;                                         // wrong version
  bad.push_back(valid); bad.back()[valid.size() / 2] ^= 1;                         // bit flip
  bad.push_back(wire::encode_params(1, 1, make_params(1)));                        // params from an actor
  bad.push_back(wire::encode_control(wire::MsgType::heartbeat, 0, 0, {"x", "", ""}));  // claims the learner's rank
  {
    TrajectoryBatch wrong = testing::make_batch(43, 4, 1);
    wire::Writer w;
    wire::add_tensor(w, "obs", wrong.obs);  // one field only
    bad.push_back(w.finish(wire::MsgType::trajectory, 1, 0));
  }
  {
    wire::Writer w;
    w.add_string("reason", "no host");  // a failure notice without its host
    bad.push_back(w.finish(wire::MsgType::failure, 1, 0));
  }
  for (auto& f : bad) {
    zmq::message_t m(f.data(), f.size());
    raw.send(m, zmq::send_flags::none);
  }
  zmq::message_t part1(valid.data(), valid.size()), part2(3);  // two frames
  raw.send(part1, zmq::send_flags::sndmore);
  raw.send(part2, zmq::send_flags::none);
  const size_t n_bad = bad.size() + 1;
  zmq::message_t ok(valid.data(), valid.size());
  raw.send(ok, zmq::send_flags::none);

  std::optional<LearnerMessage> got;
  const auto start = Clock::now();
  while (!got && seconds_since(start) < 30) got = learner.recv(200);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->type, wire::MsgType::trajectory);
  EXPECT_EQ(got->sender, 1);
  EXPECT_EQ(testing::batch_checksum(got->batch), testing::batch_checksum(good));
  // Frames of one connection arrive in order: every bad one came first.
  EXPECT_EQ(learner.rejected(), n_bad);
  EXPECT_NE(learner.last_rejection().find("2 frames"), std::string::npos) << learner.last_rejection();
  EXPECT_FALSE(learner.recv(50).has_value());
}

TEST(Channels, SilentActorIsReportedDead) {
  ChannelConfig cfg = test_config();
  cfg.dead_after_ms = 2000;
  LearnerChannel learner(0, cfg);
  const std::string host = local_host_name();
  learner.expect_actor(1, host);
  learner.expect_actor(2, "node-never");  // never connects
  ActorChannel actor(learner.endpoints(), 1, host, cfg);

  // Rank 2 is reported once its timeout passes; rank 1 heartbeats.
  std::vector<LostPeer> lost;
  auto start = Clock::now();
  while (seconds_since(start) < 30) {
    lost = learner.dead_actors();
    if (!lost.empty()) break;
    learner.recv(50);
  }
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].rank, 2);
  EXPECT_GE(lost[0].silent_ms, cfg.dead_after_ms);
  EXPECT_NE(describe(lost[0]).find("rank 2 on node-never"), std::string::npos) << describe(lost[0]);

  // Rank 1 stops answering (its heartbeat thread stops, as in a hang or a crash).
  learner.expect_actor(2, "node-never");  // reset rank 2's clock to watch rank 1 alone
  actor.stop_heartbeats_for_testing();
  start = Clock::now();
  bool found = false;
  while (!found && seconds_since(start) < 30) {
    learner.recv(50);
    for (const LostPeer& p : learner.dead_actors()) found = found || p.rank == 1;
  }
  EXPECT_TRUE(found);
  // Detected within the timeout plus scheduling slack.
  EXPECT_LT(seconds_since(start), cfg.dead_after_ms / 1000.0 + 10);
}

TEST(Channels, ActorFailureReachesTheLearner) {
  const ChannelConfig cfg = test_config();
  LearnerChannel learner(0, cfg);
  const std::string host = local_host_name();
  ActorChannel actor(learner.endpoints(), 3, host, cfg);
  actor.report_failure("CUDA out of memory while decoding");
  std::optional<LearnerMessage> got;
  const auto start = Clock::now();
  while (!got && seconds_since(start) < 30) got = learner.recv(200);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->type, wire::MsgType::failure);
  EXPECT_EQ(got->sender, 3);
  EXPECT_EQ(got->host, host);
  EXPECT_EQ(got->reason, "CUDA out of memory while decoding");
}

TEST(Channels, ShutdownReachesActors) {
  for (bool failure : {true, false}) {
    const ChannelConfig cfg = test_config();
    LearnerChannel learner(0, cfg);
    ActorChannel a1(learner.endpoints(), 1, local_host_name(), cfg);
    ActorChannel a2(learner.endpoints(), 2, local_host_name(), cfg);
    learner.publish_params(1, make_params(1));
    std::atomic<bool> stop{false};
    std::thread pump([&] {
      while (!stop) learner.recv(20);
    });
    a1.wait_for_version(1, 30000);  // connected
    a2.wait_for_version(1, 30000);
    stop = true;
    pump.join();
    learner.broadcast_shutdown("rank 5 on node-x stopped answering", failure);
    for (ActorChannel* a : {&a1, &a2}) {
      const auto start = Clock::now();
      bool got = false;
      while (!got && seconds_since(start) < 30) {
        try {
          a->poll_params();
          std::this_thread::sleep_for(milliseconds(5));
        } catch (const ChannelShutdown& e) {
          got = true;
          EXPECT_EQ(e.failure(), failure);
          EXPECT_EQ(e.reason(), "rank 5 on node-x stopped answering");
          EXPECT_NE(std::string(e.what()).find("the learner (rank 0 on "), std::string::npos) << e.what();
        }
      }
      EXPECT_TRUE(got);
      // Every later call reports it again; sending is refused too.
      EXPECT_THROW(a->poll_params(), ChannelShutdown);
      EXPECT_THROW(a->send_trajectory(testing::make_batch(1, 2, 1), 1), ChannelShutdown);
    }
  }
}

TEST(Channels, ActorReportsADeadLearner) {
  ChannelConfig cfg = test_config();
  cfg.dead_after_ms = 800;
  cfg.send_hwm = 1;
  auto learner = std::make_unique<LearnerChannel>(0, cfg);
  ActorChannel actor(learner->endpoints(), 1, local_host_name(), cfg);
  learner->publish_params(1, make_params(1));
  std::atomic<bool> stop{false};
  std::thread pump([&] {
    while (!stop) learner->recv(20);
  });
  actor.wait_for_version(1, 30000);
  stop = true;
  pump.join();
  learner.reset();  // the learner dies

  const auto start = Clock::now();
  try {
    actor.wait_for_version(2, 60000);
    FAIL() << "waited for a dead learner";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("has been silent"), std::string::npos) << msg;
    EXPECT_NE(msg.find("rank 0 on " + local_host_name()), std::string::npos) << msg;
  }
  EXPECT_LT(seconds_since(start), 20);
  // A send does not hang either: the queue fills, then the silence is reported.
  EXPECT_THROW(
      {
        for (int i = 0; i < 1000; ++i) actor.send_trajectory(testing::make_batch(1, 4, 1), 1);
      },
      Error);
}

// Throughput on loopback for a realistic batch (run by hand:
//   rlae_unit --gtest_also_run_disabled_tests --gtest_filter='*Throughput*').
TEST(Channels, DISABLED_Throughput) {
  constexpr int kActors = 4, kPerActor = 100;
  const ChannelConfig cfg = test_config();
  LearnerChannel learner(0, cfg);
  const std::string host = local_host_name();
  // 256 span steps, 3 agents, obs 256, share_obs 512, 16 episodes of ~2 kB text.
  TrajectoryBatch b = testing::make_batch(7, 256, 16, 3, 256, 512, 4, 3);
  for (std::string& t : b.text) t.resize(2048, 'x');
  const size_t frame = wire::encode_trajectory(1, 0, b).size();
  std::vector<std::thread> actors;
  const auto start = Clock::now();
  for (int r = 1; r <= kActors; ++r) {
    actors.emplace_back([&, r] {
      ActorChannel ch(learner.endpoints(), r, host, cfg);
      for (int i = 0; i < kPerActor; ++i) ch.send_trajectory(b, 0);
      ch.close("done");
    });
  }
  int got = 0;
  while (got < kActors * kPerActor && seconds_since(start) < 300) {
    if (auto m = learner.recv(200)) ++got;
  }
  const double secs = seconds_since(start);
  for (auto& t : actors) t.join();
  EXPECT_EQ(got, kActors * kPerActor);
  std::printf("throughput: %d trajectories of %.2f MB in %.2f s: %.0f trajectories/s, %.0f MB/s\n", got,
              frame / 1e6, secs, got / secs, got * frame / 1e6 / secs);
}

}  // namespace
}  // namespace rlae
