#include "model/explanation_metadata.h"

#include "core/json_fields.h"
#include "core/tensor_json.h"
#include "core/text.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace xai {
namespace {

const std::vector<std::string> kEncodings = {"identity", "bag_of_features", "bag_of_features_sparse",
                                             "indicator", "combined_embedding", "concat_embedding"};
// "structured" (the SDK's, for tabular data) is read as "numeric".
const std::vector<std::string> kModalities = {"numeric", "image", "text", "categorical", "structured"};

// "BAG_OF_FEATURES" / "bagOfFeatures" / "bag_of_features" -> "bag_of_features".
std::string NormalizeEnum(const std::string& value) {
  std::string out;
  bool previous_lower = false;
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isupper(u) && previous_lower) out.push_back('_');  // camelCase word boundary
    out.push_back(static_cast<char>(std::tolower(u)));
    previous_lower = std::islower(u) != 0;
  }
  return out;
}

// google.cloud.aiplatform.v1.ExplanationMetadata.InputMetadata.Encoding, by number.
const ProtoEnumValues kEncodingNumbers = {{0, "ENCODING_UNSPECIFIED"},   {1, "IDENTITY"},
                                          {2, "BAG_OF_FEATURES"},        {3, "BAG_OF_FEATURES_SPARSE"},
                                          {4, "INDICATOR"},              {5, "COMBINED_EMBEDDING"},
                                          {6, "CONCAT_EMBEDDING"}};

// Reads an enum field (JsonFields::ProtoEnum: a name or, in proto3 JSON, a
// number); absent, "", 0 or the proto enum's `unspecified` value (which
// Vertex writes and documents as the same as the default) is `fallback`.
// `numbers` empty: a string field read like an enum (modality).
StatusOr<std::string> EnumField(JsonFields& r, std::initializer_list<const char*> names,
                                const std::vector<std::string>& choices, const std::string& fallback,
                                const ProtoEnumValues& numbers) {
  XAI_ASSIGN_OR_RETURN(std::optional<std::string> raw, r.ProtoEnum(names, numbers));
  if (!raw) return fallback;
  const std::string value = NormalizeEnum(*raw);
  if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
    return InvalidArgument(r.Field(names) + ": '" + *raw + "' is not one of " + JoinWithCommas(choices));
  }
  return value;
}

Status CheckBaselineValue(const Json& value, const std::string& where) {
  if (value.is_number() || value.is_string()) return OkStatus();
  if (value.is_array()) {
    XAI_ASSIGN_OR_RETURN(Shape shape, JsonArrayShape(value, where));
    (void)shape;
    return OkStatus();
  }
  return InvalidArgument(where + " must be a number or a nested list of numbers, got " + value.dump());
}

// An empty list is proto3 JSON's unset list (the SDK's to_json() writes
// "inputBaselines": []): no baselines given.
StatusOr<std::vector<Json>> Baselines(JsonFields& r, std::initializer_list<const char*> names) {
  XAI_ASSIGN_OR_RETURN(const Json* v, r.FindList(names));
  std::vector<Json> out;
  if (v == nullptr) return out;
  const std::string field = r.Field(names);
  if (!v->is_array()) {
    // A bare scalar is one scalar baseline.
    XAI_RETURN_IF_ERROR(CheckBaselineValue(*v, field));
    out.push_back(*v);
    return out;
  }
  if (v->size() > static_cast<size_t>(kMaxBaselines)) {
    return InvalidArgument(field + ": " + std::to_string(v->size()) + " baselines given, at most " +
                           std::to_string(static_cast<size_t>(kMaxBaselines)) + " are allowed (each entry of the list is one baseline; "
                           "for one baseline shaped like the input, wrap it in a list: [[...]])");
  }
  for (size_t i = 0; i < v->size(); ++i) {
    XAI_RETURN_IF_ERROR(CheckBaselineValue((*v)[i], field + "[" + std::to_string(i) + "]"));
    out.push_back((*v)[i]);
  }
  return out;
}

// AI Platform's `domain` needs both `min` and `max`. Vertex's
// `featureValueDomain` is proto3, whose printers leave out a bound of 0
// ([0, 1] is written {"maxValue": 1.0}): there a missing bound is 0.
StatusOr<std::optional<FeatureDomain>> Domain(JsonFields& r) {
  XAI_ASSIGN_OR_RETURN(const Json* v, r.Find({"domain", "featureValueDomain", "feature_value_domain"}));
  if (v == nullptr) return std::optional<FeatureDomain>();
  const std::string where = r.Field({"domain", "featureValueDomain", "feature_value_domain"});
  const bool proto3 = r.Spelling({"domain", "featureValueDomain", "feature_value_domain"}) != "domain";
  if (!v->is_object()) return InvalidArgument(where + " must be an object with 'min' and 'max'");
  JsonFields d(*v, where);
  FeatureDomain domain;
  XAI_ASSIGN_OR_RETURN(auto min, d.Number({"min", "minValue", "min_value"}));
  XAI_ASSIGN_OR_RETURN(auto max, d.Number({"max", "maxValue", "max_value"}));
  // Kept and written back only; to_json() writes 0.0 for them when unset.
  const auto statistic = [&](std::initializer_list<const char*> names) {
    return proto3 ? d.NumberOrDefault(names) : d.Number(names);
  };
  XAI_ASSIGN_OR_RETURN(domain.original_mean, statistic({"original_mean", "originalMean"}));
  XAI_ASSIGN_OR_RETURN(domain.original_stddev, statistic({"original_stddev", "originalStddev"}));
  XAI_RETURN_IF_ERROR(d.CheckNoUnknownFields());
  // In proto3, a bound left out is 0; the message says so, as the file does not show it.
  const std::string min_left_out = proto3 && !min ? ", left out" : "";
  const std::string max_left_out = proto3 && !max ? ", left out" : "";
  if (proto3) {
    min = min.value_or(0.0);
    max = max.value_or(0.0);
  }
  if (!min || !max) return InvalidArgument(where + " needs both 'min' and 'max'");
  if (!(*min < *max)) {
    return InvalidArgument(where + ": min (" + Json(*min).dump() + min_left_out + ") must be less than max (" +
                           Json(*max).dump() + max_left_out + ")");
  }
  domain.min = *min;
  domain.max = *max;
  return std::optional<FeatureDomain>(domain);
}

// Fields of the SDK's schema that the cloud fills in or that only describe
// the tensors: checked for their type and otherwise left, since the model's
// own signature says the same. What would change the meaning is refused.
Status CheckSdkDescriptiveFields(JsonFields& r, const std::string& where) {
  for (const char* dtype : {"input_tensor_dtype", "indices_tensor_dtype", "dense_shape_tensor_dtype",
                            "encoded_tensor_dtype", "input_tensor_type", "weight_values_dtype",
                            "weight_indices_dtype", "weight_dense_shape_dtype"}) {
    XAI_RETURN_IF_ERROR(r.String({dtype}).status());
  }
  for (const char* list : {"gradient_tensor_names", "gradient_tensor_dtypes"}) {
    XAI_RETURN_IF_ERROR(r.StringList({list}).status());
  }
  XAI_ASSIGN_OR_RETURN(const Json* sequential, r.Find({"is_sequential"}));
  if (sequential != nullptr && *sequential != Json(false)) {
    return InvalidArgument(where + ".is_sequential is " + sequential->dump() +
                           ": sequential inputs (a batch that is one sequence) are not supported; xaiserve "
                           "evaluates path points as a batch of independent rows");
  }
  for (const char* weights : {"weight_values_name", "weight_indices_name", "weight_dense_shape_name"}) {
    XAI_ASSIGN_OR_RETURN(const Json* given, r.Find({weights}));
    if (given != nullptr) {
      return InvalidArgument(where + "." + weights + ": weighted sparse inputs are not supported; explain the "
                             "model with the weights as an input of their own");
    }
  }
  return OkStatus();
}

StatusOr<InputMetadata> ParseInput(const std::string& name, const Json& json, const std::string& where) {
  if (!json.is_object()) return InvalidArgument(where + " must be an object");
  JsonFields r(json, where);
  InputMetadata in;
  in.name = name;
  XAI_ASSIGN_OR_RETURN(in.input_tensor_name, r.String({"input_tensor_name", "inputTensorName"}, name));
  XAI_ASSIGN_OR_RETURN(in.encoding, EnumField(r, {"encoding"}, kEncodings, "identity", kEncodingNumbers));
  XAI_ASSIGN_OR_RETURN(in.modality, EnumField(r, {"modality"}, kModalities, "numeric", {}));
  XAI_ASSIGN_OR_RETURN(in.input_baselines, Baselines(r, {"input_baselines", "inputBaselines"}));
  XAI_ASSIGN_OR_RETURN(in.index_feature_mapping, r.StringList({"index_feature_mapping", "indexFeatureMapping"}));
  XAI_ASSIGN_OR_RETURN(in.encoded_tensor_name, r.String({"encoded_tensor_name", "encodedTensorName"}));
  XAI_ASSIGN_OR_RETURN(in.encoded_baselines, Baselines(r, {"encoded_baselines", "encodedBaselines"}));
  XAI_ASSIGN_OR_RETURN(in.indices_tensor_name, r.String({"indices_tensor_name", "indicesTensorName"}));
  XAI_ASSIGN_OR_RETURN(in.dense_shape_tensor_name, r.String({"dense_shape_tensor_name", "denseShapeTensorName"}));
  XAI_ASSIGN_OR_RETURN(in.domain, Domain(r));
  XAI_ASSIGN_OR_RETURN(in.group_name, r.String({"group_name", "groupName"}));
  XAI_ASSIGN_OR_RETURN(const Json* vis, r.Find({"visualization"}));
  if (vis != nullptr) {
    if (!vis->is_object()) return InvalidArgument(where + ".visualization must be an object");
    in.visualization = *vis;
  }
  XAI_RETURN_IF_ERROR(CheckSdkDescriptiveFields(r, where));
  XAI_RETURN_IF_ERROR(r.CheckNoUnknownFields());

  if (in.modality == "structured") in.modality = "numeric";
  // The SDK's TF1 builder writes "" for an input it could not name (a
  // SparseTensor's): that is the input's own name, as if left out.
  if (in.input_tensor_name.empty()) in.input_tensor_name = name;
  if (!in.input_baselines.empty() && !in.encoded_baselines.empty()) {
    return InvalidArgument(where + ": give only one of input_baselines and encoded_baselines");
  }
  const bool needs_mapping = in.names_each_feature();
  if (needs_mapping && in.index_feature_mapping.empty()) {
    return InvalidArgument(where + ".index_feature_mapping is required for encoding '" + in.encoding +
                           "' (one feature name per index)");
  }
  if (needs_mapping) {
    // The names become the keys of the attributions object: each must be
    // there, once.
    std::set<std::string> seen;
    for (const std::string& feature : in.index_feature_mapping) {
      if (feature.empty()) {
        return InvalidArgument(where + ".index_feature_mapping has an empty name; encoding '" + in.encoding +
                               "' needs a name for every index");
      }
      if (!seen.insert(feature).second) {
        return InvalidArgument(where + ".index_feature_mapping names '" + feature + "' twice; encoding '" +
                               in.encoding + "' needs a different name for every index");
      }
    }
  }
  const bool needs_encoded = in.encoding == "combined_embedding" || in.encoding == "concat_embedding";
  if (needs_encoded && in.encoded_tensor_name.empty()) {
    return InvalidArgument(where + ".encoded_tensor_name is required for encoding '" + in.encoding +
                           "' (the embedding tensor that attributions are computed on)");
  }
  if (!needs_encoded && (!in.encoded_tensor_name.empty() || !in.encoded_baselines.empty())) {
    // It used to be accepted and ignored, with encoded_baselines: the
    // explanation ran on input_tensor_name from a zero baseline.
    const std::string field = in.encoded_tensor_name.empty() ? "encoded_baselines" : "encoded_tensor_name";
    return InvalidArgument(where + "." + field + " applies to encoding 'combined_embedding' or "
                           "'concat_embedding' only, and this input's encoding is '" + in.encoding +
                           "': set the encoding, or leave " + field + " out (and give baselines as "
                           "input_baselines). xaiserve does not explain an identity input on another tensor; "
                           "for an input without gradients, save 'xai_preprocess' and 'xai_model' signatures");
  }
  // bag_of_features_sparse needs no indices tensor: its input may be dense
  // (zeros mark absent features). A SparseTensor input is named by its values
  // tensor (input_tensor_name) and its indices, so dense_shape alone is wrong.
  if (!in.dense_shape_tensor_name.empty() && in.indices_tensor_name.empty()) {
    return InvalidArgument(where + ".dense_shape_tensor_name needs indices_tensor_name: a sparse input is named by "
                           "input_tensor_name (its values), indices_tensor_name and dense_shape_tensor_name");
  }
  return in;
}

// The leaves of a rectangular nested list, in row-major order.
void AppendLeaves(const Json& value, std::vector<const Json*>* leaves) {
  if (!value.is_array()) {
    leaves->push_back(&value);
    return;
  }
  for (const Json& item : value) AppendLeaves(item, leaves);
}

StatusOr<OutputMetadata> ParseOutput(const std::string& name, const Json& json, const std::string& where) {
  if (!json.is_object()) return InvalidArgument(where + " must be an object");
  JsonFields r(json, where);
  OutputMetadata out;
  out.name = name;
  XAI_ASSIGN_OR_RETURN(out.output_tensor_name, r.String({"output_tensor_name", "outputTensorName"}, name));
  XAI_ASSIGN_OR_RETURN(const Json* mapping, r.Find({"index_name_mapping", "indexNameMapping", "indexDisplayNameMapping",
                                                    "index_display_name_mapping"}));
  if (mapping != nullptr) {
    // A list of names, or for an output of several dimensions (Vertex's
    // "n-dimensional array of strings") one nested list per dimension.
    const std::string field = where + ".index_name_mapping";
    if (!mapping->is_array()) return InvalidArgument(field + " must be a list of names");
    XAI_ASSIGN_OR_RETURN(out.index_name_mapping_shape, JsonArrayShape(*mapping, field));
    std::vector<const Json*> names;
    AppendLeaves(*mapping, &names);
    for (const Json* item : names) {
      if (!item->is_string() && !item->is_number()) {
        return InvalidArgument(field + " must be a list of names (or one nested list per dimension of the output), "
                               "got " + item->dump());
      }
      out.index_name_mapping.push_back(item->is_string() ? item->get<std::string>() : item->dump());
    }
  }
  XAI_ASSIGN_OR_RETURN(out.index_name_mapping_key,
                       r.String({"index_name_mapping_key", "indexNameMappingKey", "displayNameMappingKey",
                                 "display_name_mapping_key"}));
  XAI_RETURN_IF_ERROR(r.String({"output_tensor_dtype"}).status());  // the SDK's; the signature's dtype is used
  XAI_RETURN_IF_ERROR(r.CheckNoUnknownFields());
  if (!out.index_name_mapping.empty() && !out.index_name_mapping_key.empty()) {
    return InvalidArgument(where + ": give only one of index_name_mapping and index_name_mapping_key");
  }
  if (out.output_tensor_name.empty()) return InvalidArgument(where + ".output_tensor_name must not be empty");
  return out;
}

}  // namespace

StatusOr<ExplanationMetadata> ParseExplanationMetadata(const Json& json, const std::string& source) {
  if (!json.is_object()) return InvalidArgument(source + ": explanation metadata must be a JSON object");
  JsonFields r(json, source);
  ExplanationMetadata md;
  md.source = source;
  XAI_ASSIGN_OR_RETURN(const Json* inputs, r.Find({"inputs"}));
  XAI_ASSIGN_OR_RETURN(const Json* outputs, r.Find({"outputs"}));
  XAI_ASSIGN_OR_RETURN(md.framework, r.String({"framework"}, "tensorflow"));
  XAI_ASSIGN_OR_RETURN(md.tags, r.StringList({"tags"}));
  // Written by the cloud SDKs; accepted and ignored.
  XAI_RETURN_IF_ERROR(r.Find({"preparer_version", "preparerVersion"}).status());
  XAI_RETURN_IF_ERROR(r.Find({"feature_attributions_schema_uri", "featureAttributionsSchemaUri"}).status());
  // Vertex's source of embeddings for example-based explanations, which xaiserve does not make.
  XAI_RETURN_IF_ERROR(r.String({"latent_space_source", "latentSpaceSource"}).status());
  // Filled in by the cloud's model preparer from the graph; xaiserve reads the graph itself.
  XAI_RETURN_IF_ERROR(r.Find({"embeddings"}).status());
  XAI_RETURN_IF_ERROR(r.Find({"sigdef_inputs"}).status());
  XAI_ASSIGN_OR_RETURN(md.serving_sigdef_key, r.String({"serving_sigdef_key"}));  // checked when bound
  XAI_RETURN_IF_ERROR(r.CheckNoUnknownFields());

  // The Explainable AI SDK's TensorFlow 2 builder writes "tensorflow2".
  std::string framework = NormalizeEnum(md.framework);
  if (framework != "tensorflow" && framework != "tensorflow2") {
    return InvalidArgument(source + ".framework: '" + md.framework +
                           "' is not supported; xaiserve explains TensorFlow models (\"tensorflow\" or \"tensorflow2\")");
  }
  if (inputs == nullptr || !inputs->is_object() || inputs->empty()) {
    return InvalidArgument(source + ".inputs must be a non-empty object mapping input names to their metadata");
  }
  for (auto it = inputs->begin(); it != inputs->end(); ++it) {
    XAI_ASSIGN_OR_RETURN(InputMetadata in, ParseInput(it.key(), it.value(), source + ".inputs." + it.key()));
    md.inputs.push_back(std::move(in));
  }
  // Attributions are keyed by input name, and a group's by its group_name:
  // a group named like an input outside it would overwrite that input's.
  for (const InputMetadata& grouped : md.inputs) {
    for (const InputMetadata& other : md.inputs) {
      if (grouped.group_name.empty() || other.name != grouped.group_name || other.group_name == grouped.group_name) {
        continue;
      }
      return InvalidArgument(source + ".inputs." + grouped.name + ".group_name '" + grouped.group_name +
                             "' is also the name of input '" + other.name + "', which is not in that group; "
                             "their attributions would share one key: rename the group");
    }
  }
  if (outputs == nullptr || !outputs->is_object() || outputs->empty()) {
    return InvalidArgument(source + ".outputs must be a non-empty object mapping output names to their metadata");
  }
  for (auto it = outputs->begin(); it != outputs->end(); ++it) {
    XAI_ASSIGN_OR_RETURN(OutputMetadata out, ParseOutput(it.key(), it.value(), source + ".outputs." + it.key()));
    md.outputs.push_back(std::move(out));
  }
  return md;
}

StatusOr<ExplanationMetadata> LoadExplanationMetadataFile(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return InvalidArgument("explanation metadata file '" + path + "' is a directory; give the JSON file");
  }
  std::ifstream file(path);
  if (!file) return NotFound("cannot read explanation metadata file '" + path + "'");
  std::stringstream text;
  text << file.rdbuf();
  XAI_ASSIGN_OR_RETURN(Json json, ParseJson(text.str(), path));
  return ParseExplanationMetadata(json, path);
}

namespace {

// How inferred metadata names a signature's tensor: by its key, or, for a key
// that is "" (a TF1 signature can have one), by the graph tensor's name, since
// metadata that names tensor "" is refused (`xaiserve metadata` wrote it, and
// `inspect --metadata` refused what it wrote).
std::string KeyOrTensorName(const TensorInfo& t) { return t.key.empty() ? t.tensor_name : t.key; }

}  // namespace

ExplanationMetadata InferExplanationMetadata(const SignatureInfo& signature, bool integer_inputs) {
  ExplanationMetadata md;
  md.source = "inferred from signature '" + signature.key + "'";
  for (const TensorInfo& t : signature.inputs) {
    const bool integer = integer_inputs && IsInteger(t.dtype) && t.dtype != DType::kBool;
    if (!IsFloating(t.dtype) && !integer) continue;
    InputMetadata in;
    in.name = t.key;
    in.input_tensor_name = KeyOrTensorName(t);
    in.indices_tensor_name = t.sparse_indices_tensor;  // a SparseTensor input's parts, for the user to see
    in.dense_shape_tensor_name = t.sparse_dense_shape_tensor;
    in.input_baselines = {Json(0.0)};
    md.inputs.push_back(std::move(in));
  }
  for (const TensorInfo& t : signature.outputs) {
    // Class names and ids (ArgMax) beside the scores are not what is explained.
    if (!IsFloating(t.dtype)) continue;
    OutputMetadata out;
    out.name = t.key;
    out.output_tensor_name = KeyOrTensorName(t);
    md.outputs.push_back(std::move(out));
  }
  return md;
}

Json ExplanationMetadataToJson(const ExplanationMetadata& md) {
  Json inputs = Json::object();
  for (const InputMetadata& in : md.inputs) {
    Json j = {{"input_tensor_name", in.input_tensor_name}, {"encoding", in.encoding}, {"modality", in.modality}};
    if (!in.input_baselines.empty()) j["input_baselines"] = in.input_baselines;
    if (!in.index_feature_mapping.empty()) j["index_feature_mapping"] = in.index_feature_mapping;
    if (!in.encoded_tensor_name.empty()) j["encoded_tensor_name"] = in.encoded_tensor_name;
    if (!in.encoded_baselines.empty()) j["encoded_baselines"] = in.encoded_baselines;
    if (!in.indices_tensor_name.empty()) j["indices_tensor_name"] = in.indices_tensor_name;
    if (!in.dense_shape_tensor_name.empty()) j["dense_shape_tensor_name"] = in.dense_shape_tensor_name;
    if (in.domain) {
      Json d = {{"min", in.domain->min}, {"max", in.domain->max}};
      if (in.domain->original_mean) d["original_mean"] = *in.domain->original_mean;
      if (in.domain->original_stddev) d["original_stddev"] = *in.domain->original_stddev;
      j["domain"] = d;
    }
    if (!in.group_name.empty()) j["group_name"] = in.group_name;
    if (!in.visualization.is_null()) j["visualization"] = in.visualization;
    inputs[in.name] = j;
  }
  Json outputs = Json::object();
  for (const OutputMetadata& out : md.outputs) {
    Json j = {{"output_tensor_name", out.output_tensor_name}};
    if (!out.index_name_mapping.empty()) {
      Tensor names;
      names.dtype = DType::kString;
      names.shape = out.index_name_mapping_shape;
      names.strings = out.index_name_mapping;
      j["index_name_mapping"] = TensorToJson(names);
    }
    if (!out.index_name_mapping_key.empty()) j["index_name_mapping_key"] = out.index_name_mapping_key;
    outputs[out.name] = j;
  }
  Json result = {{"inputs", inputs}, {"outputs", outputs}, {"framework", md.framework}};
  if (!md.tags.empty()) result["tags"] = md.tags;
  if (!md.serving_sigdef_key.empty()) result["serving_sigdef_key"] = md.serving_sigdef_key;
  return result;
}

}  // namespace xai
