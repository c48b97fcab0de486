#include "common/channel.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/mpi_env.h"
#include "common/zmq_check.h"

namespace rlae {

namespace detail {
void throw_zmq_error(const zmq::error_t& e, const char* call, const std::string& where, const char* file,
                     int line) {
  throw Error(str_cat("ZeroMQ error on ", local_host_name(), " (", where, "): ", call, " failed: ", e.what(),
                      " (errno ", e.num(), ") (", file, ":", line, ")"));
}
}  // namespace detail

zmq::message_t to_zmq_message(std::vector<uint8_t>&& bytes) {
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  try {
    return zmq::message_t(
        owned->data(), owned->size(),
        [](void*, void* hint) { delete static_cast<std::vector<uint8_t>*>(hint); }, owned);
  } catch (...) {
    delete owned;
    throw;
  }
}

void ChannelConfig::validate() const {
  RLAE_USAGE_CHECK(!interface.empty(), "zmq interface must not be empty (127.0.0.1, an address, a NIC name or *)");
  RLAE_USAGE_CHECK(heartbeat_ms > 0, "heartbeat_ms must be positive, got ", heartbeat_ms);
  RLAE_USAGE_CHECK(dead_after_ms > 2 * heartbeat_ms, "dead_after_ms (", dead_after_ms,
                   ") must exceed two heartbeat periods (", 2 * heartbeat_ms, " ms)");
  RLAE_USAGE_CHECK(send_timeout_ms >= 0, "send_timeout_ms must be >= 0, got ", send_timeout_ms);
  RLAE_USAGE_CHECK(send_hwm > 0 && recv_hwm > 0 && params_hwm > 0, "ZeroMQ high-water marks must be positive");
  RLAE_USAGE_CHECK(linger_ms >= 0, "linger_ms must be >= 0, got ", linger_ms);
  RLAE_USAGE_CHECK(republish_min_ms >= 0, "republish_min_ms must be >= 0, got ", republish_min_ms);
  RLAE_USAGE_CHECK(max_message_bytes >= 1024 && max_message_bytes <= (uint64_t{1} << 40),
                   "max_message_bytes must be in [1 KiB, 1 TiB], got ", max_message_bytes);
}

std::string local_host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown-host";
  return buf;
}

std::string channel_bind_address(const std::string& interface) {
  RLAE_USAGE_CHECK(!interface.empty() && interface.find("://") == std::string::npos &&
                       interface.find_first_of(" \t/") == std::string::npos,
                   "zmq interface '", interface, "' must be an address, a NIC name or * (no scheme, no port)");
  RLAE_USAGE_CHECK(interface.find(':') == std::string::npos, "zmq interface '", interface,
                   "': IPv6 and ports are not supported (the port is chosen by the system)");
  return "tcp://" + interface + ":*";
}

std::string advertised_endpoint(const std::string& bound, const std::string& host) {
  for (const char* wild : {"tcp://0.0.0.0:", "tcp://*:"}) {
    const size_t n = std::strlen(wild);
    if (bound.compare(0, n, wild) == 0) return "tcp://" + host + ":" + bound.substr(n);
  }
  return bound;
}

bool is_loopback_endpoint(const std::string& endpoint) {
  return endpoint.compare(0, 10, "tcp://127.") == 0 || endpoint.compare(0, 16, "tcp://localhost:") == 0;
}

namespace {

void bcast_string(MPI_Comm comm, int root, std::string* s) {
  int rank = 0;
  RLAE_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  int n = rank == root ? static_cast<int>(s->size()) : 0;
  RLAE_MPI_CHECK(MPI_Bcast(&n, 1, MPI_INT, root, comm));
  RLAE_CHECK(n >= 0 && n < (1 << 20), "endpoint exchange: bad string length ", n);
  if (rank != root) s->assign(static_cast<size_t>(n), '\0');
  if (n > 0) RLAE_MPI_CHECK(MPI_Bcast(s->data(), n, MPI_CHAR, root, comm));
}

}  // namespace

ChannelEndpoints exchange_endpoints(MPI_Comm comm, int root, const ChannelEndpoints& at_root) {
  int rank = 0;
  RLAE_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  ChannelEndpoints ep;
  if (rank == root) {
    ep = at_root;
    ep.learner_rank = root;
    if (ep.learner_host.empty()) ep.learner_host = local_host_name();
  }
  bcast_string(comm, root, &ep.trajectories);
  bcast_string(comm, root, &ep.params);
  bcast_string(comm, root, &ep.learner_host);
  ep.learner_rank = root;
  return ep;
}

std::vector<std::string> gather_hosts(MPI_Comm comm) { return gather_strings(comm, local_host_name()); }

std::vector<std::string> gather_strings(MPI_Comm comm, const std::string& text) {
  constexpr int kLen = 256;
  int size = 0;
  RLAE_MPI_CHECK(MPI_Comm_size(comm, &size));
  std::vector<char> mine(kLen, '\0');
  std::memcpy(mine.data(), text.data(), std::min<size_t>(text.size(), kLen - 1));
  std::vector<char> all(static_cast<size_t>(kLen) * size, '\0');
  RLAE_MPI_CHECK(MPI_Allgather(mine.data(), kLen, MPI_CHAR, all.data(), kLen, MPI_CHAR, comm));
  std::vector<std::string> out;
  for (int r = 0; r < size; ++r) out.emplace_back(all.data() + static_cast<size_t>(r) * kLen);
  return out;
}

}  // namespace rlae
