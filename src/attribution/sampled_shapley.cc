#include "attribution/sampled_shapley.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "attribution/attribution_inputs.h"
#include "attribution/option_checks.h"
#include "attribution/path_integration.h"
#include "core/tensor.h"

namespace xai {

namespace {

using std::to_string;

// Uniform in [0, n), n >= 1, from the generator's full 64-bit outputs: the
// 2^64 mod n smallest outputs are rejected, so the rest split evenly.
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t n) {
  const uint64_t rejected = (0 - n) % n;  // 2^64 mod n.
  for (;;) {
    const uint64_t value = rng();
    if (value >= rejected) return value % n;
  }
}

// What one output element's rows add up to, over every baseline.
struct OutputSums {
  // [p * F + feature]: the feature's contribution in permutation p, summed
  // over the baselines.
  std::vector<double> contributions;
  double instance_output = 0;  // f at the all-switched rows.
  int64_t instance_rows = 0;
  double baseline_output = 0;  // f(b) over the baselines.

  void Reset() {
    std::fill(contributions.begin(), contributions.end(), 0.0);
    instance_output = baseline_output = 0;
    instance_rows = 0;
  }
};

// Sets `feature`'s elements in `buffer` to the instance's values.
void SwitchToInstance(const FeatureSet& features, const std::vector<Tensor>& x, int64_t feature,
                      RowBuffer& buffer) {
  for (int64_t n = features.offsets[feature]; n < features.offsets[feature + 1]; ++n) {
    const ElementIndex& element = features.elements[n];
    buffer.inputs[element.input][element.element] = x[element.input].values[element.element];
  }
}

// Fills attribution->attributions from its feature_attributions: each
// element holds its feature's value divided by the feature's element count.
void SpreadOverElements(const FeatureSet& features, const std::vector<Tensor>& instance,
                        Attribution* attribution) {
  attribution->attributions.reserve(instance.size());
  for (const Tensor& x : instance) {
    attribution->attributions.emplace_back(IsFloating(x.dtype) ? x.dtype : DType::kFloat64, x.shape);
  }
  for (int64_t f = 0; f < features.num_features(); ++f) {
    const double share = attribution->feature_attributions[f] / static_cast<double>(features.num_elements(f));
    for (int64_t n = features.offsets[f]; n < features.offsets[f + 1]; ++n) {
      const ElementIndex& element = features.elements[n];
      attribution->attributions[element.input].values[element.element] = share;
    }
  }
}

// A uniformly random permutation of 0..n-1: Fisher-Yates from the identity
// (i from n-1 down to 1, swap i with j uniform in [0, i]).
std::vector<int> DrawPermutation(std::mt19937_64& rng, int n) {
  std::vector<int> order(std::max(n, 0));
  std::iota(order.begin(), order.end(), 0);
  for (int i = n - 1; i >= 1; --i) {
    const uint64_t j = UniformBelow(rng, static_cast<uint64_t>(i) + 1);
    std::swap(order[i], order[j]);
  }
  return order;
}

// The Attribution of one output element from its sums (the means and the
// standard error as documented on SampledShapley::Attribute).
Attribution Summarize(int64_t output_element, const OutputSums& sums, int path_count,
                      int64_t num_baselines, const FeatureSet& features,
                      const std::vector<Tensor>& instance) {
  const int64_t num_features = features.num_features();
  const double paths = path_count;
  const double baselines = static_cast<double>(num_baselines);

  Attribution attribution;
  attribution.output_element = output_element;
  attribution.steps = path_count;
  attribution.instance_output = sums.instance_output / static_cast<double>(sums.instance_rows);
  attribution.baseline_output = sums.baseline_output / baselines;

  // Sum over features of s_i^2 / P.
  double variance_of_estimate = 0;
  attribution.feature_attributions.resize(num_features);
  for (int64_t f = 0; f < num_features; ++f) {
    double mean = 0;
    for (int p = 0; p < path_count; ++p) mean += sums.contributions[p * num_features + f];
    mean /= baselines * paths;
    double second_moment = 0;  // about the mean for P >= 2, about 0 for P == 1.
    for (int p = 0; p < path_count; ++p) {
      const double d = sums.contributions[p * num_features + f] / baselines;
      second_moment += path_count >= 2 ? (d - mean) * (d - mean) : d * d;
    }
    const double sample_variance = path_count >= 2 ? second_moment / (paths - 1) : second_moment;
    variance_of_estimate += sample_variance / paths;
    attribution.feature_attributions[f] = mean;
  }
  // Distinct permutations, drawn without replacement from the F! orders: the
  // finite population correction (N - P) / (N - 1), which matters only for
  // small F (4 features, 10 paths: 0.61).
  double orders = 1;  // F!, up to where the correction is 1 to double precision
  for (int64_t f = 2; f <= num_features && orders < 1e18; ++f) orders *= static_cast<double>(f);
  if (orders > paths) variance_of_estimate *= (orders - paths) / (orders - 1);
  // The standard error relative to what the attributions divide up (see
  // SampledShapley::Attribute).
  attribution.approximation_error =
      RelativeToOutputChange(std::sqrt(variance_of_estimate), attribution.instance_output,
                             attribution.baseline_output);
  SpreadOverElements(features, instance, &attribution);
  return attribution;
}

// Sampled Shapley proper: the mean contribution over options.path_count
// seeded permutations (see SampledShapley::Attribute).
StatusOr<std::vector<Attribution>> SampledAttributions(ModelFunction& model, const AttributionInputs& inputs,
                                                       const FeatureSet& features,
                                                       const SampledShapleyOptions& options) {
  const int64_t num_features = features.num_features();
  const std::vector<Tensor>& x = inputs.instance;
  const int path_count = options.path_count;
  const std::vector<std::vector<int>> permutations =
      SampleDistinctPermutations(static_cast<int>(num_features), path_count, options.seed);
  const int64_t num_baselines = static_cast<int64_t>(inputs.baselines.size());
  const int64_t num_outputs = static_cast<int64_t>(inputs.output_elements.size());
  // Row set s explains output element s / num_baselines from baseline
  // s % num_baselines; its rows are consecutive: f(b), then permutation p's
  // t-th state (features order[0..t] switched) at 1 + p * F + t.
  const int64_t rows_per_set = 1 + path_count * num_features;
  const int64_t num_sets = num_outputs * num_baselines;

  std::vector<Attribution> attributions;
  attributions.reserve(num_outputs);
  // Rows are consumed in order, so one output element is open at a time.
  OutputSums sums;
  sums.contributions.assign(path_count * num_features, 0.0);
  double baseline_value = 0;  // f(b) of the open row set.
  double previous = 0;        // f at the previous state of the open permutation.

  auto fill = [&](int64_t row, RowBuffer& buffer) {
    const int64_t set = row / rows_per_set;
    const int64_t within = row % rows_per_set;
    const std::vector<Tensor>& b = inputs.baselines[set % num_baselines];
    buffer.output_element = inputs.output_elements[set / num_baselines];
    for (size_t i = 0; i < x.size(); ++i) {
      std::copy(b[i].values.begin(), b[i].values.end(), buffer.inputs[i]);
    }
    if (within == 0) return;
    const std::vector<int>& order = permutations[(within - 1) / num_features];
    const int64_t switched = (within - 1) % num_features + 1;
    for (int64_t t = 0; t < switched; ++t) SwitchToInstance(features, x, order[t], buffer);
  };

  auto consume = [&](int64_t row, const RowResult& result) {
    const int64_t set = row / rows_per_set;
    const int64_t within = row % rows_per_set;
    if (within == 0) {
      baseline_value = result.output;
      sums.baseline_output += result.output;
      if (num_features == 0) {  // nothing to switch: the baseline row is also x.
        sums.instance_output += result.output;
        ++sums.instance_rows;
      }
    } else {
      const int64_t p = (within - 1) / num_features;
      const int64_t t = (within - 1) % num_features;
      const double before = t == 0 ? baseline_value : previous;
      sums.contributions[p * num_features + permutations[p][t]] += result.output - before;
      previous = result.output;
      if (t == num_features - 1) {
        sums.instance_output += result.output;
        ++sums.instance_rows;
      }
    }
    if (within == rows_per_set - 1 && set % num_baselines == num_baselines - 1) {
      attributions.push_back(Summarize(inputs.output_elements[set / num_baselines], sums,
                                       path_count, num_baselines, features, x));
      sums.Reset();
    }
  };

  BatchedEvaluatorOptions evaluator_options;
  evaluator_options.batch_size = options.batch_size;
  evaluator_options.with_gradients = false;
  evaluator_options.describe_row = [&](int64_t row) -> std::string {
    const int64_t within = row % rows_per_set;
    if (within == 0) return "the baseline";
    const int64_t switched = (within - 1) % num_features + 1;
    if (switched == num_features) return "the instance (every feature switched from the baseline)";
    return "the baseline with " + std::to_string(switched) + " of the " + std::to_string(num_features) +
           " features switched to the instance's values (permutation " +
           std::to_string((within - 1) / num_features + 1) + ")";
  };
  BatchedEvaluator evaluator(model, LayoutOf(x), evaluator_options);
  XAI_RETURN_IF_ERROR(evaluator.Run(num_sets * rows_per_set, fill, consume));
  return attributions;
}

// Whether every coalition of the features takes no more model rows than the
// sampled permutations would (2^F <= 1 + path_count * F per baseline and
// output element): then the exact values cost less than the estimate.
bool ExactIsCheaper(int64_t num_features, const SampledShapleyOptions& options) {
  if (!options.exact_when_cheaper || num_features < 1 || num_features > 30) return false;
  return (int64_t{1} << num_features) <= 1 + options.path_count * num_features;
}

// Exact Shapley values from the value of every coalition S (a bit mask of
// the features switched to the instance's values, the others at the
// baseline): phi_i = sum over S without i of |S|! (F - |S| - 1)! / F! *
// (v(S + i) - v(S)), averaged over the baselines. No sampling error.
StatusOr<std::vector<Attribution>> ExactAttributions(ModelFunction& model, const AttributionInputs& inputs,
                                                     const FeatureSet& features,
                                                     const SampledShapleyOptions& options) {
  const std::vector<Tensor>& x = inputs.instance;
  const int num_features = static_cast<int>(features.num_features());
  const int64_t coalitions = int64_t{1} << num_features;
  const int64_t num_baselines = static_cast<int64_t>(inputs.baselines.size());
  const int64_t num_outputs = static_cast<int64_t>(inputs.output_elements.size());
  // weight[s] = s! (F - s - 1)! / F!, the share of orders in which a
  // feature comes right after a given coalition of s others.
  std::vector<double> weight(num_features);
  for (int s = 0; s < num_features; ++s) {
    double w = 1.0 / num_features;  // 1 / (F choose s) / F, built up one factor at a time.
    for (int k = 1; k <= s; ++k) w *= static_cast<double>(k) / (num_features - s + k - 1);
    weight[s] = w;
  }

  std::vector<Attribution> attributions;
  attributions.reserve(num_outputs);
  std::vector<double> values(coalitions);  // v(S) of the open row set.
  std::vector<double> phi(num_features, 0.0);
  double instance_output = 0, baseline_output = 0;

  auto fill = [&](int64_t row, RowBuffer& buffer) {
    const int64_t set = row / coalitions;
    const uint64_t mask = static_cast<uint64_t>(row % coalitions);
    const std::vector<Tensor>& b = inputs.baselines[set % num_baselines];
    buffer.output_element = inputs.output_elements[set / num_baselines];
    for (size_t i = 0; i < x.size(); ++i) std::copy(b[i].values.begin(), b[i].values.end(), buffer.inputs[i]);
    for (int feature = 0; feature < num_features; ++feature) {
      if (mask >> feature & 1) SwitchToInstance(features, x, feature, buffer);
    }
  };

  auto consume = [&](int64_t row, const RowResult& result) {
    const int64_t set = row / coalitions;
    const int64_t mask = row % coalitions;
    values[mask] = result.output;
    if (mask < coalitions - 1) return;
    for (int64_t s = 0; s < coalitions; ++s) {
      const int size = __builtin_popcountll(static_cast<unsigned long long>(s));
      for (int feature = 0; feature < num_features; ++feature) {
        if ((s >> feature & 1) == 0) phi[feature] += weight[size] * (values[s | int64_t{1} << feature] - values[s]);
      }
    }
    instance_output += values[coalitions - 1];
    baseline_output += values[0];
    if (set % num_baselines < num_baselines - 1) return;
    Attribution attribution;
    attribution.output_element = inputs.output_elements[set / num_baselines];
    attribution.steps = options.path_count;
    attribution.instance_output = instance_output / static_cast<double>(num_baselines);
    attribution.baseline_output = baseline_output / static_cast<double>(num_baselines);
    attribution.approximation_error = 0;
    attribution.feature_attributions.resize(num_features);
    for (int feature = 0; feature < num_features; ++feature) {
      attribution.feature_attributions[feature] = phi[feature] / static_cast<double>(num_baselines);
    }
    SpreadOverElements(features, x, &attribution);
    attributions.push_back(std::move(attribution));
    std::fill(phi.begin(), phi.end(), 0.0);
    instance_output = baseline_output = 0;
  };

  BatchedEvaluatorOptions evaluator_options;
  evaluator_options.batch_size = options.batch_size;
  evaluator_options.with_gradients = false;
  evaluator_options.describe_row = [&](int64_t row) -> std::string {
    const int64_t mask = row % coalitions;
    if (mask == 0) return "the baseline";
    if (mask == coalitions - 1) return "the instance (every feature switched from the baseline)";
    // Indices, not a count: "features 0, 2 (of 4)", never "0 of the 4".
    std::string switched;
    int count = 0;
    for (int feature = 0; feature < num_features; ++feature) {
      if ((mask >> feature & 1) == 0) continue;
      switched += (count++ == 0 ? "" : ", ") + std::to_string(feature);
    }
    const bool one = count == 1;
    return std::string("the baseline with ") + (one ? "feature " : "features ") + switched + " (of " +
           std::to_string(num_features) + ") switched to the instance's " + (one ? "value" : "values");
  };
  BatchedEvaluator evaluator(model, LayoutOf(x), evaluator_options);
  XAI_RETURN_IF_ERROR(evaluator.Run(num_outputs * num_baselines * coalitions, fill, consume));
  return attributions;
}

}  // namespace

Status ValidateSampledShapleyOptions(const SampledShapleyOptions& options) {
  XAI_RETURN_IF_ERROR(CheckIntegerOptionInRange("Sampled Shapley path_count", options.path_count,
                                                kMinSampledShapleyPaths, kMaxSampledShapleyPaths));
  XAI_RETURN_IF_ERROR(
      CheckIntegerOptionAtLeast("Sampled Shapley batch_size", options.batch_size, kAutoBatchSize));
  return CheckIntegerOptionAtLeast("Sampled Shapley max_features", options.max_features, 1);
}

std::vector<std::vector<int>> SamplePermutations(int num_features, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int>> permutations(std::max(count, 0));
  for (std::vector<int>& order : permutations) order = DrawPermutation(rng, num_features);
  return permutations;
}

std::vector<std::vector<int>> SampleDistinctPermutations(int num_features, int count, uint64_t seed) {
  double orders = 1;  // F!, as far as it matters
  for (int f = 2; f <= num_features && orders <= count; ++f) orders *= f;
  if (orders <= count) return SamplePermutations(num_features, count, seed);
  std::mt19937_64 rng(seed);
  std::set<std::vector<int>> seen;
  std::vector<std::vector<int>> permutations;
  while (static_cast<int>(permutations.size()) < count) {
    std::vector<int> order = DrawPermutation(rng, num_features);
    if (seen.insert(order).second) permutations.push_back(std::move(order));
  }
  return permutations;
}

StatusOr<std::vector<Attribution>> SampledShapley::Attribute(
    ModelFunction& model, const AttributionInputs& inputs) const {
  XAI_RETURN_IF_ERROR(ValidateSampledShapleyOptions(options_));
  XAI_RETURN_IF_ERROR(ValidateAttributionInputs(inputs, InputDTypes::kNumeric, "Sampled Shapley"));
  XAI_ASSIGN_OR_RETURN(const FeatureSet features, ResolveFeatures(inputs));
  const int64_t num_features = features.num_features();
  if (num_features > options_.max_features) {
    // Gradient methods need floating-point inputs: for integer ones (uint8
    // images) they are no way out unless the model casts first.
    const bool integer = std::any_of(inputs.instance.begin(), inputs.instance.end(),
                                     [](const Tensor& t) { return !IsFloating(t.dtype); });
    return InvalidArgument(
        "Sampled Shapley: the instance has " + to_string(num_features) + " features, more than the " +
        to_string(options_.max_features) +
        " it takes; each feature costs path_count model rows per baseline and output element. " +
        (integer ? std::string("Inputs that share a group_name in the explanation metadata count as one feature "
                               "(which helps when the features are inputs of their own), or, "
                               "since the input is integer (Integrated Gradients and XRAI need floating point), "
                               "save an 'xai_preprocess' signature that casts it (a uint8 image to float32) "
                               "and an 'xai_model' that takes the result, and explain that with them")
                 : std::string("For images or other large inputs use Integrated Gradients or XRAI instead; "
                               "inputs that share a group_name in the explanation metadata count as one feature "
                               "(which helps when the features are inputs of their own, not elements of one)")));
  }

  if (ExactIsCheaper(num_features, options_)) return ExactAttributions(model, inputs, features, options_);
  return SampledAttributions(model, inputs, features, options_);
}

}  // namespace xai
