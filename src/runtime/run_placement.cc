#include "runtime/run_placement.h"

#include <algorithm>

namespace xai {

bool RunPlacement::InCallerThread(const std::string& kind) const {
  std::lock_guard lock(mutex_);
  auto it = times_.find(kind);
  if (it == times_.end()) return false;
  const Times& t = it->second;
  if (t.caller_runs < kProbeRuns) return t.pool_fastest_ms < kShortRunMs;
  return t.caller_fastest_ms <= t.pool_fastest_ms;
}

void RunPlacement::Record(const std::string& kind, bool in_caller_thread, double ms) {
  std::lock_guard lock(mutex_);
  Times& t = times_[kind];
  if (in_caller_thread) {
    t.caller_fastest_ms = std::min(t.caller_fastest_ms, ms);
    ++t.caller_runs;
  } else {
    t.pool_fastest_ms = std::min(t.pool_fastest_ms, ms);
  }
  if (++t.runs == kRoundRuns) t = Times{};  // a new round: measure both places again
}

}  // namespace xai
