#include "serving/model_status.h"

#include <functional>
#include <map>

#include "core/utc_time.h"
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
              {"defaultMethod", snapshot.source.default_method},
              {"versionPolicy", snapshot.source.version_policy.Describe()}};
  if (const LoadedVersion* newest = snapshot.Newest()) {
    out["defaultVersion"] = newest->version;
    out["explainable"] = newest->model->explain_status().ok();
  }
  if (!snapshot.error.ok()) out["error"] = StatusJson(snapshot.error);
  if (snapshot.loading) out["loadingVersion"] = snapshot.loading->version;
  if (!snapshot.failures.empty()) {
    Json failed = Json::array();
    for (const FailedVersion& f : snapshot.failures) failed.push_back(f.version);
    out["failedVersions"] = failed;
  }
  return out;
}

// One entry of TF Serving's "model_version_status" for a version that failed to load.
Json EndedVersionJson(const FailedVersion& f) {
  return {{"version", std::to_string(f.version)},
          {"state", "END"},
          {"status", {{"error_code", StatusCodeName(f.error.code())}, {"error_message", f.error.message()}}}};
}

// One entry of TF Serving's "model_version_status" for a version without
// an error: `state` "AVAILABLE" (loaded) or "LOADING".
Json VersionStateJson(int64_t version, const char* state) {
  return {{"version", std::to_string(version)},
          {"state", state},
          {"status", {{"error_code", "OK"}, {"error_message", ""}}}};
}

// TensorFlow's DataType enum names, as TF Serving's JSON writes them.
const char* TfDataTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "DT_FLOAT";
    case DType::kFloat64: return "DT_DOUBLE";
    case DType::kFloat16: return "DT_HALF";
    case DType::kBFloat16: return "DT_BFLOAT16";
    case DType::kInt8: return "DT_INT8";
    case DType::kInt16: return "DT_INT16";
    case DType::kInt32: return "DT_INT32";
    case DType::kInt64: return "DT_INT64";
    case DType::kUInt8: return "DT_UINT8";
    case DType::kUInt16: return "DT_UINT16";
    case DType::kUInt32: return "DT_UINT32";
    case DType::kUInt64: return "DT_UINT64";
    case DType::kBool: return "DT_BOOL";
    case DType::kString: return "DT_STRING";
  }
  return "DT_INVALID";
}

// A TensorInfo proto as JSON with every field written, as TF Serving does.
Json TfServingTensorInfoJson(const TensorInfo& t) {
  Json dims = Json::array();
  if (t.rank_known) {
    for (int64_t d : t.shape) dims.push_back({{"size", std::to_string(d)}, {"name", ""}});
  }
  Json out = {{"dtype", TfDataTypeName(t.dtype)},
              {"tensor_shape", {{"dim", dims}, {"unknown_rank", !t.rank_known}}}};
  if (t.is_sparse()) {
    out["coo_sparse"] = {{"values_tensor_name", t.tensor_name},
                         {"indices_tensor_name", t.sparse_indices_tensor},
                         {"dense_shape_tensor_name", t.sparse_dense_shape_tensor}};
  } else {
    out["name"] = t.tensor_name;
  }
  return out;
}

}  // namespace

Json TfServingMetadataJson(const std::string& model_name, const LoadedVersion& version) {
  Json signature_defs = Json::object();
  for (const SignatureInfo& s : version.model->signatures()) {
    Json inputs = Json::object(), outputs = Json::object();
    for (const TensorInfo& t : s.inputs) inputs[t.key] = TfServingTensorInfoJson(t);
    for (const TensorInfo& t : s.outputs) outputs[t.key] = TfServingTensorInfoJson(t);
    signature_defs[s.key] = {{"inputs", inputs}, {"outputs", outputs}, {"method_name", s.method_name}};
  }
  return Json{{"model_spec", {{"name", model_name}, {"signature_name", ""}, {"version", std::to_string(version.version)}}},
              {"metadata", {{"signature_def", {{"signature_def", signature_defs}}}}}};
}

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
  out["model_version_status"] = Json::array({VersionStateJson(version.version, "AVAILABLE")});
  return out;
}

Json FailedVersionRouteJson(const FailedVersion& failed) {
  return {{"version", failed.version},
          {"state", "END"},
          {"path", failed.path},
          {"error", StatusJson(failed.error)},
          {"model_version_status", Json::array({EndedVersionJson(failed)})}};
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
  // TF Serving's GET /v1/models/{name} shape, newest first: a version is
  // LOADING (also once loaded, until the versions loading with it have),
  // AVAILABLE, or END with the error it failed with (unless retried now).
  std::map<int64_t, Json, std::greater<int64_t>> by_version;
  for (const FailedVersion& f : snapshot.failures) by_version[f.version] = EndedVersionJson(f);
  for (const LoadedVersion& v : snapshot.versions) by_version[v.version] = VersionStateJson(v.version, "AVAILABLE");
  for (int64_t v : snapshot.loaded_waiting) by_version[v] = VersionStateJson(v, "LOADING");
  if (snapshot.loading) by_version[snapshot.loading->version] = VersionStateJson(snapshot.loading->version, "LOADING");
  Json tfs = Json::array();
  for (auto& [version, state] : by_version) tfs.push_back(std::move(state));
  out["model_version_status"] = tfs;
  return out;
}

Json VertexEndpointJson(const std::string& resource_name, const ModelSnapshot& snapshot,
                        std::chrono::system_clock::time_point created) {
  Json deployed = Json::array();
  Json traffic = Json::object();
  for (const LoadedVersion& v : snapshot.versions) {
    deployed.push_back({{"id", std::to_string(v.version)}, {"displayName", snapshot.source.name}});
  }
  if (const LoadedVersion* newest = snapshot.Newest()) traffic[std::to_string(newest->version)] = 100;
  return Json{{"name", resource_name},
              {"displayName", snapshot.source.name},
              {"deployedModels", deployed},
              {"trafficSplit", traffic},
              {"createTime", Rfc3339Utc(created)}};
}

Json ModelListJson(const ModelRegistry& registry) {
  Json models = Json::array();
  for (const std::string& name : registry.names()) {
    if (auto snapshot = registry.Snapshot(name)) models.push_back(ModelSummaryJson(*snapshot));
  }
  return Json{{"models", models}};
}

}  // namespace xai
