#include <gtest/gtest.h>

#include "model/explainable_model.h"
#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::FailsWith;

TEST(WorkBudgetTest, WithoutABoundEveryRunIsTaken) {
  WorkBudget budget;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(budget.Spend(1024).ok());
  EXPECT_EQ(budget.path_points, 1024 * 1000);
}

TEST(WorkBudgetTest, TheRunThatWouldPassTheBoundIsRefused) {
  WorkBudget budget;
  budget.max_path_points = 102;
  EXPECT_TRUE(budget.Spend(51).ok());
  EXPECT_TRUE(budget.Spend(51).ok());  // exactly the bound
  EXPECT_TRUE(FailsWith(budget.Spend(1), StatusCode::kResourceExhausted,
                        {"more than 102 path points", "--max-path-points"}));
  EXPECT_EQ(budget.path_points, 102);  // the refused run is not counted (the access log shows rows evaluated)
}

TEST(WorkBudgetTest, AClientThatLeftStopsTheNextRun) {
  bool gone = false;
  WorkBudget budget;
  budget.client_gone = [&gone] { return gone; };
  EXPECT_TRUE(budget.Spend(51).ok());
  gone = true;
  EXPECT_TRUE(FailsWith(budget.Spend(51), StatusCode::kCancelled, {"client went away", "after 51 path points"}));
  EXPECT_EQ(budget.path_points, 51);  // the refused run is not counted
}

}  // namespace
}  // namespace xai
