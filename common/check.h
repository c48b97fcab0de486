// Errors and checks: one macro family for user errors, one for invariants.
//
//   RLAE_CHECK(cond, "what", value, ...)   bad input from the user (file, option,
//                                           data): throws rlae::Error whose message
//                                           is the concatenated arguments only.
//   RLAE_USAGE_CHECK(cond, ...)            a bad command-line/config option:
//                                           throws rlae::UsageError (exit code 2).
//   RLAE_ASSERT(cond, ...)                 a broken invariant (a bug in rlae):
//                                           throws rlae::InternalError with the
//                                           failed condition, source file and line.
//
// The message is built only on failure. Library return codes (CUDA, NCCL, MPI,
// ZeroMQ, HDF5) have their own macros next to the code that uses them
// (common/mpi_check.h, kernels/cuda_check.cuh, ...), all throwing these types.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace rlae {

// A problem with what the user gave us. what() is one line meant for them.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// A bad option or option value; the CLI exits with code 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& msg) : Error(msg) {}
};

// A bug in rlae itself: an invariant that must hold did not.
class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& msg) : std::logic_error(msg) {}
};

namespace detail {

template <typename... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
inline std::string str_cat() { return {}; }

[[noreturn]] void throw_error(std::string msg);
[[noreturn]] void throw_usage_error(std::string msg);
[[noreturn]] void throw_internal_error(const char* cond, const char* file, int line,
                                       std::string msg);

}  // namespace detail
}  // namespace rlae

#define RLAE_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) ::rlae::detail::throw_error(::rlae::detail::str_cat(__VA_ARGS__)); \
  } while (0)

#define RLAE_USAGE_CHECK(cond, ...)                                        \
  do {                                                                     \
    if (!(cond))                                                           \
      ::rlae::detail::throw_usage_error(::rlae::detail::str_cat(__VA_ARGS__)); \
  } while (0)

#define RLAE_FAIL(...) ::rlae::detail::throw_error(::rlae::detail::str_cat(__VA_ARGS__))

#define RLAE_ASSERT(cond, ...)                                             \
  do {                                                                     \
    if (!(cond))                                                           \
      ::rlae::detail::throw_internal_error(#cond, __FILE__, __LINE__,      \
                                           ::rlae::detail::str_cat(__VA_ARGS__)); \
  } while (0)
