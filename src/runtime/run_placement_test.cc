#include "runtime/run_placement.h"

#include <gtest/gtest.h>

namespace xai {
namespace {

constexpr double kShort = RunPlacement::kShortRunMs;

TEST(RunPlacementTest, RunsInThePoolUntilOneWasTimed) {
  RunPlacement placement;
  EXPECT_FALSE(placement.InCallerThread("64|out:0"));
}

TEST(RunPlacementTest, AShortRunInThePoolMovesItsKindToTheCallersThread) {
  RunPlacement placement;
  placement.Record("52|out:0", /*in_caller_thread=*/false, kShort / 4);
  EXPECT_TRUE(placement.InCallerThread("52|out:0"));
  EXPECT_FALSE(placement.InCallerThread("1|out:0")) << "each kind follows its own runs";
}

TEST(RunPlacementTest, ALongRunInThePoolStaysThere) {
  RunPlacement placement;
  placement.Record("52|out:0", false, kShort);
  EXPECT_FALSE(placement.InCallerThread("52|out:0"));
  placement.Record("52|out:0", false, 10 * kShort);
  EXPECT_FALSE(placement.InCallerThread("52|out:0"));
}

TEST(RunPlacementTest, TheCallersThreadKeepsARunUpToTwiceTheLimitThenGivesItBack) {
  RunPlacement placement;
  placement.Record("k", false, kShort / 2);
  placement.Record("k", true, 1.5 * kShort);  // slower in the caller's thread, but within the margin
  EXPECT_TRUE(placement.InCallerThread("k"));
  placement.Record("k", true, 2.5 * kShort);
  EXPECT_FALSE(placement.InCallerThread("k"));
  placement.Record("k", false, kShort / 2);
  EXPECT_TRUE(placement.InCallerThread("k"));
}

}  // namespace
}  // namespace xai
