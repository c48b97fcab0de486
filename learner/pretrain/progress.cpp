#include "learner/pretrain/progress.h"

#include <unistd.h>

#include <cstdio>

namespace rlae::pretraining {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string hms(double s) {
  const int64_t t = static_cast<int64_t>(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                  static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  return buf;
}

Progress::Progress(bool enabled) : enabled_(enabled), tty_(enabled && ::isatty(STDERR_FILENO)) {}

void Progress::update(const std::string& line, bool keep) {
  if (!enabled_) return;
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    if (keep) std::fputc('\n', stderr);
  } else if (keep) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void Progress::message(const std::string& line) {
  if (!enabled_) return;
  std::fprintf(stderr, tty_ ? "\r%s\033[K\n" : "%s\n", line.c_str());
  std::fflush(stderr);
}

std::string step_line(int64_t step, int64_t first_step, int64_t horizon, double loss, double lr, double tok_per_s,
                      double elapsed_s) {
  const double eta =
      horizon > 0 ? elapsed_s / static_cast<double>(step - first_step) * static_cast<double>(horizon - step) : 0;
  char line[256];
  std::snprintf(line, sizeof line, "step %lld/%s  loss %.4f  lr %.2e  %.1fk tok/s  elapsed %s  eta %s",
                static_cast<long long>(step), horizon > 0 ? std::to_string(horizon).c_str() : "?", loss, lr,
                tok_per_s / 1000, hms(elapsed_s).c_str(), horizon > 0 ? hms(eta).c_str() : "?");
  return line;
}

}  // namespace rlae::pretraining
