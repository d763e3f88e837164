#include "runtime/run_placement.h"

namespace xai {

bool RunPlacement::InCallerThread(const std::string& kind) const {
  std::lock_guard lock(mutex_);
  auto it = in_caller_thread_.find(kind);
  return it != in_caller_thread_.end() && it->second;
}

void RunPlacement::Record(const std::string& kind, bool in_caller_thread, double ms) {
  std::lock_guard lock(mutex_);
  in_caller_thread_[kind] = in_caller_thread ? ms <= 2 * kShortRunMs : ms < kShortRunMs;
}

}  // namespace xai
