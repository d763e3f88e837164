// Which thread runs a session's ops (used by tf_saved_model.cc; no TensorFlow
// here, so it is tested on its own).
//
// By default TensorFlow hands a run's ops to its inter-op thread pool and puts
// the caller to sleep until they finish. On a short run the hand-off and the
// wake-up cost more than running ops side by side gains, so short runs go in
// the caller's own thread (RunOptions::inter_op_thread_pool = -1, which
// TensorFlow advises for simple graphs). What is short is measured: each kind
// of run (the runtime names it by its fetches and batch size) follows its own
// last run.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

namespace xai {

class RunPlacement {
 public:
  // A run of this kind shorter than this in the pool moves to the caller's
  // thread; one twice as long there moves back. Measured on this project's
  // 2-core machine: a 0.13 ms tabular run gains ~50 us in the caller's thread,
  // a 2.7 ms CNN run loses ~0.9 ms.
  static constexpr double kShortRunMs = 0.5;

  // Where the next run of `kind` goes: false (the pool) until one was timed.
  bool InCallerThread(const std::string& kind) const;
  // Records that a run of `kind` took `ms` in the caller's thread or the pool.
  void Record(const std::string& kind, bool in_caller_thread, double ms);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, bool> in_caller_thread_;
};

}  // namespace xai
