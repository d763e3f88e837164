// Which thread runs a session's ops (used by tf_saved_model.cc; no TensorFlow
// here, so it is tested on its own).
//
// By default TensorFlow hands a run's ops to its inter-op thread pool, which
// splits their work (matrix products, softmax) over its intra-op threads,
// and puts the caller to sleep until they finish. On a short run the
// hand-offs and wake-ups cost more than the work, so a short run can instead
// go entirely in the caller's own thread: RunOptions::inter_op_thread_pool =
// -1 and an intra-op "pool" that runs its work at once. Which is faster is
// measured, for each kind of run (the runtime names it by its fetches and
// batch size): a kind starts in the pool; once a run of it there is shorter
// than kShortRunMs, the next kProbeRuns go in the caller's thread, and from
// then on each run goes where the kind's fastest run so far went. Every
// kRoundRuns runs a kind's times are forgotten and it is measured again: a
// probe slowed by something else (another process, a model loading beside
// it) sends the kind the wrong way for one round, not for good.
#pragma once

#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>

namespace xai {

class RunPlacement {
 public:
  // Only kinds with a pool run shorter than this try the caller's thread: a
  // run that long keeps a thread busy, and a large one gains from the pool.
  // Measured on this project's 2-core machine: a tabular IG run (51 rows)
  // takes 0.10-0.18 ms in the pool and 0.045 ms in the caller's thread; a
  // CNN run of 2.7 ms in the pool is slower in one thread.
  static constexpr double kShortRunMs = 0.5;
  // Runs in the caller's thread before comparing: the first run of a kind in
  // a thread can pay one-off costs.
  static constexpr int kProbeRuns = 2;
  // Runs of a kind before it is measured again. A short kind that went to the
  // caller's thread pays one run in the pool per round (on tabular_mlp about
  // 0.2 ms more, unpinned), 0.05 us a run spread over the round.
  static constexpr int kRoundRuns = 4096;

  // Where the next run of `kind` goes: false (the pool) until one was timed.
  bool InCallerThread(const std::string& kind) const;
  // Records that a run of `kind` took `ms` in the caller's thread or the pool.
  void Record(const std::string& kind, bool in_caller_thread, double ms);

 private:
  struct Times {
    double pool_fastest_ms = std::numeric_limits<double>::infinity();
    double caller_fastest_ms = std::numeric_limits<double>::infinity();
    int caller_runs = 0;
    int runs = 0;  // in this round, both places
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Times> times_;
};

}  // namespace xai
