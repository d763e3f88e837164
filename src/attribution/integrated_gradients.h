// Integrated Gradients (Sundararajan, Taly, Yan 2017, "Axiomatic Attribution
// for Deep Networks", ICML): for an instance x, a baseline b and an output f,
//   attribution_i = (x_i - b_i) * integral_0^1 df/dx_i(b + alpha (x - b)) dalpha,
// the integral taken with a PathRule (path_integration.h). Attributions sum
// to f(x) - f(b) up to the integration error, which is reported.
//
// Two options from SPEC §3 change the paths:
// - SmoothGrad (Smilkov, Thorat, Kim, Viegas, Wattenberg 2017, "SmoothGrad:
//   removing noise by adding noise"): the path runs to noisy copies
//   x_s = x + N(0, sigma^2) of the instance, s = 1..noisy_sample_count, and the
//   attributions are averaged over the samples. The noise is seeded: the same
//   options give the same answer.
// - Blur baseline: the path starts from the instance blurred with a Gaussian
//   of max_blur_sigma pixels (gaussian_blur.h) instead of the given baselines.
//
// All path points of all samples, baselines and output elements go through
// one BatchedEvaluator pass, so the model runs ceil(rows / batch_size) times.
// IntegratedGradients holds only its options: it is immutable and may be
// shared between threads; the ModelFunction may not.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "attribution/attribution_method.h"
#include "attribution/batched_evaluator.h"
#include "attribution/gaussian_blur.h"
#include "attribution/model_function.h"
#include "attribution/path_integration.h"
#include "core/status.h"
#include "core/tensor.h"

namespace xai {

inline constexpr int kMinIntegratedGradientsSteps = 1;
inline constexpr int kMaxIntegratedGradientsSteps = 100;

inline constexpr int kMinNoisySampleCount = 1;
inline constexpr int kMaxNoisySampleCount = 50;
inline constexpr uint64_t kDefaultSmoothGradSeed = 0x5eed2017;

// SmoothGrad (smoothGradConfig in SPEC §3). Sample s of the instance is
// x_s = x + sigma * z_s elementwise, z_s standard normal from a std::mt19937_64
// seeded with `seed` and a Box-Muller transform of our own (not
// std::normal_distribution, whose output varies between standard libraries).
// One normal is drawn per element, sample by sample, input by input, whatever
// the sigma, so an element's noise does not depend on the other elements'
// sigmas. An element whose sigma is 0 keeps its value exactly.
struct SmoothGradOptions {
  // The absolute standard deviation of the noise, for every element of every
  // input that has no entry in feature_noise_sigma. Finite, >= 0.
  double noise_sigma = 0;
  // Optional, per attributed input: a tensor shaped like that input's instance
  // tensor ([1, ...]) holding each element's sigma (finite, >= 0). Either
  // empty (noise_sigma everywhere) or one entry per input; an entry with no
  // values means noise_sigma for that input.
  std::vector<Tensor> feature_noise_sigma;
  int noisy_sample_count = 3;  // [1, 50].
  uint64_t seed = kDefaultSmoothGradSeed;
};

struct IntegratedGradientsOptions {
  int steps = 50;                        // subintervals of the path, [1, 100].
  PathRule rule = PathRule::kTrapezoid;  // see PathPoints.
  int batch_size = kAutoBatchSize;       // rows per model run, >= 1; kAutoBatchSize: AutoBatchSize.
  // SmoothGrad; none by default.
  std::optional<SmoothGradOptions> smooth_grad;
  // Blur baseline (blurBaselineConfig.maxBlurSigma), in pixels, in
  // (0, kMaxGaussianBlurSigma]. When set, every baseline is replaced by the
  // instance blurred with a Gaussian of this sigma over the two spatial
  // dimensions, per channel (GaussianBlurImage). Every attributed input must
  // then be an image: [1,H,W] or [1,H,W,C]. With SmoothGrad, the blur is
  // taken of the noiseless instance. The given baselines are still checked
  // but their values are not used; there may also be none (one blurred
  // baseline is used).
  std::optional<double> max_blur_sigma;
};

// INVALID_ARGUMENT naming the bad field, its value and the valid range.
// Checks what the options alone determine; the shapes of feature_noise_sigma
// and the image shapes needed by the blur baseline are checked against the
// inputs by IntegratePaths.
Status ValidateIntegratedGradientsOptions(const IntegratedGradientsOptions& options);

// The integral along the path from one baseline, for one output element.
// With SmoothGrad, the mean over the noisy samples of the integrals from the
// baseline to each sample x_s.
struct BaselinePathIntegral {
  int64_t output_index = 0;  // index into AttributionInputs::output_elements.
  int baseline_index = 0;    // index into AttributionInputs::baselines.
  // Per input, shaped like the instance's tensor: (x - b) * sum_j w_j grad_j;
  // with SmoothGrad, mean_s (x_s - b) * sum_j w_j grad_j(s).
  std::vector<Tensor> attributions;
  double instance_output = 0;  // f(x) for this output element (noiseless).
  double baseline_output = 0;  // f(b); b is the blurred instance with a blur baseline.
  // The output where the integrated paths end: mean_s f(x_s) with SmoothGrad,
  // f(x) (= instance_output) without. The attributions sum to
  // path_end_output - baseline_output up to the integration error. A path of
  // no length (its end equal to the baseline in every element) counts f(b)
  // here, so that its exact zero attributions have no completeness gap
  // whatever the last bits of the model's output at the other row.
  double path_end_output = 0;
};

using BaselinePathIntegralSink = std::function<void(BaselinePathIntegral&& integral)>;

// The building block of IntegratedGradients (and of XRAI): integrates the
// gradient along the straight path from every baseline to the instance, for
// every requested output element, and hands each (output element, baseline)
// integral to `sink` as soon as it is complete, ordered by output index then
// baseline index. Memory holds one model batch and one integral, whatever the
// number of baselines and output elements.
//
// f(b) and the output at the path's end come from the alpha = 0 and alpha = 1
// points of the same pass: path points of the rule where it has them
// (trapezoid: both), extra rows of weight 0 where it does not. Rows per path
// (R): trapezoid steps+1; riemann_left and riemann_right steps+1;
// riemann_middle steps+2.
//
// Without SmoothGrad there is one path per (output element, baseline):
// K * M * R rows in all, for K output elements and M baselines. With
// SmoothGrad there is one path per (output element, baseline, sample), and the
// noiseless f(x) of each output element is one more row, evaluated first:
// K + K * M * S * R rows for S samples (e.g. steps 10 trapezoid, 3 samples,
// 1 baseline, 1 output: 1 + 3 * 11 = 34). The S noisy instances are held in
// memory; the same S samples serve every baseline and output element. With a
// blur baseline, M is the number of given baselines, or 1 if none is given.
//
// Inputs: checked by ValidateAttributionInputs (attribution_inputs.h) with
// floating-point dtypes: the instance (>= 1 tensors of shape [1, ...], finite
// values), 1 to 10 baselines (0 to 10 with a blur baseline) each with the
// instance's dtypes and shapes, and >= 1 output elements (flat indices >= 0).
// INVALID_ARGUMENT naming the bad value otherwise, and for options that do
// not fit the inputs (feature_noise_sigma shapes, non-image inputs with a
// blur baseline); the model's errors and BatchedEvaluator's checks as is.
Status IntegratePaths(ModelFunction& model, const AttributionInputs& inputs,
                      const IntegratedGradientsOptions& options,
                      const BaselinePathIntegralSink& sink);

class IntegratedGradients : public AttributionMethod {
 public:
  explicit IntegratedGradients(IntegratedGradientsOptions options = {}) : options_(options) {}

  const char* name() const override { return "integrated-gradients"; }
  const IntegratedGradientsOptions& options() const { return options_; }

  // One Attribution per requested output element, in request order: the
  // attributions averaged over the baselines (and SmoothGrad samples),
  // instance_output = f(x) of the noiseless instance, baseline_output = mean
  // over baselines of f(b), steps = options steps, and approximation_error =
  // CompletenessError(sum of attributions, mean_s f(x_s), mean f(b)): the
  // completeness gap of the paths actually integrated. Without SmoothGrad
  // mean_s f(x_s) is f(x), as in SPEC §3. With SmoothGrad it is the mean
  // output at the noisy path ends, so the error measures integration error
  // only, not how far the noise moved f (instance_output - mean_s f(x_s)).
  // A baseline equal to the instance has no completeness gap (see
  // BaselinePathIntegral::path_end_output). Validates the options and inputs (see IntegratePaths).
  StatusOr<std::vector<Attribution>> Attribute(ModelFunction& model,
                                               const AttributionInputs& inputs) const override;

 private:
  IntegratedGradientsOptions options_;
};

}  // namespace xai
