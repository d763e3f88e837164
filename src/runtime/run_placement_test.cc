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

TEST(RunPlacementTest, AKindSlowerInTheCallersThreadGoesBackToThePoolForTheRound) {
  RunPlacement placement;
  placement.Record("k", false, kShort / 2);
  for (int i = 0; i < RunPlacement::kProbeRuns; ++i) placement.Record("k", true, kShort);
  EXPECT_FALSE(placement.InCallerThread("k"));
  placement.Record("k", false, kShort / 3);
  EXPECT_FALSE(placement.InCallerThread("k"));
}

// Runs `runs` runs of `kind` where the placement sends them, each taking
// `caller_ms` in the caller's thread and `pool_ms` in the pool; returns how
// many went to the caller's thread.
int RunWhereSent(RunPlacement& placement, const std::string& kind, int runs, double caller_ms, double pool_ms) {
  int in_caller = 0;
  for (int i = 0; i < runs; ++i) {
    const bool caller = placement.InCallerThread(kind);
    in_caller += caller ? 1 : 0;
    placement.Record(kind, caller, caller ? caller_ms : pool_ms);
  }
  return in_caller;
}

TEST(RunPlacementTest, ProbesSlowedByOtherWorkSendAKindToThePoolForOneRoundOnly) {
  RunPlacement placement;
  // The first round: both probes in the caller's thread were slowed (say, a
  // model loading beside them), so the kind goes to the pool, where it is
  // twice as slow as the caller's thread really is.
  placement.Record("k", false, kShort / 4);
  for (int i = 0; i < RunPlacement::kProbeRuns; ++i) placement.Record("k", true, kShort);
  const int rest_of_round = RunPlacement::kRoundRuns - 1 - RunPlacement::kProbeRuns;
  EXPECT_EQ(RunWhereSent(placement, "k", rest_of_round, kShort / 8, kShort / 4), 0);
  // The next round measures both places again and finds the caller's thread faster.
  const int in_caller = RunWhereSent(placement, "k", RunPlacement::kRoundRuns, kShort / 8, kShort / 4);
  EXPECT_EQ(in_caller, RunPlacement::kRoundRuns - 1) << "one run in the pool, then the caller's thread";
}

TEST(RunPlacementTest, AKindInTheCallersThreadTriesThePoolOnceARound) {
  RunPlacement placement;
  const int rounds = 3;
  const int in_caller = RunWhereSent(placement, "k", rounds * RunPlacement::kRoundRuns, kShort / 8, kShort / 4);
  EXPECT_EQ(in_caller, rounds * (RunPlacement::kRoundRuns - 1));
}

TEST(RunPlacementTest, ALongKindStaysInThePoolRoundAfterRound) {
  RunPlacement placement;
  EXPECT_EQ(RunWhereSent(placement, "k", 3 * RunPlacement::kRoundRuns, kShort / 8, 2 * kShort), 0);
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
