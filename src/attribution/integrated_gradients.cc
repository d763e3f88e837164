#include "attribution/integrated_gradients.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace xai {

namespace {

using std::to_string;

// Checks one tensor of the instance, or of a baseline against the instance.
// `what` names it in messages ("instance input 0", "baseline 2, input 0").
Status ValidateInstanceTensor(const Tensor& tensor, const std::string& what) {
  if (!IsFloating(tensor.dtype)) {
    return InvalidArgument(what + " has dtype " + DTypeName(tensor.dtype) +
                           "; Integrated Gradients needs floating-point inputs");
  }
  bool known = !tensor.shape.empty() && tensor.shape[0] == 1;
  for (int64_t dim : tensor.shape) known = known && dim >= 0;
  if (!known) {
    return InvalidArgument(what + " has shape " + ShapeToString(tensor.shape) +
                           "; expected one row, [1,...]");
  }
  if (static_cast<int64_t>(tensor.values.size()) != tensor.num_elements()) {
    return InvalidArgument(what + " holds " + to_string(tensor.values.size()) +
                           " values; expected " + to_string(tensor.num_elements()) +
                           " for shape " + ShapeToString(tensor.shape));
  }
  for (size_t e = 0; e < tensor.values.size(); ++e) {
    if (!std::isfinite(tensor.values[e])) {
      return InvalidArgument(what + " value " + to_string(e) + " is " +
                             (std::isnan(tensor.values[e]) ? "nan" : "infinite") +
                             "; expected finite values");
    }
  }
  return OkStatus();
}

Status ValidatePathInputs(const AttributionInputs& inputs) {
  const std::vector<Tensor>& instance = inputs.instance;
  if (instance.empty()) return InvalidArgument("the instance has no inputs; expected at least one");
  for (size_t i = 0; i < instance.size(); ++i) {
    XAI_RETURN_IF_ERROR(ValidateInstanceTensor(instance[i], "instance input " + to_string(i)));
  }
  const size_t num_baselines = inputs.baselines.size();
  if (num_baselines < 1 || num_baselines > static_cast<size_t>(kMaxBaselines)) {
    return InvalidArgument("got " + to_string(num_baselines) + " baselines; expected 1 to " +
                           to_string(kMaxBaselines));
  }
  for (size_t m = 0; m < num_baselines; ++m) {
    const std::vector<Tensor>& baseline = inputs.baselines[m];
    const std::string name = "baseline " + to_string(m);
    if (baseline.size() != instance.size()) {
      return InvalidArgument(name + " has " + to_string(baseline.size()) + " inputs; expected " +
                             to_string(instance.size()) + ", like the instance");
    }
    for (size_t i = 0; i < instance.size(); ++i) {
      const std::string what = name + ", input " + to_string(i);
      if (baseline[i].dtype != instance[i].dtype) {
        return InvalidArgument(what + ": expected dtype " + DTypeName(instance[i].dtype) +
                               " like the instance, actual " + DTypeName(baseline[i].dtype));
      }
      if (baseline[i].shape != instance[i].shape) {
        return InvalidArgument(what + ": expected shape " + ShapeToString(instance[i].shape) +
                               " like the instance, actual " + ShapeToString(baseline[i].shape));
      }
      XAI_RETURN_IF_ERROR(ValidateInstanceTensor(baseline[i], what));
    }
  }
  if (inputs.output_elements.empty()) {
    return InvalidArgument("no output elements to explain; expected at least one");
  }
  for (int64_t element : inputs.output_elements) {
    if (element < 0) {
      return InvalidArgument("output element " + to_string(element) +
                             " is negative; expected a flat index >= 0");
    }
  }
  return OkStatus();
}

// The rows evaluated for one path: the rule's points, then alpha = 0 and
// alpha = 1 with weight 0 if the rule lacks them, so that f(b) and f(x) are
// read from the same pass.
std::vector<PathPoint> PathRows(PathRule rule, int steps) {
  std::vector<PathPoint> rows = PathPoints(rule, steps);
  bool has_start = false;
  bool has_end = false;
  for (const PathPoint& point : rows) {
    has_start = has_start || point.alpha == 0.0;
    has_end = has_end || point.alpha == 1.0;
  }
  if (!has_start) rows.push_back({0.0, 0.0});
  if (!has_end) rows.push_back({1.0, 0.0});
  return rows;
}

// out[e] = b[e] + alpha * (x[e] - b[e]), with the endpoints copied exactly.
void PointOnPath(const std::vector<double>& b, const std::vector<double>& x, double alpha,
                 double* out) {
  if (alpha == 0.0) {
    std::copy(b.begin(), b.end(), out);
  } else if (alpha == 1.0) {
    std::copy(x.begin(), x.end(), out);
  } else {
    for (size_t e = 0; e < x.size(); ++e) out[e] = b[e] + alpha * (x[e] - b[e]);
  }
}

}  // namespace

Status ValidateIntegratedGradientsOptions(const IntegratedGradientsOptions& options) {
  if (options.steps < kMinIntegratedGradientsSteps ||
      options.steps > kMaxIntegratedGradientsSteps) {
    return InvalidArgument("Integrated Gradients steps " + to_string(options.steps) +
                           " is out of range; expected an integer in [" +
                           to_string(kMinIntegratedGradientsSteps) + ", " +
                           to_string(kMaxIntegratedGradientsSteps) + "]");
  }
  if (options.batch_size < 1) {
    return InvalidArgument("Integrated Gradients batch_size " + to_string(options.batch_size) +
                           " is out of range; expected an integer >= 1");
  }
  return OkStatus();
}

Status IntegratePaths(ModelFunction& model, const AttributionInputs& inputs,
                      const IntegratedGradientsOptions& options,
                      const BaselinePathIntegralSink& sink) {
  XAI_RETURN_IF_ERROR(ValidateIntegratedGradientsOptions(options));
  XAI_RETURN_IF_ERROR(ValidatePathInputs(inputs));

  const std::vector<Tensor>& x = inputs.instance;
  const size_t num_inputs = x.size();
  const int64_t num_baselines = static_cast<int64_t>(inputs.baselines.size());
  const int64_t num_paths = static_cast<int64_t>(inputs.output_elements.size()) * num_baselines;
  // Path p explains output element p / num_baselines from baseline
  // p % num_baselines; its rows are consecutive.
  const std::vector<PathPoint> path_rows = PathRows(options.rule, options.steps);
  const int64_t rows_per_path = static_cast<int64_t>(path_rows.size());

  // The path being integrated: sum_j w_j grad_j per input, f(x) and f(b).
  // Rows are consumed in order, so one path is open at a time.
  std::vector<std::vector<double>> weighted_gradients(num_inputs);
  for (size_t i = 0; i < num_inputs; ++i) weighted_gradients[i].assign(x[i].values.size(), 0.0);
  double instance_output = 0;
  double baseline_output = 0;

  auto fill = [&](int64_t row, RowBuffer& buffer) {
    const int64_t path = row / rows_per_path;
    const PathPoint& point = path_rows[row % rows_per_path];
    const std::vector<Tensor>& b = inputs.baselines[path % num_baselines];
    buffer.output_element = inputs.output_elements[path / num_baselines];
    for (size_t i = 0; i < num_inputs; ++i) {
      PointOnPath(b[i].values, x[i].values, point.alpha, buffer.inputs[i]);
    }
  };

  auto consume = [&](int64_t row, const RowResult& result) {
    const int64_t path = row / rows_per_path;
    const PathPoint& point = path_rows[row % rows_per_path];
    if (point.weight != 0.0) {
      for (size_t i = 0; i < num_inputs; ++i) {
        std::vector<double>& sum = weighted_gradients[i];
        for (size_t e = 0; e < sum.size(); ++e) sum[e] += point.weight * result.gradients[i][e];
      }
    }
    if (point.alpha == 0.0) baseline_output = result.output;
    if (point.alpha == 1.0) instance_output = result.output;
    if (row % rows_per_path != rows_per_path - 1) return;

    // Last row of the path: (x - b) * sum_j w_j grad_j.
    BaselinePathIntegral integral;
    integral.output_index = path / num_baselines;
    integral.baseline_index = static_cast<int>(path % num_baselines);
    integral.instance_output = instance_output;
    integral.baseline_output = baseline_output;
    const std::vector<Tensor>& b = inputs.baselines[integral.baseline_index];
    integral.attributions.reserve(num_inputs);
    for (size_t i = 0; i < num_inputs; ++i) {
      Tensor attribution(x[i].dtype, x[i].shape);
      std::vector<double>& sum = weighted_gradients[i];
      for (size_t e = 0; e < sum.size(); ++e) {
        attribution.values[e] = (x[i].values[e] - b[i].values[e]) * sum[e];
        sum[e] = 0.0;
      }
      integral.attributions.push_back(std::move(attribution));
    }
    sink(std::move(integral));
  };

  BatchedEvaluatorOptions evaluator_options;
  evaluator_options.batch_size = options.batch_size;
  evaluator_options.with_gradients = true;
  BatchedEvaluator evaluator(model, LayoutOf(x), evaluator_options);
  return evaluator.Run(num_paths * rows_per_path, fill, consume);
}

StatusOr<std::vector<Attribution>> IntegratedGradients::Attribute(
    ModelFunction& model, const AttributionInputs& inputs) const {
  // Sums over baselines, divided by their number once all are in.
  std::vector<Attribution> attributions(inputs.output_elements.size());
  auto add = [&](BaselinePathIntegral&& integral) {
    Attribution& total = attributions[integral.output_index];
    if (total.attributions.empty()) {
      total.attributions = std::move(integral.attributions);
    } else {
      for (size_t i = 0; i < total.attributions.size(); ++i) {
        std::vector<double>& sum = total.attributions[i].values;
        for (size_t e = 0; e < sum.size(); ++e) sum[e] += integral.attributions[i].values[e];
      }
    }
    total.instance_output += integral.instance_output;
    total.baseline_output += integral.baseline_output;
  };
  XAI_RETURN_IF_ERROR(IntegratePaths(model, inputs, options_, add));

  const double num_baselines = static_cast<double>(inputs.baselines.size());
  for (size_t k = 0; k < attributions.size(); ++k) {
    Attribution& attribution = attributions[k];
    attribution.output_element = inputs.output_elements[k];
    attribution.steps = options_.steps;
    attribution.instance_output /= num_baselines;
    attribution.baseline_output /= num_baselines;
    double sum = 0;
    for (Tensor& tensor : attribution.attributions) {
      for (double& value : tensor.values) {
        value /= num_baselines;
        sum += value;
      }
    }
    attribution.approximation_error =
        CompletenessError(sum, attribution.instance_output, attribution.baseline_output);
  }
  return attributions;
}

}  // namespace xai
