#include "api/explain_parameters.h"

#include <cmath>
#include <cstdint>
#include <set>

#include "core/json_fields.h"

namespace xai {
namespace {

StatusOr<SmoothGradRequest> ParseSmoothGrad(const Json& config, const std::string& where) {
  if (!config.is_object()) return InvalidArgument(where + " must be an object, e.g. {\"noiseSigma\": 0.1}");
  JsonFields f(config, where);
  SmoothGradRequest out;
  XAI_ASSIGN_OR_RETURN(auto sigma, f.Number({"noiseSigma", "noise_sigma"}));
  XAI_ASSIGN_OR_RETURN(const Json* per_feature, f.Find({"featureNoiseSigma", "feature_noise_sigma"}));
  XAI_ASSIGN_OR_RETURN(auto samples,
                       f.CountOrDefault({"noisySampleCount", "noisy_sample_count"}, kMinNoisySamples, kMaxNoisySamples));
  XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
  if (sigma && per_feature != nullptr) {
    return InvalidArgument(where + ": give noiseSigma or featureNoiseSigma, not both");
  }
  if (!sigma && per_feature == nullptr) {
    return InvalidArgument(where + " needs noiseSigma (one sigma for all features) or featureNoiseSigma");
  }
  if (sigma) {
    if (!(*sigma >= 0) || !std::isfinite(*sigma)) {
      return InvalidArgument(f.Field({"noiseSigma", "noise_sigma"}) + " must be a finite number >= 0");
    }
    out.noise_sigma = *sigma;
  }
  if (per_feature != nullptr) {
    // Vertex: {"noiseSigma": [{"name": "x", "sigma": 0.1}, ...]}
    const std::string fwhere = f.Field({"featureNoiseSigma", "feature_noise_sigma"});
    const std::string form = " must be {\"noiseSigma\": [{\"name\": INPUT, \"sigma\": S}, ...]}";
    if (!per_feature->is_object()) return InvalidArgument(fwhere + form);
    JsonFields pf(*per_feature, fwhere);
    XAI_ASSIGN_OR_RETURN(const Json* list, pf.Find({"noiseSigma", "noise_sigma"}));
    XAI_RETURN_IF_ERROR(pf.CheckNoUnknownFields());
    if (list == nullptr || !list->is_array() || list->empty()) return InvalidArgument(fwhere + form);
    for (const Json& item : *list) {
      const std::string entry = fwhere + ": each entry must be {\"name\": INPUT, \"sigma\": S >= 0}, got " +
                                item.dump().substr(0, 200);
      if (!item.is_object()) return InvalidArgument(entry);
      JsonFields e(item, fwhere + ".noiseSigma entry");
      XAI_ASSIGN_OR_RETURN(const Json* name, e.Find({"name"}));
      // Left out (or 0, which proto3 JSON cannot tell from unset): Vertex's default.
      XAI_ASSIGN_OR_RETURN(auto sigma, e.NumberOrDefault({"sigma"}));
      XAI_RETURN_IF_ERROR(e.CheckNoUnknownFields());
      if (name == nullptr || !name->is_string() || (sigma && !(*sigma >= 0 && std::isfinite(*sigma)))) {
        return InvalidArgument(entry);
      }
      const double value = sigma.value_or(kDefaultFeatureNoiseSigma);
      if (!out.feature_noise_sigma.emplace(name->get<std::string>(), value).second) {
        return InvalidArgument(fwhere + " names input '" + name->get<std::string>() +
                               "' twice; give each input one sigma");
      }
    }
  }
  if (samples) out.noisy_sample_count = static_cast<int>(*samples);
  return out;
}

// integratedGradientsAttribution and xraiAttribution share these fields;
// xraiAttribution also takes "fast" (beyond the cloud service: XRAI's fast
// variant, XraiOptions::fast).
Status ParsePathMethod(const Json& config, const std::string& where, bool xrai, ExplainOptions* options) {
  if (!config.is_object()) return InvalidArgument(where + " must be an object, e.g. {\"stepCount\": 50}");
  JsonFields f(config, where);
  XAI_ASSIGN_OR_RETURN(auto steps, f.CountOrDefault({"stepCount", "step_count"}, kMinStepCount, kMaxStepCount));
  XAI_ASSIGN_OR_RETURN(const Json* smooth, f.Find({"smoothGradConfig", "smooth_grad_config"}));
  XAI_ASSIGN_OR_RETURN(const Json* blur, f.Find({"blurBaselineConfig", "blur_baseline_config"}));
  const Json* fast = nullptr;
  if (xrai) {
    XAI_ASSIGN_OR_RETURN(fast, f.Find({"fast"}));
  }
  XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
  if (steps) options->step_count = static_cast<int>(*steps);
  if (fast != nullptr) {
    if (!fast->is_boolean()) {
      return InvalidArgument(f.Field({"fast"}) + " must be true or false (true: XRAI's fast variant, 3 "
                             "segmentation scales and regions taken in rounds); got " + fast->dump());
    }
    options->xrai_fast = fast->get<bool>();
  }
  if (smooth != nullptr) {
    XAI_ASSIGN_OR_RETURN(options->smooth_grad, ParseSmoothGrad(*smooth, f.Field({"smoothGradConfig", "smooth_grad_config"})));
  }
  if (blur != nullptr) {
    const std::string bwhere = f.Field({"blurBaselineConfig", "blur_baseline_config"});
    if (!blur->is_object()) return InvalidArgument(bwhere + " must be an object, e.g. {\"maxBlurSigma\": 10}");
    JsonFields b(*blur, bwhere);
    // Left out or 0 (proto3 JSON's unset): no blur baseline, as Vertex
    // documents ("If not set, the method defaults to the zero baseline").
    XAI_ASSIGN_OR_RETURN(auto sigma, b.NumberOrDefault({"maxBlurSigma", "max_blur_sigma"}));
    XAI_RETURN_IF_ERROR(b.CheckNoUnknownFields());
    if (sigma && (!(*sigma > 0) || !std::isfinite(*sigma))) {
      return InvalidArgument(b.Field({"maxBlurSigma", "max_blur_sigma"}) +
                             " must be a finite number > 0 (in pixels), or left out for no blur baseline; got " +
                             Json(*sigma).dump());
    }
    if (sigma) options->max_blur_sigma = *sigma;
  }
  return OkStatus();
}

StatusOr<std::vector<OutputIndex>> ParseOutputIndices(const Json& value, const std::string& where) {
  if (!value.is_array()) return InvalidArgument(where + " must be a list of output indices, e.g. [1] or [[0, 2]]");
  auto index_of = [&](const Json& v) -> StatusOr<int64_t> {
    // A ListValue holds doubles: protobuf's JSON printers write [1] as [1.0].
    const Json number = ProtoJsonInteger(v);
    if (number.is_number_unsigned() && number.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgument(where + " entry " + v.dump() +
                             " is too large; expected positions within the output tensor");
    }
    if (!number.is_number_integer() || number.get<int64_t>() < 0) {
      return InvalidArgument(where + " entries must be integers >= 0 (or lists of them), got " + v.dump());
    }
    return number.get<int64_t>();
  };
  std::vector<OutputIndex> out;
  std::set<OutputIndex> seen;  // a pairwise check took minutes for a 1 MB list
  for (const Json& item : value) {
    OutputIndex index;
    if (item.is_array()) {
      for (const Json& c : item) {
        XAI_ASSIGN_OR_RETURN(int64_t i, index_of(c));
        index.coordinates.push_back(i);
      }
    } else {
      XAI_ASSIGN_OR_RETURN(int64_t i, index_of(item));
      index.coordinates.push_back(i);
      index.flat = true;
    }
    if (!seen.insert(index).second) {
      return InvalidArgument(where + " names output " + item.dump() + " twice; give each output once");
    }
    out.push_back(std::move(index));
  }
  if (out.empty()) return InvalidArgument(where + " is empty; give at least one index or leave it out");
  return out;
}

Status ParseMetadataOverride(const Json& metadata, ExplainOptions* options) {
  const std::string where = "explanationSpecOverride.metadata";
  if (!metadata.is_object()) return InvalidArgument(where + " must be an object with \"inputs\"");
  JsonFields f(metadata, where);
  XAI_ASSIGN_OR_RETURN(const Json* inputs, f.Find({"inputs"}));
  XAI_ASSIGN_OR_RETURN(const Json* outputs, f.Find({"outputs"}));
  XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
  if (outputs != nullptr) return InvalidArgument(where + ".outputs cannot be overridden per request; only input baselines can");
  if (inputs == nullptr) return OkStatus();
  if (!inputs->is_object()) return InvalidArgument(where + ".inputs must be an object keyed by input name");
  for (auto it = inputs->begin(); it != inputs->end(); ++it) {
    const std::string in_where = where + ".inputs." + it.key();
    if (!it->is_object()) return InvalidArgument(in_where + " must be an object with \"inputBaselines\"");
    JsonFields in(*it, in_where);
    // An empty list is proto3 JSON's unset one: Vertex then keeps the metadata's baselines.
    XAI_ASSIGN_OR_RETURN(const Json* baselines, in.FindList({"inputBaselines", "input_baselines"}));
    XAI_RETURN_IF_ERROR(in.CheckNoUnknownFields());
    if (baselines == nullptr) continue;
    std::vector<Json> list;
    if (baselines->is_array()) list.assign(baselines->begin(), baselines->end());
    else list.push_back(*baselines);
    if (list.empty() || list.size() > static_cast<size_t>(kMaxBaselines)) {
      return InvalidArgument(in_where + ".inputBaselines must hold 1 to " + std::to_string(kMaxBaselines) +
                             " baselines, got " + std::to_string(list.size()));
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
  XAI_ASSIGN_OR_RETURN(ExplainParameters parsed, ParseExplainRequestParameters(parameters, metadata_override));
  return parsed.options;
}

StatusOr<ExplainParameters> ParseExplainRequestParameters(const Json& parameters, const Json& metadata_override) {
  ExplainParameters parsed;
  ExplainOptions& options = parsed.options;
  if (!parameters.is_null()) {
    if (!parameters.is_object()) return InvalidArgument("\"parameters\" must be an object");
    JsonFields f(parameters, "parameters");
    XAI_ASSIGN_OR_RETURN(const Json* ig, f.Find({"integratedGradientsAttribution", "integrated_gradients_attribution"}));
    XAI_ASSIGN_OR_RETURN(const Json* shapley, f.Find({"sampledShapleyAttribution", "sampled_shapley_attribution"}));
    XAI_ASSIGN_OR_RETURN(const Json* xrai, f.Find({"xraiAttribution", "xrai_attribution"}));
    XAI_ASSIGN_OR_RETURN(const Json* top_k, f.Find({"topK", "top_k"}));
    XAI_ASSIGN_OR_RETURN(const Json* indices, f.Find({"outputIndices", "output_indices"}));
    XAI_ASSIGN_OR_RETURN(auto batch, f.Integer({"batchSize", "batch_size"}, 1, kMaxBatchSize));
    XAI_ASSIGN_OR_RETURN(auto target, f.Number({"approximationErrorTarget", "approximation_error_target"}));
    XAI_ASSIGN_OR_RETURN(options.output_name, f.String({"outputName", "output_name"}));
    XAI_ASSIGN_OR_RETURN(const Json* visualize, f.Find({"visualize"}));
    XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
    if (visualize != nullptr) {
      if (!visualize->is_boolean()) {
        return InvalidArgument(f.Field({"visualize"}) + " must be true or false (true adds a picture of each "
                               "attribution, base64-encoded, under \"visualizations\"); got " + visualize->dump());
      }
      parsed.visualize = visualize->get<bool>();
    }

    // topK 0 is proto3 JSON's unset: the default (the top output).
    const Json top_k_number = top_k != nullptr ? ProtoJsonInteger(*top_k) : Json();
    if (top_k_number.is_number_integer() && top_k_number.get<int64_t>() == 0) top_k = nullptr;
    if (top_k != nullptr && indices != nullptr) {
      return InvalidArgument("parameters: give topK (the k largest outputs) or outputIndices (the outputs named), "
                             "not both");
    }
    if ((ig != nullptr) + (shapley != nullptr) + (xrai != nullptr) > 1) {
      return InvalidArgument("parameters: give only one of integratedGradientsAttribution, "
                             "sampledShapleyAttribution and xraiAttribution");
    }
    if (ig != nullptr) {
      options.method = "integrated-gradients";
      XAI_RETURN_IF_ERROR(ParsePathMethod(*ig, f.Field({"integratedGradientsAttribution"}), false, &options));
    }
    if (xrai != nullptr) {
      options.method = "xrai";
      XAI_RETURN_IF_ERROR(ParsePathMethod(*xrai, f.Field({"xraiAttribution"}), true, &options));
    }
    if (shapley != nullptr) {
      options.method = "sampled-shapley";
      const std::string where = f.Field({"sampledShapleyAttribution", "sampled_shapley_attribution"});
      if (!shapley->is_object()) return InvalidArgument(where + " must be an object, e.g. {\"pathCount\": 10}");
      JsonFields s(*shapley, where);
      XAI_ASSIGN_OR_RETURN(auto paths, s.CountOrDefault({"pathCount", "path_count"}, kMinPathCount, kMaxPathCount));
      XAI_RETURN_IF_ERROR(s.CheckNoUnknownFields());
      if (paths) options.path_count = static_cast<int>(*paths);
    }
    if (top_k != nullptr) {
      // Parsed JSON holds positive integers as unsigned: read them as such,
      // so that 18446744073709551615 is not taken for -1. (Json built in
      // code, as the CLI's, may hold them signed.)
      const Json& n = top_k_number;
      const bool is_unsigned = n.is_number_unsigned();
      const int64_t k = !n.is_number_integer()                      ? 0
                        : is_unsigned && n.get<uint64_t>() > kMaxTopK ? 0
                        : is_unsigned                               ? static_cast<int64_t>(n.get<uint64_t>())
                                                                    : n.get<int64_t>();
      if (k != -1 && (k < 1 || k > kMaxTopK)) {
        return InvalidArgument(f.Field({"topK", "top_k"}) + " must be an integer in [1, " + std::to_string(kMaxTopK) +
                               "], or -1 for all outputs; got " + top_k->dump());
      }
      options.top_k = static_cast<int>(k);
    }
    if (indices != nullptr) {
      XAI_ASSIGN_OR_RETURN(options.output_indices, ParseOutputIndices(*indices, f.Field({"outputIndices", "output_indices"})));
    }
    if (batch) options.batch_size = static_cast<int>(*batch);
    if (target) {
      if (!(*target > 0 && *target < 1)) {
        return InvalidArgument(f.Field({"approximationErrorTarget", "approximation_error_target"}) +
                               " must be in (0, 1), e.g. 0.01 for 1%");
      }
      options.approximation_error_target = *target;
    }
  }
  if (!metadata_override.is_null()) XAI_RETURN_IF_ERROR(ParseMetadataOverride(metadata_override, &options));
  return parsed;
}

}  // namespace xai
