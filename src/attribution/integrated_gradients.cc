#include "attribution/integrated_gradients.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>

#include "attribution/attribution_inputs.h"
#include "attribution/option_checks.h"
#include "core/number_format.h"
#include "core/wide_loops.h"

namespace xai {

namespace {

using std::to_string;

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
XAI_WIDE_LOOPS void PointOnPath(const std::vector<double>& b, const std::vector<double>& x, double alpha,
                 double* out) {
  if (alpha == 0.0) {
    std::copy(b.begin(), b.end(), out);
  } else if (alpha == 1.0) {
    std::copy(x.begin(), x.end(), out);
  } else {
    for (size_t e = 0; e < x.size(); ++e) out[e] = b[e] + alpha * (x[e] - b[e]);
  }
}

// *sum += weight * values, element by element (values holds sum->size()).
XAI_WIDE_LOOPS void AddScaled(double weight, const double* values, std::vector<double>* sum) {
  double* out = sum->data();
  const size_t n = sum->size();
  for (size_t e = 0; e < n; ++e) out[e] += weight * values[e];
}

// --- the paths of one pass ------------------------------------------------------
//
// The engine below integrates straight paths whose endpoints may differ from
// path to path (baselines, noisy instances) and evaluates single points
// (the noiseless instance) in the same BatchedEvaluator pass. IntegratePaths
// describes its paths to it; the engine knows nothing of baselines or noise.

// A straight path from `start` to `end` (one tensor per input, shaped like the
// instance) for one output element.
struct StraightPath {
  const std::vector<Tensor>* start = nullptr;
  const std::vector<Tensor>* end = nullptr;
  int64_t output_element = 0;
};

// A point whose output alone is wanted (its gradient is ignored).
struct ProbePoint {
  const std::vector<Tensor>* point = nullptr;
  int64_t output_element = 0;
};

// What one pass evaluates: rows 0..num_probes-1 are the probes, then each
// path's rows (PathRows) in path order. Described by functions, so that memory
// does not grow with the number of paths.
struct PassPlan {
  int64_t num_probes = 0;
  std::function<ProbePoint(int64_t probe)> probe;
  int64_t num_paths = 0;
  std::function<StraightPath(int64_t path)> path;
};

// One path's integral, valid only during the sink call.
struct StraightPathIntegral {
  // Per input, row-major like the instance: (end - start) * sum_j w_j grad_j.
  std::vector<std::vector<double>> attributions;
  double start_output = 0;  // f(start).
  double end_output = 0;    // f(end), as the model gave it.
  // f(end) for the completeness gap: f(start) for a path of no length (see RunPass).
  double completeness_end_output = 0;
};

using StraightPathSink = std::function<void(int64_t path, const StraightPathIntegral& integral)>;

// Runs `plan` through one BatchedEvaluator pass: probe outputs into
// *probe_outputs (all before the first path is handed over), then each path's
// integral to `sink` as soon as its last row is consumed, in path order.
// `instance` gives the inputs' dtypes and shapes.
Status RunPass(ModelFunction& model, const std::vector<Tensor>& instance, const PassPlan& plan,
               const IntegratedGradientsOptions& options, std::vector<double>* probe_outputs,
               const StraightPathSink& sink) {
  const size_t num_inputs = instance.size();
  const std::vector<PathPoint> path_rows = PathRows(options.rule, options.steps);
  const int64_t rows_per_path = static_cast<int64_t>(path_rows.size());
  const int64_t num_probes = plan.num_probes;
  probe_outputs->assign(num_probes, 0.0);

  // The path being integrated: sum_j w_j grad_j per input, f(start), f(end).
  // Rows are consumed in order, so one path is open at a time.
  StraightPathIntegral open;
  open.attributions.resize(num_inputs);
  for (size_t i = 0; i < num_inputs; ++i) {
    open.attributions[i].assign(instance[i].values.size(), 0.0);
  }

  auto fill = [&](int64_t row, RowBuffer& buffer) {
    if (row < num_probes) {
      const ProbePoint probe = plan.probe(row);
      buffer.output_element = probe.output_element;
      for (size_t i = 0; i < num_inputs; ++i) {
        const std::vector<double>& values = (*probe.point)[i].values;
        std::copy(values.begin(), values.end(), buffer.inputs[i]);
      }
      return;
    }
    const int64_t path_row = row - num_probes;
    const StraightPath path = plan.path(path_row / rows_per_path);
    const PathPoint& point = path_rows[path_row % rows_per_path];
    buffer.output_element = path.output_element;
    for (size_t i = 0; i < num_inputs; ++i) {
      PointOnPath((*path.start)[i].values, (*path.end)[i].values, point.alpha, buffer.inputs[i]);
    }
  };

  auto consume = [&](int64_t row, const RowResult& result) {
    if (row < num_probes) {
      (*probe_outputs)[row] = result.output;
      return;
    }
    const int64_t path_row = row - num_probes;
    const PathPoint& point = path_rows[path_row % rows_per_path];
    if (point.weight != 0.0) {
      for (size_t i = 0; i < num_inputs; ++i) AddScaled(point.weight, result.gradients[i], &open.attributions[i]);
    }
    if (point.alpha == 0.0) open.start_output = result.output;
    if (point.alpha == 1.0) open.end_output = result.output;
    if (path_row % rows_per_path != rows_per_path - 1) return;

    // Last row of the path: (end - start) * sum_j w_j grad_j, in place.
    const int64_t path_index = path_row / rows_per_path;
    const StraightPath path = plan.path(path_index);
    bool moves = false;
    for (size_t i = 0; i < num_inputs; ++i) {
      const std::vector<double>& start = (*path.start)[i].values;
      const std::vector<double>& end = (*path.end)[i].values;
      std::vector<double>& sum = open.attributions[i];
      for (size_t e = 0; e < sum.size(); ++e) {
        sum[e] *= end[e] - start[e];
        moves = moves || end[e] != start[e];
      }
    }
    // A path of no length (end == start everywhere, as with a baseline equal
    // to the instance) has attributions of exactly 0, and f(end) = f(start)
    // exactly. The model's two outputs come from different batch rows, whose
    // last bits may differ (float32 kernels vary with the row): a gap no
    // step count could close. Its completeness is measured against f(start).
    open.completeness_end_output = moves ? open.end_output : open.start_output;
    sink(path_index, open);
    for (std::vector<double>& sum : open.attributions) std::fill(sum.begin(), sum.end(), 0.0);
  };

  BatchedEvaluatorOptions evaluator_options;
  evaluator_options.batch_size = options.batch_size;
  evaluator_options.with_gradients = true;
  evaluator_options.describe_row = [&](int64_t row) -> std::string {
    if (row < num_probes) return "the instance (its noiseless output)";
    const double alpha = path_rows[(row - num_probes) % rows_per_path].alpha;
    if (alpha == 0.0) return "the baseline (the path's start, alpha = 0)";
    if (alpha == 1.0) return "the instance (the path's end, alpha = 1; with SmoothGrad, a noisy copy of it)";
    return "a point on the path from the baseline to the instance (alpha = " + FormatNumber(alpha) + ")";
  };
  BatchedEvaluator evaluator(model, LayoutOf(instance), evaluator_options);
  return evaluator.Run(num_probes + plan.num_paths * rows_per_path, fill, consume);
}

// --- SmoothGrad -----------------------------------------------------------------

// Standard normal variates from a std::mt19937_64 by the Box-Muller transform,
// so that the sequence depends only on the seed (std::normal_distribution's
// algorithm is left to the standard library).
class StandardNormalSource {
 public:
  explicit StandardNormalSource(uint64_t seed) : engine_(seed) {}

  double Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    // 53 random bits each: u1 in (0, 1] (log(u1) is finite), u2 in [0, 1).
    const double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * 0x1p-53;
    const double u2 = static_cast<double>(engine_() >> 11) * 0x1p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(kTwoPi * u2);
    has_spare_ = true;
    return radius * std::cos(kTwoPi * u2);
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// Whether input i has its own sigmas in feature_noise_sigma.
bool HasFeatureNoiseSigma(const SmoothGradOptions& smooth_grad, size_t input) {
  return input < smooth_grad.feature_noise_sigma.size() &&
         !smooth_grad.feature_noise_sigma[input].values.empty();
}

// Checks feature_noise_sigma against the instance: one entry per input (or
// none), each shaped like the instance's tensor.
Status ValidateSmoothGradInputs(const SmoothGradOptions& smooth_grad,
                                const std::vector<Tensor>& instance) {
  const std::vector<Tensor>& sigmas = smooth_grad.feature_noise_sigma;
  if (!sigmas.empty() && sigmas.size() != instance.size()) {
    return InvalidArgument("SmoothGrad feature_noise_sigma has " + to_string(sigmas.size()) +
                           " entries; expected none or " + to_string(instance.size()) +
                           ", one per attributed input");
  }
  for (size_t i = 0; i < sigmas.size(); ++i) {
    if (!HasFeatureNoiseSigma(smooth_grad, i)) continue;
    if (sigmas[i].shape != instance[i].shape) {
      return InvalidArgument("SmoothGrad feature_noise_sigma for input " + to_string(i) +
                             ": expected shape " + ShapeToString(instance[i].shape) +
                             " like the instance, actual " + ShapeToString(sigmas[i].shape));
    }
  }
  return OkStatus();
}

// The noisy_sample_count noisy copies of the instance (see SmoothGradOptions).
StatusOr<std::vector<std::vector<Tensor>>> NoisyInstances(const std::vector<Tensor>& instance,
                                                          const SmoothGradOptions& smooth_grad) {
  StandardNormalSource normal(smooth_grad.seed);
  std::vector<std::vector<Tensor>> samples(smooth_grad.noisy_sample_count, instance);
  for (size_t s = 0; s < samples.size(); ++s) {
    for (size_t i = 0; i < instance.size(); ++i) {
      const bool per_feature = HasFeatureNoiseSigma(smooth_grad, i);
      std::vector<double>& values = samples[s][i].values;
      for (size_t e = 0; e < values.size(); ++e) {
        const double z = normal.Next();
        const double sigma =
            per_feature ? smooth_grad.feature_noise_sigma[i].values[e] : smooth_grad.noise_sigma;
        if (sigma == 0.0) continue;
        values[e] += sigma * z;
        if (!std::isfinite(values[e])) {
          return InvalidArgument("SmoothGrad noise of sigma " + FormatNumber(sigma) +
                                 " made instance input " + to_string(i) + " value " +
                                 to_string(e) + " overflow; expected a smaller sigma");
        }
      }
    }
  }
  return samples;
}

// --- blur baseline ----------------------------------------------------------------

// The instance blurred input by input; every input must be an image.
StatusOr<std::vector<Tensor>> BlurredInstance(const std::vector<Tensor>& instance, double sigma) {
  std::vector<Tensor> blurred;
  blurred.reserve(instance.size());
  for (size_t i = 0; i < instance.size(); ++i) {
    if (!IsImageShape(instance[i].shape)) {
      return InvalidArgument(
          "blurBaselineConfig needs image inputs [H,W] or [H,W,C]; instance input " +
          to_string(i) + " has shape " + ShapeToString(instance[i].row_shape()) + " per instance");
    }
    XAI_ASSIGN_OR_RETURN(Tensor image, GaussianBlurImage(instance[i], sigma));
    blurred.push_back(std::move(image));
  }
  return blurred;
}

}  // namespace

Status ValidateIntegratedGradientsOptions(const IntegratedGradientsOptions& options) {
  XAI_RETURN_IF_ERROR(CheckIntegerOptionInRange("Integrated Gradients steps", options.steps,
                                                kMinIntegratedGradientsSteps,
                                                kMaxIntegratedGradientsSteps));
  XAI_RETURN_IF_ERROR(
      CheckIntegerOptionAtLeast("Integrated Gradients batch_size", options.batch_size, kAutoBatchSize));
  if (options.smooth_grad) {
    const SmoothGradOptions& smooth_grad = *options.smooth_grad;
    if (!(smooth_grad.noise_sigma >= 0) || !std::isfinite(smooth_grad.noise_sigma)) {
      return InvalidArgument("SmoothGrad noise_sigma " + FormatNumber(smooth_grad.noise_sigma) +
                             " is out of range; expected a finite number >= 0");
    }
    XAI_RETURN_IF_ERROR(CheckIntegerOptionInRange("SmoothGrad noisy_sample_count",
                                                  smooth_grad.noisy_sample_count,
                                                  kMinNoisySampleCount, kMaxNoisySampleCount));
    for (size_t i = 0; i < smooth_grad.feature_noise_sigma.size(); ++i) {
      const Tensor& sigmas = smooth_grad.feature_noise_sigma[i];
      if (!HasFeatureNoiseSigma(smooth_grad, i)) continue;
      if (static_cast<int64_t>(sigmas.values.size()) != sigmas.num_elements()) {
        return InvalidArgument("SmoothGrad feature_noise_sigma for input " + to_string(i) +
                               " holds " + to_string(sigmas.values.size()) +
                               " values; expected " + to_string(sigmas.num_elements()) +
                               " for shape " + ShapeToString(sigmas.shape));
      }
      for (size_t e = 0; e < sigmas.values.size(); ++e) {
        const double sigma = sigmas.values[e];
        if (!(sigma >= 0) || !std::isfinite(sigma)) {
          return InvalidArgument("SmoothGrad feature_noise_sigma for input " + to_string(i) +
                                 ", element " + to_string(e) + " is " + FormatNumber(sigma) +
                                 "; expected finite values >= 0");
        }
      }
    }
  }
  if (options.max_blur_sigma) {
    XAI_RETURN_IF_ERROR(ValidateGaussianBlurSigma(*options.max_blur_sigma,
                                                  "blur baseline max_blur_sigma"));
  }
  return OkStatus();
}

Status IntegratePaths(ModelFunction& model, const AttributionInputs& inputs,
                      const IntegratedGradientsOptions& options,
                      const BaselinePathIntegralSink& sink) {
  XAI_RETURN_IF_ERROR(ValidateIntegratedGradientsOptions(options));
  const bool blur_baseline = options.max_blur_sigma.has_value();
  // A blur baseline replaces the given baselines, so there may be none.
  XAI_RETURN_IF_ERROR(ValidateAttributionInputs(inputs, InputDTypes::kFloatingPoint,
                                                "Integrated Gradients", blur_baseline ? 0 : 1));
  const std::vector<Tensor>& x = inputs.instance;
  const SmoothGradOptions* smooth_grad = options.smooth_grad ? &*options.smooth_grad : nullptr;
  if (smooth_grad != nullptr) XAI_RETURN_IF_ERROR(ValidateSmoothGradInputs(*smooth_grad, x));

  // Where the paths start: the given baselines, or one blurred instance
  // standing for each of them.
  std::vector<Tensor> blurred;
  if (blur_baseline) {
    XAI_ASSIGN_OR_RETURN(blurred, BlurredInstance(x, *options.max_blur_sigma));
  }
  const int64_t num_given_baselines = static_cast<int64_t>(inputs.baselines.size());
  const int64_t num_baselines =
      blur_baseline ? std::max<int64_t>(1, num_given_baselines) : num_given_baselines;
  // Where they end: the instance, or its noisy samples.
  std::vector<std::vector<Tensor>> noisy;
  if (smooth_grad != nullptr) {
    XAI_ASSIGN_OR_RETURN(noisy, NoisyInstances(x, *smooth_grad));
  }
  const int64_t num_samples = smooth_grad != nullptr ? smooth_grad->noisy_sample_count : 1;

  // Path p explains output element k = p / (M * S) from baseline
  // m = p / S % M to sample s = p % S. With SmoothGrad, probe k is the
  // noiseless instance for output element k.
  const int64_t num_outputs = static_cast<int64_t>(inputs.output_elements.size());
  const int64_t paths_per_output = num_baselines * num_samples;
  PassPlan plan;
  plan.num_probes = smooth_grad != nullptr ? num_outputs : 0;
  plan.probe = [&](int64_t k) { return ProbePoint{&x, inputs.output_elements[k]}; };
  plan.num_paths = num_outputs * paths_per_output;
  plan.path = [&](int64_t p) {
    const int64_t m = p / num_samples % num_baselines;
    const int64_t s = p % num_samples;
    return StraightPath{blur_baseline ? &blurred : &inputs.baselines[m],
                        smooth_grad != nullptr ? &noisy[s] : &x,
                        inputs.output_elements[p / paths_per_output]};
  };

  // Sums the samples of one (output element, baseline), hands the mean over.
  std::vector<double> probe_outputs;
  BaselinePathIntegral open;
  auto add_sample = [&](int64_t p, const StraightPathIntegral& integral) {
    const int64_t s = p % num_samples;
    if (s == 0) {
      open = BaselinePathIntegral();
      open.output_index = p / paths_per_output;
      open.baseline_index = static_cast<int>(p / num_samples % num_baselines);
      open.baseline_output = integral.start_output;  // the same start for every sample.
      open.attributions.reserve(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        open.attributions.push_back(
            Tensor::FromValues(x[i].dtype, x[i].shape, integral.attributions[i]));
      }
      open.path_end_output = integral.completeness_end_output;
    } else {
      for (size_t i = 0; i < x.size(); ++i) {
        std::vector<double>& sum = open.attributions[i].values;
        for (size_t e = 0; e < sum.size(); ++e) sum[e] += integral.attributions[i][e];
      }
      open.path_end_output += integral.completeness_end_output;
    }
    if (s != num_samples - 1) return;
    if (num_samples > 1) {
      const double n = static_cast<double>(num_samples);
      for (Tensor& tensor : open.attributions) {
        for (double& value : tensor.values) value /= n;
      }
      open.path_end_output /= n;
    }
    // Without SmoothGrad the one sample's path ends at the instance: f(x) as the model gave it.
    open.instance_output = smooth_grad != nullptr ? probe_outputs[open.output_index] : integral.end_output;
    sink(std::move(open));
  };

  return RunPass(model, x, plan, options, &probe_outputs, add_sample);
}

StatusOr<std::vector<Attribution>> IntegratedGradients::Attribute(
    ModelFunction& model, const AttributionInputs& inputs) const {
  // Sums over baselines, divided by their number once all are in.
  const size_t num_outputs = inputs.output_elements.size();
  std::vector<Attribution> attributions(num_outputs);
  std::vector<double> path_end_outputs(num_outputs, 0.0);
  std::vector<int> num_baselines(num_outputs, 0);
  auto add = [&](BaselinePathIntegral&& integral) {
    const int64_t k = integral.output_index;
    Attribution& total = attributions[k];
    if (num_baselines[k] == 0) {
      total.attributions = std::move(integral.attributions);
      total.instance_output = integral.instance_output;  // the same for every baseline.
    } else {
      for (size_t i = 0; i < total.attributions.size(); ++i) {
        std::vector<double>& sum = total.attributions[i].values;
        for (size_t e = 0; e < sum.size(); ++e) sum[e] += integral.attributions[i].values[e];
      }
    }
    total.baseline_output += integral.baseline_output;
    path_end_outputs[k] += integral.path_end_output;
    ++num_baselines[k];
  };
  XAI_RETURN_IF_ERROR(IntegratePaths(model, inputs, options_, add));

  for (size_t k = 0; k < num_outputs; ++k) {
    Attribution& attribution = attributions[k];
    const double n = static_cast<double>(num_baselines[k]);
    attribution.output_element = inputs.output_elements[k];
    attribution.steps = options_.steps;
    attribution.baseline_output /= n;
    double sum = 0;
    for (Tensor& tensor : attribution.attributions) {
      for (double& value : tensor.values) {
        // + 0.0 makes a zero attribution 0, not -0 (a zero gradient times a
        // negative x - baseline), which JSON would show as -0.0.
        value = value / n + 0.0;
        sum += value;
      }
    }
    attribution.approximation_error =
        CompletenessError(sum, path_end_outputs[k] / n, attribution.baseline_output);
  }
  return attributions;
}

}  // namespace xai
