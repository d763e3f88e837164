#include "http/idle_memory_release.h"

#include <dlfcn.h>

#include <cstddef>

namespace xai {
namespace {

// Less than this returned is not worth a log line.
constexpr int64_t kReportedBytes = int64_t{1} << 20;

// gperftools' C entry points (malloc_extension_c.h), if tcmalloc is linked.
using ReleaseFn = void (*)();
using PropertyFn = int (*)(const char*, size_t*);

ReleaseFn ReleaseEntry() {
  static const auto entry = reinterpret_cast<ReleaseFn>(dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory"));
  return entry;
}

PropertyFn PropertyEntry() {
  static const auto entry =
      reinterpret_cast<PropertyFn>(dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty"));
  return entry;
}

}  // namespace

int64_t FreeHeapBytes() {
  size_t bytes = 0;
  if (PropertyEntry() == nullptr || !PropertyEntry()("tcmalloc.pageheap_free_bytes", &bytes)) return 0;
  return static_cast<int64_t>(bytes);
}

int64_t ReleaseFreeHeapMemory() {
  if (ReleaseEntry() == nullptr) return 0;
  const int64_t before = FreeHeapBytes();
  ReleaseEntry()();
  return before - FreeHeapBytes();
}

IdleMemoryRelease::IdleMemoryRelease(Hooks hooks, std::chrono::milliseconds interval) : hooks_(std::move(hooks)) {
  seen_finished_ = released_finished_ = hooks_.finished();
  thread_ = std::thread([this, interval] { Run(interval); });
}

IdleMemoryRelease::~IdleMemoryRelease() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void IdleMemoryRelease::Check() {
  const int64_t finished = hooks_.finished();
  const bool quiet = finished == seen_finished_ && hooks_.in_flight() == 0;
  seen_finished_ = finished;
  if (!quiet || finished == released_finished_) return;
  released_finished_ = finished;
  const int64_t bytes = hooks_.release();
  if (bytes >= kReportedBytes && hooks_.released) hooks_.released(bytes);
}

void IdleMemoryRelease::Run(std::chrono::milliseconds interval) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    Check();
    lock.lock();
  }
}

}  // namespace xai
