// The :predict and :explain requests of SPEC §4 run against one loaded model,
// without HTTP: a parsed JSON request body in, the JSON response body (or a
// Status) out. Decoding instances, parsing explanation parameters and
// encoding responses go through src/api, exactly as the CLI does, so the
// server's answer for an instance equals the `xaiserve explain` line for it.
//
//   :predict  {"instances": [...]} (rows) or TF Serving's columnar
//             {"inputs": {name: batch} | batch}, optional "signature_name".
//             -> {"predictions": [...]} for rows, {"outputs": ...} for
//             columnar input (as TF Serving answers).
//   :explain  {"instances": [...], "parameters": {...},
//              "explanationSpecOverride": {"parameters": {...},
//                                          "metadata": {"inputs": ...}}}
//             -> {"explanations": [...], "predictions": [...]}
//             With "parameters": {"visualize": true} every attribution entry
//             also gets "visualizations" (api/visualizations.h).
//
// The method comes from the request's parameters, else the model's default
// (set at start-up). Stateless functions; thread-safe (the model is).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "core/tensor_json.h"
#include "model/explainable_model.h"

namespace xai {

inline constexpr size_t kDefaultMaxInstances = 64;
// 32 Mi pixels (kMaxDecodedPixels, the most one image may have): one large
// photo, or ~670 images of 224x224.
inline constexpr int64_t kDefaultMaxImagePixels = int64_t{32} << 20;

struct RequestLimits {
  size_t max_instances = kDefaultMaxInstances;  // per :predict or :explain request
  // The image pixel budget of one request's uploads (InstanceDecoding).
  int64_t max_image_pixels = kDefaultMaxImagePixels;
  // Path points (rows of model runs) one :explain request may evaluate, over
  // all its instances; 0: no bound (WorkBudget).
  int64_t max_path_points = 0;
};

// RESOURCE_EXHAUSTED (413) when `count` instances are more than the limit,
// naming both and --max-instances.
Status CheckInstanceCount(size_t count, const RequestLimits& limits);

// The explanation methods by CLI / flag name, and their request keys.
bool IsExplanationMethod(const std::string& method);
// "integratedGradientsAttribution" for "integrated-gradients", ...
std::string MethodRequestKey(const std::string& method);

struct PredictRequest {
  Json instances;               // rows, also when the request was columnar
  std::string signature_name;   // empty: the model's predict signature
  bool columnar = false;        // answer with {"outputs": ...}
  int64_t max_image_pixels = kDefaultMaxImagePixels;  // from RequestLimits
};
StatusOr<PredictRequest> ParsePredictRequest(const Json& body, const RequestLimits& limits);
StatusOr<Json> RunPredict(ExplainableModel& model, const PredictRequest& request);

struct ExplainRequest {
  Json instances;
  ExplainOptions options;  // options.method: the request's, else the default
  bool visualize = false;  // "parameters": {"visualize": true}: pictures in each attribution entry
  int64_t max_image_pixels = kDefaultMaxImagePixels;  // from RequestLimits
  // Vertex's "deployedModelId": which of the endpoint's deployed models
  // explains; xaiserve's deployed models are the loaded versions (their ids
  // the version numbers, as the endpoint's resource lists them). Empty: unset.
  std::string deployed_model_id;
};
StatusOr<ExplainRequest> ParseExplainRequest(const Json& body, const std::string& default_method,
                                             const RequestLimits& limits);

struct ExplainResponse {
  Json body;
  int64_t rows_evaluated = 0;  // summed over the instances
};
StatusOr<ExplainResponse> RunExplain(ExplainableModel& model, const ExplainRequest& request);

}  // namespace xai
