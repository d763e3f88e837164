// Response bodies of SPEC §4, written once for the CLI and the server:
// predictions (one per instance: the output value, or an object keyed by
// output name when there are several) and explanations
// ({"attributions": [{"featureAttributions", "instanceOutputValue", ...}]}).
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/instances.h"
#include "api/visualizations.h"
#include "core/tensor_json.h"
#include "model/explainable_model.h"

namespace xai {

// Row `row` of a predict result.
Json PredictionToJson(const NamedTensors& outputs, int64_t row);
// The same as text: what DumpJson writes for PredictionToJson(outputs, row).
std::string PredictionJsonText(const NamedTensors& outputs, int64_t row);

// One entry of "explanations". `bare` makes featureAttributions a bare value
// (single attributed input given as a bare instance) instead of an object
// keyed by input name. Inputs sharing a group_name get one summed value under
// the group's name; a bag_of_features or indicator input gets an object of
// its index_feature_mapping names.
// featureAttributions is a bare value when the instance was a bare value and
// the one attributed tensor is that very input (no preprocessing, not an
// internal tensor); otherwise an object keyed by attributed input name.
bool AttributionsMirrorBareInstance(const ExplainableModel& model, const Json& instance);

// The explanation's JSON, written as text and held in a Json value
// (JsonText, core/tensor_json.h): write it with DumpJson. With `pictures`
// (RenderExplanationPictures: one EntryPictures per entry), each entry also
// carries "visualizations": {NAME: {"mimeType": ..., "data": BASE64}}.
Json ExplanationToJson(const InstanceExplanation& explanation, const std::vector<BoundInput>& inputs, bool bare,
                       const std::vector<EntryPictures>* pictures = nullptr);
// The same JSON as text.
std::string ExplanationJsonText(const InstanceExplanation& explanation, const std::vector<BoundInput>& inputs,
                                bool bare, const std::vector<EntryPictures>* pictures = nullptr);

// The prediction an :explain response gives with an instance: the one its
// explaining run made, if it made one (moved out of `explanation`), else a
// Predict run of `instance` (the request's instance number `index`) through
// `predict_signature`. nullopt when there is no predict signature (nullptr)
// or the instance does not fit it (it may not, e.g. with xai_preprocess).
StatusOr<std::optional<NamedTensors>> PredictionOfExplained(ExplainableModel& model, InstanceExplanation& explanation,
                                                            const Json& instance, size_t index,
                                                            const SignatureInfo* predict_signature,
                                                            const InstanceDecoding& decoding);

// Vertex's displayNameMappingKey (metadata index_name_mapping_key): each
// attribution of an output that has one gets as outputDisplayName the
// element at its outputIndex of that field of the instance's `prediction`,
// which must have the explained output's shape per instance (a string or a
// number). FailedPrecondition, naming both shapes, when it does not.
Status NameOutputsFromPrediction(const ExplainableModel& model, const NamedTensors& prediction,
                                 InstanceExplanation& explanation);

// An :explain response body as text, {"explanations": [...], "predictions":
// [...]}: the entries' texts (ExplanationJsonText) and, if given, one
// prediction's text per entry (PredictionJsonText); without them no
// "predictions".
std::string ExplainResponseText(const std::vector<std::string>& entries,
                                const std::vector<std::string>* predictions);

}  // namespace xai
