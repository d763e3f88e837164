#include "serving/prediction_service.h"

#include <algorithm>
#include <map>

#include "api/explain_parameters.h"
#include "api/instances.h"
#include "api/responses.h"
#include "api/visualizations.h"
#include "attribution/batched_evaluator.h"
#include "core/json_fields.h"

namespace xai {
namespace {

struct MethodKey {
  const char* method;
  const char* camel;
  const char* snake;
};
constexpr MethodKey kMethods[] = {
    {"integrated-gradients", "integratedGradientsAttribution", "integrated_gradients_attribution"},
    {"sampled-shapley", "sampledShapleyAttribution", "sampled_shapley_attribution"},
    {"xrai", "xraiAttribution", "xrai_attribution"},
};


Status CheckIsObject(const Json& body) {
  if (body.is_object()) return OkStatus();
  return InvalidArgument("the request body must be a JSON object, e.g. {\"instances\": [...]}; got " +
                         std::string(body.type_name()));
}

// TF Serving's columnar "inputs" -> one instance (row) per batch entry.
StatusOr<Json> RowsFromColumnar(const Json& inputs) {
  if (inputs.is_array() && inputs.empty()) {
    return InvalidArgument("\"inputs\" is an empty batch; give at least one instance");
  }
  if (inputs.is_array()) return inputs;  // a bare batch of a single-input signature
  if (!inputs.is_object() || inputs.empty()) {
    return InvalidArgument("\"inputs\" must be a batch (a list, for a single-input signature) or an object mapping "
                           "each input name to a batch, e.g. {\"inputs\": {\"x\": [[1, 2], [3, 4]]}}");
  }
  size_t rows = 0;
  std::string first;
  for (auto it = inputs.begin(); it != inputs.end(); ++it) {
    if (!it->is_array()) {
      return InvalidArgument("\"inputs\"." + it.key() + " must be a batch: a list with one entry per instance");
    }
    if (first.empty()) {
      first = it.key();
      rows = it->size();
    } else if (it->size() != rows) {
      return InvalidArgument("\"inputs\": '" + it.key() + "' has " + std::to_string(it->size()) +
                             " entries but '" + first + "' has " + std::to_string(rows) +
                             "; every input needs one entry per instance");
    }
  }
  if (rows == 0) {
    return InvalidArgument("\"inputs\"." + first + " is an empty batch; give at least one instance");
  }
  Json instances = Json::array();
  for (size_t row = 0; row < rows; ++row) {
    Json instance = Json::object();
    for (auto it = inputs.begin(); it != inputs.end(); ++it) instance[it.key()] = (*it)[row];
    instances.push_back(std::move(instance));
  }
  return instances;
}

bool NamesAMethod(const Json& parameters) {
  if (!parameters.is_object()) return false;
  for (const MethodKey& m : kMethods) {
    if (parameters.contains(m.camel) || parameters.contains(m.snake)) return true;
  }
  return false;
}

bool IsEmpty(const Json* value) { return value == nullptr || value->is_null() || (value->is_object() && value->empty()); }

}  // namespace

Status CheckInstanceCount(size_t count, const RequestLimits& limits) {
  if (count <= limits.max_instances) return OkStatus();
  return ResourceExhausted("the request has " + std::to_string(count) + " instances; the server takes at most " +
                           std::to_string(limits.max_instances) +
                           " per request (--max-instances): split them over several requests, or start the "
                           "server with a larger --max-instances");
}

bool IsExplanationMethod(const std::string& method) { return !MethodRequestKey(method).empty(); }

std::string MethodRequestKey(const std::string& method) {
  for (const MethodKey& m : kMethods) {
    if (method == m.method) return m.camel;
  }
  return "";
}

StatusOr<PredictRequest> ParsePredictRequest(const Json& body, const RequestLimits& limits) {
  XAI_RETURN_IF_ERROR(CheckIsObject(body));
  JsonFields f(body, "request");
  XAI_ASSIGN_OR_RETURN(const Json* instances, f.Find({"instances"}));
  XAI_ASSIGN_OR_RETURN(const Json* inputs, f.Find({"inputs"}));
  XAI_ASSIGN_OR_RETURN(const Json* signature, f.Find({"signature_name", "signatureName"}));
  XAI_ASSIGN_OR_RETURN(const Json* parameters, f.Find({"parameters"}));  // Vertex's model parameters: unused
  XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
  (void)parameters;
  PredictRequest request;
  if ((instances == nullptr) == (inputs == nullptr)) {
    return InvalidArgument("give either \"instances\" (a list of instances, one per row) or TF Serving's columnar "
                           "\"inputs\", not " + std::string(instances ? "both" : "neither"));
  }
  if (signature != nullptr) {
    if (!signature->is_string()) return InvalidArgument("\"signature_name\" must be a string, e.g. \"serving_default\"");
    request.signature_name = signature->get<std::string>();
  }
  if (inputs != nullptr) {
    request.columnar = true;
    XAI_ASSIGN_OR_RETURN(request.instances, RowsFromColumnar(*inputs));
  } else {
    request.instances = *instances;
  }
  if (!request.instances.is_array()) {
    return InvalidArgument("\"instances\" must be a list of instances, e.g. {\"instances\": [[1.0, 2.0]]}");
  }
  XAI_RETURN_IF_ERROR(CheckInstanceCount(request.instances.size(), limits));
  request.max_image_pixels = limits.max_image_pixels;
  return request;
}

StatusOr<Json> RunPredict(ExplainableModel& model, const PredictRequest& request) {
  XAI_ASSIGN_OR_RETURN(const SignatureInfo* signature, model.PredictSignature(request.signature_name));
  InstanceDecoding decoding = InstanceDecodingFor(model);
  decoding.image_pixel_budget = request.max_image_pixels;
  XAI_ASSIGN_OR_RETURN(std::vector<NamedTensors> decoded, DecodeInstances(request.instances, *signature, decoding));
  // Batches as the CLI makes them, so the numbers are the CLI's.
  Json predictions = Json::array();
  std::map<std::string, Json> columns;
  for (size_t begin = 0; begin < decoded.size(); begin += kPredictBatchSize) {
    const size_t end = std::min(decoded.size(), begin + static_cast<size_t>(kPredictBatchSize));
    std::vector<NamedTensors> chunk(decoded.begin() + begin, decoded.begin() + end);
    XAI_ASSIGN_OR_RETURN(NamedTensors batch, StackInstances(chunk));
    XAI_ASSIGN_OR_RETURN(NamedTensors outputs, model.Predict(*signature, batch));
    for (size_t row = 0; row < chunk.size(); ++row) {
      if (!request.columnar) {
        predictions.push_back(PredictionToJson(outputs, row));
        continue;
      }
      for (const auto& [key, tensor] : outputs) {
        Json& column = columns[key];
        if (column.is_null()) column = Json::array();
        column.push_back(TensorRowToJson(tensor, row, StringLeavesOfOutput(key)));
      }
    }
  }
  if (!request.columnar) return Json{{"predictions", std::move(predictions)}};
  if (columns.size() == 1) return Json{{"outputs", std::move(columns.begin()->second)}};
  Json outputs = Json::object();
  for (auto& [key, column] : columns) outputs[key] = std::move(column);
  return Json{{"outputs", std::move(outputs)}};
}

StatusOr<ExplainRequest> ParseExplainRequest(const Json& body, const std::string& default_method,
                                             const RequestLimits& limits) {
  XAI_RETURN_IF_ERROR(CheckIsObject(body));
  JsonFields f(body, "request");
  XAI_ASSIGN_OR_RETURN(const Json* instances, f.Find({"instances"}));
  XAI_ASSIGN_OR_RETURN(const Json* parameters, f.Find({"parameters"}));
  XAI_ASSIGN_OR_RETURN(const Json* spec_override, f.Find({"explanationSpecOverride", "explanation_spec_override"}));
  XAI_ASSIGN_OR_RETURN(const Json* deployed_model, f.Find({"deployedModelId", "deployed_model_id"}));
  for (const char* misplaced : {"outputName", "topK", "outputIndices", "integratedGradientsAttribution",
                                "sampledShapleyAttribution", "xraiAttribution", "batchSize"}) {
    if (body.contains(misplaced)) {
      return InvalidArgument(std::string("\"") + misplaced + "\" belongs in \"parameters\": {\"instances\": [...], "
                             "\"parameters\": {\"" + misplaced + "\": ...}}");
    }
  }
  XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
  if (instances == nullptr) {
    return InvalidArgument("the request has no \"instances\"; give a list of instances, e.g. "
                           "{\"instances\": [[1.0, 2.0]]}");
  }
  if (!instances->is_array()) return InvalidArgument("\"instances\" must be a list of instances");
  XAI_RETURN_IF_ERROR(CheckInstanceCount(instances->size(), limits));

  const Json* override_parameters = nullptr;
  const Json* override_metadata = nullptr;
  if (spec_override != nullptr && !spec_override->is_null()) {  // null: absent, as in proto3 JSON
    const std::string where = f.Field({"explanationSpecOverride", "explanation_spec_override"});
    if (!spec_override->is_object()) {
      return InvalidArgument(where + " must be an object with \"parameters\" and/or \"metadata\"");
    }
    JsonFields o(*spec_override, where);
    XAI_ASSIGN_OR_RETURN(override_parameters, o.Find({"parameters"}));
    XAI_ASSIGN_OR_RETURN(override_metadata, o.Find({"metadata"}));
    XAI_RETURN_IF_ERROR(o.CheckNoUnknownFields());
  }
  // Vertex's "parameters" govern the prediction and explanationSpecOverride's
  // the explanation; xaiserve's TensorFlow models take no prediction
  // parameters. Without an override, "parameters" are read as explanation
  // parameters (as the legacy service did); beside one, they are not used.
  const bool parameters_explain = IsEmpty(override_parameters);
  Json chosen = !parameters_explain    ? *override_parameters
                : parameters != nullptr ? *parameters
                                        : Json(nullptr);
  if (chosen.is_null() || (chosen.is_object() && !NamesAMethod(chosen))) {
    if (chosen.is_null()) chosen = Json::object();
    chosen[MethodRequestKey(default_method)] = Json::object();
  }
  ExplainRequest request;
  request.instances = *instances;
  if (deployed_model != nullptr && !deployed_model->is_null()) {
    if (!deployed_model->is_string()) {
      return InvalidArgument(f.Field({"deployedModelId", "deployed_model_id"}) + " must be a string (a version, as "
                             "the endpoint lists its deployedModels), got " + deployed_model->dump());
    }
    request.deployed_model_id = deployed_model->get<std::string>();  // "" is proto3's unset
  }
  StatusOr<ExplainParameters> parsed =
      ParseExplainRequestParameters(chosen, override_metadata ? *override_metadata : Json(nullptr));
  if (!parsed.ok() && parameters_explain && !IsEmpty(parameters) &&
      parsed.status().message().find("parameters: unknown field") != std::string::npos) {
    return InvalidArgument(parsed.status().message() +
                           " (without explanationSpecOverride.parameters, \"parameters\" holds the explanation "
                           "parameters; Vertex's prediction parameters, which TensorFlow models do not take, are "
                           "not used beside an explanationSpecOverride.parameters)");
  }
  if (!parsed.ok()) return parsed.status();
  request.options = std::move(parsed->options);
  request.visualize = parsed->visualize;
  request.max_image_pixels = limits.max_image_pixels;
  return request;
}

StatusOr<ExplainResponse> RunExplain(ExplainableModel& model, const ExplainRequest& request) {
  if (!model.explain_status().ok()) return model.explain_status();
  // Every instance is checked before the (slow) explaining starts.
  InstanceDecoding decoding = InstanceDecodingFor(model);
  decoding.image_pixel_budget = request.max_image_pixels;
  XAI_ASSIGN_OR_RETURN(std::vector<NamedTensors> decoded,
                       DecodeInstances(request.instances, *model.explain_entry_signature(), decoding));
  const StatusOr<const SignatureInfo*> predict_signature = model.PredictSignature();
  ExplainResponse response;
  std::vector<std::string> explanations;
  std::vector<std::string> predictions;
  // Predictions go with the explanations when every instance fits the predict signature.
  bool all_predicted = predict_signature.ok();
  for (size_t i = 0; i < decoded.size(); ++i) {
    StatusOr<InstanceExplanation> explanation = model.Explain(decoded[i], request.options);
    if (!explanation.ok()) return explanation.status().WithContext("instance " + std::to_string(i));
    response.rows_evaluated += explanation->rows_evaluated;
    const bool bare = AttributionsMirrorBareInstance(model, request.instances[i]);
    std::vector<EntryPictures> pictures;
    if (request.visualize) {
      StatusOr<std::vector<EntryPictures>> rendered = RenderExplanationPictures(model, *explanation, decoded[i]);
      if (!rendered.ok()) return rendered.status().WithContext("instance " + std::to_string(i));
      pictures = std::move(*rendered);
    }
    if (all_predicted) {
      XAI_ASSIGN_OR_RETURN(std::optional<NamedTensors> prediction,
                           PredictionOfExplained(model, *explanation, request.instances[i], i, *predict_signature,
                                                 decoding));
      if (prediction) {
        const Status named = NameOutputsFromPrediction(model, *prediction, *explanation);
        if (!named.ok()) return named.WithContext("instance " + std::to_string(i));
        predictions.push_back(PredictionJsonText(*prediction, 0));
      } else {
        all_predicted = false;
      }
    }
    explanations.push_back(
        ExplanationJsonText(*explanation, model.explained_inputs(), bare, request.visualize ? &pictures : nullptr));
  }
  response.body = JsonText(ExplainResponseText(explanations, all_predicted ? &predictions : nullptr));
  return response;
}

}  // namespace xai
