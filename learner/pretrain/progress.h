// The progress display of member pretraining on stderr: a line redrawn in place on a TTY,
// plain lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rlae::pretraining {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0);
// "m:ss", or "h:mm:ss" from an hour.
std::string hms(double seconds);

class Progress {
 public:
  explicit Progress(bool enabled);
  // A transient line on a TTY (redrawn in place), or a plain line when `keep`.
  void update(const std::string& line, bool keep);
  // A line of its own that the transient line does not overwrite.
  void message(const std::string& line);
  bool tty() const { return tty_; }

 private:
  bool enabled_, tty_;
};

// "step S/H  loss L  lr R  Nk tok/s  elapsed E  eta T" (horizon <= 0: "?" for H and T).
std::string step_line(int64_t step, int64_t first_step, int64_t horizon, double loss, double lr, double tok_per_s,
                      double elapsed_s);

}  // namespace rlae::pretraining
