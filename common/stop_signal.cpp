#include "common/stop_signal.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <thread>

namespace rlae {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void record(int signo) {
  if (g_stop != 0) ::_exit(stop_exit_code(signo));  // second signal: stop now
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
