#include "attribution/sampled_shapley.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "attribution/attribution_inputs.h"
#include "attribution/batched_evaluator.h"
#include "testing/fake_models.h"
#include "testing/status_matchers.h"
#include "testing/test_inputs.h"

namespace xai {
namespace {

using testing::CeilDiv;
using testing::FailsWith;
using testing::FaultyModel;
using testing::InteractionModel;
using testing::LinearModel;
using testing::Row;
using testing::RowShaped;
using testing::SingleInput;
using testing::Sum;
using testing::TwoInputLinearInputs;
using testing::TwoInputLinearModel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

SampledShapleyOptions Options(int path_count, int batch_size = kAutoBatchSize,
                              uint64_t seed = kDefaultSampledShapleySeed) {
  SampledShapleyOptions options;
  options.path_count = path_count;
  options.batch_size = batch_size;
  options.seed = seed;
  options.exact_when_cheaper = false;  // the sampler itself (the exact path has tests of its own)
  return options;
}

double Distance(const std::vector<double>& a, const std::vector<double>& b) {
  double squares = 0;
  for (size_t i = 0; i < a.size(); ++i) squares += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(squares);
}

// The reported standard error in output units: approximation_error * |f(x) - f(b)|.
double StandardError(const Attribution& attribution) {
  return attribution.approximation_error *
         std::abs(attribution.instance_output - attribution.baseline_output);
}

using ValueFn = std::function<double(const std::vector<double>&)>;

// Each feature's marginal contribution in each of `orders` (permutations of
// the features), [order][feature], computed directly from `f` on one input's
// values; feature_of[e] is element e's feature (empty: one per element).
std::vector<std::vector<double>> Contributions(const ValueFn& f, const std::vector<double>& x,
                                               const std::vector<double>& b,
                                               std::vector<int> feature_of,
                                               const std::vector<std::vector<int>>& orders) {
  if (feature_of.empty()) {
    feature_of.resize(x.size());
    std::iota(feature_of.begin(), feature_of.end(), 0);
  }
  const int num_features = *std::max_element(feature_of.begin(), feature_of.end()) + 1;
  std::vector<std::vector<double>> contributions;
  for (const std::vector<int>& order : orders) {
    std::vector<double> phi(num_features, 0.0);
    std::vector<double> state = b;
    double before = f(state);
    for (int feature : order) {
      for (size_t e = 0; e < x.size(); ++e) {
        if (feature_of[e] == feature) state[e] = x[e];
      }
      const double after = f(state);
      phi[feature] = after - before;
      before = after;
    }
    contributions.push_back(std::move(phi));
  }
  return contributions;
}

// The mean over `orders` of each feature's contribution (see Contributions).
std::vector<double> MeanContributions(const ValueFn& f, const std::vector<double>& x,
                                      const std::vector<double>& b, std::vector<int> feature_of,
                                      const std::vector<std::vector<int>>& orders) {
  const auto contributions = Contributions(f, x, b, std::move(feature_of), orders);
  std::vector<double> mean(contributions[0].size(), 0.0);
  for (const std::vector<double>& one : contributions) {
    for (size_t i = 0; i < one.size(); ++i) mean[i] += one[i] / contributions.size();
  }
  return mean;
}

// Exact Shapley values: the mean over all F! orders, averaged over baselines.
std::vector<double> ExactShapley(const ValueFn& f, const std::vector<double>& x,
                                 const std::vector<std::vector<double>>& baselines,
                                 const std::vector<int>& feature_of = {}) {
  const int num_features =
      feature_of.empty() ? static_cast<int>(x.size())
                         : *std::max_element(feature_of.begin(), feature_of.end()) + 1;
  std::vector<std::vector<int>> orders;
  std::vector<int> order(num_features);
  std::iota(order.begin(), order.end(), 0);
  do orders.push_back(order);
  while (std::next_permutation(order.begin(), order.end()));
  std::vector<double> phi(num_features, 0.0);
  for (const std::vector<double>& b : baselines) {
    const std::vector<double> one = MeanContributions(f, x, b, feature_of, orders);
    for (int i = 0; i < num_features; ++i) phi[i] += one[i] / baselines.size();
  }
  return phi;
}

ValueFn InteractionOutput(int64_t k) {
  return [k](const std::vector<double>& v) { return InteractionModel::F(k, v.data()); };
}

// The InteractionModel's instance and two baselines.
const std::vector<double> kX = {1.5, 2.0, 0.7, 1.2};
const std::vector<double> kB0 = {0.0, 0.0, 0.0, 0.0};
const std::vector<double> kB1 = {-0.5, 1.0, 2.0, -0.3};

// --- permutations ---------------------------------------------------------------

TEST(SamplePermutationsTest, GivesPermutationsThatDependOnlyOnTheSeed) {
  const auto a = SamplePermutations(6, 20, 7);
  ASSERT_EQ(a.size(), 20u);
  for (const std::vector<int>& order : a) {
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  }
  EXPECT_EQ(SamplePermutations(6, 20, 7), a);
  EXPECT_NE(SamplePermutations(6, 20, 8), a);
  EXPECT_EQ(SamplePermutations(0, 3, 7), (std::vector<std::vector<int>>(3)));
  EXPECT_EQ(SamplePermutations(1, 2, 7), (std::vector<std::vector<int>>{{0}, {0}}));
}

TEST(SamplePermutationsTest, KnownOutputForTheDefaultSeed) {
  // std::mt19937_64 is fully specified by the standard and the shuffle is our
  // own, so these hold on every standard library.
  EXPECT_EQ(SamplePermutations(8, 2, kDefaultSampledShapleySeed),
            (std::vector<std::vector<int>>{{0, 5, 7, 3, 6, 2, 1, 4}, {0, 6, 1, 4, 5, 3, 2, 7}}));
}

TEST(SamplePermutationsTest, EveryOrderOfThreeIsEquallyLikely) {
  // 6000 draws: each of the 3! orders expects 1000 (sd ~ 29). A biased
  // shuffle (e.g. j in [0, i) instead of [0, i]) gives some orders 0 or 1500+.
  std::map<std::vector<int>, int> counts;
  for (const std::vector<int>& order : SamplePermutations(3, 6000, 123)) ++counts[order];
  EXPECT_EQ(counts.size(), 6u);
  for (const auto& [order, count] : counts) {
    EXPECT_NEAR(count, 1000, 150) << order[0] << order[1] << order[2];
  }
}

TEST(SamplePermutationsTest, DistinctOnesSkipRepeatsOfTheSameDraws) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const auto distinct = SampleDistinctPermutations(4, 3, seed);
    ASSERT_EQ(distinct.size(), 3u);
    EXPECT_EQ(std::set<std::vector<int>>(distinct.begin(), distinct.end()).size(), 3u) << seed;
    // The same draws, repeats left out: the first one is SamplePermutations'.
    EXPECT_EQ(distinct[0], SamplePermutations(4, 1, seed)[0]);
  }
  // No more distinct orders than asked for: the plain draws (3 features, 6 orders).
  EXPECT_EQ(SampleDistinctPermutations(3, 8, 7), SamplePermutations(3, 8, 7));
}

// --- exactness -----------------------------------------------------------------

TEST(SampledShapleyTest, EstimateIsTheMeanContributionOverTheSeededPermutations) {
  // The whole pipeline (rows, batching, bookkeeping) against a direct
  // computation over the same permutations.
  for (int path_count : {1, 3, 10}) {
    SCOPED_TRACE("path_count " + std::to_string(path_count));
    InteractionModel model;
    const SampledShapleyOptions options = Options(path_count, 5, 99);
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(options).Attribute(model, SingleInput(kX, {kB1}, {0, 1}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->size(), 2u);
    const auto orders = SampleDistinctPermutations(4, path_count, 99);
    for (int64_t k : {0, 1}) {
      const std::vector<double> expected =
          MeanContributions(InteractionOutput(k), kX, kB1, {}, orders);
      const Attribution& attribution = (*result)[k];
      EXPECT_EQ(attribution.output_element, k);
      ASSERT_EQ(attribution.feature_attributions.size(), 4u);
      for (int i = 0; i < 4; ++i) {
        EXPECT_NEAR(attribution.feature_attributions[i], expected[i], 1e-12) << "feature " << i;
        EXPECT_EQ(attribution.attributions[0].values[i], attribution.feature_attributions[i]);
      }
      // approximation_error as documented: sqrt(sum_i s_i^2 / P * (N - P) / (N - 1)) / |f(x) - f(b)|,
      // s_i^2 the sample variance (P >= 2) or the mean square (P == 1), N = 4! orders.
      const auto contributions = Contributions(InteractionOutput(k), kX, kB1, {}, orders);
      double variance_sum = 0;
      for (int i = 0; i < 4; ++i) {
        double squares = 0;
        for (const std::vector<double>& one : contributions) {
          const double deviation = path_count == 1 ? one[i] : one[i] - expected[i];
          squares += deviation * deviation;
        }
        variance_sum += squares / std::max(path_count - 1, 1) / path_count;
      }
      const double difference =
          InteractionModel::F(k, kX.data()) - InteractionModel::F(k, kB1.data());
      const double correction = (24.0 - path_count) / 23.0;
      EXPECT_NEAR(attribution.approximation_error,
                  std::sqrt(variance_sum * correction) / std::abs(difference), 1e-12);
      EXPECT_EQ(attribution.steps, path_count);
    }
  }
}

TEST(SampledShapleyTest, LinearModelGivesWeightTimesDeltaForAnyPathCount) {
  const AttributionInputs inputs = TwoInputLinearInputs();  // 7 features, 2 baselines.
  for (int path_count : {1, 2, 5, 50}) {
    SCOPED_TRACE("path_count " + std::to_string(path_count));
    LinearModel model = TwoInputLinearModel();
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(Options(path_count)).Attribute(model, inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->size(), 2u);
    for (size_t n = 0; n < 2; ++n) {
      const Attribution& attribution = (*result)[n];
      const int64_t k = inputs.output_elements[n];
      EXPECT_EQ(attribution.output_element, k);
      EXPECT_EQ(attribution.steps, path_count);
      ASSERT_EQ(attribution.feature_attributions.size(), 7u);
      ASSERT_EQ(attribution.attributions.size(), 2u);
      EXPECT_EQ(attribution.attributions[1].shape, (Shape{1, 2, 2}));
      EXPECT_EQ(attribution.attributions[1].dtype, DType::kFloat32);
      int feature = 0;
      double squares = 0;
      for (size_t i = 0; i < 2; ++i) {
        for (size_t e = 0; e < model.weights(k, i).size(); ++e, ++feature) {
          double expected = 0;  // w (x - b), averaged over the baselines.
          for (const auto& b : inputs.baselines) {
            const double delta = inputs.instance[i].values[e] - b[i].values[e];
            expected += model.weights(k, i)[e] * delta / 2;
          }
          EXPECT_NEAR(attribution.feature_attributions[feature], expected, 1e-12);
          EXPECT_NEAR(attribution.attributions[i].values[e], expected, 1e-12);
          squares += expected * expected;
        }
      }
      const double difference = attribution.instance_output - attribution.baseline_output;
      if (path_count == 1) {
        // No variance estimate: the conservative sqrt(sum d^2) / |difference|.
        EXPECT_NEAR(attribution.approximation_error, std::sqrt(squares) / std::abs(difference),
                    1e-12);
      } else {
        // Every permutation gives the same contributions: no sampling error.
        EXPECT_LT(attribution.approximation_error, 1e-12);
      }
    }
  }
}

TEST(SampledShapleyTest, InteractingModelIsWithinReportedStandardErrorsOfExactShapley) {
  for (int64_t k : {0, 1}) {
    SCOPED_TRACE("output " + std::to_string(k));
    const std::vector<double> exact = ExactShapley(InteractionOutput(k), kX, {kB0});
    const double difference =
        InteractionModel::F(k, kX.data()) - InteractionModel::F(k, kB0.data());
    // Sanity: the exact values are not those of one fixed order (else the
    // test could not tell sampling from no sampling).
    EXPECT_GT(Distance(exact, MeanContributions(InteractionOutput(k), kX, kB0, {}, {{0, 1, 2, 3}})),
              0.1);

    InteractionModel model;
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(Options(50)).Attribute(model, SingleInput(kX, {kB0}, {k}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const Attribution& attribution = (*result)[0];
    EXPECT_GT(attribution.approximation_error, 0);
    EXPECT_LE(Distance(attribution.feature_attributions, exact), 3 * StandardError(attribution));
    // 50 paths: within 20% of |f(x) - f(b)| (the reported error is ~7% here).
    EXPECT_LT(Distance(attribution.feature_attributions, exact), 0.2 * std::abs(difference));
    EXPECT_LT(attribution.approximation_error, 0.1);

    // The standard error shrinks like 1 / sqrt(path_count): 50 paths vs 10.
    InteractionModel ten_model;
    StatusOr<std::vector<Attribution>> ten =
        SampledShapley(Options(10)).Attribute(ten_model, SingleInput(kX, {kB0}, {k}));
    ASSERT_TRUE(ten.ok()) << ten.status().ToString();
    const double shrink = attribution.approximation_error / (*ten)[0].approximation_error;
    EXPECT_GT(shrink, 0.3);
    EXPECT_LT(shrink, 0.65);
  }
}

TEST(SampledShapleyTest, ReportedStandardErrorMatchesTheActualErrorOverManySeeds) {
  // SE is meant as the root-mean-square distance to the exact values: check
  // its calibration over 200 seeds, and that 3 SE covers nearly every run.
  const std::vector<double> exact = ExactShapley(InteractionOutput(0), kX, {kB0});
  double squared_errors = 0;
  double squared_reported = 0;
  int within_three = 0;
  const int seeds = 200;
  for (int seed = 1; seed <= seeds; ++seed) {
    InteractionModel model;
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(Options(10, 64, seed)).Attribute(model, SingleInput(kX, {kB0}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const Attribution& attribution = (*result)[0];
    const double error = Distance(attribution.feature_attributions, exact);
    squared_errors += error * error;
    squared_reported += StandardError(attribution) * StandardError(attribution);
    if (error <= 3 * StandardError(attribution)) ++within_three;
  }
  const double ratio = std::sqrt(squared_errors / squared_reported);
  EXPECT_GT(ratio, 0.75);
  EXPECT_LT(ratio, 1.33);
  EXPECT_GE(within_three, 0.95 * seeds);
}

TEST(SampledShapleyTest, AttributionsSumToTheOutputDifferenceForAnyPathCount) {
  const AttributionInputs inputs = SingleInput(kX, {kB0, kB1}, {0, 1});
  for (int path_count : {1, 2, 3, 10, 50}) {
    SCOPED_TRACE("path_count " + std::to_string(path_count));
    InteractionModel model;
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(Options(path_count)).Attribute(model, inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    for (int64_t k : {0, 1}) {
      const Attribution& attribution = (*result)[k];
      const double fx = InteractionModel::F(k, kX.data());
      const double fb =
          (InteractionModel::F(k, kB0.data()) + InteractionModel::F(k, kB1.data())) / 2;
      EXPECT_NEAR(attribution.instance_output, fx, 1e-12);
      EXPECT_NEAR(attribution.baseline_output, fb, 1e-12);
      const double tolerance = 1e-9 * std::max(1.0, std::abs(fx - fb));
      EXPECT_NEAR(Sum(attribution.feature_attributions), fx - fb, tolerance);
      EXPECT_NEAR(Sum(attribution), fx - fb, tolerance);
    }
  }
}

// --- seeding and batching --------------------------------------------------------

TEST(SampledShapleyTest, SameSeedGivesIdenticalResultsAndAnotherSeedDifferent) {
  const AttributionInputs inputs = SingleInput(kX, {kB0});
  InteractionModel model;
  auto run = [&](uint64_t seed) {
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(Options(5, 64, seed)).Attribute(model, inputs);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? (*result)[0] : Attribution();
  };
  const Attribution first = run(11);
  const Attribution again = run(11);
  EXPECT_EQ(first.feature_attributions, again.feature_attributions);
  EXPECT_EQ(first.attributions[0].values, again.attributions[0].values);
  EXPECT_EQ(first.approximation_error, again.approximation_error);
  EXPECT_NE(run(12).feature_attributions, first.feature_attributions);
  // And the default seed is fixed: two default-constructed methods agree.
  StatusOr<std::vector<Attribution>> a = SampledShapley().Attribute(model, inputs);
  StatusOr<std::vector<Attribution>> b = SampledShapley().Attribute(model, inputs);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)[0].feature_attributions, (*b)[0].feature_attributions);
}

TEST(SampledShapleyTest, AnOutputsAttributionDoesNotDependOnTheOtherOutputsRequested) {
  InteractionModel both_model;
  InteractionModel one_model;
  StatusOr<std::vector<Attribution>> both =
      SampledShapley(Options(7)).Attribute(both_model, SingleInput(kX, {kB1}, {0, 1}));
  StatusOr<std::vector<Attribution>> one =
      SampledShapley(Options(7)).Attribute(one_model, SingleInput(kX, {kB1}, {1}));
  ASSERT_TRUE(both.ok() && one.ok());
  EXPECT_EQ((*both)[1].feature_attributions, (*one)[0].feature_attributions);
  EXPECT_NE((*both)[0].feature_attributions, (*both)[1].feature_attributions);
}

TEST(SampledShapleyBatchingTest, AllRowsGoThroughCeilRowsOverBatchForwardOnlyCalls) {
  const AttributionInputs inputs = TwoInputLinearInputs();  // 2 outputs x 2 baselines, F = 7.
  const int path_count = 4;
  const int64_t rows = 2 * 2 * (1 + path_count * 7);  // 116.
  std::vector<Attribution> reference;
  for (int batch_size : {1, 7, 64, 116, 1000}) {
    SCOPED_TRACE("batch_size " + std::to_string(batch_size));
    LinearModel model = TwoInputLinearModel();
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(Options(path_count, batch_size)).Attribute(model, inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(model.calls(), CeilDiv(rows, batch_size));
    EXPECT_EQ(model.gradient_calls(), 0);
    EXPECT_EQ(model.rows(), rows);
    const std::vector<int64_t>& sizes = model.batch_sizes();
    for (size_t run = 0; run + 1 < sizes.size(); ++run) EXPECT_EQ(sizes[run], batch_size);
    if (reference.empty()) {
      reference = *result;
      continue;
    }
    for (size_t k = 0; k < reference.size(); ++k) {
      EXPECT_EQ((*result)[k].feature_attributions, reference[k].feature_attributions);
      EXPECT_EQ((*result)[k].approximation_error, reference[k].approximation_error);
      EXPECT_EQ((*result)[k].instance_output, reference[k].instance_output);
    }
  }
}

TEST(SampledShapleyBatchingTest, NonLinearModelIsBatchIndependent) {
  std::vector<double> reference;
  for (int batch_size : {1, 3, 64}) {
    InteractionModel model;
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(Options(10, batch_size)).Attribute(model, SingleInput(kX, {kB0, kB1}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(model.rows(), 2 * (1 + 10 * 4));
    EXPECT_EQ(model.calls(), CeilDiv(82, batch_size));
    EXPECT_EQ(model.gradient_calls(), 0);
    if (reference.empty()) reference = (*result)[0].feature_attributions;
    EXPECT_EQ((*result)[0].feature_attributions, reference) << "batch_size " << batch_size;
  }
}

// --- several baselines and outputs ------------------------------------------------

TEST(SampledShapleyTest, SeveralBaselinesAverageTheirAttributions) {
  // The same permutations serve both baselines, so the average of two
  // single-baseline runs is exactly the two-baseline run.
  InteractionModel model;
  const SampledShapley method(Options(6));
  StatusOr<std::vector<Attribution>> both = method.Attribute(model, SingleInput(kX, {kB0, kB1}));
  StatusOr<std::vector<Attribution>> first = method.Attribute(model, SingleInput(kX, {kB0}));
  StatusOr<std::vector<Attribution>> second = method.Attribute(model, SingleInput(kX, {kB1}));
  ASSERT_TRUE(both.ok() && first.ok() && second.ok());
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR((*both)[0].feature_attributions[i],
                ((*first)[0].feature_attributions[i] + (*second)[0].feature_attributions[i]) / 2,
                1e-12);
  }
  EXPECT_NEAR((*both)[0].baseline_output,
              ((*first)[0].baseline_output + (*second)[0].baseline_output) / 2, 1e-12);
  // And with many paths, close to the average of the exact values.
  InteractionModel many_model;
  StatusOr<std::vector<Attribution>> many =
      SampledShapley(Options(50)).Attribute(many_model, SingleInput(kX, {kB0, kB1}));
  ASSERT_TRUE(many.ok());
  const std::vector<double> exact = ExactShapley(InteractionOutput(0), kX, {kB0, kB1});
  EXPECT_LE(Distance((*many)[0].feature_attributions, exact), 3 * StandardError((*many)[0]));
}

// --- grouping ---------------------------------------------------------------------

TEST(SampledShapleyGroupingTest, MergedElementsMoveTogetherAndShareTheGroupsValue) {
  // Groups {x0, x1} and {x2, x3}: for f_1 they do not interact, so the
  // 2-player game's Shapley values are exact for every permutation.
  AttributionInputs inputs = SingleInput(kX, {kB1}, {1, 0});
  inputs.feature_of_element = {{0, 0, 1, 1}};
  const std::vector<double> exact1 = ExactShapley(InteractionOutput(1), kX, {kB1}, {0, 0, 1, 1});
  EXPECT_NEAR(exact1[0], kX[0] * kX[1] - kB1[0] * kB1[1], 1e-12);
  for (int path_count : {1, 2, 9}) {
    SCOPED_TRACE("path_count " + std::to_string(path_count));
    InteractionModel model;
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(Options(path_count, 64, 5)).Attribute(model, inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const Attribution& f1 = (*result)[0];
    ASSERT_EQ(f1.feature_attributions.size(), 2u);
    for (int g = 0; g < 2; ++g) {
      EXPECT_NEAR(f1.feature_attributions[g], exact1[g], 1e-12);
      EXPECT_NEAR(f1.attributions[0].values[2 * g], exact1[g] / 2, 1e-12);
      EXPECT_NEAR(f1.attributions[0].values[2 * g + 1], exact1[g] / 2, 1e-12);
    }
    // f_0 couples the groups (x3^2 x0): the estimate is the mean over the
    // seeded orders of the 2 groups, moved as wholes.
    const Attribution& f0 = (*result)[1];
    const std::vector<double> expected0 = MeanContributions(
        InteractionOutput(0), kX, kB1, {0, 0, 1, 1}, SampleDistinctPermutations(2, path_count, 5));
    for (int g = 0; g < 2; ++g) {
      EXPECT_NEAR(f0.feature_attributions[g], expected0[g], 1e-12);
      EXPECT_NEAR(f0.attributions[0].values[2 * g], expected0[g] / 2, 1e-12);
    }
  }
  // Ungrouped, x0 and x1 get different values: grouping changed something.
  InteractionModel model;
  inputs.feature_of_element.clear();
  StatusOr<std::vector<Attribution>> ungrouped = SampledShapley().Attribute(model, inputs);
  ASSERT_TRUE(ungrouped.ok());
  EXPECT_GT(std::abs((*ungrouped)[0].attributions[0].values[0] -
                     (*ungrouped)[0].attributions[0].values[1]),
            0.1);
}

TEST(SampledShapleyGroupingTest, GroupsMaySpanInputsAndNeedNotBeInOrder) {
  // Feature 0 = {input 0 element 2, input 1 elements 0 and 3}; the rest
  // pairwise. A linear model makes every group's value sum_e w_e (x_e - b_e).
  LinearModel model = TwoInputLinearModel();
  AttributionInputs inputs = TwoInputLinearInputs();
  inputs.baselines.resize(1);
  inputs.output_elements = {1};
  inputs.feature_of_element = {{2, 1, 0}, {0, 2, 1, 0}};
  StatusOr<std::vector<Attribution>> result = SampledShapley(Options(3)).Attribute(model, inputs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Attribution& attribution = (*result)[0];
  std::vector<double> expected(3, 0.0);
  std::vector<int> sizes(3, 0);
  for (size_t i = 0; i < 2; ++i) {
    for (size_t e = 0; e < inputs.feature_of_element[i].size(); ++e) {
      const int feature = inputs.feature_of_element[i][e];
      expected[feature] += model.weights(1, i)[e] *
                           (inputs.instance[i].values[e] - inputs.baselines[0][i].values[e]);
      ++sizes[feature];
    }
  }
  ASSERT_EQ(attribution.feature_attributions.size(), 3u);
  for (int f = 0; f < 3; ++f) EXPECT_NEAR(attribution.feature_attributions[f], expected[f], 1e-12);
  for (size_t i = 0; i < 2; ++i) {
    for (size_t e = 0; e < inputs.feature_of_element[i].size(); ++e) {
      const int feature = inputs.feature_of_element[i][e];
      EXPECT_NEAR(attribution.attributions[i].values[e], expected[feature] / sizes[feature], 1e-12);
    }
  }
  EXPECT_EQ(model.rows(), 1 + 3 * 3);
}

// --- dtypes and edge cases -----------------------------------------------------------

TEST(SampledShapleyTest, IntegerInputsAreAcceptedAndGetFractionalFloat64Attributions) {
  LinearModel model({Shape{2}}, {{{0.5, -0.25}}}, {0});
  AttributionInputs inputs;
  inputs.instance = {Row({3, 1}, DType::kInt32)};
  inputs.baselines = {{Row({0, 0}, DType::kInt32)}};
  inputs.output_elements = {0};
  StatusOr<std::vector<Attribution>> result = SampledShapley().Attribute(model, inputs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Tensor& attribution = (*result)[0].attributions[0];
  EXPECT_EQ(attribution.dtype, DType::kFloat64);
  EXPECT_NEAR(attribution.values[0], 1.5, 1e-12);
  EXPECT_NEAR(attribution.values[1], -0.25, 1e-12);
}

TEST(SampledShapleyTest, AnInputWithoutElementsHasNoFeaturesAndOneRowPerBaseline) {
  LinearModel model({Shape{0}}, {{{}}}, {3});
  AttributionInputs inputs;
  inputs.instance = {Row({})};
  inputs.baselines = {{Row({})}, {Row({})}};
  inputs.output_elements = {0};
  StatusOr<std::vector<Attribution>> result = SampledShapley().Attribute(model, inputs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Attribution& attribution = (*result)[0];
  EXPECT_TRUE(attribution.feature_attributions.empty());
  EXPECT_EQ(attribution.instance_output, 3);
  EXPECT_EQ(attribution.baseline_output, 3);
  EXPECT_EQ(attribution.approximation_error, 0);
  EXPECT_EQ(model.rows(), 2);
}

// --- invalid options and inputs ------------------------------------------------------

TEST(SampledShapleyValidationTest, PathCountOutOfRangeIsRejectedNamingValueAndRange) {
  for (int path_count : {0, 51, -3}) {
    InteractionModel model;
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(Options(path_count)).Attribute(model, SingleInput(kX, {kB0}));
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                          {"path_count " + std::to_string(path_count), "[1, 50]"}));
    EXPECT_EQ(model.calls(), 0);
  }
  for (int path_count : {1, 50}) {
    InteractionModel model;
    EXPECT_TRUE(SampledShapley(Options(path_count)).Attribute(model, SingleInput(kX, {kB0})).ok());
  }
}

TEST(SampledShapleyValidationTest, BadBatchSizeAndMaxFeaturesAreRejected) {
  InteractionModel model;
  EXPECT_TRUE(FailsWith(
      SampledShapley(Options(5, -1)).Attribute(model, SingleInput(kX, {kB0})).status(),
      StatusCode::kInvalidArgument, {"batch_size -1", ">= 0"}));
  SampledShapleyOptions options;
  options.max_features = 0;
  EXPECT_TRUE(FailsWith(SampledShapley(options).Attribute(model, SingleInput(kX, {kB0})).status(),
                        StatusCode::kInvalidArgument, {"max_features 0", ">= 1"}));
  EXPECT_EQ(model.calls(), 0);
}

TEST(SampledShapleyValidationTest, TooManyFeaturesPointToOtherMethodsOrGrouping) {
  const int n = kDefaultSampledShapleyMaxFeatures + 1;
  LinearModel model({Shape{n}}, {{std::vector<double>(n, 1.0)}}, {0});
  AttributionInputs inputs =
      SingleInput(std::vector<double>(n, 1.0), {std::vector<double>(n, 0.0)});
  StatusOr<std::vector<Attribution>> result = SampledShapley().Attribute(model, inputs);
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                        {"1001 features", "more than the 1000 it takes", "Integrated Gradients", "XRAI",
                         "inputs that share a group_name", "inputs of their own, not elements of one"}));
  EXPECT_EQ(model.calls(), 0);
  // An integer input (a uint8 image): gradient methods need a cast first.
  AttributionInputs integer = inputs;
  integer.instance[0].dtype = DType::kUInt8;
  for (auto& baseline : integer.baselines) baseline[0].dtype = DType::kUInt8;
  result = SampledShapley().Attribute(model, integer);
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                        {"group_name", "the input is integer", "xai_preprocess", "xai_model"}));
  EXPECT_FALSE(testing::Contains(result.status().message(), "use Integrated Gradients or XRAI instead"));
  // Grouped into two features, the same input is fine.
  inputs.feature_of_element = {std::vector<int>(n, 0)};
  inputs.feature_of_element[0][0] = 1;
  result = SampledShapley(Options(2)).Attribute(model, inputs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_NEAR((*result)[0].feature_attributions[0], n - 1, 1e-9);
  EXPECT_NEAR((*result)[0].feature_attributions[1], 1, 1e-9);
}

TEST(SampledShapleyValidationTest, MalformedInputsAreRejected) {
  struct Case {
    std::string name;
    AttributionInputs inputs;
    std::vector<std::string> pieces;
  };
  std::vector<Case> cases;
  cases.push_back({"baseline shape", SingleInput(kX, {kB0, {0, 0, 0}}),
                   {"baseline 1, input 0", "expected shape [1,4]", "actual [1,3]"}});
  {
    AttributionInputs inputs = SingleInput(kX, {kB0});
    inputs.baselines[0][0].dtype = DType::kFloat64;
    cases.push_back({"baseline dtype", inputs, {"expected dtype float32", "actual float64"}});
  }
  {
    AttributionInputs inputs = SingleInput(kX, {kB0});
    inputs.instance[0] = Tensor(DType::kString, {1, 4});
    inputs.baselines[0][0] = Tensor(DType::kString, {1, 4});
    cases.push_back({"string", inputs, {"instance input 0 has dtype string", "numeric"}});
  }
  cases.push_back(
      {"nan", SingleInput({1, kNaN, 0, 0}, {kB0}), {"instance input 0 value 1 is nan"}});
  cases.push_back({"no baselines", SingleInput(kX, {}), {"0 baselines", "1 to 10"}});
  cases.push_back({"no outputs", SingleInput(kX, {kB0}, {}), {"no output elements"}});
  auto grouped = [](std::vector<std::vector<int>> feature_of) {
    AttributionInputs inputs = SingleInput(kX, {kB0});
    inputs.feature_of_element = std::move(feature_of);
    return inputs;
  };
  cases.push_back({"feature_of_element inputs", grouped({{0, 1, 2, 3}, {0}}),
                   {"feature_of_element has 2 entries", "expected 1"}});
  cases.push_back({"feature_of_element size", grouped({{0, 1, 2}}),
                   {"feature_of_element[0] has 3 entries", "expected 4", "[1,4]"}});
  cases.push_back({"negative feature", grouped({{0, -1, 1, 2}}),
                   {"feature_of_element[0][1] is -1", "[0, 4)"}});
  cases.push_back({"feature beyond elements", grouped({{0, 1, 2, 7}}),
                   {"feature_of_element[0][3] is 7", "[0, 4)"}});
  cases.push_back({"gap in features", grouped({{0, 2, 2, 3}}),
                   {"none is 1", "contiguous indices 0..3"}});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    InteractionModel model;
    StatusOr<std::vector<Attribution>> result = SampledShapley().Attribute(model, c.inputs);
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument, c.pieces));
    EXPECT_EQ(model.calls(), 0);
  }
}

TEST(SampledShapleyValidationTest, ModelErrorsArePassedOnAndNonFiniteOutputsRefused) {
  InteractionModel model;  // two output elements: 2 is out of range.
  StatusOr<std::vector<Attribution>> result =
      SampledShapley().Attribute(model, SingleInput(kX, {kB0}, {2}));
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                        {"output element 2 is out of range [0, 2)"}));
  InteractionModel inner;
  FaultyModel faulty(inner, FaultyModel::Fault::kNonFiniteOutput);
  result = SampledShapley().Attribute(faulty, SingleInput(kX, {kB0}));
  // Row 0 of the run is the baseline: named as such, not as a batch row.
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kFailedPrecondition, {"is nan at the baseline"}));
}

TEST(SampledShapleyValidationTest, ANonFiniteOutputNamesTheCoalitionItCameFrom) {
  // One row per run: the faulty first output of each run is row 1, 2, ...
  // with one row each; with batch size 1 the second run is the first
  // coalition of permutation 1 (one feature switched).
  InteractionModel inner;
  FaultyModel faulty(inner, FaultyModel::Fault::kNonFiniteOutput);
  SampledShapleyOptions options = Options(10, 1);
  int runs = 0;
  struct SkipFirst : ModelFunction {
    SkipFirst(ModelFunction& plain, ModelFunction& faulty, int* runs) : plain(plain), faulty(faulty), runs(runs) {}
    StatusOr<ModelBatchResult> Evaluate(ModelBatch& batch, bool with_gradients) override {
      return (*runs)++ == 0 ? plain.Evaluate(batch, with_gradients) : faulty.Evaluate(batch, with_gradients);
    }
    ModelFunction& plain;
    ModelFunction& faulty;
    int* runs;
  };
  InteractionModel plain;
  SkipFirst model(plain, faulty, &runs);
  StatusOr<std::vector<Attribution>> result = SampledShapley(options).Attribute(model, SingleInput(kX, {kB0}));
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kFailedPrecondition,
                        {"is nan at the baseline with 1 of the", "features switched to the instance's values",
                         "permutation 1"}));
}

TEST(SampledShapleyTest, TwoPathsAreTwoOrdersAndTheirErrorIsNotZero) {
  // 4 features, 2 paths (sampled: 16 coalitions > 9 rows). With repeats,
  // the default seed drew one order twice: approximation_error 0 for an
  // estimate off by half the output change, and --target-error stopped there.
  // (Two distinct orders can still agree on every feature's contribution:
  // a standard error from two paths is a rough one.)
  InteractionModel model;
  StatusOr<std::vector<Attribution>> result = SampledShapley(Options(2)).Attribute(model, SingleInput(kX, {kB0}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_GT((*result)[0].approximation_error, 0);
}

// --- exact values where every coalition is cheaper than sampling --------------------

TEST(SampledShapleyExactTest, FewFeaturesGetTheExactValuesFromEveryCoalition) {
  // F = 4, 10 paths: 2^4 = 16 rows per baseline and output instead of 41.
  const AttributionInputs inputs = SingleInput(kX, {kB0, kB1}, {0, 1});
  InteractionModel model;
  SampledShapleyOptions options;
  options.batch_size = 5;  // coalitions split across runs
  StatusOr<std::vector<Attribution>> result = SampledShapley(options).Attribute(model, inputs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(model.rows(), 2 * 2 * 16);
  EXPECT_EQ(model.gradient_calls(), 0);
  ASSERT_EQ(result->size(), 2u);
  for (int64_t k : {0, 1}) {
    SCOPED_TRACE("output " + std::to_string(k));
    const Attribution& attribution = (*result)[k];
    const std::vector<double> exact = ExactShapley(InteractionOutput(k), kX, {kB0, kB1});
    EXPECT_EQ(attribution.output_element, k);
    ASSERT_EQ(attribution.feature_attributions.size(), 4u);
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(attribution.feature_attributions[i], exact[i], 1e-12) << "feature " << i;
      EXPECT_EQ(attribution.attributions[0].values[i], attribution.feature_attributions[i]);
    }
    EXPECT_EQ(attribution.approximation_error, 0);
    EXPECT_EQ(attribution.steps, 10);
    const double fb = (InteractionModel::F(k, kB0.data()) + InteractionModel::F(k, kB1.data())) / 2;
    EXPECT_NEAR(attribution.instance_output, InteractionModel::F(k, kX.data()), 1e-12);
    EXPECT_NEAR(attribution.baseline_output, fb, 1e-12);
  }
  // The sampler on the same request is off the exact values: the exact path was taken.
  InteractionModel sampled_model;
  StatusOr<std::vector<Attribution>> sampled = SampledShapley(Options(10)).Attribute(sampled_model, inputs);
  ASSERT_TRUE(sampled.ok());
  EXPECT_GT(Distance((*sampled)[0].feature_attributions, (*result)[0].feature_attributions), 1e-3);
}

TEST(SampledShapleyExactTest, SamplesWhenTheCoalitionsWouldCostMoreRows) {
  // F = 4: 16 coalitions against 1 + 4P rows; exact from P = 4 on.
  for (int path_count : {1, 3, 4, 50}) {
    SCOPED_TRACE("path_count " + std::to_string(path_count));
    InteractionModel model;
    SampledShapleyOptions options;
    options.path_count = path_count;
    StatusOr<std::vector<Attribution>> result = SampledShapley(options).Attribute(model, SingleInput(kX, {kB0}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const bool exact = path_count >= 4;
    EXPECT_EQ(model.rows(), exact ? 16 : 1 + 4 * path_count);
    EXPECT_EQ((*result)[0].approximation_error == 0, exact);
  }
  // Eight features: 256 coalitions, exact at 50 paths (401 rows) but not at 31 (249).
  const std::vector<double> x8 = {1, 2, 3, 4, 5, 6, 7, 8};
  for (int path_count : {31, 32, 50}) {
    SCOPED_TRACE("8 features, path_count " + std::to_string(path_count));
    LinearModel model({Shape{8}}, {{x8}}, {0});
    SampledShapleyOptions options;
    options.path_count = path_count;
    StatusOr<std::vector<Attribution>> result =
        SampledShapley(options).Attribute(model, SingleInput(x8, {std::vector<double>(8, 0.0)}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(model.rows(), path_count >= 32 ? 256 : 1 + 8 * path_count);
    for (int i = 0; i < 8; ++i) EXPECT_NEAR((*result)[0].feature_attributions[i], x8[i] * x8[i], 1e-9);
  }
}

TEST(SampledShapleyExactTest, GroupsAreThePlayers) {
  // Groups {x0, x1} and {x2, x3}: a 2-player game, exact from 2 paths on
  // (4 coalitions against 1 + 2 * 2 rows).
  AttributionInputs inputs = SingleInput(kX, {kB1}, {0});
  inputs.feature_of_element = {{0, 0, 1, 1}};
  const std::vector<double> exact = ExactShapley(InteractionOutput(0), kX, {kB1}, {0, 0, 1, 1});
  InteractionModel model;
  SampledShapleyOptions options;
  options.path_count = 2;
  StatusOr<std::vector<Attribution>> result = SampledShapley(options).Attribute(model, inputs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(model.rows(), 4);
  const Attribution& attribution = (*result)[0];
  ASSERT_EQ(attribution.feature_attributions.size(), 2u);
  for (int g = 0; g < 2; ++g) {
    EXPECT_NEAR(attribution.feature_attributions[g], exact[g], 1e-12);
    EXPECT_NEAR(attribution.attributions[0].values[2 * g], exact[g] / 2, 1e-12);
    EXPECT_NEAR(attribution.attributions[0].values[2 * g + 1], exact[g] / 2, 1e-12);
  }
}

TEST(SampledShapleyExactTest, ANonFiniteOutputNamesTheCoalitionsFeatures) {
  // The second run's first row is coalition `batch_size`: 3 is features 0
  // and 1, 2 is feature 1 alone. Indices, not a count ("features 0 of the 4"
  // read as none of them).
  const std::pair<int, const char*> cases[] = {
      {3, "is nan at the baseline with features 0, 1 (of 4) switched to the instance's values"},
      {2, "is nan at the baseline with feature 1 (of 4) switched to the instance's value"},
  };
  for (const auto& [batch_size, expected] : cases) {
    InteractionModel inner;
    FaultyModel faulty(inner, FaultyModel::Fault::kNonFiniteOutput);
    SampledShapleyOptions options;
    options.batch_size = batch_size;
    struct SkipFirst : ModelFunction {
      SkipFirst(ModelFunction& plain, ModelFunction& faulty) : plain(plain), faulty(faulty) {}
      StatusOr<ModelBatchResult> Evaluate(ModelBatch& batch, bool with_gradients) override {
        return runs++ == 0 ? plain.Evaluate(batch, with_gradients) : faulty.Evaluate(batch, with_gradients);
      }
      ModelFunction& plain;
      ModelFunction& faulty;
      int runs = 0;
    };
    InteractionModel plain;
    SkipFirst model(plain, faulty);
    StatusOr<std::vector<Attribution>> result = SampledShapley(options).Attribute(model, SingleInput(kX, {kB0}));
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kFailedPrecondition, {expected})) << batch_size;
  }
}

// --- ResolveFeatures on its own --------------------------------------------------------

TEST(ResolveFeaturesTest, DefaultsToOneFeaturePerElementInInputThenRowOrder) {
  AttributionInputs inputs = TwoInputLinearInputs();
  StatusOr<FeatureSet> features = ResolveFeatures(inputs);
  ASSERT_TRUE(features.ok()) << features.status().ToString();
  ASSERT_EQ(features->num_features(), 7);
  for (int64_t f = 0; f < 7; ++f) {
    ASSERT_EQ(features->num_elements(f), 1);
    const ElementIndex& element = features->elements[features->offsets[f]];
    EXPECT_EQ(element.input, f < 3 ? 0 : 1);
    EXPECT_EQ(element.element, f < 3 ? f : f - 3);
  }
}

}  // namespace
}  // namespace xai
