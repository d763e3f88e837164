// Request parameters of :explain (SPEC §3, §4) -> ExplainOptions, in one
// place for the CLI (which builds the same JSON from its flags) and the
// server: the method object (integratedGradientsAttribution, ...), topK,
// outputIndices, and the per-request metadata override of baselines. Both
// lowerCamelCase and snake_case. Out-of-range values are INVALID_ARGUMENT
// naming the field and its range. Pure; thread-safe.
#pragma once

#include "core/status.h"
#include "core/tensor_json.h"
#include "model/explainable_model.h"

namespace xai {

inline constexpr int kMinStepCount = 1, kMaxStepCount = 100, kDefaultStepCount = 50;
inline constexpr int kMaxBatchSize = 4096;  // kDefaultBatchSize: attribution/batched_evaluator.h

// `parameters`: {"integratedGradientsAttribution": {"stepCount": 50}, "topK": 1,
//   "outputIndices": [1], "batchSize": 64}; null means defaults.
// `metadata_override`: {"inputs": {"x": {"inputBaselines": [...]}}} or null.
StatusOr<ExplainOptions> ParseExplainParameters(const Json& parameters, const Json& metadata_override);

}  // namespace xai
