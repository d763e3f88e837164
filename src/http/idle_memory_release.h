// Giving a burst's freed memory back once the server is idle. xaiserve links
// tcmalloc (CMakeLists.txt), which keeps the pages that freed requests leave
// for reuse (what TensorFlow keeps in use for later runs stays). IdleMemoryRelease watches the
// server's activity and, once requests have come and gone and none has run
// for a whole interval, asks the allocator to return its free pages to the
// operating system (tcmalloc's MallocExtension_ReleaseFreeMemory, looked up
// at run time: without tcmalloc, as in the sanitizer build, it does nothing).
// The next burst maps pages again, a cost paid once per burst, not per request.
// Thread-safe; its thread stops when it is destroyed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace xai {

// The allocator's free bytes that it could return, and returning them; both
// 0 without tcmalloc. ReleaseFreeHeapMemory returns the bytes returned.
int64_t FreeHeapBytes();
int64_t ReleaseFreeHeapMemory();

class IdleMemoryRelease {
 public:
  struct Hooks {
    // Requests finished so far, and requests running now (Metrics).
    std::function<int64_t()> finished;
    std::function<int64_t()> in_flight;
    // Returns the allocator's free pages; the bytes returned.
    std::function<int64_t()> release = ReleaseFreeHeapMemory;
    // Told what was returned (the server logs it).
    std::function<void(int64_t bytes)> released;
  };

  IdleMemoryRelease(Hooks hooks, std::chrono::milliseconds interval);
  ~IdleMemoryRelease();
  IdleMemoryRelease(const IdleMemoryRelease&) = delete;
  IdleMemoryRelease& operator=(const IdleMemoryRelease&) = delete;

  // One look, as the thread takes every interval: releases when requests
  // finished before the last look, none since, and none is running. For tests.
  void Check();

 private:
  void Run(std::chrono::milliseconds interval);

  Hooks hooks_;
  int64_t seen_finished_ = 0;      // finished() at the last look
  int64_t released_finished_ = 0;  // finished() when memory was last released
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace xai
