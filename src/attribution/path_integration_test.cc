#include "attribution/path_integration.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using testing::Contains;

constexpr PathRule kRules[] = {PathRule::kTrapezoid, PathRule::kRiemannLeft,
                               PathRule::kRiemannRight, PathRule::kRiemannMiddle};

// sum_j w_j g(alpha_j): the rule's estimate of the integral of g over [0, 1].
double Integrate(PathRule rule, int steps, const std::function<double(double)>& g) {
  double sum = 0;
  for (const PathPoint& point : PathPoints(rule, steps)) sum += point.weight * g(point.alpha);
  return sum;
}

TEST(PathPointsTest, WeightsSumToOneAndAlphasIncreaseWithinUnitInterval) {
  for (PathRule rule : kRules) {
    for (int steps = 1; steps <= 100; ++steps) {
      SCOPED_TRACE(std::string(PathRuleName(rule)) + " steps " + std::to_string(steps));
      const std::vector<PathPoint> points = PathPoints(rule, steps);
      double sum = 0;
      for (size_t j = 0; j < points.size(); ++j) {
        sum += points[j].weight;
        EXPECT_GT(points[j].weight, 0);
        EXPECT_GE(points[j].alpha, 0);
        EXPECT_LE(points[j].alpha, 1);
        if (j > 0) {
          EXPECT_GT(points[j].alpha, points[j - 1].alpha);
        }
      }
      EXPECT_NEAR(sum, 1.0, 1e-13);
    }
  }
}

TEST(PathPointsTest, TrapezoidHasBothEndsWithHalfWeights) {
  const std::vector<PathPoint> points = PathPoints(PathRule::kTrapezoid, 4);
  ASSERT_EQ(points.size(), 5u);
  const double alphas[] = {0, 0.25, 0.5, 0.75, 1};
  const double weights[] = {0.125, 0.25, 0.25, 0.25, 0.125};
  for (size_t j = 0; j < points.size(); ++j) {
    EXPECT_EQ(points[j].alpha, alphas[j]) << "point " << j;
    EXPECT_DOUBLE_EQ(points[j].weight, weights[j]) << "point " << j;
  }
  // The ends are exactly 0 and 1 for every step count, so f(b) and f(x) are
  // evaluated at the baseline and the instance themselves.
  for (int steps = 1; steps <= 100; ++steps) {
    const std::vector<PathPoint> many = PathPoints(PathRule::kTrapezoid, steps);
    ASSERT_EQ(many.size(), static_cast<size_t>(steps + 1));
    EXPECT_EQ(many.front().alpha, 0.0);
    EXPECT_EQ(many.back().alpha, 1.0);
    EXPECT_DOUBLE_EQ(many.front().weight, 1.0 / (2 * steps));
    EXPECT_DOUBLE_EQ(many.back().weight, 1.0 / (2 * steps));
  }
}

TEST(PathPointsTest, TrapezoidWithOneStepIsTheTwoEnds) {
  const std::vector<PathPoint> points = PathPoints(PathRule::kTrapezoid, 1);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].alpha, 0.0);
  EXPECT_EQ(points[1].alpha, 1.0);
  EXPECT_EQ(points[0].weight, 0.5);
  EXPECT_EQ(points[1].weight, 0.5);
}

TEST(PathPointsTest, RiemannRulesPlaceStepsPointsAtLeftRightOrMiddle) {
  struct Case {
    PathRule rule;
    std::vector<double> alphas;
  };
  const Case cases[] = {
      {PathRule::kRiemannLeft, {0, 0.25, 0.5, 0.75}},
      {PathRule::kRiemannRight, {0.25, 0.5, 0.75, 1}},
      {PathRule::kRiemannMiddle, {0.125, 0.375, 0.625, 0.875}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(PathRuleName(c.rule));
    const std::vector<PathPoint> points = PathPoints(c.rule, 4);
    ASSERT_EQ(points.size(), c.alphas.size());
    for (size_t j = 0; j < points.size(); ++j) {
      EXPECT_EQ(points[j].alpha, c.alphas[j]) << "point " << j;
      EXPECT_EQ(points[j].weight, 0.25) << "point " << j;
    }
  }
}

TEST(PathPointsTest, NoPointsForStepsBelowOne) {
  for (PathRule rule : kRules) {
    EXPECT_TRUE(PathPoints(rule, 0).empty()) << PathRuleName(rule);
    EXPECT_TRUE(PathPoints(rule, -3).empty()) << PathRuleName(rule);
  }
}

TEST(PathPointsTest, EveryRuleIntegratesConstantsAndTrapezoidAndMiddleLinesExactly) {
  auto line = [](double t) { return 3 - 2 * t; };  // integral 2.
  for (PathRule rule : kRules) {
    EXPECT_NEAR(Integrate(rule, 7, [](double) { return 5.0; }), 5.0, 1e-14) << PathRuleName(rule);
  }
  EXPECT_NEAR(Integrate(PathRule::kTrapezoid, 7, line), 2.0, 1e-14);
  EXPECT_NEAR(Integrate(PathRule::kRiemannMiddle, 7, line), 2.0, 1e-14);
  // Left and right miss a line by exactly (slope / 2) / steps, on either side.
  EXPECT_NEAR(Integrate(PathRule::kRiemannLeft, 7, line), 2.0 + 1.0 / 7, 1e-14);
  EXPECT_NEAR(Integrate(PathRule::kRiemannRight, 7, line), 2.0 - 1.0 / 7, 1e-14);
}

TEST(PathPointsTest, ErrorsShrinkAtTheRuleOrder) {
  auto g = [](double t) { return std::exp(t); };
  const double exact = std::exp(1.0) - 1;
  for (PathRule rule : kRules) {
    SCOPED_TRACE(PathRuleName(rule));
    const double coarse = std::abs(Integrate(rule, 10, g) - exact);
    const double fine = std::abs(Integrate(rule, 20, g) - exact);
    const bool second_order = rule == PathRule::kTrapezoid || rule == PathRule::kRiemannMiddle;
    // Doubling the steps divides the error by about 4 (second order) or 2.
    EXPECT_NEAR(coarse / fine, second_order ? 4.0 : 2.0, 0.1);
  }
}

TEST(PathRuleNameTest, NamesRoundTrip) {
  EXPECT_STREQ(PathRuleName(PathRule::kTrapezoid), "trapezoid");
  EXPECT_STREQ(PathRuleName(PathRule::kRiemannLeft), "riemann_left");
  EXPECT_STREQ(PathRuleName(PathRule::kRiemannRight), "riemann_right");
  EXPECT_STREQ(PathRuleName(PathRule::kRiemannMiddle), "riemann_middle");
  for (PathRule rule : kRules) {
    StatusOr<PathRule> parsed = ParsePathRule(PathRuleName(rule));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, rule);
  }
}

TEST(PathRuleNameTest, UnknownNameIsRejectedNamingItAndTheValidOnes) {
  StatusOr<PathRule> parsed = ParsePathRule("simpson");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(parsed.status().message(), "'simpson'"));
  EXPECT_TRUE(Contains(parsed.status().message(),
                       "trapezoid, riemann_left, riemann_right, riemann_middle"));
  EXPECT_FALSE(ParsePathRule("Trapezoid").ok());
  EXPECT_FALSE(ParsePathRule("").ok());
}

TEST(CompletenessErrorTest, IsTheGapRelativeToTheOutputDifference) {
  EXPECT_EQ(CompletenessError(2.0, 3.0, 1.0), 0.0);
  EXPECT_NEAR(CompletenessError(2.2, 3.0, 1.0), 0.1, 1e-12);
  EXPECT_NEAR(CompletenessError(1.8, 3.0, 1.0), 0.1, 1e-12);
  EXPECT_NEAR(CompletenessError(-1.0, -1.0, 1.0), 0.5, 1e-12);  // difference -2, gap 1.
}

TEST(CompletenessErrorTest, TinyDifferenceIsFlooredAtTheOutputScale) {
  // f(x) == f(b): the gap is measured against 1e-6 * max(|f(x)|, |f(b)|).
  EXPECT_EQ(CompletenessError(0.0, 0.5, 0.5), 0.0);
  EXPECT_NEAR(CompletenessError(5e-10, 0.5, 0.5), 1e-3, 1e-12);
  EXPECT_NEAR(CompletenessError(1e-3, 1000.0, 1000.0), 1.0, 1e-9);
  // Above the floor the plain relative error applies, however small.
  EXPECT_NEAR(CompletenessError(2e-5, 1e-5, 0.0), 1.0, 1e-9);
  EXPECT_TRUE(std::isfinite(CompletenessError(1.0, 0.0, 0.0)));
  // A gap of 60 where both outputs are 0 (a ReLU off at both ends of the
  // path) was inf, written as null.
  EXPECT_TRUE(std::isfinite(CompletenessError(60.0, 0.0, 0.0)));
  EXPECT_TRUE(std::isfinite(CompletenessError(1e300, 0.0, 0.0)));
  EXPECT_GT(CompletenessError(1e-9, 0.0, 0.0), 1e6);
}

TEST(CompletenessErrorTest, SubnormalOutputsAreMeasuredAgainstTheirOwnChange) {
  // float64 outputs below the smallest normal double (2.2e-308): the change
  // 1e-310 is the denominator, not 2.2e-308 (which read 0.00225 for 0.5).
  EXPECT_NEAR(CompletenessError(0.5e-310, 2e-310, 1e-310), 0.5, 1e-6);
  EXPECT_NEAR(RelativeToOutputChange(1e-310, 2e-310, 1e-310), 1.0, 1e-6);
  // Both outputs exactly 0 still give a huge error, not inf.
  EXPECT_EQ(CompletenessError(1.0, 0.0, 0.0), std::numeric_limits<double>::max());
  EXPECT_GT(CompletenessError(1e-320, 0.0, 0.0), 1e3);
}

TEST(CompletenessErrorTest, DoesNotDependOnTheOutputsUnits) {
  // The same model in other units (x 1e-8): the same relative error. With a
  // floor of 1e-6 in absolute terms, the small one read 0.002 for 0.409.
  const double error = CompletenessError(0.3, 0.9, 0.4);
  for (double unit : {1e-8, 1e-3, 1e3, 1e8}) {
    EXPECT_NEAR(CompletenessError(0.3 * unit, 0.9 * unit, 0.4 * unit), error, 1e-9) << unit;
  }
}

}  // namespace
}  // namespace xai
