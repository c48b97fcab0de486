#include "actors/actor_channel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/trajectory.h"
#include "common/wire.h"
#include "common/zmq_check.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::string seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", ms / 1000.0);
  return buf;
}

// A send blocks at most this long before the actor checks the learner again.
constexpr int kSendSliceMs = 100;

}  // namespace

struct ActorChannel::Impl {
  ChannelEndpoints ep;
  int rank = -1;
  std::string host;
  ChannelConfig cfg;
  wire::Limits limits;
  zmq::context_t ctx{1};
  zmq::socket_t push{ctx, zmq::socket_type::push};
  zmq::socket_t sub{ctx, zmq::socket_type::sub};

  // Heartbeat thread (own PUSH socket).
  std::thread beat;
  std::mutex beat_mu;
  std::condition_variable beat_cv;
  bool beat_stop = false;
  std::atomic<uint64_t> my_version{0};

  Clock::time_point learner_seen = Clock::now();
  uint64_t learner_version = 0;
  zmq::message_t newest_raw;  // the newest parameters, not decoded yet
  bool have_raw = false;
  uint64_t raw_version = 0;
  std::optional<PolicyParams> latest;  // decoded
  std::optional<uint64_t> returned;    // version last handed out by poll_params/sync_policy
  Clock::time_point last_request{};
  std::optional<ChannelShutdown> shutdown;
  uint64_t ignored = 0;
  bool closed = false;
  bool failed = false;

  std::string learner() const {
    return detail::str_cat("the learner (rank ", ep.learner_rank, " on ", ep.learner_host, ")");
  }

  void ignore(size_t bytes, const std::string& why) {
    ++ignored;
    if (ignored <= 20 || ignored % 1000 == 0) {
      RLAE_LOG(warn, "actor channel (", ep.params, "): ignored a ", bytes, "-byte message: ", why);
    }
  }

  void handle(zmq::message_t& msg) {
    const auto* data = static_cast<const uint8_t*>(msg.data());
    wire::Header h;
    try {
      h = wire::decode_header(data, msg.size(), limits);
    } catch (const Error& e) {
      ignore(msg.size(), e.what());
      return;
    }
    if (static_cast<int64_t>(h.sender) != ep.learner_rank) {
      ignore(msg.size(), detail::str_cat("sender rank ", h.sender, " is not the learner"));
      return;
    }
    switch (h.type) {
      case wire::MsgType::params:
        // Checked in full when handed out (decode_params); the newest wins.
        learner_seen = Clock::now();
        learner_version = std::max(learner_version, h.policy_version);
        if (!have_raw || h.policy_version >= raw_version) {
          newest_raw.move(msg);
          have_raw = true;
          raw_version = h.policy_version;
        }
        return;
      case wire::MsgType::heartbeat:
      case wire::MsgType::shutdown:
        break;
      default:
        ignore(msg.size(), detail::str_cat("a ", wire::msg_type_name(h.type), " message on the parameter socket"));
        return;
    }
    wire::Control c;
    try {
      c = wire::decode_control(wire::decode_message(data, msg.size(), limits));
    } catch (const Error& e) {
      ignore(msg.size(), e.what());
      return;
    }
    learner_seen = Clock::now();
    if (h.type == wire::MsgType::heartbeat) {
      learner_version = std::max(learner_version, h.policy_version);
    } else if (!shutdown) {
      const bool failure = c.status != "ok";
      shutdown.emplace(detail::str_cat("the learner (rank ", ep.learner_rank, " on ", c.host, ") stopped the run",
                                       failure ? " after a failure: " : ": ", c.reason),
                       c.reason, failure);
    }
  }

  // Reads every queued message; waits up to timeout_ms for the first.
  void drain(int timeout_ms) {
    zmq::message_t msg;
    RLAE_ZMQ_CALL(ep.params, sub.set(zmq::sockopt::rcvtimeo, std::max(0, timeout_ms)));
    if (!RLAE_ZMQ_CALL(ep.params, sub.recv(msg, zmq::recv_flags::none))) return;
    for (;;) {
      if (msg.more()) {
        while (msg.more()) RLAE_ZMQ_CALL(ep.params, sub.recv(msg, zmq::recv_flags::none));
        ignore(0, "a multi-frame message");
      } else {
        handle(msg);
      }
      msg.rebuild();
      if (!RLAE_ZMQ_CALL(ep.params, sub.recv(msg, zmq::recv_flags::dontwait))) return;
    }
  }

  // Whether the learner still speaks, from everything that arrived: the messages
  // queued while this rank was busy elsewhere (loading its member, decoding) are read
  // first, so that heartbeats waiting there count.
  void check_alive() {
    drain(0);
    if (shutdown) throw *shutdown;
    const int64_t silent = ms_since(learner_seen);
    RLAE_CHECK(silent <= cfg.dead_after_ms, "actor rank ", rank, " on ", host, ": ", learner(), " at ", ep.params,
               " has been silent for ", seconds(silent), " (dead_after_ms = ", cfg.dead_after_ms,
               "): it died or stopped answering");
  }

  uint64_t newest_version() const {
    uint64_t v = latest ? latest->version : 0;
    if (have_raw) v = std::max(v, raw_version);
    return v;
  }
  bool have_any() const { return latest.has_value() || have_raw; }

  void materialize() {
    if (!have_raw) return;
    if (latest && latest->version > raw_version) {
      have_raw = false;
      return;
    }
    try {
      const auto* data = static_cast<const uint8_t*>(newest_raw.data());
      PolicyParams p;
      p.version = raw_version;
      p.tensors = wire::decode_params(wire::decode_message(data, newest_raw.size(), limits));
      latest = std::move(p);
      my_version.store(raw_version);
    } catch (const Error& e) {
      ignore(newest_raw.size(), e.what());
    }
    have_raw = false;
    newest_raw.rebuild();
  }

  // Asks the learner to re-publish when it announced parameters newer than
  // ours (a slow-joining SUB socket misses earlier publications).
  void maybe_request() {
    if (have_any() && newest_version() >= learner_version) return;
    if (ms_since(last_request) < std::max(1, cfg.heartbeat_ms / 2)) return;
    last_request = Clock::now();
    zmq::message_t m = to_zmq_message(wire::encode_control(wire::MsgType::params_request,
                                                           static_cast<uint32_t>(rank), newest_version(),
                                                           {host, "", ""}));
    RLAE_ZMQ_CALL(ep.trajectories, push.send(m, zmq::send_flags::dontwait));  // best effort
  }

  void heartbeat_loop(zmq::socket_t sock) {
    std::unique_lock<std::mutex> lock(beat_mu);
    bool warned = false;
    while (!beat_stop) {
      lock.unlock();
      try {
        zmq::message_t m = to_zmq_message(wire::encode_control(
            wire::MsgType::heartbeat, static_cast<uint32_t>(rank), my_version.load(), {host, "", ""}));
        sock.send(m, zmq::send_flags::dontwait);  // a full queue means the learner is behind: skip
      } catch (const std::exception& e) {
        if (!warned) RLAE_LOG(warn, "actor rank ", rank, ": heartbeat to ", ep.trajectories, " failed: ", e.what());
        warned = true;
      }
      lock.lock();
      beat_cv.wait_for(lock, std::chrono::milliseconds(cfg.heartbeat_ms), [this] { return beat_stop; });
    }
  }

  void stop_beat() {
    {
      std::lock_guard<std::mutex> lock(beat_mu);
      beat_stop = true;
    }
    beat_cv.notify_all();
    if (beat.joinable()) beat.join();
  }
};

ActorChannel::ActorChannel(const ChannelEndpoints& ep, int rank, const std::string& host, const ChannelConfig& cfg)
    : impl_(std::make_unique<Impl>()) {
  cfg.validate();
  Impl& s = *impl_;
  s.ep = ep;
  s.rank = rank;
  s.host = host;
  s.cfg = cfg;
  s.limits.max_payload_bytes = cfg.max_message_bytes;
  RLAE_CHECK(!ep.trajectories.empty() && !ep.params.empty(), "actor rank ", rank,
             ": no learner endpoints (exchange_endpoints not run?)");
  RLAE_CHECK(rank != ep.learner_rank, "actor channel: rank ", rank, " is the learner's rank");
  RLAE_CHECK(!is_loopback_endpoint(ep.trajectories) || host == ep.learner_host, "actor rank ", rank, " on ", host,
             ": ", s.learner(), " listens on loopback only (", ep.trajectories,
             "); set the ZeroMQ interface to an address or network interface the actors can reach");

  RLAE_ZMQ_CALL(ep.trajectories, s.push.set(zmq::sockopt::sndhwm, cfg.send_hwm));
  RLAE_ZMQ_CALL(ep.trajectories, s.push.set(zmq::sockopt::sndtimeo, kSendSliceMs));
  RLAE_ZMQ_CALL(ep.trajectories, s.push.set(zmq::sockopt::linger, cfg.linger_ms));
  RLAE_ZMQ_CALL(ep.trajectories, s.push.connect(ep.trajectories));
  RLAE_ZMQ_CALL(ep.params, s.sub.set(zmq::sockopt::rcvhwm, cfg.params_hwm));
  RLAE_ZMQ_CALL(ep.params, s.sub.set(zmq::sockopt::linger, 0));
  RLAE_ZMQ_CALL(ep.params, s.sub.set(zmq::sockopt::subscribe, ""));
  RLAE_ZMQ_CALL(ep.params, s.sub.connect(ep.params));

  zmq::socket_t hb(s.ctx, zmq::socket_type::push);
  RLAE_ZMQ_CALL(ep.trajectories, hb.set(zmq::sockopt::sndhwm, 16));
  RLAE_ZMQ_CALL(ep.trajectories, hb.set(zmq::sockopt::linger, 0));
  RLAE_ZMQ_CALL(ep.trajectories, hb.connect(ep.trajectories));
  s.beat = std::thread([&s, hb = std::move(hb)]() mutable { s.heartbeat_loop(std::move(hb)); });
}

ActorChannel::~ActorChannel() {
  try {
    close("done");
  } catch (const std::exception& e) {
    RLAE_LOG(warn, "actor channel: closing: ", e.what());
  }
  impl_->stop_beat();
}

const ChannelEndpoints& ActorChannel::endpoints() const { return impl_->ep; }
uint64_t ActorChannel::learner_version() const { return impl_->learner_version; }

void ActorChannel::send_trajectory(const TrajectoryBatch& batch, uint64_t policy_version) {
  Impl& s = *impl_;
  RLAE_CHECK(!s.closed, "actor rank ", s.rank, ": send_trajectory on a closed channel");
  std::vector<uint8_t> bytes = wire::encode_trajectory(static_cast<uint32_t>(s.rank), policy_version, batch);
  RLAE_CHECK(bytes.size() - wire::kHeaderBytes <= s.cfg.max_message_bytes, "actor rank ", s.rank,
             ": a trajectory batch of ", bytes.size(), " bytes exceeds max_message_bytes = ", s.cfg.max_message_bytes,
             " (send smaller batches)");
  const size_t n = bytes.size();
  zmq::message_t msg = to_zmq_message(std::move(bytes));
  const auto start = Clock::now();
  for (;;) {
    s.check_alive();
    if (RLAE_ZMQ_CALL(s.ep.trajectories, s.push.send(msg, zmq::send_flags::none))) return;
    const int64_t waited = ms_since(start);
    RLAE_CHECK(s.cfg.send_timeout_ms == 0 || waited < s.cfg.send_timeout_ms, "actor rank ", s.rank, " on ", s.host,
               ": could not hand a ", n, "-byte trajectory to ", s.learner(), " at ", s.ep.trajectories, " within ",
               seconds(waited), " (send_timeout_ms): its queue stayed full");
  }
}

std::optional<PolicyParams> ActorChannel::poll_params() {
  Impl& s = *impl_;
  RLAE_CHECK(!s.closed, "actor rank ", s.rank, ": poll_params on a closed channel");
  s.check_alive();
  s.maybe_request();
  s.materialize();
  if (s.latest && (!s.returned || s.latest->version > *s.returned)) {
    s.returned = s.latest->version;
    return s.latest;
  }
  return std::nullopt;
}

PolicyParams ActorChannel::wait_for_version(uint64_t min_version, int timeout_ms) {
  Impl& s = *impl_;
  RLAE_CHECK(!s.closed, "actor rank ", s.rank, ": wait_for_version on a closed channel");
  const auto start = Clock::now();
  for (;;) {
    s.materialize();
    if (s.latest && s.latest->version >= min_version) {
      if (!s.returned || s.latest->version > *s.returned) s.returned = s.latest->version;
      return *s.latest;
    }
    s.check_alive();
    const int64_t left = timeout_ms - ms_since(start);
    RLAE_CHECK(left > 0, "actor rank ", s.rank, " on ", s.host, ": no policy parameters of version >= ", min_version,
               " from ", s.learner(), " at ", s.ep.params, " within ", seconds(timeout_ms), " (newest received: ",
               s.have_any() ? std::to_string(s.newest_version()) : std::string("none"), ", learner announced: ",
               s.learner_version, ")");
    s.maybe_request();
    s.drain(static_cast<int>(std::min<int64_t>(left, std::max(1, s.cfg.heartbeat_ms / 2))));
  }
}

std::optional<PolicyParams> ActorChannel::sync_policy(uint64_t current_version, uint64_t max_lag, int timeout_ms) {
  Impl& s = *impl_;
  std::optional<PolicyParams> newer = poll_params();
  const uint64_t have = newer ? newer->version : current_version;
  if (s.learner_version > have && s.learner_version - have > max_lag) {
    newer = wait_for_version(s.learner_version - max_lag, timeout_ms);
  }
  return newer;
}

void ActorChannel::report_failure(const std::string& reason) {
  Impl& s = *impl_;
  if (s.closed || s.failed) return;
  s.failed = true;
  try {
    zmq::message_t m = to_zmq_message(wire::encode_control(wire::MsgType::failure, static_cast<uint32_t>(s.rank),
                                                           s.my_version.load(), {s.host, reason, "failure"}));
    // SNDTIMEO is kSendSliceMs: a few tries, then give up (the learner may be the problem).
    for (int i = 0; i < 10 && !s.push.send(m, zmq::send_flags::none); ++i) {
    }
  } catch (const std::exception& e) {
    RLAE_LOG(warn, "actor rank ", s.rank, ": could not report the failure to the learner: ", e.what());
  }
}

void ActorChannel::close(const std::string& reason) {
  Impl& s = *impl_;
  if (s.closed) return;
  s.closed = true;
  s.stop_beat();
  // A learner that is gone or stopped the run gets no goodbye and no linger.
  bool learner_alive = !s.shutdown && !s.failed && ms_since(s.learner_seen) <= s.cfg.dead_after_ms;
  if (learner_alive) {
    zmq::message_t m = to_zmq_message(wire::encode_control(wire::MsgType::shutdown, static_cast<uint32_t>(s.rank),
                                                           s.my_version.load(), {s.host, reason, "ok"}));
    const auto start = Clock::now();
    while (!RLAE_ZMQ_CALL(s.ep.trajectories, s.push.send(m, zmq::send_flags::none))) {
      if (ms_since(start) > s.cfg.linger_ms) {
        learner_alive = false;
        break;
      }
    }
  }
  if (!learner_alive && !s.failed) RLAE_ZMQ_CALL(s.ep.trajectories, s.push.set(zmq::sockopt::linger, 0));
  if (s.failed) RLAE_ZMQ_CALL(s.ep.trajectories, s.push.set(zmq::sockopt::linger, std::min(s.cfg.linger_ms, 2000)));
  s.push.close();
  s.sub.close();
  s.ctx.close();  // waits up to linger_ms for queued trajectories and the goodbye
}

void ActorChannel::stop_heartbeats_for_testing() { impl_->stop_beat(); }

}  // namespace rlae
