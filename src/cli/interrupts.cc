#include "cli/interrupts.h"

#include <unistd.h>

#include <csignal>
#include <ctime>

namespace xai {

namespace {

volatile std::sig_atomic_t g_requested = 0;
struct sigaction g_previous_int, g_previous_term, g_previous_xcpu;
struct timespec g_requested_at;  // when g_requested was set

// A second signal within a second of the first is the same request to stop:
// GNU timeout, and a Ctrl-C in a terminal that runs a wrapper, send it twice.
bool WithinASecondOfTheFirst() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  const double since = static_cast<double>(now.tv_sec - g_requested_at.tv_sec) +
                       static_cast<double>(now.tv_nsec - g_requested_at.tv_nsec) / 1e9;
  return since < 1.0;
}

void OnStopSignal(int signal) {
  if (g_requested != 0) {
    // The kernel repeats SIGXCPU every CPU second past the soft limit: that
    // is no one asking again (the hard limit's SIGKILL ends a run that will
    // not stop).
    if (signal == SIGXCPU || WithinASecondOfTheFirst()) return;
    // Asked again: stop now, as the signal would by default.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  clock_gettime(CLOCK_MONOTONIC, &g_requested_at);
  g_requested = signal;
  // Said at once (write is async-signal-safe): an instance can take minutes.
  static const char kStopping[] =
      "xaiserve: stopping after the current model run (the same signal again stops at once)\n";
  static const char kCpuLimit[] =
      "xaiserve: the CPU time limit (ulimit -t) is reached: stopping after the current model run\n";
  const ssize_t written = signal == SIGXCPU ? write(STDERR_FILENO, kCpuLimit, sizeof kCpuLimit - 1)
                                            : write(STDERR_FILENO, kStopping, sizeof kStopping - 1);
  (void)written;
}

}  // namespace

StopRequests::StopRequests() {
  g_requested = 0;
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
  sigaction(SIGXCPU, &action, &g_previous_xcpu);
  // A signal ignored when the command started (a background job's SIGINT) stays ignored.
  if (g_previous_int.sa_handler == SIG_IGN) sigaction(SIGINT, &g_previous_int, nullptr);
  if (g_previous_term.sa_handler == SIG_IGN) sigaction(SIGTERM, &g_previous_term, nullptr);
  if (g_previous_xcpu.sa_handler == SIG_IGN) sigaction(SIGXCPU, &g_previous_xcpu, nullptr);
}

StopRequests::~StopRequests() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  sigaction(SIGXCPU, &g_previous_xcpu, nullptr);
}

int StopRequests::Requested() { return g_requested; }

const char* StopRequests::Name(int signal) {
  return signal == SIGTERM ? "SIGTERM" : signal == SIGXCPU ? "SIGXCPU" : "SIGINT";
}

}  // namespace xai
