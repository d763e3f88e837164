// How many large request bodies are handled at once. A body takes many times
// its size in memory once parsed (nlohmann's tree: a 16 MB body of small
// nested lists took 650 MB), and with one request per worker thread, 16
// workers at the 16 MB body limit could take 10 GB. A BodyMemoryGate lets
// large bodies through while the bytes of those being handled stay within
// its capacity; the others wait their turn. Small bodies (every request of a
// tabular model, say) pass without waiting or locking. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace xai {

class BodyMemoryGate {
 public:
  // Bodies below this many bytes pass freely.
  static constexpr size_t kLargeBodyBytes = size_t{1} << 20;

  explicit BodyMemoryGate(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Holds a large body's bytes while it is handled (nothing for a small one).
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept : gate_(other.gate_), bytes_(other.bytes_) { other.gate_ = nullptr; }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket() {
      if (gate_ != nullptr) gate_->Release(bytes_);
    }

   private:
    friend class BodyMemoryGate;
    Ticket(BodyMemoryGate* gate, size_t bytes) : gate_(gate), bytes_(bytes) {}
    BodyMemoryGate* gate_;
    size_t bytes_;
  };

  // Waits until a body of `bytes` fits beside those being handled. A body
  // larger than the whole capacity waits until it is alone.
  Ticket Enter(size_t bytes);

  size_t bytes_in_use() const;
  size_t bodies_waiting() const;  // in Enter, for want of room

 private:
  void Release(size_t bytes);

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  size_t in_use_ = 0;
  size_t waiting_ = 0;
};

}  // namespace xai
