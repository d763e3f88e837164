#include "http/routes.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <new>

#include "http/error_mapping.h"
#include "http/static_files.h"
#include "model/model_dir.h"
#include "serving/batching_runtime.h"
#include "serving/model_examples.h"
#include "serving/model_status.h"

namespace xai {
namespace {

constexpr char kModelsPrefix[] = "/v1/models/";
// Bodies from this size have their instances counted before they are parsed.
constexpr size_t kCountBeforeParsingBytes = 64 << 10;
constexpr char kApiSummary[] =
    "the API is GET /v1/models, GET /v1/models/{name}, POST /v1/models/{name}:predict, "
    "POST /v1/models/{name}:explain (also under /v1/models/{name}/versions/{v}, with GET "
    "/v1/models/{name}/versions/{v}), GET /v1/models/{name}[/versions/{v}]/metadata, GET "
    "/v1/models/{name}:examples, GET /healthz, GET /readyz, GET /metrics, and the web page at GET /; the cloud's "
    "/v1/projects/{p}/locations/{l}/endpoints/{name}... and /v1/projects/{p}/models/{name}... are read as "
    "/v1/models/{name}...";

// The loaded and failed versions of every served model, for /metrics.
std::vector<ModelVersionCounts> VersionCountsOfModels(const ModelRegistry& registry) {
  std::vector<ModelVersionCounts> out;
  for (const std::string& name : registry.names()) {
    const auto snapshot = registry.Snapshot(name);
    if (snapshot == nullptr) continue;
    const LoadedVersion* newest = snapshot->Newest();
    out.push_back({name, static_cast<int64_t>(snapshot->versions.size()),
                   static_cast<int64_t>(snapshot->failures.size()), newest != nullptr ? newest->version : -1});
  }
  return out;
}

// Why the server is not ready ("" when it is). `detailed`: with each
// model's reason (paths, load errors); else only the models' names, for a
// client without the token of a server that wants one.
std::string ModelsNotServing(const ModelRegistry& registry, bool detailed) {
  std::string why;
  for (const std::string& name : registry.names()) {
    const StatusOr<LoadedVersion> got = registry.Get(name);
    if (got.ok()) continue;
    why += (why.empty() ? "" : "; ") +
           (detailed ? got.status().message() : "model '" + name + "' has no version serving");
  }
  if (!why.empty() && !detailed) why += " (the reasons: this route with the bearer token, or GET /v1/models/NAME)";
  return why;
}

// The cross-request batching of every served model that does it, summed over
// its loaded versions and those it has unloaded (counters never go back),
// for /metrics.
std::vector<ModelRunBatching> RunBatchingOfModels(const ModelRegistry& registry) {
  std::vector<ModelRunBatching> out;
  for (const std::string& name : registry.names()) {
    const auto snapshot = registry.Snapshot(name);
    if (snapshot == nullptr) continue;
    const BatchingStats& unloaded = snapshot->unloaded_run_batching;
    ModelRunBatching batching{name, unloaded.runs, unloaded.merged_runs, unloaded.merged_calls};
    bool batches = unloaded.calls > 0;
    for (const LoadedVersion& v : snapshot->versions) {
      if (v.model == nullptr || !v.model->batches_concurrent_runs()) continue;
      const BatchingStats stats = v.model->run_batching_stats();
      batches = true;
      batching.runs += stats.runs;
      batching.merged_runs += stats.merged_runs;
      batching.merged_batches += stats.merged_calls;
    }
    if (batches) out.push_back(std::move(batching));
  }
  return out;
}

StatusOr<Json> ParseBody(const std::string& body) {
  if (IsBlankJsonText(body)) {
    return InvalidArgument("the request body is empty; send a JSON object, e.g. {\"instances\": [...]}");
  }
  // ParseJson refuses bodies nested deeper than kMaxJsonNesting before parsing.
  return ParseJson(body, "request body");
}

StatusOr<int64_t> ParseVersion(const std::string& model, const std::string& text) {
  const std::optional<int64_t> version = ParseVersionName(text);
  if (!version) {
    return NotFound("model '" + model + "' has no version '" + text +
                    "'; versions are non-negative integers up to 9223372036854775807");
  }
  return *version;
}

bool Authorized(const RouteContext& context, const HttpRequest& request, bool* token_given) {
  auto it = request.headers.find("authorization");
  *token_given = it != request.headers.end();
  if (!*token_given) return false;
  const std::string& value = it->second;
  static const std::string kScheme = "bearer ";
  if (value.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  }
  size_t start = kScheme.size();
  while (start < value.size() && value[start] == ' ') ++start;  // RFC 6750: one or more spaces
  const std::string given = value.substr(start);
  const std::string& want = context.auth_token;
  // Constant time in the token's content.
  unsigned char diff = given.size() == want.size() ? 0 : 1;
  for (size_t i = 0; i < std::min(given.size(), want.size()); ++i) {
    diff |= static_cast<unsigned char>(want[i] ^ given[i]);
  }
  return diff == 0;
}

bool IsGetRoute(Route::Kind kind) {
  return kind == Route::Kind::kHealth || kind == Route::Kind::kReady || kind == Route::Kind::kMetrics || kind == Route::Kind::kListModels ||
         kind == Route::Kind::kGetModel || kind == Route::Kind::kGetVersion || kind == Route::Kind::kGetMetadata ||
         kind == Route::Kind::kExamples ||
         kind == Route::Kind::kStatic;
}

class Handler {
 public:
  Handler(const RouteContext& context, const HttpRequest& request) : context_(context), request_(request) {}

  HttpResponse Run() {
    const Route route = ParseRoute(request_.path);
    response_.method_label = RouteLabel(route);
    if (!route.model.empty() && context_.registry->Snapshot(route.model) != nullptr) response_.model = route.model;
    try {
      Handle(route);
    } catch (const std::bad_alloc&) {
      // Not a bug but a request larger than the memory left (the batch of
      // path points of a large batchSize on images, say): what TensorFlow's
      // own out-of-memory error gets, 413, and what to send instead. The
      // memory is freed with the stack unwound, so the server serves on.
      Fail(ResourceExhausted(
          "the server ran out of memory handling this request; send a smaller request: a smaller "
          "parameters.batchSize, fewer instances, or fewer stepCount / pathCount (or give the server more memory)"));
    } catch (const std::exception& e) {
      Fail(Internal(std::string("unexpected failure while handling the request (a bug in xaiserve): ") + e.what()));
    }
    return std::move(response_);
  }

 private:
  void Handle(const Route& route) {
    bool token_given = false;
    const bool open_route =
        route.kind == Route::Kind::kHealth || route.kind == Route::Kind::kReady || route.kind == Route::Kind::kStatic;
    if (!context_.auth_token.empty() && !open_route && !Authorized(context_, request_, &token_given)) {
      response_.headers.emplace_back("WWW-Authenticate", "Bearer");
      return Fail(UnauthenticatedError(token_given));
    }
    if (route.kind == Route::Kind::kUnknown) {
      if (route.has_verb) {
        return Fail(NotFound("unknown method ':" + route.verb + "' on model '" + route.model +
                             "'; use :predict or :explain (or GET :examples)"));
      }
      return Fail(NotFound("no route for " + request_.path + "; " + kApiSummary));
    }
    const bool is_get = request_.method == "GET" || request_.method == "HEAD";
    if (IsGetRoute(route.kind) ? !is_get : request_.method != "POST") {
      const char* allowed = IsGetRoute(route.kind) ? "GET, HEAD" : "POST";
      response_.headers.emplace_back("Allow", allowed);
      return Fail(MethodNotAllowedError(request_.method, request_.path, allowed));
    }
    switch (route.kind) {
      case Route::Kind::kHealth:
        return Reply(Json{{"status", "ok"}});
      case Route::Kind::kReady: {
        // Open to probes without the token; the reasons name paths and load errors.
        const bool detailed = context_.auth_token.empty() || Authorized(context_, request_, &token_given);
        const std::string why = ModelsNotServing(*context_.registry, detailed);
        if (why.empty()) return Reply(Json{{"status", "ready"}});
        return Fail(Unavailable("not ready: " + why));
      }
      case Route::Kind::kMetrics:
        response_.content_type = "text/plain; version=0.0.4; charset=utf-8";
        response_.body =
            context_.metrics->Render(RunBatchingOfModels(*context_.registry), VersionCountsOfModels(*context_.registry));
        return;
      case Route::Kind::kListModels:
        return Reply(ModelListJson(*context_.registry));
      case Route::Kind::kStatic:
        return ServeStatic();
      default:
        break;
    }
    const auto snapshot = context_.registry->Snapshot(route.model);
    if (snapshot == nullptr) return Fail(context_.registry->Get(route.model).status());
    if (route.label) {
      return Fail(NotFound("model '" + route.model + "' has no version label '" + *route.label +
                           "': xaiserve has no version labels; name a version as /versions/{v}, or leave it out "
                           "for the newest"));
    }
    if (route.kind == Route::Kind::kGetModel) {
      if (!route.cloud_endpoint.empty()) {
        return Reply(VertexEndpointJson(route.cloud_endpoint, *snapshot, context_.metrics->start_time()));
      }
      return Reply(ModelStatusJson(*snapshot));
    }
    std::optional<int64_t> version;
    if (route.version) {
      auto parsed = ParseVersion(route.model, *route.version);
      if (!parsed.ok()) return Fail(parsed.status());
      version = *parsed;
    }
    if (route.kind == Route::Kind::kGetVersion) {
      auto loaded = context_.registry->Get(route.model, version);
      if (loaded.ok()) return Reply(VersionRouteJson(*loaded));
      for (const FailedVersion& failed : snapshot->failures) {  // its status, as the model's route gives it
        if (version && failed.version == *version) return Reply(FailedVersionRouteJson(failed));
      }
      return Fail(loaded.status());
    }
    if (route.kind == Route::Kind::kGetMetadata) {
      auto loaded = context_.registry->Get(route.model, version);
      if (!loaded.ok()) return Fail(loaded.status());
      return Reply(TfServingMetadataJson(route.model, *loaded));
    }
    if (route.kind == Route::Kind::kExamples) {
      auto loaded = context_.registry->Get(route.model, version);
      if (!loaded.ok()) return Fail(loaded.status());
      return Reply(ModelExamplesJson(ReadModelExamples({loaded->path, snapshot->source.base_path})));
    }
    // Too many instances are refused before parsing, which takes many times
    // the body's size (a 12 MB body of 1.5 M tiny instances, about 750 MB).
    if (request_.body.size() >= kCountBeforeParsingBytes) {
      if (const auto count = CountTopLevelArrayElements(request_.body, "instances")) {
        if (Status s = CheckInstanceCount(*count, context_.limits); !s.ok()) return Fail(s);
      }
    }
    auto body = ParseBody(request_.body);
    if (!body.ok()) return Fail(body.status());
    if (route.kind == Route::Kind::kPredict) {
      auto parsed = ParsePredictRequest(*body, context_.limits);
      if (!parsed.ok()) return Fail(parsed.status());
      auto loaded = context_.registry->Get(route.model, version);
      if (!loaded.ok()) return Fail(loaded.status());
      auto result = RunPredict(*loaded->model, *parsed);
      if (!result.ok()) return Fail(result.status());
      return Reply(*result);
    }
    auto parsed = ParseExplainRequest(*body, snapshot->source.default_method, context_.limits);
    if (!parsed.ok()) return Fail(parsed.status());
    response_.method_label = "explain:" + parsed->options.method;
    // Vertex's deployedModelId picks the deployed model: here a version, as
    // the endpoint's resource lists them (it was ignored: the newest explained).
    if (!parsed->deployed_model_id.empty()) {
      auto named = ParseVersion(route.model, parsed->deployed_model_id);
      if (!named.ok()) return Fail(named.status().WithContext("deployedModelId"));
      if (version && *version != *named) {
        return Fail(InvalidArgument("deployedModelId '" + parsed->deployed_model_id + "' names version " +
                                    std::to_string(*named) + ", and the path version " + std::to_string(*version) +
                                    "; give one of them"));
      }
      version = *named;
    }
    auto loaded = context_.registry->Get(route.model, version);
    if (!loaded.ok()) return Fail(loaded.status());
    WorkBudget budget;
    budget.max_path_points = context_.limits.max_path_points;
    const std::atomic<bool>* stop_in_flight = context_.stop_in_flight;
    budget.client_gone = [this, stop_in_flight] {
      return (stop_in_flight != nullptr && stop_in_flight->load()) || (request_.client_gone && request_.client_gone());
    };
    parsed->options.budget = &budget;
    auto result = RunExplain(*loaded->model, *parsed);
    // Rows evaluated, for the access log and metrics: also those of an explanation that stopped.
    response_.path_points = result.ok() ? result->rows_evaluated : budget.path_points;
    if (!result.ok() && stop_in_flight != nullptr && stop_in_flight->load()) {
      return Fail(Unavailable("the server is stopping and its --shutdown-timeout for requests in flight is over: "
                              "this explanation stopped after " + std::to_string(budget.path_points) +
                              " path points; send it again (to another replica, or once the server is back)"));
    }
    if (!result.ok()) return Fail(result.status());
    return Reply(result->body);
  }

  void ServeStatic() {
    auto file = FindStaticFile(request_.path);
    if (!file.ok()) return Fail(file.status());
    response_.status = 200;
    response_.content_type = file->content_type;
    response_.body = std::string(file->content);
    // The files change with the binary: browsers revalidate rather than keep a stale page.
    response_.headers.emplace_back("Cache-Control", "no-cache");
    response_.headers.emplace_back("X-Content-Type-Options", "nosniff");
  }

  void Reply(const Json& body) {
    response_.status = 200;
    response_.content_type = "application/json";
    response_.body = DumpJson(body);
  }

  void Fail(const HttpError& error) {
    response_.status = error.http_status;
    response_.content_type = "application/json";
    response_.body = ErrorBody(error);
  }
  void Fail(const Status& status) { Fail(ToHttpError(status)); }

  const RouteContext& context_;
  const HttpRequest& request_;
  HttpResponse response_;
};

}  // namespace

namespace {

// The cloud's resource paths, so a client written against them needs only
// the host changed: Vertex's /v1/projects/{p}/locations/{l}/endpoints/{e}...
// and the legacy service's /v1/projects/{p}/models/{m}... (also v1beta1)
// read as /v1/models/{e or m}...; the project and location are not used.
// A Vertex endpoint's resource name goes to *endpoint.
std::string WithoutCloudResourcePrefix(const std::string& path, std::string* endpoint) {
  for (const char* api : {"/v1/projects/", "/v1beta1/projects/"}) {
    const std::string prefix = api;
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t project_end = path.find('/', prefix.size());
    if (project_end == std::string::npos || project_end == prefix.size()) return path;
    const std::string rest = path.substr(project_end + 1);
    static const std::string kModels = "models/", kLocations = "locations/", kEndpoints = "endpoints/";
    if (rest.compare(0, kModels.size(), kModels) == 0) return kModelsPrefix + rest.substr(kModels.size());
    if (rest.compare(0, kLocations.size(), kLocations) != 0) return path;
    const size_t location_end = rest.find('/', kLocations.size());
    if (location_end == std::string::npos || location_end == kLocations.size()) return path;
    const std::string resource = rest.substr(location_end + 1);
    if (resource.compare(0, kEndpoints.size(), kEndpoints) != 0) return path;
    const std::string after = resource.substr(kEndpoints.size());  // "{e}", "{e}:verb", "{e}/..."
    *endpoint = "projects/" + path.substr(prefix.size(), project_end - prefix.size()) + "/" +
                rest.substr(0, location_end) + "/" + kEndpoints + after.substr(0, after.find_first_of("/:"));
    return kModelsPrefix + after;
  }
  return path;
}

}  // namespace

Route ParseRoute(const std::string& request_path) {
  Route route;
  const std::string path = WithoutCloudResourcePrefix(request_path, &route.cloud_endpoint);
  if (path == "/healthz") route.kind = Route::Kind::kHealth;
  if (path == "/readyz") route.kind = Route::Kind::kReady;
  if (path == "/metrics") route.kind = Route::Kind::kMetrics;
  if (path == "/v1/models" || path == "/v1/models/") route.kind = Route::Kind::kListModels;
  if (IsStaticPath(path)) route.kind = Route::Kind::kStatic;
  const std::string prefix = kModelsPrefix;
  if (route.kind != Route::Kind::kUnknown || path.compare(0, prefix.size(), prefix) != 0) return route;
  const std::string rest = path.substr(prefix.size());
  const size_t name_end = rest.find_first_of("/:");
  route.model = rest.substr(0, name_end);
  if (route.model.empty()) return route;
  std::string verb_part;
  if (name_end == std::string::npos) {
    route.kind = Route::Kind::kGetModel;
    return route;
  }
  if (rest[name_end] == ':') {
    route.has_verb = true;
    verb_part = rest.substr(name_end + 1);
  } else {
    // "/metadata", or "/versions/{v}" or "/labels/{l}", then nothing, "/metadata" or ":verb".
    const std::string after = rest.substr(name_end + 1);
    static const std::string kMetadata = "metadata";
    if (after == kMetadata) {
      route.kind = Route::Kind::kGetMetadata;
      return route;
    }
    static const std::string kVersions = "versions/", kLabels = "labels/";
    const bool by_version = after.compare(0, kVersions.size(), kVersions) == 0;
    const bool by_label = after.compare(0, kLabels.size(), kLabels) == 0;
    if (!by_version && !by_label) return route;
    const std::string selected = after.substr((by_version ? kVersions : kLabels).size());
    const size_t end = selected.find_first_of("/:");
    const std::string value = selected.substr(0, end);
    if (value.empty()) return route;
    (by_version ? route.version : route.label) = value;
    if (end == std::string::npos) {
      route.kind = Route::Kind::kGetVersion;
      return route;
    }
    if (selected[end] == '/') {
      if (selected.substr(end + 1) == kMetadata) route.kind = Route::Kind::kGetMetadata;
      return route;
    }
    route.has_verb = true;
    verb_part = selected.substr(end + 1);
  }
  route.verb = verb_part;
  if (verb_part == "predict") route.kind = Route::Kind::kPredict;
  if (verb_part == "explain") route.kind = Route::Kind::kExplain;
  if (verb_part == "examples") route.kind = Route::Kind::kExamples;
  return route;
}

std::string OriginFormPath(const std::string& target) {
  std::string scheme;
  for (const char* prefix : {"http://", "https://"}) {
    const size_t n = std::char_traits<char>::length(prefix);
    if (target.size() < n) continue;
    bool same = true;
    for (size_t i = 0; i < n; ++i) same = same && std::tolower(static_cast<unsigned char>(target[i])) == prefix[i];
    if (same) scheme = prefix;
  }
  if (scheme.empty()) return target;
  const size_t path = target.find_first_of("/?", scheme.size());
  if (path == std::string::npos) return "/";
  return target[path] == '/' ? target.substr(path) : "/" + target.substr(path);
}

std::string RouteLabel(const Route& route) {
  switch (route.kind) {
    case Route::Kind::kHealth: return "healthz";
    case Route::Kind::kReady: return "readyz";
    case Route::Kind::kMetrics: return "metrics";
    case Route::Kind::kListModels: return "list_models";
    case Route::Kind::kGetModel: return "get_model";
    case Route::Kind::kGetVersion: return "get_version";
    case Route::Kind::kGetMetadata: return "get_metadata";
    case Route::Kind::kPredict: return "predict";
    case Route::Kind::kExplain: return "explain";
    case Route::Kind::kExamples: return "examples";
    case Route::Kind::kStatic: return "static";
    case Route::Kind::kUnknown: return "unknown";
  }
  return "unknown";
}

HttpResponse HandleRequest(const RouteContext& context, const HttpRequest& request) {
  return Handler(context, request).Run();
}

}  // namespace xai
