// ZeroMQ call checks (cppzmq throws zmq::error_t; rlae code sees rlae::Error).
//
//   RLAE_ZMQ_CALL(endpoint, sock.bind(addr));
//   auto n = RLAE_ZMQ_CALL(endpoint, sock.recv(msg, zmq::recv_flags::none));
//
// A zmq::error_t becomes rlae::Error naming the endpoint, the call, ZeroMQ's
// errno text, this host, file and line. Include only from .cpp files.
#pragma once

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

#define RLAE_ZMQ_CALL(where, ...)                                                        \
  ([&]() -> decltype(auto) {                                                             \
    try {                                                                                \
      return __VA_ARGS__;                                                                \
    } catch (const ::zmq::error_t& rlae_zmq_e_) {                                        \
      ::rlae::detail::throw_zmq_error(rlae_zmq_e_, #__VA_ARGS__, (where), __FILE__, __LINE__); \
    }                                                                                    \
  }())
