#include "runtime/run_placement.h"

#include <gtest/gtest.h>

namespace xai {
namespace {

constexpr double kShort = RunPlacement::kShortRunMs;

TEST(RunPlacementTest, RunsInThePoolUntilOneWasTimed) {
  RunPlacement placement;
  EXPECT_FALSE(placement.InCallerThread("64|out:0"));
}

TEST(RunPlacementTest, AShortRunInThePoolTriesTheCallersThreadForItsKindOnly) {
  RunPlacement placement;
  placement.Record("52|out:0", /*in_caller_thread=*/false, kShort / 4);
  EXPECT_TRUE(placement.InCallerThread("52|out:0"));
  EXPECT_FALSE(placement.InCallerThread("1|out:0")) << "each kind follows its own runs";
}

TEST(RunPlacementTest, ALongRunInThePoolStaysThereUntilOneIsShort) {
  RunPlacement placement;
  placement.Record("52|out:0", false, 40 * kShort);  // a first run, which builds the executor
  EXPECT_FALSE(placement.InCallerThread("52|out:0"));
  placement.Record("52|out:0", false, kShort);
  EXPECT_FALSE(placement.InCallerThread("52|out:0"));
  placement.Record("52|out:0", false, kShort / 2);
  EXPECT_TRUE(placement.InCallerThread("52|out:0"));
}

TEST(RunPlacementTest, AfterTheProbeEachRunGoesWhereTheFastestRunWent) {
  RunPlacement placement;
  placement.Record("k", false, kShort / 2);
  for (int i = 0; i < RunPlacement::kProbeRuns; ++i) {
    EXPECT_TRUE(placement.InCallerThread("k")) << "probe run " << i;
    placement.Record("k", true, kShort / 5);
  }
  EXPECT_TRUE(placement.InCallerThread("k"));
  placement.Record("k", true, 3 * kShort);  // a slow spell does not undo the fastest run
  EXPECT_TRUE(placement.InCallerThread("k"));
}

TEST(RunPlacementTest, AKindSlowerInTheCallersThreadGoesBackToThePoolForGood) {
  RunPlacement placement;
  placement.Record("k", false, kShort / 2);
  for (int i = 0; i < RunPlacement::kProbeRuns; ++i) placement.Record("k", true, kShort);
  EXPECT_FALSE(placement.InCallerThread("k"));
  placement.Record("k", false, kShort / 3);
  EXPECT_FALSE(placement.InCallerThread("k"));
}

TEST(RunPlacementTest, OneSlowFirstRunInTheCallersThreadDoesNotDecide) {
  RunPlacement placement;
  placement.Record("k", false, kShort / 2);
  placement.Record("k", true, 4 * kShort);  // one-off costs of the kind's first run there
  EXPECT_TRUE(placement.InCallerThread("k")) << "the probe goes on";
  placement.Record("k", true, kShort / 5);
  EXPECT_TRUE(placement.InCallerThread("k"));
}

}  // namespace
}  // namespace xai
