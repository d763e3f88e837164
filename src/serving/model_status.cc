#include "serving/model_status.h"

#include "model/explanation_metadata.h"

namespace xai {
namespace {

Json StatusJson(const Status& status) {
  return Json{{"status", StatusCodeName(status.code())}, {"message", status.message()}};
}

Json TensorInfoJson(const TensorInfo& t) {
  Json out = {{"key", t.key}, {"tensorName", t.tensor_name}, {"dtype", DTypeName(t.dtype)}};
  out["shape"] = t.rank_known ? Json(t.shape) : Json(nullptr);  // -1: any size; null: unknown rank
  if (t.is_sparse()) {  // a SparseTensor input, taken dense or as {"values", "indices", "dense_shape"}
    out["sparse"] = {{"indicesTensorName", t.sparse_indices_tensor},
                     {"denseShapeTensorName", t.sparse_dense_shape_tensor}};
  }
  return out;
}

Json SignatureJson(const SignatureInfo& signature) {
  Json inputs = Json::array(), outputs = Json::array();
  for (const TensorInfo& t : signature.inputs) inputs.push_back(TensorInfoJson(t));
  for (const TensorInfo& t : signature.outputs) outputs.push_back(TensorInfoJson(t));
  return Json{{"key", signature.key}, {"methodName", signature.method_name}, {"inputs", inputs}, {"outputs", outputs}};
}

// The state words of TF Serving's model status API.
const char* StateOf(const ModelSnapshot& snapshot) { return snapshot.versions.empty() ? "UNAVAILABLE" : "AVAILABLE"; }

Json ModelSummaryJson(const ModelSnapshot& snapshot) {
  Json versions = Json::array();
  for (const LoadedVersion& v : snapshot.versions) versions.push_back(v.version);
  Json out = {{"name", snapshot.source.name},
              {"basePath", snapshot.source.base_path},
              {"state", StateOf(snapshot)},
              {"versions", versions},
              {"defaultMethod", snapshot.source.default_method}};
  if (const LoadedVersion* newest = snapshot.Newest()) {
    out["defaultVersion"] = newest->version;
    out["explainable"] = newest->model->explain_status().ok();
  }
  if (!snapshot.error.ok()) out["error"] = StatusJson(snapshot.error);
  if (!snapshot.failures.empty()) {
    Json failed = Json::array();
    for (const FailedVersion& f : snapshot.failures) failed.push_back(f.version);
    out["failedVersions"] = failed;
  }
  return out;
}

// One entry of TF Serving's "model_version_status" for a loaded version.
Json AvailableVersionJson(int64_t version) {
  return {{"version", std::to_string(version)},
          {"state", "AVAILABLE"},
          {"status", {{"error_code", "OK"}, {"error_message", ""}}}};
}

}  // namespace

Json VersionStatusJson(const LoadedVersion& version) {
  const ExplainableModel& model = *version.model;
  Json signatures = Json::array();
  for (const SignatureInfo& s : model.signatures()) signatures.push_back(SignatureJson(s));
  const SignatureSelection& selection = model.selection();
  Json out = {{"version", version.version},
              {"state", "AVAILABLE"},
              {"path", version.path},
              {"tf1Graph", model.is_tf1_graph()},
              {"signatures", signatures},
              {"predictSignature", selection.predict_key},
              {"predictReason", selection.predict_reason},
              {"explainable", model.explain_status().ok()}};
  if (!model.explain_status().ok()) {
    out["explainError"] = StatusJson(model.explain_status());
    return out;
  }
  out["explainSignature"] = selection.explain_key;
  if (!selection.preprocess_key.empty()) out["preprocessSignature"] = selection.preprocess_key;
  out["explainReason"] = selection.explain_reason;
  out["explainInputsSignature"] = model.explain_entry_signature()->key;
  out["metadataSource"] = model.metadata().source;
  out["metadata"] = ExplanationMetadataToJson(model.metadata());
  Json inputs = Json::array(), outputs = Json::array();
  for (const BoundInput& in : model.explained_inputs()) {
    inputs.push_back({{"name", in.metadata.name},
                      {"tensorName", in.tensor.tensor_name},
                      {"dtype", DTypeName(in.tensor.dtype)},
                      {"internalTensor", in.signature_key.empty()}});
  }
  for (const BoundOutput& o : model.explained_outputs()) {
    outputs.push_back({{"name", o.metadata.name}, {"tensorName", o.tensor.tensor_name}});
  }
  out["attributedInputs"] = inputs;
  out["explainedOutputs"] = outputs;
  return out;
}

Json VersionRouteJson(const LoadedVersion& version) {
  Json out = VersionStatusJson(version);
  out["model_version_status"] = Json::array({AvailableVersionJson(version.version)});
  return out;
}

Json ModelStatusJson(const ModelSnapshot& snapshot) {
  Json out = ModelSummaryJson(snapshot);
  Json versions = Json::array();
  for (const LoadedVersion& v : snapshot.versions) versions.push_back(VersionStatusJson(v));
  out["versions"] = versions;
  Json failures = Json::array();
  for (const FailedVersion& f : snapshot.failures) {
    failures.push_back({{"version", f.version}, {"path", f.path}, {"error", StatusJson(f.error)}});
  }
  out["loadErrors"] = failures;
  out.erase("failedVersions");
  // TF Serving's GET /v1/models/{name} shape, newest first.
  Json tfs = Json::array();
  for (auto it = snapshot.versions.rbegin(); it != snapshot.versions.rend(); ++it) {
    tfs.push_back(AvailableVersionJson(it->version));
  }
  for (auto it = snapshot.failures.rbegin(); it != snapshot.failures.rend(); ++it) {
    tfs.push_back({{"version", std::to_string(it->version)},
                   {"state", "END"},
                   {"status", {{"error_code", StatusCodeName(it->error.code())}, {"error_message", it->error.message()}}}});
  }
  out["model_version_status"] = tfs;
  return out;
}

Json ModelListJson(const ModelRegistry& registry) {
  Json models = Json::array();
  for (const std::string& name : registry.names()) {
    if (auto snapshot = registry.Snapshot(name)) models.push_back(ModelSummaryJson(*snapshot));
  }
  return Json{{"models", models}};
}

}  // namespace xai
