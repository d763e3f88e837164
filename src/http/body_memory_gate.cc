#include "http/body_memory_gate.h"

#include <algorithm>

namespace xai {

BodyMemoryGate::Ticket BodyMemoryGate::Enter(size_t bytes) {
  if (bytes < kLargeBodyBytes) return Ticket(nullptr, 0);
  const size_t held = std::min(bytes, capacity_);
  std::unique_lock<std::mutex> lock(mutex_);
  ++waiting_;
  freed_.wait(lock, [&] { return in_use_ + held <= capacity_; });
  --waiting_;
  in_use_ += held;
  return Ticket(this, held);
}

size_t BodyMemoryGate::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

size_t BodyMemoryGate::bodies_waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_;
}

void BodyMemoryGate::Release(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    in_use_ -= bytes;
  }
  freed_.notify_all();
}

}  // namespace xai
