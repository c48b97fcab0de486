#include "common/stop_signal.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <string>
#include <thread>

namespace rlae {
namespace {

volatile std::sig_atomic_t g_stop = 0;
std::atomic<int64_t> g_first_ms{0};  // CLOCK_MONOTONIC ms of the first signal (lock-free: signal-safe)
std::atomic<int> g_exit_after_ms{0};        // exit_after_stop's delay; 0: none
std::string* g_exit_line = nullptr;         // written before g_exit_after_ms is set, never freed

static_assert(std::atomic<int64_t>::is_always_lock_free, "the signal handler stores an atomic int64");

int64_t now_ms() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// A second signal stops now (Ctrl-C twice), but only 2 s or more after the first:
// one request often arrives twice (scancel or a terminal signals every process of
// the job, mpirun among them, and mpirun forwards it to the ranks once more), and
// the duplicate must not cut the checkpoint short.
void record(int signo) {
  if (g_stop != 0) {
    if (now_ms() - g_first_ms.load() >= 2000) ::_exit(stop_exit_code(signo));
    return;
  }
  g_first_ms = now_ms();
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
  sigaction(SIGUSR1, &sa, nullptr);
  // This thread and every thread it starts (MPI, ZeroMQ, torch pools) block both,
  // so no blocking call returns EINTR; one thread waits for them instead.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // It also keeps exit_after_stop's deadline: it wakes every 50 ms, and a signal
  // the handler recorded in another thread starts the deadline as well.
  std::thread([set] {
    for (;;) {
      struct timespec tick {0, 50 * 1000 * 1000};
      const int signo = sigtimedwait(&set, nullptr, &tick);
      if (signo > 0) record(signo);
      const int stop = g_stop;
      if (stop == 0) continue;
      const int after = g_exit_after_ms.load();
      if (after > 0 && now_ms() - g_first_ms.load() >= after) {
        const std::string line = *g_exit_line + signal_name(stop) + "\n";
        (void)!::write(STDERR_FILENO, line.data(), line.size());
        ::_exit(stop_exit_code(stop));
      }
    }
  }).detach();
}

void exit_after_stop(int ms, const std::string& line) {
  if (g_exit_line == nullptr) g_exit_line = new std::string(line);
  g_exit_after_ms = ms > 0 ? ms : 1;
}

int stop_requested() { return static_cast<int>(g_stop); }

std::string signal_name(int signo) {
  if (signo == SIGTERM) return "SIGTERM";
  if (signo == SIGINT) return "SIGINT";
  if (signo == SIGUSR1) return "SIGUSR1";
  return "signal " + std::to_string(signo);
}

}  // namespace rlae
