// Fake ModelFunctions with analytic values and gradients, for the attribution
// tests (Integrated Gradients, Sampled Shapley, XRAI). Each one checks the
// batch it is given as a real model would (number of inputs, row shapes,
// output elements in range), counts its Evaluate calls and rows so tests can
// prove batching, and, where the integral is known in closed form, gives the
// exact Integrated Gradients attribution to compare against.
// Header-only. Not thread-safe, like any ModelFunction.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "attribution/model_function.h"
#include "core/status.h"
#include "core/tensor.h"

namespace xai::testing {

// Evaluates a batch row by row through Value and Gradient, after checking it.
class FakeModel : public ModelFunction {
 public:
  StatusOr<ModelBatchResult> Evaluate(ModelBatch& batch, bool with_gradients) override {
    ++calls_;
    if (with_gradients) ++gradient_calls_;
    if (batch.inputs.size() != row_shapes_.size()) {
      return InvalidArgument("fake model: got " + std::to_string(batch.inputs.size()) +
                             " inputs; expected " + std::to_string(row_shapes_.size()));
    }
    const int64_t rows = batch.output_element.size();
    for (size_t i = 0; i < batch.inputs.size(); ++i) {
      const Tensor& input = batch.inputs[i];
      Shape expected = row_shapes_[i];
      expected.insert(expected.begin(), rows);
      if (input.shape != expected ||
          static_cast<int64_t>(input.values.size()) != NumElements(expected)) {
        return InvalidArgument("fake model: input " + std::to_string(i) + ": expected shape " +
                               ShapeToString(expected) + ", actual " + ShapeToString(input.shape) +
                               " with " + std::to_string(input.values.size()) + " values");
      }
    }
    for (int64_t element : batch.output_element) {
      if (element < 0 || element >= num_outputs_) {
        return InvalidArgument("fake model: output element " + std::to_string(element) +
                               " is out of range [0, " + std::to_string(num_outputs_) + ")");
      }
    }
    rows_ += rows;
    batch_sizes_.push_back(rows);

    ModelBatchResult result;
    result.outputs.resize(rows);
    if (with_gradients) {
      for (const Tensor& input : batch.inputs) {
        result.gradients.emplace_back(input.dtype, input.shape);
      }
    }
    std::vector<const double*> x(batch.inputs.size());
    std::vector<double*> gradient(result.gradients.size());
    for (int64_t r = 0; r < rows; ++r) {
      for (size_t i = 0; i < x.size(); ++i) {
        const int64_t row_elements = NumElements(row_shapes_[i]);
        x[i] = batch.inputs[i].values.data() + r * row_elements;
        if (with_gradients) gradient[i] = result.gradients[i].values.data() + r * row_elements;
      }
      const int64_t k = batch.output_element[r];
      result.outputs[r] = Value(x, k);
      if (with_gradients) Gradient(x, k, gradient);
    }
    return result;
  }

  int calls() const { return calls_; }                     // Evaluate calls, valid or not.
  int gradient_calls() const { return gradient_calls_; }   // of which with gradients.
  int64_t rows() const { return rows_; }                   // rows of the valid calls.
  const std::vector<int64_t>& batch_sizes() const { return batch_sizes_; }
  void ResetCounts() {
    calls_ = gradient_calls_ = 0;
    rows_ = 0;
    batch_sizes_.clear();
  }

  const std::vector<Shape>& row_shapes() const { return row_shapes_; }
  int64_t num_outputs() const { return num_outputs_; }

 protected:
  // `row_shapes`: per input, the shape of one row; `num_outputs`: the number
  // of output elements per row.
  FakeModel(std::vector<Shape> row_shapes, int64_t num_outputs)
      : row_shapes_(std::move(row_shapes)), num_outputs_(num_outputs) {}

  // f_k at one row; x[i] points at input i's row values.
  virtual double Value(const std::vector<const double*>& x, int64_t k) const = 0;
  // d f_k / d input i into gradient[i] (zero-filled, row-sized).
  virtual void Gradient(const std::vector<const double*>& x, int64_t k,
                        const std::vector<double*>& gradient) const = 0;

 private:
  std::vector<Shape> row_shapes_;
  int64_t num_outputs_;
  int calls_ = 0;
  int gradient_calls_ = 0;
  int64_t rows_ = 0;
  std::vector<int64_t> batch_sizes_;
};

// f_k(x) = sum_i weights[k][i] . x_i + bias[k]: one weight vector per output
// element k and input i (NumElements(row_shapes[i]) entries). Its gradient is
// constant, so every integration rule gives IG = (x - b) * w exactly.
class LinearModel : public FakeModel {
 public:
  LinearModel(std::vector<Shape> row_shapes, std::vector<std::vector<std::vector<double>>> weights,
              std::vector<double> bias)
      : FakeModel(std::move(row_shapes), static_cast<int64_t>(bias.size())),
        weights_(std::move(weights)),
        bias_(std::move(bias)) {}

  const std::vector<double>& weights(int64_t k, size_t input) const { return weights_[k][input]; }

 protected:
  double Value(const std::vector<const double*>& x, int64_t k) const override {
    double value = bias_[k];
    for (size_t i = 0; i < x.size(); ++i) {
      for (size_t e = 0; e < weights_[k][i].size(); ++e) value += weights_[k][i][e] * x[i][e];
    }
    return value;
  }
  void Gradient(const std::vector<const double*>& x, int64_t k,
                const std::vector<double*>& gradient) const override {
    for (size_t i = 0; i < x.size(); ++i) {
      for (size_t e = 0; e < weights_[k][i].size(); ++e) gradient[i][e] = weights_[k][i][e];
    }
  }

 private:
  std::vector<std::vector<std::vector<double>>> weights_;
  std::vector<double> bias_;
};

// f(x) = sum_e a_e x_e^2 + c_e x_e over one input of row shape [n], one
// output element. Along a straight path its gradient is linear in alpha, so
// trapezoid and midpoint rules are exact, and Riemann left falls short by
// exactly a_e (x_e - b_e)^2 / steps per feature.
class QuadraticModel : public FakeModel {
 public:
  QuadraticModel(std::vector<double> a, std::vector<double> c)
      : FakeModel({Shape{static_cast<int64_t>(a.size())}}, 1), a_(std::move(a)), c_(std::move(c)) {}

  double a(size_t e) const { return a_[e]; }

  // The exact IG attribution from baseline b: a (x^2 - b^2) + c (x - b).
  std::vector<double> ExactAttribution(const std::vector<double>& x,
                                       const std::vector<double>& b) const {
    std::vector<double> attribution(x.size());
    for (size_t e = 0; e < x.size(); ++e) {
      attribution[e] = a_[e] * (x[e] * x[e] - b[e] * b[e]) + c_[e] * (x[e] - b[e]);
    }
    return attribution;
  }

 protected:
  double Value(const std::vector<const double*>& x, int64_t) const override {
    double value = 0;
    for (size_t e = 0; e < a_.size(); ++e) value += a_[e] * x[0][e] * x[0][e] + c_[e] * x[0][e];
    return value;
  }
  void Gradient(const std::vector<const double*>& x, int64_t,
                const std::vector<double*>& gradient) const override {
    for (size_t e = 0; e < a_.size(); ++e) gradient[0][e] = 2 * a_[e] * x[0][e] + c_[e];
  }

 private:
  std::vector<double> a_;
  std::vector<double> c_;
};

// f(x) = sin(x0) * x1 over one input of row shape [2], one output element:
// smooth, not polynomial, with the IG integral in closed form.
class SinProductModel : public FakeModel {
 public:
  SinProductModel() : FakeModel({Shape{2}}, 1) {}

  static double F(double x0, double x1) { return std::sin(x0) * x1; }

  // The exact IG attribution from baseline b (d = x - b):
  //   feature 1: d1 * integral sin(b0 + t d0) dt = d1 (cos b0 - cos x0) / d0
  //              (d1 sin b0 if d0 = 0);
  //   feature 0: by parts, f(x) - f(b) minus feature 1's share.
  static std::vector<double> ExactAttribution(const std::vector<double>& x,
                                              const std::vector<double>& b) {
    const double d0 = x[0] - b[0];
    const double d1 = x[1] - b[1];
    const double second =
        d0 == 0 ? d1 * std::sin(b[0]) : d1 * (std::cos(b[0]) - std::cos(x[0])) / d0;
    return {F(x[0], x[1]) - F(b[0], b[1]) - second, second};
  }

 protected:
  double Value(const std::vector<const double*>& x, int64_t) const override {
    return F(x[0][0], x[0][1]);
  }
  void Gradient(const std::vector<const double*>& x, int64_t,
                const std::vector<double*>& gradient) const override {
    gradient[0][0] = std::cos(x[0][0]) * x[0][1];
    gradient[0][1] = std::sin(x[0][0]);
  }
};

// Wraps a model and corrupts its results in one way, to test that callers
// check what a ModelFunction returns, or how they take its rounding. Does not
// own `inner`.
class FaultyModel : public ModelFunction {
 public:
  enum class Fault {
    kWrongGradientShape,  // gradient 0 gets one more element in its last dimension.
    kMissingGradient,     // the last gradient tensor is dropped.
    kWrongOutputCount,    // one output fewer than rows.
    kNonFiniteOutput,     // the first output becomes NaN.
    kNonFiniteGradient,   // the first gradient value becomes +inf.
    kNaNLastGradient,     // the last value of the last input's gradient becomes NaN.
    kRowDependentOutput,  // output r is scaled by 1 + r * 2^-23: its last float32 bits vary with the
                          // batch row, as a real kernel's may, so equal rows give unequal outputs.
  };

  FaultyModel(ModelFunction& inner, Fault fault) : inner_(inner), fault_(fault) {}

  StatusOr<ModelBatchResult> Evaluate(ModelBatch& batch, bool with_gradients) override {
    StatusOr<ModelBatchResult> result = inner_.Evaluate(batch, with_gradients);
    if (!result.ok()) return result;
    ModelBatchResult& out = *result;
    switch (fault_) {
      case Fault::kWrongGradientShape:
        if (!out.gradients.empty() && !out.gradients[0].shape.empty()) {
          Tensor& gradient = out.gradients[0];
          gradient.shape.back() += 1;
          gradient.values.resize(NumElements(gradient.shape), 0.0);
        }
        break;
      case Fault::kMissingGradient:
        if (!out.gradients.empty()) out.gradients.pop_back();
        break;
      case Fault::kWrongOutputCount:
        if (!out.outputs.empty()) out.outputs.pop_back();
        break;
      case Fault::kNonFiniteOutput:
        if (!out.outputs.empty()) out.outputs[0] = std::numeric_limits<double>::quiet_NaN();
        break;
      case Fault::kNonFiniteGradient:
        if (!out.gradients.empty() && !out.gradients[0].values.empty()) {
          out.gradients[0].values[0] = std::numeric_limits<double>::infinity();
        }
        break;
      case Fault::kNaNLastGradient:
        if (!out.gradients.empty() && !out.gradients.back().values.empty()) {
          out.gradients.back().values.back() = std::numeric_limits<double>::quiet_NaN();
        }
        break;
      case Fault::kRowDependentOutput:
        for (size_t r = 0; r < out.outputs.size(); ++r) out.outputs[r] *= 1 + static_cast<double>(r) * 0x1p-23;
        break;
    }
    return result;
  }

 private:
  ModelFunction& inner_;
  Fault fault_;
};

// f_k over one input of row shape [4], two output elements, with
// interactions between features (not additive, so sampled Shapley values are
// exact only in expectation):
//   f_0(x) = x0 x1 + sin(x2) + x3^2 x0   (x0 interacts with x1 and with x3);
//   f_1(x) = x0 x1 + x2 x3 + sin(x2)     (the pairs {x0,x1} and {x2,x3}
//                                         interact only within themselves).
// F gives the value at any point, so tests can enumerate coalitions.
class InteractionModel : public FakeModel {
 public:
  InteractionModel() : FakeModel({Shape{4}}, 2) {}

  static double F(int64_t k, const double* x) {
    if (k == 0) return x[0] * x[1] + std::sin(x[2]) + x[3] * x[3] * x[0];
    return x[0] * x[1] + x[2] * x[3] + std::sin(x[2]);
  }

 protected:
  double Value(const std::vector<const double*>& x, int64_t k) const override {
    return F(k, x[0]);
  }
  void Gradient(const std::vector<const double*>& x, int64_t k,
                const std::vector<double*>& gradient) const override {
    const double* v = x[0];
    double* g = gradient[0];
    if (k == 0) {
      g[0] = v[1] + v[3] * v[3];
      g[1] = v[0];
      g[2] = std::cos(v[2]);
      g[3] = 2 * v[3] * v[0];
    } else {
      g[0] = v[1];
      g[1] = v[0];
      g[2] = v[3] + std::cos(v[2]);
      g[3] = v[2];
    }
  }
};

}  // namespace xai::testing
