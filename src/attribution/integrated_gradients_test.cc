#include "attribution/integrated_gradients.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "attribution/batched_evaluator.h"
#include "attribution/path_integration.h"
#include "testing/fake_models.h"

namespace xai {
namespace {

using testing::FaultyModel;
using testing::LinearModel;
using testing::QuadraticModel;
using testing::SinProductModel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

constexpr PathRule kRules[] = {PathRule::kTrapezoid, PathRule::kRiemannLeft,
                               PathRule::kRiemannRight, PathRule::kRiemannMiddle};

// A float32 tensor of one row: shape [1, n].
Tensor Row(std::vector<double> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return Tensor::FromValues(DType::kFloat32, {1, n}, std::move(values));
}

// A float32 tensor of one row with a given row shape.
Tensor RowShaped(Shape row_shape, std::vector<double> values) {
  row_shape.insert(row_shape.begin(), 1);
  return Tensor::FromValues(DType::kFloat32, std::move(row_shape), std::move(values));
}

// Inputs with one attributed input of row shape [n].
AttributionInputs SingleInput(std::vector<double> x, std::vector<std::vector<double>> baselines,
                              std::vector<int64_t> output_elements = {0}) {
  AttributionInputs inputs;
  inputs.instance = {Row(std::move(x))};
  for (auto& b : baselines) inputs.baselines.push_back({Row(std::move(b))});
  inputs.output_elements = std::move(output_elements);
  return inputs;
}

IntegratedGradientsOptions Options(int steps, PathRule rule = PathRule::kTrapezoid,
                                   int batch_size = 64) {
  IntegratedGradientsOptions options;
  options.steps = steps;
  options.rule = rule;
  options.batch_size = batch_size;
  return options;
}

// Passes if `status` failed with `code` and its message holds every piece.
::testing::AssertionResult FailsWith(const Status& status, StatusCode code,
                                     const std::vector<std::string>& pieces) {
  if (status.ok()) return ::testing::AssertionFailure() << "expected an error, got OK";
  if (status.code() != code) {
    return ::testing::AssertionFailure() << "expected code " << StatusCodeName(code) << ", got "
                                         << status.ToString();
  }
  for (const std::string& piece : pieces) {
    if (status.message().find(piece) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "'" << status.message() << "' does not contain '" << piece << "'";
    }
  }
  return ::testing::AssertionSuccess();
}

double Sum(const Attribution& attribution) {
  double sum = 0;
  for (const Tensor& tensor : attribution.attributions) {
    for (double value : tensor.values) sum += value;
  }
  return sum;
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Two inputs (row shapes [3] and [2,2]) and three output elements, each with
// its own weights.
LinearModel TwoInputLinearModel() {
  return LinearModel({Shape{3}, Shape{2, 2}},
                     {{{1, -2, 0.5}, {3, 0, -1, 2}},
                      {{0.25, 4, -3}, {-0.5, 1.5, 2, 0}},
                      {{-1, 1, 1}, {1, 1, -2, 0.75}}},
                     {0.5, -1, 2});
}

AttributionInputs TwoInputLinearInputs() {
  AttributionInputs inputs;
  inputs.instance = {Row({1.5, -0.5, 2}), RowShaped({2, 2}, {0.25, -1, 3, 1})};
  inputs.baselines = {{Row({0, 0, 0}), RowShaped({2, 2}, {0, 0, 0, 0})},
                      {Row({-1, 2, 0.5}), RowShaped({2, 2}, {1, 1, -1, 0.5})}};
  inputs.output_elements = {2, 0};
  return inputs;
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

TEST(IntegratePathsTest, HandsOverOneIntegralPerOutputAndBaselineInOrder) {
  LinearModel model = TwoInputLinearModel();
  const AttributionInputs inputs = TwoInputLinearInputs();
  std::vector<BaselinePathIntegral> integrals;
  auto collect = [&](BaselinePathIntegral&& integral) { integrals.push_back(std::move(integral)); };
  Status status = IntegratePaths(model, inputs, Options(3, PathRule::kRiemannMiddle), collect);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(integrals.size(), 4u);
  for (size_t n = 0; n < integrals.size(); ++n) {
    const BaselinePathIntegral& integral = integrals[n];
    EXPECT_EQ(integral.output_index, static_cast<int64_t>(n / 2));
    EXPECT_EQ(integral.baseline_index, static_cast<int>(n % 2));
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

TEST(IntegratedGradientsValidationTest, BatchSizeBelowOneIsRejected) {
  SinProductModel model;
  StatusOr<std::vector<Attribution>> result =
      IntegratedGradients(Options(10, PathRule::kTrapezoid, 0))
          .Attribute(model, SingleInput({1, 2}, {{0, 0}}));
  EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument, {"batch_size 0", ">= 1"}));
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
  EXPECT_EQ(model.calls(), CeilDiv(10 * 51, 64));
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
      {FaultyModel::Fault::kNonFiniteOutput, StatusCode::kFailedPrecondition, {"is nan at row 0"}},
      {FaultyModel::Fault::kNonFiniteGradient, StatusCode::kFailedPrecondition,
       {"gradient of input 0 is inf at row 0"}},
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
  options.batch_size = 0;
  BatchedEvaluator zero_batch(model, LayoutOf({Row({0, 0})}), options);
  EXPECT_TRUE(FailsWith(zero_batch.Run(5, fill, consume), StatusCode::kInvalidArgument,
                        {"batch_size 0"}));
  EXPECT_EQ(model.calls(), 0);
  EXPECT_EQ(evaluator.runs(), 0);
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

}  // namespace
}  // namespace xai
