// Tensors, AttributionInputs and small sums the attribution tests build their
// cases from: one-row tensors, inputs with one attributed input, and a
// two-input linear case with two baselines and three output elements.
// Header-only pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "attribution/attribution_method.h"
#include "core/tensor.h"
#include "testing/fake_models.h"

namespace xai::testing {

// A tensor of one row: shape [1, n], float32 unless told.
inline Tensor Row(std::vector<double> values, DType dtype = DType::kFloat32) {
  const int64_t n = static_cast<int64_t>(values.size());
  return Tensor::FromValues(dtype, {1, n}, std::move(values));
}

// A float32 tensor of one row with a given row shape.
inline Tensor RowShaped(Shape row_shape, std::vector<double> values) {
  row_shape.insert(row_shape.begin(), 1);
  return Tensor::FromValues(DType::kFloat32, std::move(row_shape), std::move(values));
}

// Inputs with one attributed input of row shape [n].
inline AttributionInputs SingleInput(std::vector<double> x,
                                     std::vector<std::vector<double>> baselines,
                                     std::vector<int64_t> output_elements = {0}) {
  AttributionInputs inputs;
  inputs.instance = {Row(std::move(x))};
  for (auto& b : baselines) inputs.baselines.push_back({Row(std::move(b))});
  inputs.output_elements = std::move(output_elements);
  return inputs;
}

// Two inputs (row shapes [3] and [2,2]) and three output elements, each with
// its own weights. Explained with TwoInputLinearInputs.
inline LinearModel TwoInputLinearModel() {
  return LinearModel({Shape{3}, Shape{2, 2}},
                     {{{1, -2, 0.5}, {3, 0, -1, 2}},
                      {{0.25, 4, -3}, {-0.5, 1.5, 2, 0}},
                      {{-1, 1, 1}, {1, 1, -2, 0.75}}},
                     {0.5, -1, 2});
}

// An instance for TwoInputLinearModel, two baselines, output elements 2 and 0.
inline AttributionInputs TwoInputLinearInputs() {
  AttributionInputs inputs;
  inputs.instance = {Row({1.5, -0.5, 2}), RowShaped({2, 2}, {0.25, -1, 3, 1})};
  inputs.baselines = {{Row({0, 0, 0}), RowShaped({2, 2}, {0, 0, 0, 0})},
                      {Row({-1, 2, 0.5}), RowShaped({2, 2}, {1, 1, -1, 0.5})}};
  inputs.output_elements = {2, 0};
  return inputs;
}

// The sum of `values`, left to right.
inline double Sum(const std::vector<double>& values) {
  double sum = 0;
  for (double value : values) sum += value;
  return sum;
}

// The sum of every element of every attributed input, in one running sum
// (the order Integrated Gradients sums them in for its approximation_error).
inline double Sum(const Attribution& attribution) {
  double sum = 0;
  for (const Tensor& tensor : attribution.attributions) {
    for (double value : tensor.values) sum += value;
  }
  return sum;
}

// ceil(a / b) for a >= 0, b > 0: model runs for a rows in batches of b.
inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace xai::testing
