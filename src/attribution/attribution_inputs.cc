#include "attribution/attribution_inputs.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/tensor.h"

namespace xai {

namespace {

using std::to_string;

// Checks one tensor of the instance, or of a baseline already known to have
// the instance's dtype and shape. `what()` names it in messages ("instance
// input 0", "baseline 2, input 0"); it is called only for a message, so a
// check that passes (every explanation's) builds no text.
template <typename Name>
Status ValidateRowTensor(const Tensor& tensor, const Name& what, InputDTypes dtypes, const char* method_name) {
  if (dtypes == InputDTypes::kFloatingPoint && !IsFloating(tensor.dtype)) {
    return InvalidArgument(what() + " has dtype " + DTypeName(tensor.dtype) + "; " + method_name +
                           " needs floating-point inputs");
  }
  if (tensor.dtype == DType::kString) {
    return InvalidArgument(what() + " has dtype string; " + method_name + " needs numeric inputs");
  }
  bool known = !tensor.shape.empty() && tensor.shape[0] == 1;
  for (int64_t dim : tensor.shape) known = known && dim >= 0;
  if (!known) {
    return InvalidArgument(what() + " has shape " + ShapeToString(tensor.shape) +
                           "; expected one row, [1,...]");
  }
  if (static_cast<int64_t>(tensor.values.size()) != tensor.num_elements()) {
    return InvalidArgument(what() + " holds " + to_string(tensor.values.size()) +
                           " values; expected " + to_string(tensor.num_elements()) +
                           " for shape " + ShapeToString(tensor.shape));
  }
  for (size_t e = 0; e < tensor.values.size(); ++e) {
    if (!std::isfinite(tensor.values[e])) {
      return InvalidArgument(what() + " value " + to_string(e) + " is " +
                             (std::isnan(tensor.values[e]) ? "nan" : "infinite") +
                             "; expected finite values");
    }
  }
  return OkStatus();
}

}  // namespace

Status ValidateAttributionInputs(const AttributionInputs& inputs, InputDTypes dtypes,
                                 const char* method_name, int min_baselines) {
  const std::vector<Tensor>& instance = inputs.instance;
  if (instance.empty()) return InvalidArgument("the instance has no inputs; expected at least one");
  for (size_t i = 0; i < instance.size(); ++i) {
    XAI_RETURN_IF_ERROR(ValidateRowTensor(
        instance[i], [i] { return "instance input " + to_string(i); }, dtypes, method_name));
  }
  const size_t num_baselines = inputs.baselines.size();
  if (num_baselines < static_cast<size_t>(min_baselines) ||
      num_baselines > static_cast<size_t>(kMaxBaselines)) {
    return InvalidArgument("got " + to_string(num_baselines) + " baselines; expected " +
                           to_string(min_baselines) + " to " + to_string(kMaxBaselines));
  }
  for (size_t m = 0; m < num_baselines; ++m) {
    const std::vector<Tensor>& baseline = inputs.baselines[m];
    if (baseline.size() != instance.size()) {
      return InvalidArgument("baseline " + to_string(m) + " has " + to_string(baseline.size()) +
                             " inputs; expected " + to_string(instance.size()) + ", like the instance");
    }
    for (size_t i = 0; i < instance.size(); ++i) {
      auto what = [m, i] { return "baseline " + to_string(m) + ", input " + to_string(i); };
      if (baseline[i].dtype != instance[i].dtype) {
        return InvalidArgument(what() + ": expected dtype " + DTypeName(instance[i].dtype) +
                               " like the instance, actual " + DTypeName(baseline[i].dtype));
      }
      if (baseline[i].shape != instance[i].shape) {
        return InvalidArgument(what() + ": expected shape " + ShapeToString(instance[i].shape) +
                               " like the instance, actual " + ShapeToString(baseline[i].shape));
      }
      XAI_RETURN_IF_ERROR(ValidateRowTensor(baseline[i], what, dtypes, method_name));
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

StatusOr<FeatureSet> ResolveFeatures(const AttributionInputs& inputs) {
  const std::vector<Tensor>& instance = inputs.instance;
  int64_t total_elements = 0;
  for (const Tensor& tensor : instance) total_elements += tensor.row_elements();

  FeatureSet features;
  features.elements.reserve(total_elements);
  if (inputs.feature_of_element.empty()) {
    features.offsets.reserve(total_elements + 1);
    for (size_t i = 0; i < instance.size(); ++i) {
      for (int64_t e = 0; e < instance[i].row_elements(); ++e) {
        features.elements.push_back({static_cast<int>(i), e});
        features.offsets.push_back(static_cast<int64_t>(features.elements.size()));
      }
    }
    return features;
  }

  const std::vector<std::vector<int>>& feature_of = inputs.feature_of_element;
  if (feature_of.size() != instance.size()) {
    return InvalidArgument("feature_of_element has " + to_string(feature_of.size()) +
                           " entries; expected " + to_string(instance.size()) +
                           ", one per attributed input");
  }
  // Elements per feature index. An index >= total_elements cannot belong to
  // a contiguous 0..F-1 numbering, so the counts need no more room than that.
  std::vector<int64_t> counts(total_elements, 0);
  int64_t num_features = 0;
  for (size_t i = 0; i < instance.size(); ++i) {
    const int64_t row_elements = instance[i].row_elements();
    if (static_cast<int64_t>(feature_of[i].size()) != row_elements) {
      return InvalidArgument("feature_of_element[" + to_string(i) + "] has " +
                             to_string(feature_of[i].size()) + " entries; expected " +
                             to_string(row_elements) + ", one per element of input " +
                             to_string(i) + " (shape " + ShapeToString(instance[i].shape) + ")");
    }
    for (int64_t e = 0; e < row_elements; ++e) {
      const int feature = feature_of[i][e];
      if (feature < 0 || feature >= total_elements) {
        return InvalidArgument("feature_of_element[" + to_string(i) + "][" + to_string(e) +
                               "] is " + to_string(feature) +
                               "; expected a feature index in [0, " + to_string(total_elements) +
                               "), features numbered 0..F-1");
      }
      ++counts[feature];
      num_features = std::max<int64_t>(num_features, feature + 1);
    }
  }
  // Offsets: prefix sums of the counts, every index 0..F-1 used.
  features.offsets.assign(num_features + 1, 0);
  for (int64_t f = 0; f < num_features; ++f) {
    if (counts[f] == 0) {
      return InvalidArgument("feature_of_element uses feature indices up to " +
                             to_string(num_features - 1) + " but none is " + to_string(f) +
                             "; expected contiguous indices 0.." + to_string(num_features - 1));
    }
    features.offsets[f + 1] = features.offsets[f] + counts[f];
  }
  // Place every element after the ones of its feature already placed.
  features.elements.resize(total_elements);
  std::vector<int64_t> next(features.offsets.begin(), features.offsets.end() - 1);
  for (size_t i = 0; i < instance.size(); ++i) {
    for (size_t e = 0; e < feature_of[i].size(); ++e) {
      features.elements[next[feature_of[i][e]]++] = {static_cast<int>(i),
                                                     static_cast<int64_t>(e)};
    }
  }
  return features;
}

}  // namespace xai
