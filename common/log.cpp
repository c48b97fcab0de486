#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace rlae {
namespace {

LogLevel level_from_env() {
  const char* env = std::getenv("RLAE_LOG_LEVEL");
  if (env == nullptr || *env == '\0') return LogLevel::info;
  try {
    return parse_log_level(env);
  } catch (const Error&) {
    std::fprintf(stderr, "rlae: warning: RLAE_LOG_LEVEL=%s is not one of debug|info|warn|error; using info\n", env);
    return LogLevel::info;
  }
}

std::atomic<int> g_level{static_cast<int>(level_from_env())};
std::atomic<int> g_rank{-1};
std::mutex g_mutex;

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warning";
    case LogLevel::error: return "error";
  }
  return "?";
}

}  // namespace

LogLevel parse_log_level(const std::string& name) {
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  if (name == "warn" || name == "warning") return LogLevel::warn;
  if (name == "error") return LogLevel::error;
  RLAE_FAIL("log level '", name, "' is not one of debug|info|warn|error");
}

void log_set_level(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }
void log_set_rank(int rank) { g_rank = rank; }

void log_write(LogLevel level, const std::string& msg) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const int rank = g_rank.load();
  if (rank >= 0) {
    std::fprintf(stderr, "[rank %d] %s: %s\n", rank, level_name(level), msg.c_str());
  } else {
    std::fprintf(stderr, "rlae %s: %s\n", level_name(level), msg.c_str());
  }
  std::fflush(stderr);
}

}  // namespace rlae
