#include "attribution/integrated_gradients.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "attribution/batched_evaluator.h"
#include "attribution/gaussian_blur.h"
#include "attribution/path_integration.h"
#include "testing/fake_models.h"
#include "testing/status_matchers.h"
#include "testing/test_inputs.h"

namespace xai {
namespace {

using testing::CeilDiv;
using testing::FailsWith;
using testing::FaultyModel;
using testing::LinearModel;
using testing::QuadraticModel;
using testing::Row;
using testing::RowShaped;
using testing::SinProductModel;
using testing::SingleInput;
using testing::Sum;
using testing::TwoInputLinearInputs;
using testing::TwoInputLinearModel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

constexpr PathRule kRules[] = {PathRule::kTrapezoid, PathRule::kRiemannLeft,
                               PathRule::kRiemannRight, PathRule::kRiemannMiddle};

IntegratedGradientsOptions Options(int steps, PathRule rule = PathRule::kTrapezoid,
                                   int batch_size = 64) {
  IntegratedGradientsOptions options;
  options.steps = steps;
  options.rule = rule;
  options.batch_size = batch_size;
  return options;
}

// --- exactness -----------------------------------------------------------------

TEST(IntegratedGradientsTest, LinearModelGivesDeltaTimesWeightsForEveryRule) {
  for (PathRule rule : kRules) {
    SCOPED_TRACE(PathRuleName(rule));
    LinearModel model = TwoInputLinearModel();
    AttributionInputs inputs = TwoInputLinearInputs();
    inputs.baselines.resize(1);
    inputs.output_elements = {1};
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(Options(9, rule)).Attribute(model, inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->size(), 1u);
    const Attribution& attribution = (*result)[0];
    EXPECT_EQ(attribution.output_element, 1);
    EXPECT_EQ(attribution.steps, 9);
    ASSERT_EQ(attribution.attributions.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const Tensor& tensor = attribution.attributions[i];
      EXPECT_EQ(tensor.shape, inputs.instance[i].shape);
      EXPECT_EQ(tensor.dtype, DType::kFloat32);
      for (size_t e = 0; e < tensor.values.size(); ++e) {
        const double expected = (inputs.instance[i].values[e] - inputs.baselines[0][i].values[e]) *
                                model.weights(1, i)[e];
        EXPECT_NEAR(tensor.values[e], expected, 1e-12) << "input " << i << " element " << e;
      }
    }
    // f(x) = 0.25*1.5 + 4*-0.5 - 3*2 - 0.5*0.25 + 1.5*-1 + 2*3 - 1; f(0) = -1.
    EXPECT_DOUBLE_EQ(attribution.instance_output, -4.25);
    EXPECT_DOUBLE_EQ(attribution.baseline_output, -1.0);
    EXPECT_LT(attribution.approximation_error, 1e-12);
  }
}

TEST(IntegratedGradientsTest, AZeroAttributionIsPositiveZero) {
  // Weight 0 on elements whose x - baseline is negative: the product is -0,
  // which JSON writes as -0.0 for an attribution that is exactly 0.
  LinearModel model({Shape{3}}, {{{0.0, 2.0, 0.0}}}, {0.0});
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients(Options(4)).Attribute(model, SingleInput({-1.0, -1.0, 1.0}, {{0.0, 0.0, 0.0}}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const std::vector<double>& values = (*result)[0].attributions[0].values;
  EXPECT_DOUBLE_EQ(values[1], -2.0);
  for (size_t e : {size_t{0}, size_t{2}}) {
    EXPECT_EQ(values[e], 0.0) << e;
    EXPECT_FALSE(std::signbit(values[e])) << "element " << e << " is -0";
  }
}

TEST(IntegratedGradientsTest, QuadraticIsExactWithTrapezoidAndMiddleRules) {
  QuadraticModel model({2, -1, 0.5}, {1, 3, -2});
  const std::vector<double> x = {1.5, -2, 3};
  const std::vector<double> b = {-0.5, 1, 0};
  const std::vector<double> exact = model.ExactAttribution(x, b);
  for (PathRule rule : {PathRule::kTrapezoid, PathRule::kRiemannMiddle}) {
    SCOPED_TRACE(PathRuleName(rule));
    // Even one step: the gradient is linear along the path.
    for (int steps : {1, 3, 50}) {
      StatusOr<std::vector<Attribution>> result =
          IntegratedGradients(Options(steps, rule)).Attribute(model, SingleInput(x, {b}));
      ASSERT_TRUE(result.ok()) << result.status().ToString();
      const Attribution& attribution = (*result)[0];
      for (size_t e = 0; e < x.size(); ++e) {
        EXPECT_NEAR(attribution.attributions[0].values[e], exact[e], 1e-12) << "steps " << steps;
      }
      EXPECT_LT(attribution.approximation_error, 1e-12) << "steps " << steps;
    }
  }
}

TEST(IntegratedGradientsTest, QuadraticWithRiemannLeftIsOffByADeltaSquaredOverStepsAndConverges) {
  QuadraticModel model({2, -1, 0.5}, {1, 3, -2});
  const std::vector<double> x = {1.5, -2, 3};
  const std::vector<double> b = {-0.5, 1, 0};
  const std::vector<double> exact = model.ExactAttribution(x, b);
  double previous_error = kInfinity;
  for (int steps : {5, 10, 20, 40, 80}) {
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(Options(steps, PathRule::kRiemannLeft))
            .Attribute(model, SingleInput(x, {b}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const Attribution& attribution = (*result)[0];
    for (size_t e = 0; e < x.size(); ++e) {
      const double delta = x[e] - b[e];
      const double expected = exact[e] - model.a(e) * delta * delta / steps;
      EXPECT_NEAR(attribution.attributions[0].values[e], expected, 1e-12)
          << "steps " << steps << " element " << e;
    }
    // Not exact, and doubling the steps halves the error.
    EXPECT_GT(attribution.approximation_error, 1e-3) << "steps " << steps;
    if (steps > 5) {
      EXPECT_NEAR(attribution.approximation_error, previous_error / 2, 1e-9) << "steps " << steps;
    }
    previous_error = attribution.approximation_error;
  }
}

TEST(IntegratedGradientsTest, NonLinearModelConvergesToTheExactIntegral) {
  SinProductModel model;
  const std::vector<double> x = {2.0, 1.5};
  const std::vector<double> b = {-0.5, 0.25};
  const std::vector<double> exact = SinProductModel::ExactAttribution(x, b);
  ASSERT_NEAR(exact[0] + exact[1],
              SinProductModel::F(2.0, 1.5) - SinProductModel::F(-0.5, 0.25), 1e-12);
  for (PathRule rule : kRules) {
    SCOPED_TRACE(PathRuleName(rule));
    double previous_gap = kInfinity;
    double previous_error = kInfinity;
    for (int steps : {4, 16, 64}) {
      StatusOr<std::vector<Attribution>> result =
          IntegratedGradients(Options(steps, rule)).Attribute(model, SingleInput(x, {b}));
      ASSERT_TRUE(result.ok()) << result.status().ToString();
      const Attribution& attribution = (*result)[0];
      double gap = 0;
      for (size_t e = 0; e < 2; ++e) {
        gap = std::max(gap, std::abs(attribution.attributions[0].values[e] - exact[e]));
      }
      EXPECT_LT(gap, previous_gap / 3) << "steps " << steps;
      EXPECT_LT(attribution.approximation_error, previous_error) << "steps " << steps;
      previous_gap = gap;
      previous_error = attribution.approximation_error;
    }
    // Second-order rules are tight at 64 steps; first-order ones are within 2%.
    const bool second_order = rule == PathRule::kTrapezoid || rule == PathRule::kRiemannMiddle;
    EXPECT_LT(previous_error, second_order ? 1e-3 : 2e-2);
  }
}

TEST(IntegratedGradientsTest, DefaultTrapezoidCompletenessErrorIsTinyForASmoothModel) {
  SinProductModel model;
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients().Attribute(model, SingleInput({1.0, 2.0}, {{0, 0}}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Attribution& attribution = (*result)[0];
  EXPECT_EQ(attribution.steps, 50);
  EXPECT_DOUBLE_EQ(attribution.instance_output, SinProductModel::F(1.0, 2.0));
  EXPECT_EQ(attribution.baseline_output, 0.0);
  EXPECT_LT(attribution.approximation_error, 1e-4);
  EXPECT_GT(attribution.approximation_error, 0.0);  // not exact: sin is not polynomial.
  const double expected_error =
      std::abs(Sum(attribution) - attribution.instance_output) / attribution.instance_output;
  EXPECT_NEAR(attribution.approximation_error, expected_error, 1e-15);
}

TEST(IntegratedGradientsTest, EndpointOutputsAreThoseOfTheInstanceAndBaselineForEveryRule) {
  SinProductModel model;
  const std::vector<double> x = {0.7, -1.3};
  const std::vector<double> b = {0.1, 0.2};
  for (PathRule rule : kRules) {
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(Options(7, rule)).Attribute(model, SingleInput(x, {b}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ((*result)[0].instance_output, SinProductModel::F(x[0], x[1])) << PathRuleName(rule);
    EXPECT_EQ((*result)[0].baseline_output, SinProductModel::F(b[0], b[1])) << PathRuleName(rule);
  }
}

TEST(IntegratedGradientsTest, BaselineEqualToInstanceGivesZeroAttributionsAndZeroError) {
  SinProductModel model;
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients().Attribute(model, SingleInput({1.0, 2.0}, {{1.0, 2.0}}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  for (double value : (*result)[0].attributions[0].values) EXPECT_EQ(value, 0.0);
  EXPECT_EQ((*result)[0].approximation_error, 0.0);
}

TEST(IntegratedGradientsTest, BaselineEqualToInstanceHasNoGapWhenOutputsVaryWithTheRow) {
  // f(b) and f(x) come from two rows of one batch (0 and 50 with the
  // trapezoid rule), whose outputs differ
  // in the last float32 bits: the exact zero attributions are complete
  // (approximationError 0, not the 6% that said to raise --steps), and
  // instance_output is still the model's output at the path's end.
  SinProductModel inner;
  FaultyModel model(inner, FaultyModel::Fault::kRowDependentOutput);
  const std::vector<double> x = {1.0, 2.0};
  for (PathRule rule : kRules) {
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(Options(50, rule)).Attribute(model, SingleInput(x, {x}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const Attribution& attribution = (*result)[0];
    for (double value : attribution.attributions[0].values) EXPECT_EQ(value, 0.0);
    EXPECT_EQ(attribution.approximation_error, 0.0) << PathRuleName(rule);
    EXPECT_NE(attribution.instance_output, attribution.baseline_output) << PathRuleName(rule);
  }
}

// --- several baselines and output elements ------------------------------------

TEST(IntegratedGradientsTest, SeveralBaselinesAreAveraged) {
  QuadraticModel model({1, -2}, {0.5, 1});
  const std::vector<double> x = {2, 1};
  const std::vector<std::vector<double>> baselines = {{0, 0}, {1, -1}, {-2, 3}};
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients(Options(10)).Attribute(model, SingleInput(x, baselines));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Attribution& attribution = (*result)[0];
  auto f = [](const std::vector<double>& v) {
    return v[0] * v[0] + 0.5 * v[0] - 2 * v[1] * v[1] + v[1];
  };
  double mean_baseline_output = 0;
  std::vector<double> mean_attribution(2, 0.0);
  for (const std::vector<double>& b : baselines) {
    mean_baseline_output += f(b) / 3;
    const std::vector<double> exact = model.ExactAttribution(x, b);
    for (size_t e = 0; e < 2; ++e) mean_attribution[e] += exact[e] / 3;
  }
  EXPECT_DOUBLE_EQ(attribution.instance_output, f(x));
  EXPECT_NEAR(attribution.baseline_output, mean_baseline_output, 1e-12);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_NEAR(attribution.attributions[0].values[e], mean_attribution[e], 1e-12);
  }
  EXPECT_LT(attribution.approximation_error, 1e-12);
  EXPECT_EQ(model.calls(), 1);
  EXPECT_EQ(model.rows(), 3 * 11);
}

TEST(IntegratedGradientsTest, SeveralOutputElementsInRequestOrderFromOnePass) {
  LinearModel model = TwoInputLinearModel();
  const AttributionInputs inputs = TwoInputLinearInputs();  // outputs {2, 0}, 2 baselines.
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients(Options(5)).Attribute(model, inputs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ(model.calls(), 1);
  EXPECT_EQ(model.rows(), 2 * 2 * 6);
  for (size_t k = 0; k < 2; ++k) {
    const Attribution& attribution = (*result)[k];
    const int64_t element = inputs.output_elements[k];
    EXPECT_EQ(attribution.output_element, element);
    for (size_t i = 0; i < 2; ++i) {
      for (size_t e = 0; e < inputs.instance[i].values.size(); ++e) {
        const double mean_baseline =
            (inputs.baselines[0][i].values[e] + inputs.baselines[1][i].values[e]) / 2;
        const double expected =
            (inputs.instance[i].values[e] - mean_baseline) * model.weights(element, i)[e];
        EXPECT_NEAR(attribution.attributions[i].values[e], expected, 1e-12)
            << "output " << element << " input " << i << " element " << e;
      }
    }
    EXPECT_LT(attribution.approximation_error, 1e-12);
  }
  // Different outputs really are different: output 2 and output 0 differ.
  EXPECT_NE((*result)[0].instance_output, (*result)[1].instance_output);
}

// What IntegratePaths hands over, in the order it does.
StatusOr<std::vector<BaselinePathIntegral>> CollectIntegrals(
    ModelFunction& model, const AttributionInputs& inputs,
    const IntegratedGradientsOptions& options) {
  std::vector<BaselinePathIntegral> integrals;
  XAI_RETURN_IF_ERROR(IntegratePaths(model, inputs, options, [&](BaselinePathIntegral&& integral) {
    integrals.push_back(std::move(integral));
  }));
  return integrals;
}

// Passes if `integrals` holds one integral per (output, baseline) of `inputs`,
// ordered by output index then baseline index.
::testing::AssertionResult InOutputThenBaselineOrder(
    const std::vector<BaselinePathIntegral>& integrals, const AttributionInputs& inputs) {
  const size_t num_baselines = inputs.baselines.size();
  if (integrals.size() != inputs.output_elements.size() * num_baselines) {
    return ::testing::AssertionFailure() << "got " << integrals.size() << " integrals";
  }
  for (size_t n = 0; n < integrals.size(); ++n) {
    if (integrals[n].output_index != static_cast<int64_t>(n / num_baselines) ||
        integrals[n].baseline_index != static_cast<int>(n % num_baselines)) {
      return ::testing::AssertionFailure()
             << "integral " << n << " is for output " << integrals[n].output_index
             << " and baseline " << integrals[n].baseline_index;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(IntegratePathsTest, HandsOverOneIntegralPerOutputAndBaselineInOrder) {
  LinearModel model = TwoInputLinearModel();
  const AttributionInputs inputs = TwoInputLinearInputs();
  StatusOr<std::vector<BaselinePathIntegral>> integrals =
      CollectIntegrals(model, inputs, Options(3, PathRule::kRiemannMiddle));
  ASSERT_TRUE(integrals.ok()) << integrals.status().ToString();
  ASSERT_EQ(integrals->size(), 4u);
  ASSERT_TRUE(InOutputThenBaselineOrder(*integrals, inputs));
  for (const BaselinePathIntegral& integral : *integrals) {
    const int64_t element = inputs.output_elements[integral.output_index];
    const std::vector<Tensor>& b = inputs.baselines[integral.baseline_index];
    double sum = 0;
    for (size_t i = 0; i < 2; ++i) {
      for (size_t e = 0; e < b[i].values.size(); ++e) {
        const double expected =
            (inputs.instance[i].values[e] - b[i].values[e]) * model.weights(element, i)[e];
        EXPECT_NEAR(integral.attributions[i].values[e], expected, 1e-12);
        sum += integral.attributions[i].values[e];
      }
    }
    EXPECT_NEAR(sum, integral.instance_output - integral.baseline_output, 1e-12);
  }
  // riemann_middle has neither end: 3 points + 2 endpoint rows per path.
  EXPECT_EQ(model.rows(), 4 * 5);
  EXPECT_EQ(model.calls(), 1);
}

// --- batching ------------------------------------------------------------------

TEST(IntegratedGradientsBatchingTest, DefaultOptionsCallTheModelOnceFor51Rows) {
  SinProductModel model;
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients().Attribute(model, SingleInput({1.0, 2.0}, {{0, 0}}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(model.calls(), 1);
  EXPECT_EQ(model.gradient_calls(), 1);
  EXPECT_EQ(model.rows(), 51);
}

TEST(IntegratedGradientsBatchingTest, BatchSizesGiveIdenticalResultsInCeilRowsOverBatchCalls) {
  const AttributionInputs inputs = TwoInputLinearInputs();  // 2 outputs x 2 baselines.
  const int steps = 10;
  const int64_t rows = 2 * 2 * (steps + 1);  // 44.
  std::vector<Attribution> reference;
  for (int batch_size : {1, 7, 64, 1000}) {
    SCOPED_TRACE("batch_size " + std::to_string(batch_size));
    LinearModel model = TwoInputLinearModel();
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(Options(steps, PathRule::kTrapezoid, batch_size))
            .Attribute(model, inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(model.calls(), CeilDiv(rows, batch_size));
    EXPECT_EQ(model.rows(), rows);
    // Full runs, then the remainder.
    const std::vector<int64_t>& sizes = model.batch_sizes();
    for (size_t run = 0; run + 1 < sizes.size(); ++run) EXPECT_EQ(sizes[run], batch_size);
    EXPECT_EQ(sizes.back(), rows - batch_size * static_cast<int64_t>(sizes.size() - 1));
    if (reference.empty()) {
      reference = *result;
      continue;
    }
    ASSERT_EQ(result->size(), reference.size());
    for (size_t k = 0; k < reference.size(); ++k) {
      EXPECT_EQ((*result)[k].instance_output, reference[k].instance_output);
      EXPECT_EQ((*result)[k].baseline_output, reference[k].baseline_output);
      EXPECT_EQ((*result)[k].approximation_error, reference[k].approximation_error);
      for (size_t i = 0; i < reference[k].attributions.size(); ++i) {
        EXPECT_EQ((*result)[k].attributions[i].values, reference[k].attributions[i].values);
      }
    }
  }
}

TEST(IntegratedGradientsBatchingTest, NonLinearModelIsBatchIndependentToo) {
  std::vector<double> reference;
  for (int batch_size : {1, 7, 64, 1000}) {
    SinProductModel model;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(Options(60, PathRule::kRiemannRight, batch_size))
            .Attribute(model, SingleInput({1.0, 2.0}, {{0, 0}, {0.5, -1}}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const int64_t rows = 2 * 61;  // 60 points + the alpha = 0 row, per baseline.
    EXPECT_EQ(model.calls(), CeilDiv(rows, batch_size)) << "batch_size " << batch_size;
    if (reference.empty()) reference = (*result)[0].attributions[0].values;
    EXPECT_EQ((*result)[0].attributions[0].values, reference) << "batch_size " << batch_size;
  }
}

// --- invalid options and inputs ------------------------------------------------

TEST(IntegratedGradientsValidationTest, StepsOutOfRangeAreRejectedNamingValueAndRange) {
  for (int steps : {0, 101, -5}) {
    SinProductModel model;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(Options(steps)).Attribute(model, SingleInput({1, 2}, {{0, 0}}));
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                          {"steps " + std::to_string(steps), "[1, 100]"}));
    EXPECT_EQ(model.calls(), 0);
  }
  for (int steps : {1, 100}) {
    SinProductModel model;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(Options(steps)).Attribute(model, SingleInput({1, 2}, {{0, 0}}));
    EXPECT_TRUE(result.ok()) << "steps " << steps << ": " << result.status().ToString();
  }
}

TEST(IntegratedGradientsValidationTest, NegativeBatchSizeIsRejected) {
  SinProductModel model;
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients(Options(10, PathRule::kTrapezoid, -1))
          .Attribute(model, SingleInput({1, 2}, {{0, 0}}));
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument, {"batch_size -1", ">= 0"}));
  EXPECT_EQ(model.calls(), 0);
}

TEST(IntegratedGradientsValidationTest, BaselineShapedUnlikeTheInstanceIsRejected) {
  SinProductModel model;
  AttributionInputs inputs = SingleInput({1, 2}, {{0, 0}, {0, 0, 0}});
  StatusOr<std::vector<Attribution>> result = IntegratedGradients().Attribute(model, inputs);
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                        {"baseline 1, input 0", "expected shape [1,2]", "actual [1,3]"}));
  EXPECT_EQ(model.calls(), 0);
}

TEST(IntegratedGradientsValidationTest, BaselineCountOutsideOneToTenIsRejected) {
  SinProductModel model;
  std::vector<std::vector<double>> eleven(11, std::vector<double>{0, 0});
  const IntegratedGradients method;
  EXPECT_TRUE(FailsWith(method.Attribute(model, SingleInput({1, 2}, eleven)).status(),
                        StatusCode::kInvalidArgument, {"11 baselines", "1 to 10"}));
  EXPECT_TRUE(FailsWith(method.Attribute(model, SingleInput({1, 2}, {})).status(),
                        StatusCode::kInvalidArgument, {"0 baselines", "1 to 10"}));
  std::vector<std::vector<double>> ten(10, std::vector<double>{0, 0});
  EXPECT_TRUE(method.Attribute(model, SingleInput({1, 2}, ten)).ok());
  EXPECT_EQ(model.calls(), 1);  // 510 rows of 2 values: one run (AutoBatchSize)
}

TEST(IntegratedGradientsValidationTest, MalformedInstancesAndBaselinesAreRejected) {
  struct Case {
    std::string name;
    AttributionInputs inputs;
    std::vector<std::string> pieces;
  };
  std::vector<Case> cases;
  {
    AttributionInputs inputs = SingleInput({1, 2}, {{0, 0}});
    inputs.instance.clear();
    inputs.baselines[0].clear();
    cases.push_back({"no inputs", inputs, {"instance has no inputs"}});
  }
  {
    AttributionInputs inputs = SingleInput({1, 2}, {{0, 0}});
    inputs.instance[0].dtype = DType::kInt32;
    inputs.baselines[0][0].dtype = DType::kInt32;
    cases.push_back({"integer dtype", inputs, {"instance input 0", "int32", "floating-point"}});
  }
  {
    AttributionInputs inputs = SingleInput({1, 2}, {{0, 0}});
    inputs.baselines[0][0].dtype = DType::kFloat64;
    cases.push_back({"baseline dtype", inputs,
                     {"baseline 0, input 0", "expected dtype float32", "actual float64"}});
  }
  {
    AttributionInputs inputs = SingleInput({1, 2}, {{0, 0}});
    inputs.instance[0].shape = {2};
    inputs.baselines[0][0].shape = {2};
    cases.push_back({"no batch dimension", inputs, {"instance input 0 has shape [2]", "[1,...]"}});
  }
  {
    AttributionInputs inputs = SingleInput({1, 2}, {{0, 0}});
    inputs.instance[0].values.push_back(3);
    cases.push_back(
        {"values unlike shape", inputs, {"instance input 0 holds 3 values", "expected 2"}});
  }
  {
    AttributionInputs inputs = SingleInput({1, kNaN}, {{0, 0}});
    cases.push_back({"nan instance", inputs, {"instance input 0 value 1 is nan"}});
  }
  {
    AttributionInputs inputs = SingleInput({1, 2}, {{0, kInfinity}});
    cases.push_back({"infinite baseline", inputs, {"baseline 0, input 0 value 1 is infinite"}});
  }
  {
    AttributionInputs inputs = SingleInput({1, 2}, {{0, 0}});
    inputs.baselines[0].push_back(Row({0}));
    cases.push_back(
        {"baseline with extra input", inputs, {"baseline 0 has 2 inputs", "expected 1"}});
  }
  cases.push_back(
      {"no output elements", SingleInput({1, 2}, {{0, 0}}, {}), {"no output elements"}});
  cases.push_back({"negative output element", SingleInput({1, 2}, {{0, 0}}, {0, -2}),
                   {"output element -2"}});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SinProductModel model;
    StatusOr<std::vector<Attribution>> result = IntegratedGradients().Attribute(model, c.inputs);
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument, c.pieces));
    EXPECT_EQ(model.calls(), 0);
  }
}

TEST(IntegratedGradientsValidationTest, ModelErrorsArePassedOnUnchanged) {
  SinProductModel model;  // one output element: 3 is out of range.
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients().Attribute(model, SingleInput({1, 2}, {{0, 0}}, {3}));
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                        {"output element 3 is out of range [0, 1)"}));
}

// --- what the model returns ------------------------------------------------------

TEST(IntegratedGradientsModelCheckTest, WrongGradientShapeNamesExpectedAndActual) {
  LinearModel linear = TwoInputLinearModel();
  FaultyModel model(linear, FaultyModel::Fault::kWrongGradientShape);
  AttributionInputs inputs = TwoInputLinearInputs();
  inputs.baselines.resize(1);
  inputs.output_elements = {0};
  StatusOr<std::vector<Attribution>> result = IntegratedGradients().Attribute(model, inputs);
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInternal,
                        {"gradient of input 0", "expected shape [51,3]", "actual [51,4]"}));
}

TEST(IntegratedGradientsModelCheckTest, MalformedResultsAreReported) {
  struct Case {
    FaultyModel::Fault fault;
    StatusCode code;
    std::vector<std::string> pieces;
  };
  const Case cases[] = {
      {FaultyModel::Fault::kMissingGradient, StatusCode::kInternal,
       {"1 gradient tensors", "expected 2"}},
      {FaultyModel::Fault::kWrongOutputCount, StatusCode::kInternal,
       {"20 outputs", "batch of 21 rows"}},
      {FaultyModel::Fault::kNonFiniteOutput, StatusCode::kFailedPrecondition,
       {"is nan at the baseline (the path's start, alpha = 0)", "the log of a negative number"}},
      {FaultyModel::Fault::kNonFiniteGradient, StatusCode::kFailedPrecondition,
       {"gradient of input 0 is inf at the baseline (the path's start, alpha = 0), for output element 0;"}},
      {FaultyModel::Fault::kNaNLastGradient, StatusCode::kFailedPrecondition,
       {"gradient of input 1 is nan at the instance (the path's end, alpha = 1"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.fault));
    LinearModel linear = TwoInputLinearModel();
    FaultyModel model(linear, c.fault);
    AttributionInputs inputs = TwoInputLinearInputs();
    inputs.baselines.resize(1);
    inputs.output_elements = {0};
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(Options(20)).Attribute(model, inputs);
    EXPECT_TRUE(FailsWith(result.status(), c.code, c.pieces));
  }
}

// --- BatchedEvaluator on its own ---------------------------------------------------

TEST(BatchedEvaluatorTest, FillsAndConsumesEveryRowInOrderInCeilRowsOverBatchRuns) {
  QuadraticModel model({1, 1}, {0, 0});  // f = x0^2 + x1^2.
  BatchedEvaluatorOptions options;
  options.batch_size = 4;
  BatchedEvaluator evaluator(model, {{DType::kFloat32, {2}}}, options);
  std::vector<int64_t> consumed;
  Status status = evaluator.Run(
      10,
      [](int64_t row, RowBuffer& buffer) {
        buffer.inputs[0][0] = static_cast<double>(row);
        buffer.inputs[0][1] = 1.0;
      },
      [&](int64_t row, const RowResult& result) {
        consumed.push_back(row);
        EXPECT_EQ(result.output, row * row + 1.0);
        ASSERT_EQ(result.gradients.size(), 1u);
        EXPECT_EQ(result.gradients[0][0], 2.0 * row);
        EXPECT_EQ(result.gradients[0][1], 2.0);
      });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(consumed, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(evaluator.runs(), 3);
  EXPECT_EQ(evaluator.rows(), 10);
  EXPECT_EQ(model.batch_sizes(), (std::vector<int64_t>{4, 4, 2}));
}

TEST(BatchedEvaluatorTest, ForwardOnlyRunsRequestNoGradients) {
  SinProductModel model;
  BatchedEvaluatorOptions options;
  options.with_gradients = false;
  BatchedEvaluator evaluator(model, LayoutOf({Row({0, 0})}), options);
  int consumed = 0;
  Status status = evaluator.Run(
      3, [](int64_t, RowBuffer& buffer) { buffer.inputs[0][0] = buffer.inputs[0][1] = 1.0; },
      [&](int64_t, const RowResult& result) {
        EXPECT_TRUE(result.gradients.empty());
        EXPECT_DOUBLE_EQ(result.output, std::sin(1.0));
        ++consumed;
      });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(consumed, 3);
  EXPECT_EQ(model.calls(), 1);
  EXPECT_EQ(model.gradient_calls(), 0);
}

TEST(BatchedEvaluatorTest, ZeroRowsCallNothingAndBadSizesAreRejected) {
  SinProductModel model;
  auto fill = [](int64_t, RowBuffer&) { ADD_FAILURE() << "fill called"; };
  auto consume = [](int64_t, const RowResult&) { ADD_FAILURE() << "consume called"; };
  BatchedEvaluator evaluator(model, LayoutOf({Row({0, 0})}));
  EXPECT_TRUE(evaluator.Run(0, fill, consume).ok());
  EXPECT_TRUE(FailsWith(evaluator.Run(-1, fill, consume), StatusCode::kInvalidArgument, {"-1"}));
  BatchedEvaluatorOptions options;
  options.batch_size = -1;
  BatchedEvaluator negative_batch(model, LayoutOf({Row({0, 0})}), options);
  EXPECT_TRUE(FailsWith(negative_batch.Run(5, fill, consume), StatusCode::kInvalidArgument,
                        {"batch_size -1"}));
  EXPECT_EQ(model.calls(), 0);
  EXPECT_EQ(evaluator.runs(), 0);
}

TEST(BatchedEvaluatorTest, AutoBatchSizeFitsTheRowsInTheInputBudgetUpToTheRowCap) {
  EXPECT_EQ(AutoBatchSize({{DType::kFloat32, {30}}}), kMaxAutoBatchRows);  // tabular: capped
  EXPECT_EQ(AutoBatchSize({{DType::kFloat32, {224, 224, 3}}}), 64);      // MobileNetV2's input
  // Two inputs share the budget; a row above it still runs, alone.
  EXPECT_EQ(AutoBatchSize({{DType::kFloat32, {224, 224, 3}}, {DType::kFloat32, {224, 224, 3}}}), 32);
  EXPECT_EQ(AutoBatchSize({{DType::kFloat32, {2000, 2000, 3}}}), 1);
  EXPECT_EQ(AutoBatchSize({{DType::kFloat32, {}}}), kMaxAutoBatchRows);  // scalar rows
}

TEST(BatchedEvaluatorTest, DefaultBatchSizeRunsSmallRowsInAsFewRunsAsTheCapAllows) {
  QuadraticModel model({1, 1}, {0, 0});
  BatchedEvaluator evaluator(model, {{DType::kFloat32, {2}}});  // default options: kAutoBatchSize
  auto fill = [](int64_t row, RowBuffer& buffer) { buffer.inputs[0][0] = buffer.inputs[0][1] = 1.0; };
  auto consume = [](int64_t, const RowResult&) {};
  ASSERT_TRUE(evaluator.Run(154, fill, consume).ok());  // a SmoothGrad pass: one run
  ASSERT_TRUE(evaluator.Run(2500, fill, consume).ok());
  EXPECT_EQ(model.batch_sizes(), (std::vector<int64_t>{154, 1024, 1024, 452}));
}

TEST(BatchedEvaluatorTest, OutputElementDefaultsToZeroEachRow) {
  LinearModel model({Shape{1}}, {{{1}}, {{10}}}, {0, 0});
  BatchedEvaluator evaluator(model, {{DType::kFloat32, {1}}});
  std::vector<double> outputs;
  Status status = evaluator.Run(
      4,
      [](int64_t row, RowBuffer& buffer) {
        buffer.inputs[0][0] = 1.0;
        if (row % 2 == 1) buffer.output_element = 1;  // even rows leave the default.
      },
      [&](int64_t, const RowResult& result) { outputs.push_back(result.output); });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(outputs, (std::vector<double>{1, 10, 1, 10}));
}

// --- SmoothGrad ----------------------------------------------------------------------

// A fake model that also keeps every row it is given: per row, per input, the
// row's values. For checking which points were evaluated.
template <typename Model>
class Recording : public Model {
 public:
  using Model::Model;

  StatusOr<ModelBatchResult> Evaluate(ModelBatch& batch, bool with_gradients) override {
    const size_t rows = batch.output_element.size();
    for (size_t r = 0; r < rows; ++r) {
      std::vector<std::vector<double>> row;
      for (const Tensor& input : batch.inputs) {
        const size_t n = input.values.size() / rows;
        row.emplace_back(input.values.begin() + r * n, input.values.begin() + (r + 1) * n);
      }
      seen_.push_back(std::move(row));
    }
    return Model::Evaluate(batch, with_gradients);
  }

  const std::vector<std::vector<std::vector<double>>>& seen() const { return seen_; }

 private:
  std::vector<std::vector<std::vector<double>>> seen_;
};

IntegratedGradientsOptions SmoothOptions(int steps, double sigma, int samples,
                                         uint64_t seed = kDefaultSmoothGradSeed,
                                         int batch_size = 64) {
  IntegratedGradientsOptions options = Options(steps, PathRule::kTrapezoid, batch_size);
  options.smooth_grad.emplace();
  options.smooth_grad->noise_sigma = sigma;
  options.smooth_grad->noisy_sample_count = samples;
  options.smooth_grad->seed = seed;
  return options;
}

// One output element, one input of row shape [n], weights w, bias 0.25.
Recording<LinearModel> VectorLinearModel(std::vector<double> w) {
  const int64_t n = static_cast<int64_t>(w.size());
  return Recording<LinearModel>({Shape{n}}, {{std::move(w)}}, {0.25});
}

double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t e = 0; e < a.size(); ++e) sum += a[e] * b[e];
  return sum;
}

// With SmoothGrad (trapezoid, one baseline, one output) the rows are: the
// noiseless instance, then steps+1 rows per sample ending at x_s.
std::vector<std::vector<double>> NoisySamples(const Recording<LinearModel>& model, int steps,
                                              int samples, size_t input = 0) {
  std::vector<std::vector<double>> x_s;
  for (int s = 0; s < samples; ++s) x_s.push_back(model.seen()[1 + s * (steps + 1) + steps][input]);
  return x_s;
}

TEST(SmoothGradTest, LinearModelGivesWeightsTimesMeanNoisySampleMinusBaseline) {
  const std::vector<double> w = {1.5, -2, 0.5, 3, -1, 0.75};
  const std::vector<double> x = {0.2, 1, -1.5, 2, 0.5, -0.3};
  const std::vector<double> b = {0, 0.5, 0, -1, 1, 0};
  const int steps = 10;
  const int samples = 4;
  Recording<LinearModel> model = VectorLinearModel(w);
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients(SmoothOptions(steps, 0.5, samples)).Attribute(model, SingleInput(x, {b}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Attribution& attribution = (*result)[0];
  ASSERT_EQ(model.seen().size(), static_cast<size_t>(1 + samples * (steps + 1)));
  EXPECT_EQ(model.seen()[0][0], x);  // the noiseless instance row.

  const std::vector<std::vector<double>> x_s = NoisySamples(model, steps, samples);
  std::vector<double> mean(x.size(), 0.0);
  double mean_output = 0;
  for (int s = 0; s < samples; ++s) {
    EXPECT_EQ(model.seen()[1 + s * (steps + 1)][0], b) << "sample " << s << " starts at b";
    for (size_t e = 0; e < x.size(); ++e) {
      EXPECT_NE(x_s[s][e], x[e]) << "sample " << s << " element " << e << " has no noise";
      mean[e] += x_s[s][e] / samples;
    }
    mean_output += (Dot(w, x_s[s]) + 0.25) / samples;
  }
  for (size_t e = 0; e < x.size(); ++e) {
    EXPECT_NEAR(attribution.attributions[0].values[e], w[e] * (mean[e] - b[e]), 1e-12) << e;
  }
  // f of the noiseless instance and of the baseline, exactly.
  EXPECT_EQ(attribution.instance_output, Dot(w, x) + 0.25);
  EXPECT_EQ(attribution.baseline_output, Dot(w, b) + 0.25);
  // Each path is exact, so the gap to mean_s f(x_s) - f(b) is rounding only,
  // although f(x) differs from mean_s f(x_s).
  EXPECT_LT(attribution.approximation_error, 1e-12);
  EXPECT_GT(std::abs(attribution.instance_output - mean_output), 1e-3);
  EXPECT_NEAR(Sum(attribution), mean_output - attribution.baseline_output, 1e-12);
}

TEST(SmoothGradTest, NoiseIsZeroMeanWithTheRequestedSigmaAndScalesWithIt) {
  const int n = 500;
  const int samples = 10;
  const int steps = 1;
  std::vector<std::vector<double>> noise_by_sigma;
  for (double sigma : {0.3, 0.6}) {
    SCOPED_TRACE("sigma " + std::to_string(sigma));
    Recording<LinearModel> model = VectorLinearModel(std::vector<double>(n, 1.0));
    const std::vector<double> x(n, 1.0);
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(SmoothOptions(steps, sigma, samples))
            .Attribute(model, SingleInput(x, {std::vector<double>(n, 0.0)}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    std::vector<double> noise;
    for (const std::vector<double>& x_s : NoisySamples(model, steps, samples)) {
      for (int e = 0; e < n; ++e) noise.push_back(x_s[e] - x[e]);
    }
    double mean = 0;
    for (double z : noise) mean += z / noise.size();
    double variance = 0;
    for (double z : noise) variance += (z - mean) * (z - mean) / (noise.size() - 1);
    // 5000 draws: the mean within 4 standard errors, the sigma within 5%.
    EXPECT_NEAR(mean, 0.0, 4 * sigma / std::sqrt(noise.size()));
    EXPECT_NEAR(std::sqrt(variance), sigma, 0.05 * sigma);
    noise_by_sigma.push_back(noise);
  }
  // The same seed draws the same normals: doubling sigma doubles the noise.
  ASSERT_EQ(noise_by_sigma[0].size(), noise_by_sigma[1].size());
  for (size_t e = 0; e < noise_by_sigma[0].size(); ++e) {
    EXPECT_NEAR(noise_by_sigma[1][e], 2 * noise_by_sigma[0][e], 1e-12);
  }
}

TEST(SmoothGradTest, FiftySamplesOfSmallNoiseComeCloseToPlainIntegratedGradients) {
  const std::vector<double> w = {2, -1, 0.5, 4};
  const std::vector<double> x = {1, 2, -1, 0.5};
  const std::vector<double> b = {0, 0, 0, 0};
  Recording<LinearModel> model = VectorLinearModel(w);
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients(SmoothOptions(10, 0.01, 50)).Attribute(model, SingleInput(x, {b}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  double total_gap = 0;
  for (size_t e = 0; e < x.size(); ++e) {
    const double plain = w[e] * (x[e] - b[e]);
    const double gap = std::abs((*result)[0].attributions[0].values[e] - plain);
    // The mean of 50 noises of sigma 0.01 has sigma 0.0014: 7 of those.
    EXPECT_LT(gap, 0.01 * std::abs(w[e])) << "element " << e;
    total_gap += gap;
  }
  EXPECT_GT(total_gap, 0.0);  // noise was added.
}

TEST(SmoothGradTest, AveragedOverSeedsTheNoiseIsUnbiased) {
  const std::vector<double> w = {2, -1, 0.5, 4};
  const std::vector<double> x = {1, 2, -1, 0.5};
  const std::vector<double> b = {0.5, 0, 1, 0};
  const int seeds = 1000;
  const int samples = 10;
  const double sigma = 0.5;
  std::vector<double> mean(x.size(), 0.0);
  double largest_single_seed_gap = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    Recording<LinearModel> model = VectorLinearModel(w);
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(SmoothOptions(4, sigma, samples, seed))
            .Attribute(model, SingleInput(x, {b}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    for (size_t e = 0; e < x.size(); ++e) {
      const double value = (*result)[0].attributions[0].values[e];
      mean[e] += value / seeds;
      largest_single_seed_gap =
          std::max(largest_single_seed_gap,
                   std::abs(value - w[e] * (x[e] - b[e])) / std::abs(w[e]));
    }
  }
  // One seed's mean noise has sigma 0.5/sqrt(10) = 0.16 per element; over
  // 1000 seeds, 0.5/sqrt(10000) = 0.005. A bias would not average out.
  EXPECT_GT(largest_single_seed_gap, 0.3);
  for (size_t e = 0; e < x.size(); ++e) {
    EXPECT_NEAR(mean[e], w[e] * (x[e] - b[e]), 0.02 * std::abs(w[e])) << "element " << e;
  }
}

TEST(SmoothGradTest, ZeroSigmaEqualsPlainIntegratedGradients) {
  const AttributionInputs inputs = SingleInput({0.7, -1.3}, {{0.1, 0.2}, {-0.5, 1}});
  SinProductModel plain_model;
  StatusOr<std::vector<Attribution>> plain =
      IntegratedGradients(Options(20)).Attribute(plain_model, inputs);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  for (bool per_feature : {false, true}) {
    SCOPED_TRACE(per_feature ? "zero feature_noise_sigma" : "zero noise_sigma");
    IntegratedGradientsOptions options = SmoothOptions(20, per_feature ? 5.0 : 0.0, 3);
    if (per_feature) options.smooth_grad->feature_noise_sigma = {Row({0, 0})};
    SinProductModel model;
    StatusOr<std::vector<Attribution>> smooth =
        IntegratedGradients(options).Attribute(model, inputs);
    ASSERT_TRUE(smooth.ok()) << smooth.status().ToString();
    const Attribution& expected = (*plain)[0];
    const Attribution& actual = (*smooth)[0];
    EXPECT_EQ(actual.instance_output, expected.instance_output);
    EXPECT_EQ(actual.baseline_output, expected.baseline_output);
    EXPECT_EQ(actual.steps, expected.steps);
    for (size_t e = 0; e < 2; ++e) {
      // The mean of three equal values: equal but for the last bit.
      EXPECT_DOUBLE_EQ(actual.attributions[0].values[e], expected.attributions[0].values[e]);
    }
    EXPECT_NEAR(actual.approximation_error, expected.approximation_error, 1e-12);
    EXPECT_GT(actual.approximation_error, 0.0);  // a real, non-linear integration error.
    EXPECT_EQ(model.rows(), 1 + 2 * 3 * 21);
  }
  EXPECT_EQ(plain_model.rows(), 2 * 21);
}

TEST(SmoothGradTest, SameSeedGivesTheSameAnswerAndAnotherSeedAnother) {
  const AttributionInputs inputs = SingleInput({0.7, -1.3}, {{0.1, 0.2}});
  auto run = [&](uint64_t seed) {
    SinProductModel model;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(SmoothOptions(8, 0.5, 3, seed)).Attribute(model, inputs);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? (*result)[0] : Attribution();
  };
  const Attribution first = run(7);
  const Attribution again = run(7);
  const Attribution other = run(8);
  EXPECT_EQ(first.attributions[0].values, again.attributions[0].values);
  EXPECT_EQ(first.approximation_error, again.approximation_error);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_NE(first.attributions[0].values[e], other.attributions[0].values[e]) << e;
  }
  // The noiseless outputs do not depend on the seed.
  EXPECT_EQ(first.instance_output, other.instance_output);
  EXPECT_EQ(first.baseline_output, other.baseline_output);
  // The default seed is fixed too.
  IntegratedGradientsOptions defaults = SmoothOptions(8, 0.5, 3);
  defaults.smooth_grad->seed = SmoothGradOptions().seed;
  SinProductModel model_a;
  SinProductModel model_b;
  StatusOr<std::vector<Attribution>> a = IntegratedGradients(defaults).Attribute(model_a, inputs);
  StatusOr<std::vector<Attribution>> b = IntegratedGradients(defaults).Attribute(model_b, inputs);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)[0].attributions[0].values, (*b)[0].attributions[0].values);
}

TEST(SmoothGradTest, ApproximationErrorIsTheCompletenessGapOfTheNoisyPaths) {
  // f = sum a x^2 + c x; a trapezoid path is exact, riemann_left is not.
  const std::vector<double> a = {1, -0.5, 2};
  const std::vector<double> c = {0.5, 1, -1};
  auto f = [&](const std::vector<double>& v) {
    double sum = 0;
    for (size_t e = 0; e < v.size(); ++e) sum += a[e] * v[e] * v[e] + c[e] * v[e];
    return sum;
  };
  const std::vector<double> x = {1.5, -1, 0.5};
  const std::vector<double> b = {0, 0.5, -0.5};
  const int steps = 10;
  const int samples = 3;
  for (PathRule rule : {PathRule::kTrapezoid, PathRule::kRiemannLeft}) {
    SCOPED_TRACE(PathRuleName(rule));
    Recording<QuadraticModel> model(a, c);
    IntegratedGradientsOptions options = SmoothOptions(steps, 0.4, samples);
    options.rule = rule;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(options).Attribute(model, SingleInput(x, {b}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const Attribution& attribution = (*result)[0];
    // riemann_left lacks alpha = 1: each path has steps points and an end row.
    const size_t rows_per_path = steps + 1;
    ASSERT_EQ(model.seen().size(), 1 + samples * rows_per_path);
    double mean_noisy_output = 0;
    for (int s = 0; s < samples; ++s) {
      mean_noisy_output += f(model.seen()[1 + s * rows_per_path + rows_per_path - 1][0]) / samples;
    }
    EXPECT_DOUBLE_EQ(attribution.instance_output, f(x));
    EXPECT_DOUBLE_EQ(attribution.baseline_output, f(b));
    EXPECT_NEAR(attribution.approximation_error,
                CompletenessError(Sum(attribution), mean_noisy_output, f(b)), 1e-12);
    // Not the gap to the noiseless f(x), which the noise moved.
    EXPECT_GT(std::abs(CompletenessError(Sum(attribution), f(x), f(b)) -
                       attribution.approximation_error),
              1e-3);
    if (rule == PathRule::kTrapezoid) {
      EXPECT_LT(attribution.approximation_error, 1e-12);
    } else {
      EXPECT_GT(attribution.approximation_error, 1e-3);
    }
  }
}

TEST(SmoothGradBatchingTest, AllSamplesBaselinesAndOutputsGoThroughOnePass) {
  // steps 10, 3 samples, 1 baseline, 1 output: f(x) + 3 * 11 path rows.
  const int64_t rows = 1 + 3 * 11;
  Attribution reference;
  for (int batch_size : {1, 7, 1000}) {
    SCOPED_TRACE("batch_size " + std::to_string(batch_size));
    SinProductModel model;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(SmoothOptions(10, 0.3, 3, 11, batch_size))
            .Attribute(model, SingleInput({1.0, 2.0}, {{0, 0}}));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(model.rows(), rows);
    EXPECT_EQ(model.calls(), CeilDiv(rows, batch_size));
    EXPECT_EQ(model.gradient_calls(), model.calls());
    const Attribution& attribution = (*result)[0];
    if (batch_size == 1) {
      reference = attribution;
      continue;
    }
    EXPECT_EQ(attribution.attributions[0].values, reference.attributions[0].values);
    EXPECT_EQ(attribution.instance_output, reference.instance_output);
    EXPECT_EQ(attribution.baseline_output, reference.baseline_output);
    EXPECT_EQ(attribution.approximation_error, reference.approximation_error);
  }
  EXPECT_EQ(CeilDiv(rows, 7), 5);
}

TEST(SmoothGradBatchingTest, SeveralOutputsAndBaselinesAreBatchIndependent) {
  const AttributionInputs inputs = TwoInputLinearInputs();  // 2 outputs x 2 baselines.
  // Per output: f(x), then 2 baselines x 3 samples x 6 rows.
  const int64_t rows = 2 * (1 + 2 * 3 * 6);
  std::vector<Attribution> reference;
  for (int batch_size : {1, 7, 1000}) {
    SCOPED_TRACE("batch_size " + std::to_string(batch_size));
    LinearModel model = TwoInputLinearModel();
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(SmoothOptions(5, 0.2, 3, 3, batch_size)).Attribute(model, inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(model.rows(), rows);
    EXPECT_EQ(model.calls(), CeilDiv(rows, batch_size));
    ASSERT_EQ(result->size(), 2u);
    for (size_t k = 0; k < 2; ++k) {
      // Linear: exact up to rounding, whatever the noise.
      EXPECT_LT((*result)[k].approximation_error, 1e-12);
      EXPECT_EQ((*result)[k].output_element, inputs.output_elements[k]);
    }
    if (reference.empty()) {
      reference = *result;
      continue;
    }
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_EQ((*result)[k].instance_output, reference[k].instance_output);
      EXPECT_EQ((*result)[k].baseline_output, reference[k].baseline_output);
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ((*result)[k].attributions[i].values, reference[k].attributions[i].values);
      }
    }
  }
}

TEST(SmoothGradTest, ZeroFeatureSigmaLeavesThatElementExactlyUnchanged) {
  // Input 0 has per-element sigmas, with element 1 at zero; input 1 has no
  // entry, so it takes noise_sigma.
  const std::vector<double> x0 = {0.5, -1, 2, 1};
  const std::vector<double> x1 = {3, -2};
  const int steps = 4;
  const int samples = 3;
  std::vector<std::vector<std::vector<double>>> input0_samples;
  for (double noise_sigma : {0.0, 1.0}) {
    SCOPED_TRACE("noise_sigma " + std::to_string(noise_sigma));
    Recording<LinearModel> model({Shape{4}, Shape{2}}, {{{1, 2, 3, 4}, {-1, 0.5}}}, {0});
    AttributionInputs inputs;
    inputs.instance = {Row(x0), Row(x1)};
    inputs.baselines = {{Row({0, 0, 0, 0}), Row({1, 1})}};
    inputs.output_elements = {0};
    IntegratedGradientsOptions options = SmoothOptions(steps, noise_sigma, samples);
    options.smooth_grad->feature_noise_sigma = {Row({0.5, 0, 0.25, 2}), Tensor()};
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(options).Attribute(model, inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(model.seen().size(), static_cast<size_t>(1 + samples * (steps + 1)));
    EXPECT_EQ(model.seen()[0][0], x0);
    EXPECT_EQ(model.seen()[0][1], x1);
    const std::vector<std::vector<double>> noisy0 = NoisySamples(model, steps, samples, 0);
    const std::vector<std::vector<double>> noisy1 = NoisySamples(model, steps, samples, 1);
    for (int s = 0; s < samples; ++s) {
      EXPECT_EQ(noisy0[s][1], x0[1]) << "sample " << s;
      for (size_t e : {0, 2, 3}) EXPECT_NE(noisy0[s][e], x0[e]) << "sample " << s << " " << e;
      for (size_t e = 0; e < 2; ++e) {
        if (noise_sigma == 0) {
          EXPECT_EQ(noisy1[s][e], x1[e]);
        } else {
          EXPECT_NE(noisy1[s][e], x1[e]);
        }
      }
      // Element 1 follows the noiseless path in every sample, row by row.
      for (int j = 0; j <= steps; ++j) {
        EXPECT_EQ(model.seen()[1 + s * (steps + 1) + j][0][1], model.seen()[1 + j][0][1]);
      }
    }
    EXPECT_NEAR((*result)[0].attributions[0].values[1], 2 * x0[1], 1e-12);
    input0_samples.push_back(noisy0);
  }
  // Input 0's noise does not depend on the sigma of input 1.
  EXPECT_EQ(input0_samples[0], input0_samples[1]);
}

TEST(SmoothGradTest, IntegratePathsHandsOverTheSampleMeanPerOutputAndBaseline) {
  LinearModel model = TwoInputLinearModel();
  const AttributionInputs inputs = TwoInputLinearInputs();
  StatusOr<std::vector<BaselinePathIntegral>> integrals =
      CollectIntegrals(model, inputs, SmoothOptions(3, 0.5, 4, 5, 1000));
  ASSERT_TRUE(integrals.ok()) << integrals.status().ToString();
  ASSERT_EQ(integrals->size(), 4u);
  ASSERT_TRUE(InOutputThenBaselineOrder(*integrals, inputs));
  for (const BaselinePathIntegral& integral : *integrals) {
    const int64_t element = inputs.output_elements[integral.output_index];
    double f_x = 0;
    double sum = 0;
    for (size_t i = 0; i < 2; ++i) {
      f_x += Dot(model.weights(element, i), inputs.instance[i].values);
      for (double value : integral.attributions[i].values) sum += value;
    }
    f_x += std::vector<double>{0.5, -1, 2}[element];
    EXPECT_DOUBLE_EQ(integral.instance_output, f_x);
    EXPECT_NE(integral.path_end_output, integral.instance_output);
    EXPECT_NEAR(sum, integral.path_end_output - integral.baseline_output, 1e-12);
  }
  // The same samples serve both baselines of an output element.
  EXPECT_DOUBLE_EQ((*integrals)[0].path_end_output, (*integrals)[1].path_end_output);
  EXPECT_EQ(model.calls(), 1);
  EXPECT_EQ(model.rows(), 2 * (1 + 2 * 4 * 4));

  // Without SmoothGrad the path ends at x.
  integrals = CollectIntegrals(model, inputs, Options(3));
  ASSERT_TRUE(integrals.ok()) << integrals.status().ToString();
  for (const BaselinePathIntegral& integral : *integrals) {
    EXPECT_EQ(integral.path_end_output, integral.instance_output);
  }
}

// --- blur baseline ---------------------------------------------------------------------

// Two image inputs, [1,5,6,2] and [1,4,4], with a linear fake over them.
struct ImageCase {
  Recording<LinearModel> model;
  AttributionInputs inputs;
};

ImageCase TwoImageCase() {
  std::vector<double> w0(60);
  std::vector<double> w1(16);
  std::vector<double> x0(60);
  std::vector<double> x1(16);
  for (size_t e = 0; e < 60; ++e) {
    w0[e] = std::cos(0.7 * e);
    x0[e] = std::sin(0.31 * e * e) + 0.05 * e;
  }
  for (size_t e = 0; e < 16; ++e) {
    w1[e] = 1.0 - 0.1 * e;
    x1[e] = (e % 5 == 0) ? 4.0 : -0.5 * e;
  }
  ImageCase c{Recording<LinearModel>({Shape{5, 6, 2}, Shape{4, 4}}, {{w0, w1}}, {0.5}), {}};
  c.inputs.instance = {RowShaped({5, 6, 2}, x0), RowShaped({4, 4}, x1)};
  c.inputs.baselines = {{RowShaped({5, 6, 2}, std::vector<double>(60, 0.0)),
                         RowShaped({4, 4}, std::vector<double>(16, 0.0))}};
  c.inputs.output_elements = {0};
  return c;
}

TEST(BlurBaselineTest, LinearModelGivesWeightsTimesInstanceMinusBlurredInstance) {
  const double sigma = 1.2;
  std::vector<Attribution> results;
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    ImageCase c = TwoImageCase();
    if (variant == 1) {  // other baseline values: ignored.
      for (Tensor& tensor : c.inputs.baselines[0]) tensor.values.assign(tensor.values.size(), 7.0);
    }
    if (variant == 2) c.inputs.baselines.clear();  // none given: one blurred baseline.
    IntegratedGradientsOptions options = Options(8);
    options.max_blur_sigma = sigma;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(options).Attribute(c.model, c.inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const Attribution& attribution = (*result)[0];
    double blurred_output = 0.5;
    for (size_t i = 0; i < 2; ++i) {
      StatusOr<Tensor> blurred = GaussianBlurImage(c.inputs.instance[i], sigma);
      ASSERT_TRUE(blurred.ok()) << blurred.status().ToString();
      // The path starts at blur(x).
      EXPECT_EQ(c.model.seen()[0][i], blurred->values);
      const std::vector<double>& x = c.inputs.instance[i].values;
      const std::vector<double>& w = c.model.weights(0, i);
      double gap = 0;
      for (size_t e = 0; e < x.size(); ++e) {
        EXPECT_NEAR(attribution.attributions[i].values[e], w[e] * (x[e] - blurred->values[e]),
                    1e-12)
            << "input " << i << " element " << e;
        gap = std::max(gap, std::abs(x[e] - blurred->values[e]));
      }
      EXPECT_GT(gap, 0.1);  // the blur changed the image.
      blurred_output += Dot(w, blurred->values);
    }
    EXPECT_NEAR(attribution.baseline_output, blurred_output, 1e-12);
    EXPECT_LT(attribution.approximation_error, 1e-12);
    EXPECT_EQ(c.model.rows(), 9);
    results.push_back(attribution);
  }
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(results[1].attributions[i].values, results[0].attributions[i].values);
    EXPECT_EQ(results[2].attributions[i].values, results[0].attributions[i].values);
  }
}

TEST(BlurBaselineTest, WithSmoothGradTheBlurIsOfTheNoiselessInstance) {
  const double sigma = 0.8;
  const int steps = 5;
  const int samples = 3;
  ImageCase c = TwoImageCase();
  IntegratedGradientsOptions options = SmoothOptions(steps, 0.3, samples);
  options.max_blur_sigma = sigma;
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients(options).Attribute(c.model, c.inputs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(c.model.seen().size(), static_cast<size_t>(1 + samples * (steps + 1)));
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE("input " + std::to_string(i));
    StatusOr<Tensor> blurred = GaussianBlurImage(c.inputs.instance[i], sigma);
    ASSERT_TRUE(blurred.ok());
    const std::vector<double>& x = c.inputs.instance[i].values;
    const std::vector<double>& w = c.model.weights(0, i);
    std::vector<double> mean(x.size(), 0.0);
    for (int s = 0; s < samples; ++s) {
      EXPECT_EQ(c.model.seen()[1 + s * (steps + 1)][i], blurred->values) << "sample " << s;
      const std::vector<double>& x_s = c.model.seen()[1 + s * (steps + 1) + steps][i];
      EXPECT_NE(x_s, x);
      for (size_t e = 0; e < x.size(); ++e) mean[e] += x_s[e] / samples;
    }
    for (size_t e = 0; e < x.size(); ++e) {
      EXPECT_NEAR((*result)[0].attributions[i].values[e], w[e] * (mean[e] - blurred->values[e]),
                  1e-12);
    }
  }
}

TEST(BlurBaselineTest, NonImageInputsAreRejected) {
  IntegratedGradientsOptions options = Options(8);
  options.max_blur_sigma = 2.0;
  {
    SinProductModel model;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(options).Attribute(model, SingleInput({1, 2}, {{0, 0}}));
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                          {"blurBaselineConfig needs image inputs [H,W] or [H,W,C]",
                           "instance input 0 has shape [2] per instance"}));
    EXPECT_EQ(model.calls(), 0);
  }
  {
    // The second input is [1,2,2,2,2]: rank 5 is no image either.
    ImageCase c = TwoImageCase();
    c.inputs.instance[1] = RowShaped({2, 2, 2, 2}, std::vector<double>(16, 1.0));
    c.inputs.baselines[0][1] = RowShaped({2, 2, 2, 2}, std::vector<double>(16, 0.0));
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(options).Attribute(c.model, c.inputs);
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                          {"blurBaselineConfig needs image inputs [H,W] or [H,W,C]",
                           "instance input 1 has shape [2,2,2,2] per instance"}));
    EXPECT_EQ(c.model.calls(), 0);
  }
}

// --- SmoothGrad and blur option validation ---------------------------------------------

TEST(IntegratedGradientsValidationTest, BadSmoothGradAndBlurOptionsAreRejected) {
  struct Case {
    std::string name;
    IntegratedGradientsOptions options;
    std::vector<std::string> pieces;
  };
  std::vector<Case> cases;
  auto smooth = [](auto change) {
    IntegratedGradientsOptions options = SmoothOptions(10, 0.5, 3);
    change(*options.smooth_grad);
    return options;
  };
  auto blur = [](double sigma) {
    IntegratedGradientsOptions options = Options(10);
    options.max_blur_sigma = sigma;
    return options;
  };
  cases.push_back({"negative sigma", smooth([](SmoothGradOptions& o) { o.noise_sigma = -1; }),
                   {"noise_sigma -1", "finite number >= 0"}});
  cases.push_back({"nan sigma", smooth([](SmoothGradOptions& o) { o.noise_sigma = kNaN; }),
                   {"noise_sigma nan", ">= 0"}});
  cases.push_back({"infinite sigma",
                   smooth([](SmoothGradOptions& o) { o.noise_sigma = kInfinity; }),
                   {"noise_sigma inf", "finite"}});
  for (int count : {0, 51, -3}) {
    cases.push_back({"count " + std::to_string(count),
                     smooth([count](SmoothGradOptions& o) { o.noisy_sample_count = count; }),
                     {"noisy_sample_count " + std::to_string(count), "[1, 50]"}});
  }
  cases.push_back({"negative feature sigma",
                   smooth([](SmoothGradOptions& o) {
                     o.feature_noise_sigma = {Row({0.5, -0.25})};
                   }),
                   {"feature_noise_sigma for input 0, element 1 is -0.25", ">= 0"}});
  cases.push_back({"nan feature sigma",
                   smooth([](SmoothGradOptions& o) { o.feature_noise_sigma = {Row({kNaN, 1})}; }),
                   {"feature_noise_sigma for input 0, element 0 is nan", "finite"}});
  cases.push_back({"feature sigma shaped unlike the instance",
                   smooth([](SmoothGradOptions& o) { o.feature_noise_sigma = {Row({1, 1, 1})}; }),
                   {"feature_noise_sigma for input 0", "expected shape [1,2]", "actual [1,3]"}});
  cases.push_back({"feature sigma per input count",
                   smooth([](SmoothGradOptions& o) {
                     o.feature_noise_sigma = {Row({1, 1}), Row({1})};
                   }),
                   {"feature_noise_sigma has 2 entries", "expected none or 1"}});
  cases.push_back({"feature sigma values unlike its shape",
                   smooth([](SmoothGradOptions& o) {
                     o.feature_noise_sigma = {Tensor::FromValues(DType::kFloat32, {1, 2}, {1})};
                   }),
                   {"feature_noise_sigma for input 0 holds 1 values", "expected 2"}});
  for (double sigma : {0.0, -1.0, kNaN, kInfinity, 2e4}) {
    std::ostringstream name;
    name << sigma;
    cases.push_back({"max_blur_sigma " + name.str(), blur(sigma),
                     {"max_blur_sigma " + name.str(), "out of range", "(0, 10000]"}});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SinProductModel model;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(c.options).Attribute(model, SingleInput({1, 2}, {{0, 0}}));
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument, c.pieces));
    EXPECT_EQ(model.calls(), 0);
  }
  {
    // A finite sigma whose noise overflows: the largest double, on an instance
    // at the largest double (any positive normal draw overflows).
    SinProductModel model;
    constexpr double kLargest = std::numeric_limits<double>::max();
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(SmoothOptions(10, kLargest, 3))
            .Attribute(model, SingleInput({kLargest, kLargest}, {{0, 0}}));
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument,
                          {"made instance input 0 value", "overflow", "smaller sigma"}));
    EXPECT_EQ(model.calls(), 0);
  }
  // The ends of the ranges are accepted.
  for (int count : {1, 50}) {
    SinProductModel model;
    StatusOr<std::vector<Attribution>> result =
        IntegratedGradients(SmoothOptions(10, 0.0, count))
            .Attribute(model, SingleInput({1, 2}, {{0, 0}}));
    EXPECT_TRUE(result.ok()) << "count " << count << ": " << result.status().ToString();
  }
  EXPECT_TRUE(ValidateIntegratedGradientsOptions(blur(kMaxGaussianBlurSigma)).ok());
  EXPECT_TRUE(ValidateIntegratedGradientsOptions(blur(1e-3)).ok());
}

}  // namespace
}  // namespace xai
