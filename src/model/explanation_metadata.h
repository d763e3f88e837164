// Explanation metadata (SPEC §2): which tensors are attributed, from which
// baselines, and which outputs are explained. Reads both the AI Platform
// `explanation_metadata.json` format and Vertex `ExplanationMetadata`, each in
// snake_case or lowerCamelCase, into one structure; refuses bad metadata with
// a message naming the field. Vertex's is read as proto3 JSON: enums may be
// numbers, and a field at its default (0, "", [], an enum's 0) is a field
// left out (core/json_fields.h). Writes the AI Platform format (for
// `xaiserve metadata`). Pure code, no TensorFlow; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attribution/attribution_method.h"
#include "core/status.h"
#include "core/tensor_json.h"
#include "runtime/model_runtime.h"

namespace xai {

struct FeatureDomain {
  double min = 0, max = 0;
  std::optional<double> original_mean, original_stddev;
};

struct InputMetadata {
  std::string name;               // key in "inputs"
  std::string input_tensor_name;  // signature key (TF2) or graph tensor name (TF1)
  std::string encoding = "identity";
  std::string modality = "numeric";
  // Each entry is one baseline: a scalar (broadcast) or a value shaped like
  // one instance of the input.
  std::vector<Json> input_baselines;
  std::vector<std::string> index_feature_mapping;
  std::string encoded_tensor_name;
  std::vector<Json> encoded_baselines;
  std::string indices_tensor_name;
  std::string dense_shape_tensor_name;
  std::optional<FeatureDomain> domain;
  std::string group_name;
  Json visualization;  // kept as given (used by the pictures)

  // bag_of_features, bag_of_features_sparse and indicator: index_feature_mapping
  // names each element of the (vector) input, and its attributions come back
  // keyed by those names.
  bool names_each_feature() const {
    return encoding == "bag_of_features" || encoding == "bag_of_features_sparse" || encoding == "indicator";
  }
};

struct OutputMetadata {
  std::string name;
  std::string output_tensor_name;
  // One display name per output element, row-major; the shape the list was
  // given in ([n] for a flat list, [2, 3] for Vertex's nested form).
  std::vector<std::string> index_name_mapping;
  Shape index_name_mapping_shape;
  std::string index_name_mapping_key;
};

struct ExplanationMetadata {
  std::vector<InputMetadata> inputs;
  std::vector<OutputMetadata> outputs;
  std::string framework = "tensorflow";
  // The SDK's name of the signature the metadata is for; empty if not given.
  // It must be the signature the rules choose (checked when the metadata is
  // bound to the model).
  std::string serving_sigdef_key;
  std::vector<std::string> tags;
  // Where it came from: a file path, "request", or "inferred from signature 'x'".
  std::string source;
};

// Parses and validates; `source` prefixes error messages (e.g. the file path).
StatusOr<ExplanationMetadata> ParseExplanationMetadata(const Json& json, const std::string& source);
StatusOr<ExplanationMetadata> LoadExplanationMetadataFile(const std::string& path);

// Metadata inferred from the explaining signature: every floating-point input
// is numeric with a zero baseline; every floating-point output is listed (one
// is explained; of several, the request must name one). Integer and string
// outputs, such as class ids and names beside the scores, are left out. With
// `integer_inputs`, integer inputs are named too (a template for Sampled
// Shapley, which only runs the model; gradients need floating point).
ExplanationMetadata InferExplanationMetadata(const SignatureInfo& signature, bool integer_inputs = false);

// AI Platform format, snake_case.
Json ExplanationMetadataToJson(const ExplanationMetadata& metadata);

}  // namespace xai
