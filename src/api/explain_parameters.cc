#include "api/explain_parameters.h"

#include <cmath>

namespace xai {
namespace {

// The value under the camelCase or the snake_case name, or nullptr.
const Json* Field(const Json& object, const char* camel, const char* snake) {
  auto it = object.find(camel);
  if (it != object.end()) return &*it;
  it = object.find(snake);
  return it != object.end() ? &*it : nullptr;
}

StatusOr<int64_t> IntegerIn(const Json& value, const std::string& name, int64_t lo, int64_t hi) {
  if (!value.is_number() || value.get<double>() != std::floor(value.get<double>())) {
    return InvalidArgument(name + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                           "], got " + value.dump());
  }
  const double v = value.get<double>();
  if (v < lo || v > hi) {
    return InvalidArgument(name + " is " + value.dump() + "; it must be in [" + std::to_string(lo) + ", " +
                           std::to_string(hi) + "]");
  }
  return static_cast<int64_t>(v);
}

Status CheckKnownKeys(const Json& object, const std::string& where, const std::vector<std::string>& known) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool ok = false;
    for (const auto& k : known) ok = ok || k == it.key();
    if (!ok) {
      std::string list;
      for (size_t i = 0; i < known.size(); i += 2) list += (list.empty() ? "" : ", ") + known[i];
      return InvalidArgument(where + ": unknown field '" + it.key() + "'; known fields: " + list);
    }
  }
  return OkStatus();
}

Status ParseIntegratedGradients(const Json& config, ExplainOptions* options) {
  const std::string where = "parameters.integratedGradientsAttribution";
  if (!config.is_object()) return InvalidArgument(where + " must be an object, e.g. {\"stepCount\": 50}");
  XAI_RETURN_IF_ERROR(CheckKnownKeys(config, where,
                                     {"stepCount", "step_count", "smoothGradConfig", "smooth_grad_config",
                                      "blurBaselineConfig", "blur_baseline_config"}));
  if (const Json* steps = Field(config, "stepCount", "step_count")) {
    XAI_ASSIGN_OR_RETURN(int64_t n, IntegerIn(*steps, where + ".stepCount", kMinStepCount, kMaxStepCount));
    options->integrated_gradients.steps = static_cast<int>(n);
  }
  if (Field(config, "smoothGradConfig", "smooth_grad_config") != nullptr) {
    return Unimplemented(where + ".smoothGradConfig: SmoothGrad is not supported yet; leave it out");
  }
  if (Field(config, "blurBaselineConfig", "blur_baseline_config") != nullptr) {
    return Unimplemented(where + ".blurBaselineConfig: blur baselines are not supported yet; leave it out");
  }
  return OkStatus();
}

StatusOr<std::vector<std::vector<int64_t>>> ParseOutputIndices(const Json& value) {
  const std::string where = "parameters.outputIndices";
  if (!value.is_array()) return InvalidArgument(where + " must be a list of output indices, e.g. [1] or [[0, 2]]");
  std::vector<std::vector<int64_t>> out;
  for (const Json& item : value) {
    std::vector<int64_t> index;
    if (item.is_number()) {
      XAI_ASSIGN_OR_RETURN(int64_t i, IntegerIn(item, where + " entry", 0, INT64_C(1) << 40));
      index.push_back(i);
    } else if (item.is_array()) {
      for (const Json& c : item) {
        XAI_ASSIGN_OR_RETURN(int64_t i, IntegerIn(c, where + " entry", 0, INT64_C(1) << 40));
        index.push_back(i);
      }
    } else {
      return InvalidArgument(where + " entries must be integers or lists of integers, got " + item.dump());
    }
    out.push_back(std::move(index));
  }
  if (out.empty()) return InvalidArgument(where + " is empty; give at least one index or leave it out");
  return out;
}

Status ParseMetadataOverride(const Json& metadata, ExplainOptions* options) {
  const std::string where = "explanationSpecOverride.metadata";
  if (!metadata.is_object()) return InvalidArgument(where + " must be an object with \"inputs\"");
  XAI_RETURN_IF_ERROR(CheckKnownKeys(metadata, where, {"inputs", "inputs", "outputs", "outputs"}));
  if (metadata.contains("outputs")) {
    return InvalidArgument(where + ".outputs cannot be overridden per request; only input baselines can");
  }
  const Json* inputs = Field(metadata, "inputs", "inputs");
  if (inputs == nullptr) return OkStatus();
  if (!inputs->is_object()) return InvalidArgument(where + ".inputs must be an object keyed by input name");
  for (auto it = inputs->begin(); it != inputs->end(); ++it) {
    const std::string in_where = where + ".inputs." + it.key();
    if (!it->is_object()) return InvalidArgument(in_where + " must be an object with \"inputBaselines\"");
    XAI_RETURN_IF_ERROR(CheckKnownKeys(*it, in_where, {"inputBaselines", "input_baselines"}));
    const Json* baselines = Field(*it, "inputBaselines", "input_baselines");
    if (baselines == nullptr) continue;
    std::vector<Json> list;
    if (baselines->is_array()) list.assign(baselines->begin(), baselines->end());
    else list.push_back(*baselines);
    if (list.empty() || list.size() > 10) {
      return InvalidArgument(in_where + ".inputBaselines must hold 1 to 10 baselines, got " +
                             std::to_string(list.size()));
    }
    for (const Json& b : list) {
      if (!b.is_number() && !b.is_array()) {
        return InvalidArgument(in_where + ".inputBaselines entries must be numbers or nested lists, got " + b.dump());
      }
    }
    options->baseline_overrides[it.key()] = std::move(list);
  }
  return OkStatus();
}

}  // namespace

StatusOr<ExplainOptions> ParseExplainParameters(const Json& parameters, const Json& metadata_override) {
  ExplainOptions options;
  options.integrated_gradients.steps = kDefaultStepCount;
  options.integrated_gradients.batch_size = kDefaultBatchSize;
  if (!parameters.is_null()) {
    if (!parameters.is_object()) return InvalidArgument("\"parameters\" must be an object");
    XAI_RETURN_IF_ERROR(CheckKnownKeys(
        parameters, "parameters",
        {"integratedGradientsAttribution", "integrated_gradients_attribution", "sampledShapleyAttribution",
         "sampled_shapley_attribution", "xraiAttribution", "xrai_attribution", "topK", "top_k", "outputIndices",
         "output_indices", "batchSize", "batch_size"}));
    int methods = 0;
    if (const Json* ig = Field(parameters, "integratedGradientsAttribution", "integrated_gradients_attribution")) {
      ++methods;
      options.method = "integrated-gradients";
      XAI_RETURN_IF_ERROR(ParseIntegratedGradients(*ig, &options));
    }
    if (Field(parameters, "sampledShapleyAttribution", "sampled_shapley_attribution") != nullptr) {
      ++methods;
      options.method = "sampled-shapley";
    }
    if (Field(parameters, "xraiAttribution", "xrai_attribution") != nullptr) {
      ++methods;
      options.method = "xrai";
    }
    if (methods > 1) return InvalidArgument("parameters: give only one attribution method");
    if (const Json* k = Field(parameters, "topK", "top_k")) {
      if (k->is_number() && k->get<double>() == -1) {
        options.top_k = -1;
      } else {
        XAI_ASSIGN_OR_RETURN(int64_t top, IntegerIn(*k, "parameters.topK (or -1 for all outputs)", 1, 1 << 20));
        options.top_k = static_cast<int>(top);
      }
    }
    if (const Json* indices = Field(parameters, "outputIndices", "output_indices")) {
      XAI_ASSIGN_OR_RETURN(options.output_indices, ParseOutputIndices(*indices));
    }
    if (const Json* b = Field(parameters, "batchSize", "batch_size")) {
      XAI_ASSIGN_OR_RETURN(int64_t n, IntegerIn(*b, "parameters.batchSize", 1, kMaxBatchSize));
      options.integrated_gradients.batch_size = static_cast<int>(n);
    }
  }
  if (!metadata_override.is_null()) XAI_RETURN_IF_ERROR(ParseMetadataOverride(metadata_override, &options));
  return options;
}

}  // namespace xai
