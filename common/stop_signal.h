#pragma once
// SIGTERM and SIGINT (what Slurm and Ctrl-C send; mpirun forwards both to every
// rank) ask the training loop to stop at the next iteration boundary: the shard
// being written is finished, a checkpoint is written, and the job exits non-zero.
// The handler only records the signal; the loops poll stop_requested().
#include <string>

namespace rlae {

// Installs the handlers (idempotent). A second signal of either kind, 2 s or more
// after the first, ends the process at once with 128 + signal (a stuck run can
// still be killed with a second Ctrl-C); one sooner is the same request delivered
// twice (scancel signals mpirun and the ranks, and mpirun forwards it) and is ignored.
void install_stop_signals();
// 0 while running; the first signal's number once one arrived.
int stop_requested();
// "SIGTERM", "SIGINT", "signal N".
std::string signal_name(int signo);
// The exit status for a run stopped by `signo` (128 + signo, as a shell reports it).
inline int stop_exit_code(int signo) { return 128 + signo; }

}  // namespace rlae
