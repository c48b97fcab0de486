// ZeroMQ call checks (cppzmq throws zmq::error_t; rlae code sees rlae::Error).
//
//   RLAE_ZMQ_CALL(endpoint, sock.bind(addr));
//   auto n = RLAE_ZMQ_CALL(endpoint, sock.recv(msg, zmq::recv_flags::none));
//
// A zmq::error_t becomes rlae::Error naming the endpoint, the call, ZeroMQ's
// errno text, this host, file and line. Include only from .cpp files.
#pragma once

#include <cerrno>

#include <zmq.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace rlae {
namespace detail {
[[noreturn]] void throw_zmq_error(const zmq::error_t& e, const char* call, const std::string& where,
                                  const char* file, int line);
}  // namespace detail

// A message that owns `bytes` without copying them.
zmq::message_t to_zmq_message(std::vector<uint8_t>&& bytes);

}  // namespace rlae

// A call interrupted by a signal (EINTR: SIGTERM/SIGINT set the stop request) is
// made again, so the loops around it see the request at their next check.
#define RLAE_ZMQ_CALL(where, ...)                                                        \
  ([&]() -> decltype(auto) {                                                             \
    for (;;) {                                                                           \
      try {                                                                              \
        return __VA_ARGS__;                                                              \
      } catch (const ::zmq::error_t& rlae_zmq_e_) {                                      \
        if (rlae_zmq_e_.num() == EINTR) continue;                                        \
        ::rlae::detail::throw_zmq_error(rlae_zmq_e_, #__VA_ARGS__, (where), __FILE__, __LINE__); \
      }                                                                                  \
    }                                                                                    \
  }())
