#include "api/responses.h"

#include <map>
#include <string>
#include <vector>

#include "api/instances.h"
#include "core/base64.h"

namespace xai {

namespace {

// Text sizes to reserve: an entry's keys, names and punctuation, and one
// number with its comma (17 significant digits, a sign, a point and an
// exponent at most).
constexpr size_t kEntryTextBytes = 256;
constexpr size_t kNumberTextBytes = 25;

// True for the encodings whose index_feature_mapping names every element of
// a vector input (and the attribution has exactly that many elements).
bool NamesEachElement(const InputMetadata& md, const Tensor& attribution) {
  return md.names_each_feature() && attribution.shape.size() == 2 &&
         static_cast<size_t>(attribution.row_elements()) == md.index_feature_mapping.size();
}

// `fields` (key and value pairs, in sorted key order as nlohmann keeps an
// object's) as a JSON object, each value written by append_value(value, out),
// so the text is the one DumpJson would write for the same tree.
template <typename Fields, typename AppendValue>
void AppendObjectText(const Fields& fields, AppendValue append_value, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [key, value] : fields) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(key, out);
    out->push_back(':');
    append_value(value, out);
  }
  out->push_back('}');
}

// `fields` (key -> its value's JSON text) as a JSON object.
void AppendObjectText(const std::map<std::string, std::string>& fields, std::string* out) {
  AppendObjectText(fields, [](const std::string& text, std::string* o) { o->append(text); }, out);
}

// An attribution tensor's one row as JSON.
void AppendAttributionRow(const Tensor& attribution, std::string* out) { AppendTensorRowJson(attribution, 0, out); }

std::string DoubleText(double value) {
  std::string text;
  AppendJsonDouble(value, &text);
  return text;
}

// featureAttributions of one entry.
void AppendFeatureAttributions(const Attribution& a, const std::vector<BoundInput>& inputs, bool bare,
                               std::string* out) {
  if (bare && a.attributions.size() == 1) {
    AppendTensorRowJson(a.attributions[0], 0, out);
    return;
  }
  if (a.attributions.size() == 1 && inputs.size() == 1 && inputs[0].metadata.group_name.empty() &&
      !NamesEachElement(inputs[0].metadata, a.attributions[0])) {
    // One input (as in most models): its object written in place.
    const std::pair<const std::string&, const Tensor&> only[] = {{inputs[0].metadata.name, a.attributions[0]}};
    AppendObjectText(only, AppendAttributionRow, out);
    return;
  }
  // Keyed by input name; inputs sharing a group_name get one attribution,
  // the sum of theirs, under the group's name.
  std::map<std::string, std::string> features;
  std::map<std::string, double> group_sums;
  for (size_t i = 0; i < a.attributions.size() && i < inputs.size(); ++i) {
    const InputMetadata& md = inputs[i].metadata;
    const Tensor& attribution = a.attributions[i];
    if (!md.group_name.empty()) {
      double& sum = group_sums[md.group_name];
      for (double v : attribution.values) sum += v;
      continue;
    }
    std::string& text = features[md.name];
    text.clear();
    if (NamesEachElement(md, attribution)) {
      // bag_of_features(_sparse) / indicator: one attribution per named
      // feature (a name given twice keeps its last element, as in a tree).
      std::map<std::string, std::string> named;
      for (size_t e = 0; e < md.index_feature_mapping.size(); ++e) {
        named[md.index_feature_mapping[e]] = DoubleText(attribution.values[e]);
      }
      AppendObjectText(named, &text);
      continue;
    }
    AppendTensorRowJson(attribution, 0, &text);
  }
  for (const auto& [group, sum] : group_sums) features[group] = DoubleText(sum);
  AppendObjectText(features, out);
}

// "visualizations" of one entry: {NAME: {"mimeType": ..., "data": BASE64}}.
void AppendVisualizations(const EntryPictures& pictures, std::string* out) {
  std::map<std::string, std::string> entries;
  for (const auto& [name, picture] : pictures) {
    std::string& entry = entries[name];
    entry = "{\"data\":";
    AppendJsonString(Base64Encode(picture.bytes), &entry);
    entry += ",\"mimeType\":";
    AppendJsonString(picture.mime_type, &entry);
    entry.push_back('}');
  }
  AppendObjectText(entries, out);
}

}  // namespace

Json PredictionToJson(const NamedTensors& outputs, int64_t row) {
  if (outputs.size() == 1) {
    const auto& [key, tensor] = *outputs.begin();
    return TensorRowToJson(tensor, row, StringLeavesOfOutput(key));
  }
  Json object = Json::object();
  for (const auto& [key, tensor] : outputs) object[key] = TensorRowToJson(tensor, row, StringLeavesOfOutput(key));
  return object;
}

std::string PredictionJsonText(const NamedTensors& outputs, int64_t row) {
  std::string text;
  if (outputs.size() == 1) {
    const auto& [key, tensor] = *outputs.begin();
    AppendTensorRowJson(tensor, row, &text, StringLeavesOfOutput(key));
  } else {
    // Each output with how its strings are written, which depends on its key.
    std::vector<std::pair<const std::string&, std::pair<const Tensor&, StringLeaves>>> fields;
    for (const auto& [key, tensor] : outputs) fields.push_back({key, {tensor, StringLeavesOfOutput(key)}});
    AppendObjectText(
        fields,
        [row](const std::pair<const Tensor&, StringLeaves>& output, std::string* out) {
          AppendTensorRowJson(output.first, row, out, output.second);
        },
        &text);
  }
  return text;
}

bool AttributionsMirrorBareInstance(const ExplainableModel& model, const Json& instance) {
  const SignatureInfo* entry = model.explain_entry_signature();
  if (entry == nullptr || !model.selection().preprocess_key.empty()) return false;
  if (!IsBareInstance(instance, *entry) || model.explained_inputs().size() != 1) return false;
  const InputMetadata& md = model.explained_inputs()[0].metadata;
  if (!md.group_name.empty() || md.names_each_feature()) return false;
  return model.explained_inputs()[0].signature_key == entry->inputs[0].key;
}

std::string ExplanationJsonText(const InstanceExplanation& explanation, const std::vector<BoundInput>& inputs,
                                bool bare, const std::vector<EntryPictures>* pictures) {
  // Room for every number at once: growing the text as it is written
  // reallocated and copied it six times on tabular_mlp.
  size_t numbers = 0;
  for (const OutputAttribution& out : explanation.outputs) {
    numbers += 3;
    for (const Tensor& attribution : out.attribution.attributions) numbers += attribution.values.size();
  }
  std::string text;
  text.reserve(kEntryTextBytes * explanation.outputs.size() + kNumberTextBytes * numbers);
  text += "{\"attributions\":[";
  for (size_t k = 0; k < explanation.outputs.size(); ++k) {
    const OutputAttribution& out = explanation.outputs[k];
    const Attribution& a = out.attribution;
    // The fields in nlohmann's (sorted) key order.
    text += k == 0 ? "{" : ",{";
    text += "\"approximationError\":";
    AppendJsonDouble(a.approximation_error, &text);
    text += ",\"baselineOutputValue\":";
    AppendJsonDouble(a.baseline_output, &text);
    text += ",\"featureAttributions\":";
    AppendFeatureAttributions(a, inputs, bare, &text);
    text += ",\"instanceOutputValue\":";
    AppendJsonDouble(a.instance_output, &text);
    if (!out.output_display_name.empty()) {
      text += ",\"outputDisplayName\":";
      AppendJsonString(out.output_display_name, &text);
    }
    if (!out.output_index.empty()) {
      text += ",\"outputIndex\":[";
      for (size_t d = 0; d < out.output_index.size(); ++d) {
        if (d > 0) text.push_back(',');
        AppendJsonInteger(out.output_index[d], &text);
      }
      text.push_back(']');
    }
    text += ",\"outputName\":";
    AppendJsonString(out.output_name, &text);
    if (explanation.budget_reported) {
      text += explanation.method == "sampled-shapley" ? ",\"pathCount\":" : ",\"stepCount\":";
      AppendJsonInteger(a.steps, &text);
    }
    if (pictures != nullptr && k < pictures->size()) {
      text += ",\"visualizations\":";
      AppendVisualizations((*pictures)[k], &text);
    }
    text.push_back('}');
  }
  text += "]}";
  return text;
}

Json ExplanationToJson(const InstanceExplanation& explanation, const std::vector<BoundInput>& inputs, bool bare,
                       const std::vector<EntryPictures>* pictures) {
  return JsonText(ExplanationJsonText(explanation, inputs, bare, pictures));
}

StatusOr<std::optional<NamedTensors>> PredictionOfExplained(ExplainableModel& model, InstanceExplanation& explanation,
                                                            const Json& instance, size_t index,
                                                            const SignatureInfo* predict_signature,
                                                            const InstanceDecoding& decoding) {
  if (explanation.predictions) return std::move(explanation.predictions);
  if (predict_signature == nullptr) return std::optional<NamedTensors>();
  StatusOr<NamedTensors> row = DecodeInstance(instance, *predict_signature, index, decoding);
  if (!row.ok()) return std::optional<NamedTensors>();
  XAI_ASSIGN_OR_RETURN(NamedTensors prediction, model.Predict(*predict_signature, *row));
  return std::optional<NamedTensors>(std::move(prediction));
}

Status NameOutputsFromPrediction(const ExplainableModel& model, const NamedTensors& prediction,
                                 InstanceExplanation& explanation) {
  for (OutputAttribution& out : explanation.outputs) {
    const BoundOutput* bound = model.ExplainedOutput(out.output_name);
    if (bound == nullptr || bound->metadata.index_name_mapping_key.empty()) continue;
    const std::string& key = bound->metadata.index_name_mapping_key;
    const std::string where = "outputs." + out.output_name + ".index_name_mapping_key '" + key + "'";
    const auto field = prediction.find(key);
    if (field == prediction.end()) return FailedPrecondition(where + ": the prediction has no field '" + key + "'");
    const Tensor& names = field->second;
    const Shape row_shape = names.row_shape();
    bool fits = names.batch_size() >= 1 && row_shape.size() == out.output_index.size();
    int64_t element = 0;
    for (size_t d = 0; fits && d < row_shape.size(); ++d) {
      fits = out.output_index[d] < row_shape[d];
      element = element * row_shape[d] + out.output_index[d];
    }
    if (!fits) {
      return FailedPrecondition(where + ": the prediction's '" + key + "' has shape " + ShapeToString(row_shape) +
                                " per instance, which has no element at the explained output's index " +
                                Json(out.output_index).dump() +
                                "; the display names must have the explained output's shape (Vertex's "
                                "displayNameMappingKey), or give the names as index_name_mapping");
    }
    if (names.dtype == DType::kString) {
      out.output_display_name = names.strings[element];
    } else if (IsFloating(names.dtype)) {
      out.output_display_name = Json(names.values[element]).dump();
    } else {
      out.output_display_name = std::to_string(static_cast<int64_t>(names.values[element]));
    }
  }
  return OkStatus();
}

std::string ExplainResponseText(const std::vector<std::string>& entries,
                                const std::vector<std::string>* predictions) {
  size_t size = kEntryTextBytes;
  for (const std::string& entry : entries) size += entry.size() + 1;
  if (predictions != nullptr) {
    for (const std::string& prediction : *predictions) size += prediction.size() + 1;
  }
  std::string text;
  text.reserve(size);
  text += "{\"explanations\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) text += ',';
    text += entries[i];
  }
  text += ']';
  if (predictions != nullptr) {
    text += ",\"predictions\":[";
    for (size_t i = 0; i < predictions->size(); ++i) {
      if (i > 0) text += ',';
      text += (*predictions)[i];
    }
    text += ']';
  }
  text += '}';
  return text;
}

}  // namespace xai
