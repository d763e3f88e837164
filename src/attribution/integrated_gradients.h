// Integrated Gradients (Sundararajan, Taly, Yan 2017, "Axiomatic Attribution
// for Deep Networks", ICML): for an instance x, a baseline b and an output f,
//   attribution_i = (x_i - b_i) * integral_0^1 df/dx_i(b + alpha (x - b)) dalpha,
// the integral taken with a PathRule (path_integration.h). Attributions sum
// to f(x) - f(b) up to the integration error, which is reported.
//
// All path points of all baselines and all output elements go through one
// BatchedEvaluator pass, so the model runs ceil(rows / batch_size) times.
// IntegratedGradients holds only its options: it is immutable and may be
// shared between threads; the ModelFunction may not.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "attribution/attribution_method.h"
#include "attribution/batched_evaluator.h"
#include "attribution/model_function.h"
#include "attribution/path_integration.h"
#include "core/status.h"
#include "core/tensor.h"

namespace xai {

inline constexpr int kMinIntegratedGradientsSteps = 1;
inline constexpr int kMaxIntegratedGradientsSteps = 100;

struct IntegratedGradientsOptions {
  int steps = 50;                        // subintervals of the path, [1, 100].
  PathRule rule = PathRule::kTrapezoid;  // see PathPoints.
  int batch_size = kDefaultBatchSize;    // rows per model run, >= 1.
};

// INVALID_ARGUMENT naming the bad field, its value and the valid range.
Status ValidateIntegratedGradientsOptions(const IntegratedGradientsOptions& options);

// The integral along the path from one baseline, for one output element.
struct BaselinePathIntegral {
  int64_t output_index = 0;  // index into AttributionInputs::output_elements.
  int baseline_index = 0;    // index into AttributionInputs::baselines.
  // Per input, shaped like the instance's tensor: (x - b) * sum_j w_j grad_j.
  std::vector<Tensor> attributions;
  double instance_output = 0;  // f(x) for this output element.
  double baseline_output = 0;  // f(b).
};

using BaselinePathIntegralSink = std::function<void(BaselinePathIntegral&& integral)>;

// The building block of IntegratedGradients (and of XRAI): integrates the
// gradient along the straight path from every baseline to the instance, for
// every requested output element, and hands each (output element, baseline)
// integral to `sink` as soon as it is complete, ordered by output index then
// baseline index. Memory holds one model batch and one integral, whatever the
// number of baselines and output elements.
//
// f(b) and f(x) come from the alpha = 0 and alpha = 1 points of the same pass:
// path points of the rule where it has them (trapezoid: both), extra rows of
// weight 0 where it does not. Rows per (output element, baseline):
// trapezoid steps+1; riemann_left and riemann_right steps+1; riemann_middle
// steps+2.
//
// Inputs: the instance (>= 1 floating-point tensors of shape [1, ...], finite
// values), 1 to 10 baselines each with the instance's dtypes and shapes, and
// >= 1 output elements (flat indices >= 0). INVALID_ARGUMENT naming the bad
// value otherwise; the model's errors and BatchedEvaluator's checks as is.
Status IntegratePaths(ModelFunction& model, const AttributionInputs& inputs,
                      const IntegratedGradientsOptions& options,
                      const BaselinePathIntegralSink& sink);

class IntegratedGradients : public AttributionMethod {
 public:
  explicit IntegratedGradients(IntegratedGradientsOptions options = {}) : options_(options) {}

  const char* name() const override { return "integrated-gradients"; }
  const IntegratedGradientsOptions& options() const { return options_; }

  // One Attribution per requested output element, in request order: the
  // attributions averaged over the baselines, instance_output = f(x),
  // baseline_output = mean over baselines of f(b), approximation_error =
  // CompletenessError(sum of attributions, f(x), mean f(b)), steps = options
  // steps. Validates the options and inputs (see IntegratePaths).
  StatusOr<std::vector<Attribution>> Attribute(ModelFunction& model,
                                               const AttributionInputs& inputs) const override;

 private:
  IntegratedGradientsOptions options_;
};

}  // namespace xai
