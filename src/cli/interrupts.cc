#include "cli/interrupts.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <ctime>

namespace xai {

namespace {

// Written by the signal handler, read by any thread: lock-free, so that a
// handler may touch them (a lock could be held by the thread it interrupted).
std::atomic<int> g_requested{0};
std::atomic<int64_t> g_requested_at_ns{0};  // when g_requested was set (CLOCK_MONOTONIC); 0 just before
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<int64_t>::is_always_lock_free,
              "a signal handler may only use lock-free atomics");
struct sigaction g_previous_int, g_previous_term, g_previous_xcpu;

int64_t MonotonicNanoseconds() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// A second signal within a second of the first is the same request to stop:
// GNU timeout, and a Ctrl-C in a terminal that runs a wrapper, send it twice.
// So is one that comes while the first is being taken, on another thread.
bool WithinASecondOfTheFirst() {
  const int64_t first = g_requested_at_ns.load();
  return first == 0 || MonotonicNanoseconds() - first < 1000000000;
}

void OnStopSignal(int signal) {
  const int saved_errno = errno;  // the write below may fail, where the interrupted code was about to read errno
  int none = 0;
  // The first signal only: a second one, on another thread, finds it taken.
  if (!g_requested.compare_exchange_strong(none, signal)) {
    // The kernel repeats SIGXCPU every CPU second past the soft limit: that
    // is no one asking again (the hard limit's SIGKILL ends a run that will
    // not stop).
    if (signal != SIGXCPU && !WithinASecondOfTheFirst()) {
      // Asked again: stop now, as the signal would by default.
      std::signal(signal, SIG_DFL);
      std::raise(signal);
    }
    errno = saved_errno;
    return;
  }
  g_requested_at_ns = MonotonicNanoseconds();
  // Said at once (write is async-signal-safe): an instance can take minutes.
  static const char kStopping[] =
      "xaiserve: stopping after the current model run (the same signal again stops at once)\n";
  static const char kCpuLimit[] =
      "xaiserve: the CPU time limit (ulimit -t) is reached: stopping after the current model run\n";
  const ssize_t written = signal == SIGXCPU ? write(STDERR_FILENO, kCpuLimit, sizeof kCpuLimit - 1)
                                            : write(STDERR_FILENO, kStopping, sizeof kStopping - 1);
  (void)written;
  errno = saved_errno;
}

}  // namespace

StopRequests::StopRequests() {
  g_requested = 0;
  g_requested_at_ns = 0;
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  // The other stop signals wait while the handler runs on this thread: one
  // that came in the middle of it saw no request yet, and said "stopping" again.
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  sigaddset(&action.sa_mask, SIGXCPU);
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
