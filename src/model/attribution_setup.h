// How a request and the explanation metadata map onto the attribution
// methods: which method with which options (per-input SmoothGrad sigmas,
// XRAI's black and white from the image's domain), which elements form one
// feature (group_name, embedding tokens), and how attributions on an encoded
// tensor fold back onto the input feature. Pure; thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "attribution/attribution_method.h"
#include "core/status.h"
#include "core/tensor.h"
#include "model/explainable_model.h"

namespace xai {

// The method `options.method` names, configured from the request and the
// bound metadata. `instance` holds the attributed tensors' values ([1, ...]),
// in `inputs` order. `step_count` / `path_count` override the options' (the
// approximation-target loop raises them).
StatusOr<std::unique_ptr<AttributionMethod>> MakeAttributionMethod(const ExplainOptions& options,
                                                                   const std::vector<BoundInput>& inputs,
                                                                   const std::vector<Tensor>& instance,
                                                                   int step_count, int path_count);

// AttributionInputs::feature_of_element for `inputs`: inputs sharing a
// group_name form one feature; an embedding input has one feature per token
// (all of a token's embedding elements); every other element is a feature.
std::vector<std::vector<int>> FeaturesOfElements(const std::vector<BoundInput>& inputs,
                                                 const std::vector<Tensor>& instance);

// Attributions on an encoded tensor [1, ..., E] summed over the last
// (embedding) dimension: [1, ...]. Other inputs' attributions come back as they
// are (moved through, not copied).
Tensor FoldOntoFeature(const BoundInput& input, Tensor attribution);

// OK if `name`, which the request's `field` gives per input, is an attributed
// input's metadata name; else INVALID_ARGUMENT naming the inputs (a misspelt
// name would otherwise go unused, unnoticed).
Status CheckAttributedInputName(const std::vector<BoundInput>& inputs, const std::string& name,
                                const std::string& field);

// The method's maximum of the quantity the approximation target raises
// (steps for IG and XRAI, paths for Sampled Shapley).
int MaxBudget(const std::string& method);

}  // namespace xai
