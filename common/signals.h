// SIGTERM and SIGINT (what Slurm, mpirun and Ctrl-C send) as a request to stop at
// the next safe point: training loops poll stop_signal(), save a checkpoint, say
// so and exit non-zero. The first signal only sets the request; the handler then
// restores the default action, so a second signal ends the process at once.
#pragma once

#include <string>

namespace rlae {

void install_stop_signals();
// The signal received (SIGTERM, SIGINT), or 0.
int stop_signal();
std::string signal_name(int sig);

}  // namespace rlae
