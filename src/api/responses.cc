#include "api/responses.h"

#include "api/instances.h"

namespace xai {

Json PredictionToJson(const NamedTensors& outputs, int64_t row) {
  if (outputs.size() == 1) return TensorRowToJson(outputs.begin()->second, row);
  Json object = Json::object();
  for (const auto& [key, tensor] : outputs) object[key] = TensorRowToJson(tensor, row);
  return object;
}

namespace {

// True for the encodings whose index_feature_mapping names every element of
// a vector input (and the attribution has exactly that many elements).
bool NamesEachElement(const InputMetadata& md, const Tensor& attribution) {
  const bool named_encoding = md.encoding == "bag_of_features" || md.encoding == "bag_of_features_sparse" ||
                              md.encoding == "indicator";
  return named_encoding && attribution.shape.size() == 2 &&
         static_cast<size_t>(attribution.row_elements()) == md.index_feature_mapping.size();
}

}  // namespace

bool AttributionsMirrorBareInstance(const ExplainableModel& model, const Json& instance) {
  const SignatureInfo* entry = model.explain_entry_signature();
  if (entry == nullptr || !model.selection().preprocess_key.empty()) return false;
  if (!IsBareInstance(instance, *entry) || model.explained_inputs().size() != 1) return false;
  const InputMetadata& md = model.explained_inputs()[0].metadata;
  if (!md.group_name.empty() || md.encoding == "bag_of_features" || md.encoding == "bag_of_features_sparse" ||
      md.encoding == "indicator") {
    return false;
  }
  return model.explained_inputs()[0].signature_key == entry->inputs[0].key;
}

Json ExplanationToJson(const InstanceExplanation& explanation, const std::vector<BoundInput>& inputs, bool bare) {
  Json attributions = Json::array();
  for (const OutputAttribution& out : explanation.outputs) {
    const Attribution& a = out.attribution;
    Json features;
    if (bare && a.attributions.size() == 1) {
      features = TensorRowAsJsonText(a.attributions[0], 0);
    } else {
      // Keyed by input name; inputs sharing a group_name get one attribution,
      // the sum of theirs, under the group's name.
      features = Json::object();
      for (size_t i = 0; i < a.attributions.size() && i < inputs.size(); ++i) {
        const InputMetadata& md = inputs[i].metadata;
        const std::string& group = md.group_name;
        if (group.empty() && NamesEachElement(md, a.attributions[i])) {
          // bag_of_features(_sparse) / indicator: one attribution per named feature.
          Json named = Json::object();
          for (size_t e = 0; e < md.index_feature_mapping.size(); ++e) {
            named[md.index_feature_mapping[e]] = a.attributions[i].values[e];
          }
          features[md.name] = std::move(named);
          continue;
        }
        if (group.empty()) {
          features[md.name] = TensorRowAsJsonText(a.attributions[i], 0);
          continue;
        }
        double sum = 0;
        for (double v : a.attributions[i].values) sum += v;
        features[group] = (features.contains(group) ? features[group].get<double>() : 0.0) + sum;
      }
    }
    // Filled field by field: the attributions are moved in, not copied (an
    // initializer list would copy them; a 224x224x3 image has 150k values).
    Json entry = Json::object();
    entry["baselineOutputValue"] = a.baseline_output;
    entry["instanceOutputValue"] = a.instance_output;
    entry["featureAttributions"] = std::move(features);
    entry["approximationError"] = a.approximation_error;
    entry["outputName"] = out.output_name;
    if (!out.output_index.empty()) entry["outputIndex"] = out.output_index;
    if (!out.output_display_name.empty()) entry["outputDisplayName"] = out.output_display_name;
    if (explanation.budget_reported) entry[explanation.method == "sampled-shapley" ? "pathCount" : "stepCount"] = a.steps;
    attributions.push_back(std::move(entry));
  }
  Json explanation_json = Json::object();
  explanation_json["attributions"] = std::move(attributions);
  return explanation_json;
}

}  // namespace xai
