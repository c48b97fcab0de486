// SIGTERM / SIGINT handling (common/stop_signal.*), in forked children: the handlers
// and the blocked signal mask are process-wide, so the test process keeps its own.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/stop_signal.h"

namespace rlae {
namespace {

// Runs body in a child; returns its wait status.
template <class F>
int in_child(F body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(20);  // a hang guard
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool wait_for_stop(int ms) {
  for (int i = 0; i < ms && stop_requested() == 0; ++i) ::usleep(1000);
  return stop_requested() != 0;
}

TEST(StopSignal, OneSignalIsRecordedAndThePollerDecides) {
  const int status = in_child([] {
    install_stop_signals();
    ::kill(::getpid(), SIGTERM);
    if (!wait_for_stop(5000)) return 10;
    return stop_requested() == SIGTERM ? 0 : 11;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// scancel signals mpirun and every rank, and mpirun forwards the signal again:
// the duplicate must not end the process before its checkpoint.
TEST(StopSignal, TheSameRequestDeliveredTwiceIsOneRequest) {
  const int status = in_child([] {
    install_stop_signals();
    ::kill(::getpid(), SIGTERM);
    if (!wait_for_stop(5000)) return 10;
    ::kill(::getpid(), SIGTERM);
    ::usleep(300 * 1000);  // the process lives on: the checkpoint would be written here
    return stop_requested() == SIGTERM ? 0 : 11;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(StopSignal, ASecondSignalLaterEndsTheProcessAtOnce) {
  const int status = in_child([] {
    install_stop_signals();
    ::kill(::getpid(), SIGINT);
    if (!wait_for_stop(5000)) return 10;
    ::sleep(3);
    ::kill(::getpid(), SIGINT);
    ::sleep(5);
    return 12;  // not reached: the second Ctrl-C ends it
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), stop_exit_code(SIGINT));
}

// An actor held in a collective by a stopped peer never reaches its next check:
// exit_after_stop ends it by itself (without it, the alarm would end the child).
TEST(StopSignal, ExitAfterStopEndsAProcessHeldElsewhere) {
  const int status = in_child([] {
    install_stop_signals();
    exit_after_stop(200, "test: stopping: ");
    ::kill(::getpid(), SIGTERM);
    for (;;) ::pause();  // held: no poll of stop_requested() ever comes
    return 12;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), stop_exit_code(SIGTERM));
}

TEST(StopSignal, ExitAfterStopWaitsForASignal) {
  const int status = in_child([] {
    install_stop_signals();
    exit_after_stop(100, "test: stopping: ");
    ::usleep(600 * 1000);  // six deadlines pass without a signal
    return stop_requested() == 0 ? 0 : 11;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace rlae
