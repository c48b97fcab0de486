#pragma once
// SIGTERM and SIGINT (what Slurm and Ctrl-C send) and SIGUSR1 (what
// launch/mpirun.sh turns them into, as Open MPI's mpirun forwards it to every rank
// at once; also sbatch --signal=USR1@SECONDS before a time limit) ask the training
// loop to stop at the next iteration boundary: the shard being written is
// finished, a checkpoint is written, and the job exits non-zero.
// The handler only records the signal; the loops poll stop_requested().
#include <string>

namespace rlae {

// Installs the handlers (idempotent). A second signal of either kind, 2 s or more
// after the first, ends the process at once with 128 + signal (a stuck run can
// still be killed with a second Ctrl-C); one sooner is the same request delivered
// twice (scancel signals mpirun and the ranks, and mpirun forwards it) and is ignored.
void install_stop_signals();
// A process with nothing of its own to save (an actor rank: the learner writes the
// checkpoints and shards) ends by itself `ms` after the first signal, writing
// `line` + the signal's name to stderr and exiting 128 + signal, unless it has
// ended sooner. It cannot then be held by a peer it waits for in a collective
// (a stopped or dead rank), which would otherwise keep the job alive for the
// launcher's whole SIGTERM-to-SIGKILL grace (Slurm's KillWait, mpirun's
// odls_base_sigkill_timeout). Call once, after install_stop_signals(); ms > 0.
void exit_after_stop(int ms, const std::string& line);
// 0 while running; the first signal's number once one arrived.
int stop_requested();
// "SIGTERM", "SIGINT", "SIGUSR1", "signal N".
std::string signal_name(int signo);
// The exit status for a run stopped by `signo` (128 + signo, as a shell reports it).
inline int stop_exit_code(int signo) { return 128 + signo; }

}  // namespace rlae
