#include "common/stop_signal.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <ctime>
#include <thread>

namespace rlae {
namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_first_s = 0;  // CLOCK_MONOTONIC seconds of the first signal

int64_t now_s() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<int64_t>(ts.tv_sec);
}

// A second signal stops now (Ctrl-C twice), but only 2 s or more after the first:
// one request often arrives twice (scancel or a terminal signals every process of
// the job, mpirun among them, and mpirun forwards it to the ranks once more), and
// the duplicate must not cut the checkpoint short.
void record(int signo) {
  if (g_stop != 0) {
    if (now_s() - static_cast<int64_t>(g_first_s) >= 2) ::_exit(stop_exit_code(signo));
    return;
  }
  g_first_s = static_cast<std::sig_atomic_t>(now_s());
  g_stop = signo;
}

extern "C" void on_stop_signal(int signo) { record(signo); }

}  // namespace

void install_stop_signals() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  // A thread started before this call may take the signal: the handler records it.
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // This thread and every thread it starts (MPI, ZeroMQ, torch pools) block both,
  // so no blocking call returns EINTR; one thread waits for them instead.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    for (;;) {
      int signo = 0;
      if (sigwait(&set, &signo) == 0) record(signo);
    }
  }).detach();
}

int stop_requested() { return static_cast<int>(g_stop); }

std::string signal_name(int signo) {
  if (signo == SIGTERM) return "SIGTERM";
  if (signo == SIGINT) return "SIGINT";
  return "signal " + std::to_string(signo);
}

}  // namespace rlae
