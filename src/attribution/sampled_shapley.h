// Sampled Shapley (Strumbelj & Kononenko 2014, "Explaining prediction models
// and individual predictions with feature contributions", KAIS; error analysis
// after Maleki et al. 2013, "Bounding the estimation error of sampling-based
// Shapley value approximation"). The features of the instance (its elements,
// or groups of them, see AttributionInputs::feature_of_element) are players;
// the value of a coalition S is f(instance values on S, baseline values
// elsewhere). For each of path_count distinct random permutations of the F
// features (SampleDistinctPermutations), start from the baseline, switch the
// features to the instance's values one at a time in permutation order, and
// record each feature's marginal contribution f(after) - f(before). A
// feature's attribution is the mean of
// its contributions over the permutations: an unbiased estimate of its
// Shapley value. Within one permutation the contributions telescope, so the
// attributions sum to f(x) - f(b) exactly (up to rounding) for any
// path_count. Forward passes only: non-differentiable models can be explained.
//
// Reproducible: permutations come from std::mt19937_64 seeded with
// options.seed and a Fisher-Yates shuffle written here (not
// std::shuffle / std::uniform_int_distribution, whose results differ between
// standard libraries), so the same request gives the same answer everywhere.
// The same permutations serve every baseline and every output element, so an
// output element's attribution does not depend on which others are requested.
//
// Exact when cheaper: if 2^F <= 1 + path_count * F (and exact_when_cheaper),
// the value of every coalition is taken instead (2^F rows per output element
// and baseline) and the exact Shapley values returned, with
// approximation_error 0 and steps path_count.
//
// Rows: for each (output element, baseline), 1 + path_count * F rows: f(b)
// once, shared by every permutation, then for each permutation the F states
// with its first 1, 2, ..., F features switched (the last one is x). All rows
// of all baselines and output elements go through one BatchedEvaluator pass,
// so the model runs ceil(output_elements * baselines * (1 + path_count * F) /
// batch_size) times.
//
// SampledShapley holds only its options: it is immutable and may be shared
// between threads; the ModelFunction may not.
#pragma once

#include <cstdint>
#include <vector>

#include "attribution/attribution_method.h"
#include "attribution/batched_evaluator.h"
#include "attribution/model_function.h"
#include "core/status.h"

namespace xai {

inline constexpr int kMinSampledShapleyPaths = 1;
inline constexpr int kMaxSampledShapleyPaths = 50;
inline constexpr int kDefaultSampledShapleyMaxFeatures = 1000;
inline constexpr uint64_t kDefaultSampledShapleySeed = 2014;

struct SampledShapleyOptions {
  int path_count = 10;                 // permutations sampled, [1, 50].
  int batch_size = kAutoBatchSize;     // rows per model run, >= 1; kAutoBatchSize: AutoBatchSize.
  uint64_t seed = kDefaultSampledShapleySeed;
  // Most features (F) accepted, >= 1. Each feature costs path_count rows per
  // baseline and output element; larger inputs (images) are refused with a
  // pointer to Integrated Gradients / XRAI or to grouping.
  int max_features = kDefaultSampledShapleyMaxFeatures;
  // When every coalition of the F features costs no more model rows than the
  // permutations would (2^F <= 1 + path_count * F: up to 5 features at 10
  // paths, 8 at 50), compute the exact Shapley values from all of them
  // instead of sampling (approximation_error 0). Off only in tests of the
  // sampler itself.
  bool exact_when_cheaper = true;
};

// INVALID_ARGUMENT naming the bad field, its value and the valid range.
Status ValidateSampledShapleyOptions(const SampledShapleyOptions& options);

// The permutations Sampled Shapley uses: `count` permutations of
// 0..num_features-1 from std::mt19937_64(seed). Each starts from the identity
// and is shuffled by Fisher-Yates (i from num_features-1 down to 1, swap i with
// j uniform in [0, i] by rejection sampling of the 64-bit outputs, no modulo
// bias). Identical on every platform and standard library.
std::vector<std::vector<int>> SamplePermutations(int num_features, int count, uint64_t seed);

// The permutations Sampled Shapley uses: SamplePermutations' draws with each
// repeat skipped (the next draw taken instead) until `count` are distinct,
// or all of SamplePermutations' `count` if there are no more than `count`
// orders. A repeat counted twice made two paths one, and with few features
// (4 have 24 orders) two equal paths gave a standard error, and so an
// approximationError, of 0 for an estimate off by half the output change.
std::vector<std::vector<int>> SampleDistinctPermutations(int num_features, int count, uint64_t seed);

class SampledShapley : public AttributionMethod {
 public:
  explicit SampledShapley(SampledShapleyOptions options = {}) : options_(options) {}

  const char* name() const override { return "sampled-shapley"; }
  const SampledShapleyOptions& options() const { return options_; }

  // One Attribution per requested output element, in request order:
  //  - feature_attributions[i]: feature i's mean marginal contribution,
  //    averaged over the baselines (phi_i below);
  //  - attributions: per input, shaped like the instance's tensor, each
  //    element holding its feature's attribution divided by the feature's
  //    number of elements. dtype: the input's if floating-point, else float64
  //    (so fractional attributions of integer inputs are not truncated);
  //  - instance_output: f(x), averaged over the permutations' final rows and
  //    the baselines (all equal for a deterministic model), so that the
  //    attributions sum to instance_output - baseline_output up to rounding;
  //  - baseline_output: mean over baselines of f(b);
  //  - steps: path_count;
  //  - approximation_error: the standard error of the estimate relative to
  //    the difference it divides up. With d_{i,p} feature i's contribution in
  //    permutation p averaged over the baselines, P = path_count and
  //    phi_i = mean_p d_{i,p}:
  //      s_i^2 = sum_p (d_{i,p} - phi_i)^2 / (P - 1)   if P >= 2 (sample variance),
  //      s_i^2 = d_{i,1}^2                              if P == 1,
  //      SE    = sqrt(sum_i s_i^2 / P * (N - P) / (N - 1)),  N = F! orders
  //      approximation_error = SE / max(|f(x) - f(b)|,
  //                                     1e-6 * max(|f(x)|, |f(b)|)),
  //    and 0 when SE == 0. SE estimates the root-mean-square Euclidean error
  //    of the attribution vector, sqrt(E ||phi_hat - phi||^2): the
  //    permutations are drawn without replacement from the N orders, hence
  //    the finite population correction (1 to double precision from about
  //    F = 20; 0.61 for 4 features and 10 paths). For P == 1 no variance can be estimated;
  //    d^2 estimates the second moment E[d^2] = Var(d) + E[d]^2 >= Var(d),
  //    an upper bound, so a single path reports a conservative, non-zero
  //    error. The denominator is CompletenessError's (path_integration.h).
  //    Caveat: for small P the sample variance is itself noisy (two orders
  //    that place the interacting features alike give s_i = 0).
  // Validates the options, the inputs (ValidateAttributionInputs with any
  // numeric dtype) and feature_of_element (ResolveFeatures); INVALID_ARGUMENT
  // if F > max_features. The model's errors and BatchedEvaluator's checks as is.
  StatusOr<std::vector<Attribution>> Attribute(ModelFunction& model,
                                               const AttributionInputs& inputs) const override;

 private:
  SampledShapleyOptions options_;
};

}  // namespace xai
