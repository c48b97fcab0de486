#include "learner/learner_channel.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/zmq_check.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Ranks the learner keeps track of (a bound on what a stream of well-formed
// frames with made-up sender ranks can make it allocate).
constexpr size_t kMaxPeers = 1 << 16;

// Commands from the learner's thread to its publisher thread (inproc PAIR):
// frame 1 = code + u64 version, frame 2 (P, S) = the wire message.
enum Cmd : uint8_t { kPublish = 'P', kRepublish = 'R', kShutdown = 'S', kQuit = 'Q' };

zmq::message_t cmd_frame(Cmd c, uint64_t version) {
  zmq::message_t m(9);
  auto* p = static_cast<uint8_t*>(m.data());
  p[0] = c;
  std::memcpy(p + 1, &version, 8);
  return m;
}

}  // namespace

std::string describe(const LostPeer& p) {
  char secs[32];
  std::snprintf(secs, sizeof(secs), "%.1f", p.silent_ms / 1000.0);
  return detail::str_cat("rank ", p.rank, " on ", p.host.empty() ? "an unknown host" : p.host, " (silent for ",
                         secs, " s)");
}

struct LearnerChannel::Impl {
  int rank;
  ChannelConfig cfg;
  std::string host = local_host_name();
  ChannelEndpoints ep;
  wire::Limits limits;
  zmq::context_t ctx{1};
  zmq::socket_t pull{ctx, zmq::socket_type::pull};
  zmq::socket_t cmd{ctx, zmq::socket_type::pair};
  std::thread publisher;
  std::string cmd_addr;

  struct Peer {
    std::string host;
    Clock::time_point last_seen;
    bool watched = false;
    bool departed = false;
  };
  std::map<int, Peer> peers;
  std::deque<LearnerMessage> pending;  // decoded while looking for heartbeats
  uint64_t version = 0;
  uint64_t rejected = 0;
  std::string last_rejection;
  std::atomic<uint64_t> republished{0};
  Clock::time_point last_request_forward{};

  std::mutex error_mu;
  std::exception_ptr publisher_error;

  void check_publisher() {
    std::lock_guard<std::mutex> lock(error_mu);
    if (publisher_error) std::rethrow_exception(publisher_error);
  }

  void send_cmd(Cmd c, uint64_t v, zmq::message_t* body) {
    check_publisher();
    // The command pipe has no high-water mark: a send fails only when the
    // publisher thread is gone (then it must not block).
    zmq::message_t head = cmd_frame(c, v);
    const auto more = body ? zmq::send_flags::sndmore : zmq::send_flags::none;
    const auto sent = RLAE_ZMQ_CALL(cmd_addr, cmd.send(head, more | zmq::send_flags::dontwait));
    if (!sent) {
      check_publisher();
      RLAE_FAIL("learner channel: the parameter publisher thread has stopped (", ep.params, ")");
    }
    if (body) RLAE_ZMQ_CALL(cmd_addr, cmd.send(*body, zmq::send_flags::dontwait));
  }

  void reject(size_t bytes, const std::string& why) {
    ++rejected;
    last_rejection = why;
    if (rejected <= 20 || rejected % 1000 == 0) {
      RLAE_LOG(warn, "learner channel (", ep.trajectories, "): rejected a ", bytes, "-byte message: ", why,
               " (", rejected, " rejected so far)");
    }
  }

  Peer& peer(int r) {
    auto it = peers.find(r);
    if (it == peers.end()) {
      it = peers.emplace(r, Peer{}).first;
      it->second.last_seen = Clock::now();
    }
    return it->second;
  }

  // Reads and handles one frame within `timeout_ms` (0: only if one is queued).
  // Returns false when none came.
  bool pump(int timeout_ms) {
    zmq::message_t msg;
    RLAE_ZMQ_CALL(ep.trajectories, pull.set(zmq::sockopt::rcvtimeo, timeout_ms));
    const auto got = RLAE_ZMQ_CALL(ep.trajectories, pull.recv(msg, zmq::recv_flags::none));
    if (!got) return false;
    if (msg.more()) {
      size_t parts = 1, bytes = msg.size();
      while (msg.more()) {
        RLAE_ZMQ_CALL(ep.trajectories, pull.recv(msg, zmq::recv_flags::none));
        ++parts;
        bytes += msg.size();
      }
      reject(bytes, detail::str_cat("a message of ", parts, " frames, expected one"));
      return true;
    }
    handle(msg);
    return true;
  }

  void handle(const zmq::message_t& msg) {
    const auto* data = static_cast<const uint8_t*>(msg.data());
    wire::Message m;
    try {
      m = wire::decode_message(data, msg.size(), limits);
    } catch (const Error& e) {
      reject(msg.size(), e.what());
      return;
    }
    const int sender = static_cast<int>(m.header.sender);
    if (m.header.sender > static_cast<uint32_t>(INT32_MAX) || sender == rank) {
      reject(msg.size(), detail::str_cat("a ", wire::msg_type_name(m.header.type), " message from rank ",
                                         m.header.sender, ", which is not an actor"));
      return;
    }
    if (peers.count(sender) == 0 && peers.size() >= kMaxPeers) {
      reject(msg.size(), detail::str_cat("a message from rank ", sender, ": more than ", kMaxPeers,
                                         " distinct senders"));
      return;
    }
    LearnerMessage out;
    out.type = m.header.type;
    out.sender = sender;
    out.policy_version = m.header.policy_version;
    out.bytes = msg.size();
    try {
      switch (m.header.type) {
        case wire::MsgType::trajectory:
          out.batch = wire::decode_trajectory(m);
          break;
        case wire::MsgType::heartbeat:
        case wire::MsgType::failure:
        case wire::MsgType::shutdown:
        case wire::MsgType::params_request: {
          const wire::Control c = wire::decode_control(m);
          out.host = c.host;
          out.reason = c.reason;
          break;
        }
        case wire::MsgType::params:
          reject(msg.size(), detail::str_cat("a params message from rank ", sender, " (only the learner publishes)"));
          return;
      }
    } catch (const Error& e) {
      reject(msg.size(), e.what());
      return;
    }
    Peer& p = peer(sender);
    p.last_seen = Clock::now();
    if (!out.host.empty()) p.host = out.host;
    if (out.host.empty()) out.host = p.host;
    switch (m.header.type) {
      case wire::MsgType::trajectory:
      case wire::MsgType::failure:
        if (m.header.type == wire::MsgType::failure) {
          RLAE_LOG(error, "actor rank ", sender, " on ", out.host, " failed: ", out.reason);
        }
        pending.push_back(std::move(out));
        break;
      case wire::MsgType::shutdown:
        RLAE_LOG(debug, "actor rank ", sender, " on ", out.host, " closed its channel: ", out.reason);
        p.departed = true;
        break;
      case wire::MsgType::params_request:
        // Many actors may ask at once: one forward per republish_min_ms; the
        // publisher thread throttles again on its side.
        if (ms_since(last_request_forward) >= cfg.republish_min_ms) {
          last_request_forward = Clock::now();
          send_cmd(kRepublish, 0, nullptr);
        }
        break;
      default:
        break;
    }
  }

  void publisher_loop(zmq::socket_t pub, zmq::socket_t in);
};

// Owns the PUB socket: heartbeats every heartbeat_ms, parameters (kept for
// re-publication), shutdown (then repeated instead of heartbeats).
void LearnerChannel::Impl::publisher_loop(zmq::socket_t pub, zmq::socket_t in) {
  try {
    zmq::message_t params;  // the newest parameters message
    zmq::message_t shutdown;
    bool have_params = false, stopping = false, republish_pending = false;
    uint64_t v = 0;
    Clock::time_point last_beat{}, last_republish{};
    auto send_copy = [&](zmq::message_t& m) {
      zmq::message_t out;
      out.copy(m);
      RLAE_ZMQ_CALL(ep.params, pub.send(out, zmq::send_flags::dontwait));  // PUB drops, never blocks
    };
    for (;;) {
      const int64_t until_beat = cfg.heartbeat_ms - ms_since(last_beat);
      if (until_beat <= 0) {
        if (stopping) {
          send_copy(shutdown);
        } else {
          zmq::message_t beat = to_zmq_message(
              wire::encode_control(wire::MsgType::heartbeat, static_cast<uint32_t>(rank), v, {host, "", ""}));
          RLAE_ZMQ_CALL(ep.params, pub.send(beat, zmq::send_flags::dontwait));
        }
        last_beat = Clock::now();
      }
      if (republish_pending && have_params && !stopping && ms_since(last_republish) >= cfg.republish_min_ms) {
        send_copy(params);
        last_republish = Clock::now();
        republish_pending = false;
        republished.fetch_add(1);
      }
      int wait_ms = static_cast<int>(std::max<int64_t>(1, cfg.heartbeat_ms - ms_since(last_beat)));
      if (republish_pending) wait_ms = std::min(wait_ms, std::max(1, cfg.republish_min_ms));
      RLAE_ZMQ_CALL(cmd_addr, in.set(zmq::sockopt::rcvtimeo, wait_ms));
      zmq::message_t head;
      if (!RLAE_ZMQ_CALL(cmd_addr, in.recv(head, zmq::recv_flags::none))) continue;
      RLAE_ASSERT(head.size() == 9, "publisher command frame");
      const auto* h = static_cast<const uint8_t*>(head.data());
      const Cmd c = static_cast<Cmd>(h[0]);
      uint64_t cv = 0;
      std::memcpy(&cv, h + 1, 8);
      zmq::message_t body;
      if (head.more()) RLAE_ZMQ_CALL(cmd_addr, in.recv(body, zmq::recv_flags::none));
      switch (c) {
        case kPublish:
          params.move(body);
          have_params = true;
          republish_pending = false;
          v = cv;
          send_copy(params);
          break;
        case kRepublish:
          republish_pending = true;
          break;
        case kShutdown:
          shutdown.move(body);
          stopping = true;
          send_copy(shutdown);
          last_beat = Clock::now();
          break;
        case kQuit:
          return;
      }
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mu);
    publisher_error = std::current_exception();
  }
}

LearnerChannel::LearnerChannel(int rank, const ChannelConfig& cfg) : impl_(std::make_unique<Impl>()) {
  cfg.validate();
  Impl& s = *impl_;
  s.rank = rank;
  s.cfg = cfg;
  s.limits.max_payload_bytes = cfg.max_message_bytes;
  if (cfg.interface == "*") {
    RLAE_LOG(warn, "learner channel: binding on all interfaces (zmq interface = *)");
  }
  const std::string addr = channel_bind_address(cfg.interface);
  const int64_t max_frame = static_cast<int64_t>(cfg.max_message_bytes + wire::kHeaderBytes);
  RLAE_ZMQ_CALL(addr, s.pull.set(zmq::sockopt::rcvhwm, cfg.recv_hwm));
  RLAE_ZMQ_CALL(addr, s.pull.set(zmq::sockopt::maxmsgsize, max_frame));
  RLAE_ZMQ_CALL(addr, s.pull.set(zmq::sockopt::linger, 0));
  RLAE_ZMQ_CALL(addr, s.pull.bind(addr));
  s.ep.trajectories = advertised_endpoint(RLAE_ZMQ_CALL(addr, s.pull.get(zmq::sockopt::last_endpoint)), s.host);

  zmq::socket_t pub(s.ctx, zmq::socket_type::pub);
  RLAE_ZMQ_CALL(addr, pub.set(zmq::sockopt::sndhwm, cfg.params_hwm));
  RLAE_ZMQ_CALL(addr, pub.set(zmq::sockopt::linger, std::min(cfg.linger_ms, 2000)));
  RLAE_ZMQ_CALL(addr, pub.bind(addr));
  s.ep.params = advertised_endpoint(RLAE_ZMQ_CALL(addr, pub.get(zmq::sockopt::last_endpoint)), s.host);
  s.ep.learner_rank = rank;
  s.ep.learner_host = s.host;

  char name[64];
  std::snprintf(name, sizeof(name), "inproc://rlae-learner-publisher-%p", static_cast<void*>(this));
  s.cmd_addr = name;
  zmq::socket_t in(s.ctx, zmq::socket_type::pair);
  for (zmq::socket_t* sock : {&s.cmd, &in}) {
    RLAE_ZMQ_CALL(s.cmd_addr, sock->set(zmq::sockopt::linger, 0));
    RLAE_ZMQ_CALL(s.cmd_addr, sock->set(zmq::sockopt::sndhwm, 0));
    RLAE_ZMQ_CALL(s.cmd_addr, sock->set(zmq::sockopt::rcvhwm, 0));
  }
  RLAE_ZMQ_CALL(s.cmd_addr, s.cmd.bind(s.cmd_addr));
  RLAE_ZMQ_CALL(s.cmd_addr, in.connect(s.cmd_addr));
  s.publisher = std::thread([&s, pub = std::move(pub), in = std::move(in)]() mutable {
    s.publisher_loop(std::move(pub), std::move(in));
  });
  RLAE_LOG(info, "learner channel: trajectories on ", s.ep.trajectories, ", parameters on ", s.ep.params);
}

LearnerChannel::~LearnerChannel() {
  Impl& s = *impl_;
  try {
    zmq::message_t head = cmd_frame(kQuit, 0);
    s.cmd.send(head, zmq::send_flags::dontwait);
  } catch (const std::exception& e) {
    RLAE_LOG(warn, "learner channel: stopping the publisher: ", e.what());
  }
  if (s.publisher.joinable()) s.publisher.join();
}

const ChannelEndpoints& LearnerChannel::endpoints() const { return impl_->ep; }

void LearnerChannel::expect_actor(int rank, const std::string& host) {
  Impl::Peer& p = impl_->peer(rank);
  p.watched = true;
  p.departed = false;
  p.last_seen = Clock::now();
  if (!host.empty()) p.host = host;
}

std::optional<LearnerMessage> LearnerChannel::recv(int timeout_ms) {
  Impl& s = *impl_;
  s.check_publisher();
  const auto start = Clock::now();
  while (s.pending.empty()) {
    const int64_t left = timeout_ms - ms_since(start);
    if (left < 0) break;
    s.pump(static_cast<int>(left));
  }
  if (s.pending.empty()) return std::nullopt;
  LearnerMessage m = std::move(s.pending.front());
  s.pending.pop_front();
  return m;
}

std::vector<LostPeer> LearnerChannel::dead_actors(int timeout_ms) {
  Impl& s = *impl_;
  if (timeout_ms < 0) timeout_ms = s.cfg.dead_after_ms;
  // Heartbeats queued behind a busy learner still count: read everything there
  // is (bounded, so that a flood cannot keep us here).
  for (int i = 0; i < 100000 && s.pump(0); ++i) {
  }
  std::vector<LostPeer> lost;
  for (const auto& [rank, p] : s.peers) {
    if (!p.watched || p.departed) continue;
    const int64_t silent = ms_since(p.last_seen);
    if (silent > timeout_ms) lost.push_back(LostPeer{rank, p.host, silent});
  }
  return lost;
}

void LearnerChannel::publish_params(uint64_t version, const wire::NamedTensors& params) {
  Impl& s = *impl_;
  zmq::message_t body = to_zmq_message(wire::encode_params(static_cast<uint32_t>(s.rank), version, params));
  s.send_cmd(kPublish, version, &body);
  s.version = version;
}

void LearnerChannel::broadcast_shutdown(const std::string& reason, bool failure) {
  Impl& s = *impl_;
  zmq::message_t body = to_zmq_message(wire::encode_control(wire::MsgType::shutdown, static_cast<uint32_t>(s.rank),
                                                            s.version, {s.host, reason, failure ? "failure" : "ok"}));
  s.send_cmd(kShutdown, s.version, &body);
}

uint64_t LearnerChannel::current_version() const { return impl_->version; }
uint64_t LearnerChannel::rejected() const { return impl_->rejected; }
const std::string& LearnerChannel::last_rejection() const { return impl_->last_rejection; }
uint64_t LearnerChannel::republished() const { return impl_->republished.load(); }

std::vector<int> LearnerChannel::departed() const {
  std::vector<int> out;
  for (const auto& [rank, p] : impl_->peers) {
    if (p.departed) out.push_back(rank);
  }
  return out;
}

}  // namespace rlae
