// The REST API of SPEC §4 as plain functions from a request (method, path,
// body, headers) to a response (HTTP status, JSON body), testable without
// sockets; http_server.cc only wires them to the network.
//
//   GET  /healthz                                  {"status": "ok"} (no token needed)
//   GET  /readyz                                   {"status": "ready"}, or 503 while a model has no
//                                                  loaded version (no token needed)
//   GET  /metrics                                  Prometheus text
//   GET  /v1/models                                every served model, in short
//   GET  /v1/models/{name}                         one model in full (model_status.h)
//   GET  /v1/models/{name}/versions/{v}            one loaded version in full
//   GET  /v1/models/{name}[/versions/{v}]/metadata TF Serving's model metadata (its SignatureDefs)
//   POST /v1/models/{name}:predict                 prediction_service.h
//   POST /v1/models/{name}:explain
//   POST /v1/models/{name}/versions/{v}:predict|:explain
//   GET  /v1/models/{name}:examples                example instances (model_examples.h)
//   GET  /, /static/{file}                         the web page (static_files.h)
//
// Checks, in order: the bearer token when one is set (401; not for
// /healthz, /readyz and the web page's files, which hold nothing private: the page
// asks for the token when the API wants one), the route (404), the HTTP method (405), the model name (404),
// the JSON body and the request's fields (400; 413 for too many instances),
// the version (404; 503 when nothing of the model loaded), then running the
// request (its errors mapped by error_mapping.h). Every error is the JSON
// body {"error": {"code", "status", "message"}}.
//
// Thread-safe: HandleRequest may run concurrently (the registry and metrics
// are thread-safe; nothing else is shared).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/metrics.h"
#include "serving/model_registry.h"
#include "serving/prediction_service.h"

namespace xai {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string, percent-decoded
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  // True once the client has gone away (closed its connection); empty: never.
  std::function<bool()> client_gone;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, WWW-Authenticate, Cache-Control)
  // For the access log and metrics: the served model ("" if none or
  // unknown), the method label ("predict", "explain:xrai", "get_model", ...),
  // and rows run through the model by explanations.
  std::string model;
  std::string method_label;
  int64_t path_points = 0;
};

struct RouteContext {
  ModelRegistry* registry = nullptr;
  Metrics* metrics = nullptr;
  RequestLimits limits;
  std::string auth_token;  // empty: no authentication
  // Set when the server stops and its grace for requests in flight is over
  // (serve --shutdown-timeout): explanations stop at their next model run
  // and answer 503. Null: never.
  const std::atomic<bool>* stop_in_flight = nullptr;
};

// Where a path leads.
struct Route {
  enum class Kind {
    kHealth, kReady, kMetrics, kListModels, kGetModel, kGetVersion, kGetMetadata, kPredict, kExplain, kExamples, kStatic,
    kUnknown
  };
  Kind kind = Kind::kUnknown;
  std::string model;
  std::optional<std::string> version;  // as written in the path
  // TF Serving's /labels/{label} in place of /versions/{v}: parsed so that
  // the answer can say xaiserve has no labels.
  std::optional<std::string> label;
  // "projects/{p}/locations/{l}/endpoints/{e}" when the path named a Vertex
  // endpoint: its GET answers with Vertex's Endpoint resource.
  std::string cloud_endpoint;
  bool has_verb = false;               // the path names a method after ':'
  std::string verb;                    // after ':' ("predict", "explain", "examples", or an unknown one)
};
Route ParseRoute(const std::string& path);

// A request target in absolute form ("http://host:8080/v1/models?x", as a
// client talking through a proxy sends it; RFC 9112 §3.2.2: a server must
// accept it) as the path alone ("/v1/models?x"); any other target as it is.
std::string OriginFormPath(const std::string& target);

// The method label of a route before its body is read ("explain" without the
// method), for requests that never reach HandleRequest (e.g. a body too large).
std::string RouteLabel(const Route& route);

HttpResponse HandleRequest(const RouteContext& context, const HttpRequest& request);

}  // namespace xai
