// Minimal leveled logging to stderr, prefixed with the MPI rank when known.
//   RLAE_LOG(info, "loaded ", n, " tensors from ", path);
#pragma once

#include <string>

#include "common/check.h"

namespace rlae {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// Threshold from RLAE_LOG_LEVEL (debug|info|warn|error) unless set here.
void log_set_level(LogLevel level);
LogLevel log_level();
// Prefix every line with "[rank R] " (set once MPI is up).
void log_set_rank(int rank);
void log_write(LogLevel level, const std::string& msg);
LogLevel parse_log_level(const std::string& name);

}  // namespace rlae

#define RLAE_LOG(level, ...)                                                   \
  do {                                                                         \
    if (::rlae::LogLevel::level >= ::rlae::log_level())                        \
      ::rlae::log_write(::rlae::LogLevel::level, ::rlae::detail::str_cat(__VA_ARGS__)); \
  } while (0)
