// What GET /v1/models and GET /v1/models/{name} report about the served
// models, as JSON (lowerCamelCase): versions and their state, load errors,
// and per loaded version its signatures (inputs and outputs), which signature
// predicts and which explains and why, and the explanation metadata in use.
// Also TF Serving's "model_version_status" list, so its clients can poll a
// model's state, and TF Serving's model metadata (the SignatureDefs), so its
// clients can find the inputs to send. Pure functions over registry
// snapshots; thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "core/tensor_json.h"
#include "serving/model_registry.h"

namespace xai {

// {"models": [{name, basePath, state, versions, defaultVersion, ...}]}
Json ModelListJson(const ModelRegistry& registry);

// One model in full.
Json ModelStatusJson(const ModelSnapshot& snapshot);

// GET of a Vertex endpoint's path (/v1/projects/{p}/locations/{l}/endpoints/{e}):
// Vertex's Endpoint resource, as Google's client library reads it before it
// predicts or explains: {"name": resource_name, "displayName": the model,
// "deployedModels": [{"id": version, "displayName"}], "trafficSplit": {newest
// version: 100}, "createTime": `created` (RFC 3339)}. The loaded versions are
// its deployed models; requests that name none go to the newest.
Json VertexEndpointJson(const std::string& resource_name, const ModelSnapshot& snapshot,
                        std::chrono::system_clock::time_point created);

// One loaded version in full.
Json VersionStatusJson(const LoadedVersion& version);

// GET /v1/models/{name}/versions/{v}: the version in full, with TF Serving's
// "model_version_status" of that one version (as TF Serving answers there).
Json VersionRouteJson(const LoadedVersion& version);

// GET /v1/models/{name}/versions/{v} for a version that failed to load: its
// path and error, with TF Serving's "model_version_status" (state END), as
// the model's route lists it.
Json FailedVersionRouteJson(const FailedVersion& failed);

// GET /v1/models/{name}[/versions/{v}]/metadata: TF Serving's
// GetModelMetadataResponse as its REST API writes it (snake_case, int64 as
// strings, dtypes as "DT_FLOAT"): {"model_spec": {name, signature_name,
// version}, "metadata": {"signature_def": {"signature_def": {key: {inputs,
// outputs, method_name}}}}}. A sparse input is given as coo_sparse.
Json TfServingMetadataJson(const std::string& model_name, const LoadedVersion& version);

}  // namespace xai
