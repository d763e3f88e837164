#include "model/attribution_setup.h"

#include <algorithm>
#include <map>

#include "attribution/integrated_gradients.h"
#include "attribution/sampled_shapley.h"
#include "attribution/xrai.h"

namespace xai {
namespace {

// Inputs whose zeros are absent elements: SparseTensor inputs (only their
// nonzero elements are fed) and bag_of_features_sparse.
bool HasAbsentZeros(const BoundInput& input) {
  return input.tensor.is_sparse() || input.metadata.encoding == "bag_of_features_sparse";
}

// XRAI and the blur baseline treat an input as an image. One whose metadata
// says it is text or categorical (an embedding matrix of tokens, say) may
// still have an image's shape, so the metadata decides.
Status CheckImageModality(const std::vector<BoundInput>& inputs, const std::string& what) {
  for (const BoundInput& in : inputs) {
    const std::string& modality = in.metadata.modality;
    if (modality != "text" && modality != "categorical") continue;
    return InvalidArgument(what + " applies to image inputs; input '" + in.metadata.name + "' is " + modality +
                           " (its metadata's modality): use integratedGradientsAttribution without it, or "
                           "sampledShapleyAttribution");
  }
  return OkStatus();
}

StatusOr<IntegratedGradientsOptions> PathOptions(const ExplainOptions& options, const std::vector<BoundInput>& inputs,
                                                 const std::vector<Tensor>& instance, int step_count) {
  IntegratedGradientsOptions ig;
  ig.steps = step_count;
  ig.batch_size = options.batch_size;
  ig.max_blur_sigma = options.max_blur_sigma;
  if (options.max_blur_sigma) XAI_RETURN_IF_ERROR(CheckImageModality(inputs, "blurBaselineConfig"));
  // A SparseTensor input is fed its nonzero elements only, so where the
  // path is all zero (alpha = 0 from a zero baseline) it has no entries and
  // no gradient. The midpoint rule never evaluates alpha = 0 or 1 for the
  // integral (f(b) and f(x) come from extra rows of weight 0), and like the
  // trapezoid rule it is exact when the gradient is constant along the path.
  const bool any_sparse =
      std::any_of(inputs.begin(), inputs.end(), [](const BoundInput& in) { return in.tensor.is_sparse(); });
  if (any_sparse) ig.rule = PathRule::kRiemannMiddle;
  if (options.smooth_grad) {
    SmoothGradOptions smooth;
    smooth.noise_sigma = options.smooth_grad->noise_sigma;
    smooth.noisy_sample_count = options.smooth_grad->noisy_sample_count;
    const auto& per_feature = options.smooth_grad->feature_noise_sigma;
    for (const auto& [name, sigma] : per_feature) {
      XAI_RETURN_IF_ERROR(CheckAttributedInputName(inputs, name, "smoothGradConfig.featureNoiseSigma"));
    }
    // Per-element sigmas: from featureNoiseSigma (unnamed inputs get none),
    // and no noise on the absent (zero) elements of sparse inputs, which
    // noise would otherwise make present.
    const bool masks = std::any_of(inputs.begin(), inputs.end(), HasAbsentZeros);
    if (!per_feature.empty() || masks) {
      for (size_t i = 0; i < inputs.size(); ++i) {
        auto it = per_feature.find(inputs[i].metadata.name);
        const double value = per_feature.empty() ? smooth.noise_sigma : it != per_feature.end() ? it->second : 0.0;
        Tensor sigma(DType::kFloat64, instance[i].shape);
        std::fill(sigma.values.begin(), sigma.values.end(), value);
        if (HasAbsentZeros(inputs[i])) {
          for (size_t e = 0; e < sigma.values.size(); ++e) {
            if (instance[i].values[e] == 0) sigma.values[e] = 0;
          }
        }
        smooth.feature_noise_sigma.push_back(std::move(sigma));
      }
    }
    ig.smooth_grad = smooth;
  }
  return ig;
}

}  // namespace

Status CheckAttributedInputName(const std::vector<BoundInput>& inputs, const std::string& name,
                                const std::string& field) {
  for (const BoundInput& in : inputs) {
    if (in.metadata.name == name) return OkStatus();
  }
  std::string names;
  for (const BoundInput& in : inputs) names += (names.empty() ? "" : ", ") + in.metadata.name;
  return InvalidArgument(field + " names '" + name + "', which is not an attributed input (inputs: " + names + ")");
}

int MaxBudget(const std::string& method) {
  return method == "sampled-shapley" ? kMaxSampledShapleyPaths : kMaxIntegratedGradientsSteps;
}

StatusOr<std::unique_ptr<AttributionMethod>> MakeAttributionMethod(const ExplainOptions& options,
                                                                   const std::vector<BoundInput>& inputs,
                                                                   const std::vector<Tensor>& instance,
                                                                   int step_count, int path_count) {
  if (options.method == "integrated-gradients") {
    XAI_ASSIGN_OR_RETURN(IntegratedGradientsOptions ig, PathOptions(options, inputs, instance, step_count));
    return std::unique_ptr<AttributionMethod>(new IntegratedGradients(ig));
  }
  if (options.method == "sampled-shapley") {
    SampledShapleyOptions shapley;
    shapley.path_count = path_count;
    shapley.batch_size = options.batch_size;
    return std::unique_ptr<AttributionMethod>(new SampledShapley(shapley));
  }
  if (options.method == "xrai") {
    XAI_RETURN_IF_ERROR(CheckImageModality(inputs, "XRAI (xraiAttribution)"));
    if (!options.baseline_overrides.empty()) {
      return InvalidArgument("explanationSpecOverride inputBaselines do not apply to XRAI, whose baselines are a "
                             "black and a white image (or the blurred image, with blurBaselineConfig); use them with "
                             "integratedGradientsAttribution or sampledShapleyAttribution");
    }
    XraiOptions xrai;
    XAI_ASSIGN_OR_RETURN(xrai.integrated_gradients, PathOptions(options, inputs, instance, step_count));
    xrai.fast = options.xrai_fast;
    // XRAI's black and white are the image's domain, [0, 1] unless the
    // metadata says otherwise.
    if (inputs.size() == 1 && inputs[0].metadata.domain) {
      xrai.black = inputs[0].metadata.domain->min;
      xrai.white = inputs[0].metadata.domain->max;
    }
    return std::unique_ptr<AttributionMethod>(new Xrai(xrai));
  }
  return InvalidArgument("unknown explanation method '" + options.method +
                         "'; choose integrated-gradients, sampled-shapley or xrai");
}

std::vector<std::vector<int>> FeaturesOfElements(const std::vector<BoundInput>& inputs,
                                                 const std::vector<Tensor>& instance) {
  std::vector<std::vector<int>> features(inputs.size());
  std::map<std::string, int> group_feature;
  int next = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int64_t elements = instance[i].row_elements();
    features[i].resize(elements);
    const std::string& group = inputs[i].metadata.group_name;
    if (!group.empty()) {
      auto [it, inserted] = group_feature.emplace(group, next);
      if (inserted) ++next;
      std::fill(features[i].begin(), features[i].end(), it->second);
      continue;
    }
    const Shape row = instance[i].row_shape();
    const int64_t per_feature = inputs[i].folds_embedding && !row.empty() ? row.back() : 1;
    for (int64_t e = 0; e < elements; ++e) features[i][e] = next + static_cast<int>(e / per_feature);
    next += static_cast<int>(elements / per_feature);
  }
  return features;
}

Tensor FoldOntoFeature(const BoundInput& input, Tensor attribution) {
  if (!input.folds_embedding || attribution.shape.size() < 2) return attribution;
  const int64_t width = attribution.shape.back();
  Shape folded_shape(attribution.shape.begin(), attribution.shape.end() - 1);
  Tensor folded(attribution.dtype, folded_shape);
  for (int64_t f = 0; f < folded.num_elements(); ++f) {
    double sum = 0;
    for (int64_t e = 0; e < width; ++e) sum += attribution.values[f * width + e];
    folded.values[f] = sum;
  }
  return folded;
}

}  // namespace xai
