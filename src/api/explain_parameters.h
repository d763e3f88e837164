// Request parameters of :explain (SPEC §3, §4) -> ExplainOptions, in one
// place for the CLI (which builds the same JSON from its flags) and the
// server: the method object (integratedGradientsAttribution,
// sampledShapleyAttribution, xraiAttribution), topK, outputIndices, the
// per-request metadata override of baselines, and xaiserve's extensions
// (batchSize, approximationErrorTarget, outputName, and visualize: pictures
// in the response, see api/visualizations.h). Both lowerCamelCase and
// snake_case. Out-of-range values are INVALID_ARGUMENT naming the field and
// its range. Pure; thread-safe.
#pragma once

#include "attribution/batched_evaluator.h"
#include "core/status.h"
#include "core/tensor_json.h"
#include "model/explainable_model.h"

namespace xai {

inline constexpr int kMinStepCount = 1, kMaxStepCount = 100, kDefaultStepCount = 50;
inline constexpr int kMinPathCount = 1, kMaxPathCount = 50, kDefaultPathCount = 10;
inline constexpr int kMinNoisySamples = 1, kMaxNoisySamples = 50, kDefaultNoisySamples = 3;
// smoothGradConfig.featureNoiseSigma: an entry's sigma left out (or 0), as Vertex documents.
inline constexpr double kDefaultFeatureNoiseSigma = 0.1;
inline constexpr int kMaxBatchSize = 4096;  // unset: AutoBatchSize (attribution/batched_evaluator.h)
// topK: 1..kMaxTopK, or -1 for all outputs (a K above an output's size explains all of it).
inline constexpr int kMaxTopK = 1 << 20;

// `parameters`: e.g. {"integratedGradientsAttribution": {"stepCount": 50},
//   "topK": 1, "outputIndices": [1]}; null means defaults.
// `metadata_override`: {"inputs": {"x": {"inputBaselines": [...]}}} or null.
// A "visualize" field is checked but not returned (see below).
StatusOr<ExplainOptions> ParseExplainParameters(const Json& parameters, const Json& metadata_override);

// What a request's parameters ask of the response rather than of the
// attribution method.
struct ExplainParameters {
  ExplainOptions options;
  // "visualize": true -- every attribution entry gets "visualizations".
  bool visualize = false;
};
// As ParseExplainParameters, also reading "visualize" (a boolean, default false).
StatusOr<ExplainParameters> ParseExplainRequestParameters(const Json& parameters, const Json& metadata_override);

}  // namespace xai
