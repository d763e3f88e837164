// Pictures of an explanation (SPEC §6), shared by the CLI (--visualize DIR
// writes them as files) and the server ("parameters": {"visualize": true}
// puts them in the response), so both give the same bytes.
//
// For every attribution entry of an instance's explanation:
// - each attributed image input gets a PNG of its attributions, drawn as its
//   metadata's `visualization` says (defaults from the method; see
//   render/attribution_image.h), over the instance's own image when the
//   overlay asks for it. An input is an image when its metadata modality is
//   "image" and its attributions have an image shape ([1,H,W] or
//   [1,H,W,C]), or, with the default modality, when it is a floating-point
//   tensor whose attributions are [1,H,W,C] with C 1 or 3.
// - every other attributed input gets an SVG bar chart of its top 10
//   features by |attribution| (labels from index_feature_mapping, else
//   "name[i]"). Inputs sharing a group_name get one chart under the group's
//   name with one bar per member input (its summed attribution), as
//   featureAttributions has one value per group.
//
// In a response (ExplanationToJson, api/responses.h) each entry then carries
//   "visualizations": {NAME: {"mimeType": "image/png" | "image/svg+xml",
//                             "data": BASE64}}
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor_json.h"
#include "model/explainable_model.h"

namespace xai {

inline constexpr int kBarChartTopFeatures = 10;

struct Picture {
  std::string mime_type;  // "image/png" or "image/svg+xml"
  std::string bytes;
  // "png" or "svg", for file names.
  const char* extension() const { return mime_type == "image/png" ? "png" : "svg"; }
};

// The pictures of one attribution entry, keyed by input (or group) name, in
// the order of the explained inputs.
using EntryPictures = std::vector<std::pair<std::string, Picture>>;

// Checks every input's `visualization` in the metadata (unknown fields or
// values are INVALID_ARGUMENT naming the field), so that a model is refused
// when it loads rather than when a picture is first asked for. `notes`, if
// given, gets one line per input whose visualization has settings that
// xaiserve's pictures do not apply (Visualization::not_drawn).
Status CheckVisualizationMetadata(const ExplanationMetadata& metadata, std::vector<std::string>* notes = nullptr);

// Whether `input` is drawn as an image (see above), given its attributions.
bool IsImageAttribution(const BoundInput& input, const Tensor& attribution);

// One EntryPictures per entry of explanation.outputs. `originals[i]` is the
// instance's value of inputs[i] (shape [1,...]) or null when the attributed
// tensor is not an input the request gave (preprocessed or internal); it is
// the base of the overlays. INVALID_ARGUMENT for a bad `visualization` in the
// metadata, naming the field.
StatusOr<std::vector<EntryPictures>> RenderExplanationPictures(const InstanceExplanation& explanation,
                                                               const std::vector<BoundInput>& inputs,
                                                               const std::vector<const Tensor*>& originals);

// The same for a model and the decoded instance it explained (keyed by the
// explaining entry signature's input keys).
StatusOr<std::vector<EntryPictures>> RenderExplanationPictures(const ExplainableModel& model,
                                                               const InstanceExplanation& explanation,
                                                               const NamedTensors& instance);

}  // namespace xai
