#include "http/idle_memory_release.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace xai {
namespace {

// Checks by hand (the thread's interval is an hour, so it never looks itself).
class IdleMemoryReleaseTest : public ::testing::Test {
 protected:
  IdleMemoryRelease::Hooks Hooks() {
    IdleMemoryRelease::Hooks hooks;
    hooks.finished = [this] { return finished_.load(); };
    hooks.in_flight = [this] { return in_flight_.load(); };
    hooks.release = [this] {
      ++releases_;
      return int64_t{1} << 20;
    };
    hooks.released = [this](int64_t bytes) { reported_.push_back(bytes); };
    return hooks;
  }

  std::atomic<int64_t> finished_{0}, in_flight_{0};
  int releases_ = 0;
  std::vector<int64_t> reported_;
};

TEST_F(IdleMemoryReleaseTest, ReleasesOnceAfterAQuietIntervalFollowingRequests) {
  IdleMemoryRelease release(Hooks(), std::chrono::hours(1));
  release.Check();
  EXPECT_EQ(releases_, 0);  // nothing has happened since start

  finished_ = 5;
  release.Check();  // requests finished during this interval: not yet quiet
  EXPECT_EQ(releases_, 0);
  release.Check();  // a whole quiet interval after them
  EXPECT_EQ(releases_, 1);
  EXPECT_EQ(reported_, (std::vector<int64_t>{int64_t{1} << 20}));
  release.Check();
  release.Check();
  EXPECT_EQ(releases_, 1);  // once per burst, not every interval
}

TEST_F(IdleMemoryReleaseTest, LessThanAMegabyteReturnedIsNotReported) {
  IdleMemoryRelease::Hooks hooks = Hooks();
  hooks.release = [this] {
    ++releases_;
    return int64_t{1000};
  };
  IdleMemoryRelease release(hooks, std::chrono::hours(1));
  finished_ = 1;
  release.Check();
  release.Check();
  EXPECT_EQ(releases_, 1);
  EXPECT_TRUE(reported_.empty());  // "returned 0 MB" lines were half of the log
}

TEST_F(IdleMemoryReleaseTest, NotWhileARequestRuns) {
  IdleMemoryRelease release(Hooks(), std::chrono::hours(1));
  finished_ = 2;
  release.Check();
  in_flight_ = 1;  // a long explanation, finishing nothing for a while
  release.Check();
  release.Check();
  EXPECT_EQ(releases_, 0);
  in_flight_ = 0;
  finished_ = 3;
  release.Check();
  EXPECT_EQ(releases_, 0);
  release.Check();
  EXPECT_EQ(releases_, 1);
}

TEST_F(IdleMemoryReleaseTest, TheThreadLooksEveryIntervalAndStopsWhenDestroyed) {
  finished_ = 0;
  {
    IdleMemoryRelease release(Hooks(), std::chrono::milliseconds(1));
    finished_ = 1;
    for (int i = 0; i < 10000 && reported_.empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(releases_, 1);
}

TEST(FreeHeapMemoryTest, ReturnsWhatTheAllocatorHasFree) {
  // This test links tcmalloc, as xaiserve does, except in the sanitizer
  // build (the sanitizers' allocator), where there is nothing to return.
  void* block = std::malloc(64 << 20);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, 64 << 20);
  std::free(block);
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(FreeHeapBytes(), 0);
  EXPECT_EQ(ReleaseFreeHeapMemory(), 0);
#else
  EXPECT_GE(FreeHeapBytes(), int64_t{64} << 20);  // freed, kept by the allocator
  EXPECT_GE(ReleaseFreeHeapMemory(), int64_t{64} << 20);
  EXPECT_LT(FreeHeapBytes(), int64_t{64} << 20);
#endif
}

}  // namespace
}  // namespace xai
