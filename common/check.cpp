#include "common/check.h"

namespace rlae::detail {

void throw_error(std::string msg) { throw Error(msg); }

void throw_usage_error(std::string msg) { throw UsageError(msg); }

void throw_internal_error(const char* cond, const char* file, int line, std::string msg) {
  std::string full = "internal error: ";
  full += msg.empty() ? std::string("check failed") : msg;
  full += " [";
  full += cond;
  full += " at ";
  full += file;
  full += ":";
  full += std::to_string(line);
  full += "]";
  throw InternalError(full);
}

}  // namespace rlae::detail
