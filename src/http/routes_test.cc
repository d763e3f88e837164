#include "http/routes.h"

#include <gtest/gtest.h>

#include "core/tensor_json.h"
#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::Contains;

TEST(ParseRouteTest, KnowsEveryRoute) {
  EXPECT_EQ(ParseRoute("/healthz").kind, Route::Kind::kHealth);
  EXPECT_EQ(ParseRoute("/readyz").kind, Route::Kind::kReady);
  EXPECT_EQ(ParseRoute("/metrics").kind, Route::Kind::kMetrics);
  EXPECT_EQ(ParseRoute("/v1/models").kind, Route::Kind::kListModels);
  EXPECT_EQ(ParseRoute("/v1/models/").kind, Route::Kind::kListModels);

  const Route model = ParseRoute("/v1/models/tabular");
  EXPECT_EQ(model.kind, Route::Kind::kGetModel);
  EXPECT_EQ(model.model, "tabular");

  const Route explain = ParseRoute("/v1/models/tabular:explain");
  EXPECT_EQ(explain.kind, Route::Kind::kExplain);
  EXPECT_EQ(explain.model, "tabular");
  EXPECT_FALSE(explain.version);
  EXPECT_EQ(ParseRoute("/v1/models/tabular:predict").kind, Route::Kind::kPredict);

  const Route version = ParseRoute("/v1/models/m.v2/versions/3");
  EXPECT_EQ(version.kind, Route::Kind::kGetVersion);
  EXPECT_EQ(version.model, "m.v2");
  EXPECT_EQ(*version.version, "3");

  const Route versioned = ParseRoute("/v1/models/m/versions/12:predict");
  EXPECT_EQ(versioned.kind, Route::Kind::kPredict);
  EXPECT_EQ(*versioned.version, "12");

  const Route metadata = ParseRoute("/v1/models/tabular/metadata");
  EXPECT_EQ(metadata.kind, Route::Kind::kGetMetadata);
  EXPECT_EQ(metadata.model, "tabular");
  EXPECT_FALSE(metadata.version);
  const Route version_metadata = ParseRoute("/v1/models/m/versions/7/metadata");
  EXPECT_EQ(version_metadata.kind, Route::Kind::kGetMetadata);
  EXPECT_EQ(*version_metadata.version, "7");

  // TF Serving's labels are parsed so that the answer can say there are none.
  const Route label = ParseRoute("/v1/models/m/labels/stable");
  EXPECT_EQ(label.kind, Route::Kind::kGetVersion);
  EXPECT_EQ(*label.label, "stable");
  EXPECT_FALSE(label.version);
  EXPECT_EQ(ParseRoute("/v1/models/m/labels/canary:predict").kind, Route::Kind::kPredict);
  EXPECT_EQ(ParseRoute("/v1/models/m/labels/canary/metadata").kind, Route::Kind::kGetMetadata);

  const Route examples = ParseRoute("/v1/models/tabular:examples");
  EXPECT_EQ(examples.kind, Route::Kind::kExamples);
  EXPECT_EQ(examples.model, "tabular");
  EXPECT_EQ(ParseRoute("/").kind, Route::Kind::kStatic);
  EXPECT_EQ(ParseRoute("/static/app.js").kind, Route::Kind::kStatic);
  EXPECT_EQ(ParseRoute("/static/../CMakeLists.txt").kind, Route::Kind::kStatic);  // refused when served
}

TEST(ParseRouteTest, TheCloudsResourcePathsNameTheModel) {
  const Route vertex = ParseRoute("/v1/projects/my-project/locations/us-central1/endpoints/tabular:explain");
  EXPECT_EQ(vertex.kind, Route::Kind::kExplain);
  EXPECT_EQ(vertex.model, "tabular");
  EXPECT_EQ(ParseRoute("/v1beta1/projects/p/locations/l/endpoints/m:predict").kind, Route::Kind::kPredict);
  const Route legacy = ParseRoute("/v1/projects/p/models/census/versions/3:explain");
  EXPECT_EQ(legacy.kind, Route::Kind::kExplain);
  EXPECT_EQ(legacy.model, "census");
  EXPECT_EQ(*legacy.version, "3");
  EXPECT_EQ(ParseRoute("/v1/projects/p/models/census").kind, Route::Kind::kGetModel);
  EXPECT_EQ(ParseRoute("/v1/projects/p/models/census").cloud_endpoint, "") << "the legacy service has no endpoints";
  EXPECT_EQ(ParseRoute("/v1/models/tabular").cloud_endpoint, "");
  for (const char* path : {"/v1/projects/", "/v1/projects/p", "/v1/projects//models/m:explain", "/v1/projects/p/datasets/d",
                           "/v1/projects/p/locations/l", "/v1/projects/p/locations//endpoints/e:explain",
                           "/v1/projects/p/locations/l/models/m:explain", "/v2/projects/p/models/m:explain"}) {
    EXPECT_EQ(ParseRoute(path).kind, Route::Kind::kUnknown) << path;
  }
}

TEST(ParseRouteTest, AVertexEndpointPathKeepsTheEndpointsResourceName) {
  const Route get = ParseRoute("/v1/projects/my-project/locations/us-central1/endpoints/tabular");
  EXPECT_EQ(get.kind, Route::Kind::kGetModel);
  EXPECT_EQ(get.model, "tabular");
  EXPECT_EQ(get.cloud_endpoint, "projects/my-project/locations/us-central1/endpoints/tabular");
  EXPECT_EQ(ParseRoute("/v1beta1/projects/p/locations/l/endpoints/m:explain").cloud_endpoint,
            "projects/p/locations/l/endpoints/m");
  EXPECT_EQ(ParseRoute("/v1/projects/p/locations/l/endpoints/m/versions/2").cloud_endpoint,
            "projects/p/locations/l/endpoints/m");
}

TEST(OriginFormPathTest, AnAbsoluteTargetIsRoutedByItsPath) {
  EXPECT_EQ(OriginFormPath("http://127.0.0.1:8080/v1/models/m:explain"), "/v1/models/m:explain");
  EXPECT_EQ(OriginFormPath("HTTPS://example.com/healthz"), "/healthz");
  EXPECT_EQ(OriginFormPath("http://example.com"), "/");
  EXPECT_EQ(OriginFormPath("http://example.com?x=1"), "/?x=1");
  EXPECT_EQ(OriginFormPath("/v1/models"), "/v1/models");
  EXPECT_EQ(OriginFormPath("/http://x/y"), "/http://x/y");
  EXPECT_EQ(OriginFormPath("http:/x"), "http:/x");
  EXPECT_EQ(OriginFormPath(""), "");
}

TEST(ParseRouteTest, EverythingElseIsUnknown) {
  for (const char* path : {"/v1", "/static", "/index.html", "/v1/model", "/v1/models//x", "/v1/models/:explain", "/v1/models/m/foo",
                           "/v1/models/m/versions/", "/v1/models/m/versions/1/x", "/healthz/", "/v2/models/m",
                           "/v1/models/m/metadata/", "/v1/models/m/versions/1/metadata/x", "/v1/models/m/labels/",
                           "/v1/models/m/versions/1/2"}) {
    EXPECT_EQ(ParseRoute(path).kind, Route::Kind::kUnknown) << path;
  }
  const Route verb = ParseRoute("/v1/models/m:classify");
  EXPECT_EQ(verb.kind, Route::Kind::kUnknown);
  EXPECT_TRUE(verb.has_verb);
  EXPECT_EQ(verb.verb, "classify");
}

// Routes over a registry whose models load nothing real: "broken" fails to
// load (its directory does not exist), so every request that gets past the
// checks before the model ends in 503 — what each test looks at is which
// check answered first.
class RoutesTest : public ::testing::Test {
 protected:
  RoutesTest() : registry_({{"broken", "/nonexistent/xaiserve/model", "sampled-shapley"}}) {
    registry_.LoadAll();
    context_.registry = &registry_;
    context_.metrics = &metrics_;
    context_.limits.max_instances = 2;
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                    std::map<std::string, std::string> headers = {}) {
    return HandleRequest(context_, HttpRequest{method, path, body, std::move(headers), {}});
  }

  // The error body's status name, checking its shape and the HTTP status.
  std::string ErrorStatus(const HttpResponse& response, int http_status) {
    EXPECT_EQ(response.status, http_status) << response.body;
    EXPECT_EQ(response.content_type, "application/json");
    const Json body = Json::parse(response.body);
    EXPECT_EQ(body["error"]["code"], http_status);
    EXPECT_TRUE(body["error"]["message"].is_string());
    return body["error"]["status"].get<std::string>();
  }
  std::string Message(const HttpResponse& response) {
    return Json::parse(response.body)["error"]["message"].get<std::string>();
  }

  ModelRegistry registry_;
  Metrics metrics_;
  RouteContext context_;
};

TEST_F(RoutesTest, HealthAndMetrics) {
  const HttpResponse health = Call("GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Json::parse(health.body), Json::parse(R"({"status": "ok"})"));
  EXPECT_EQ(health.method_label, "healthz");

  metrics_.RecordRequest("broken", "predict", 503, 0.1);
  const HttpResponse metrics = Call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_TRUE(Contains(metrics.content_type, "text/plain"));
  EXPECT_TRUE(Contains(metrics.body, "xaiserve_requests_total{model=\"broken\",method=\"predict\",code=\"503\"} 1"));
}

TEST_F(RoutesTest, ReadyOnlyWhenEveryModelServesAndMetricsCountVersions) {
  // "broken" has no loaded version: not ready, saying which model and why.
  const HttpResponse not_ready = Call("GET", "/readyz");
  EXPECT_EQ(ErrorStatus(not_ready, 503), "UNAVAILABLE");
  EXPECT_TRUE(Contains(Message(not_ready), "not ready: model 'broken' has no loaded version"));
  EXPECT_TRUE(Contains(Message(not_ready), "/nonexistent/xaiserve/model"));
  EXPECT_EQ(not_ready.method_label, "readyz");
  context_.auth_token = "s3cret";  // a probe needs no token
  EXPECT_EQ(Call("GET", "/readyz").status, 503);
  EXPECT_EQ(Call("POST", "/readyz").status, 405);

  const HttpResponse metrics = Call("GET", "/metrics", "", {{"authorization", "Bearer s3cret"}});
  EXPECT_TRUE(Contains(metrics.body, "xaiserve_model_versions_loaded{model=\"broken\"} 0\n"));
  EXPECT_TRUE(Contains(metrics.body, "xaiserve_model_versions_failed{model=\"broken\"} 0\n"));

  ModelRegistry empty({});
  context_.registry = &empty;
  const HttpResponse ready = Call("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(Json::parse(ready.body), Json::parse(R"({"status": "ready"})"));
}

TEST_F(RoutesTest, ModelStatusShowsTheLoadError) {
  const HttpResponse list = Call("GET", "/v1/models");
  ASSERT_EQ(list.status, 200);
  const Json models = Json::parse(list.body)["models"];
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0]["name"], "broken");
  EXPECT_EQ(models[0]["state"], "UNAVAILABLE");
  EXPECT_EQ(models[0]["defaultMethod"], "sampled-shapley");

  const HttpResponse model = Call("GET", "/v1/models/broken");
  ASSERT_EQ(model.status, 200);
  const Json status = Json::parse(model.body);
  EXPECT_EQ(status["error"]["status"], "NOT_FOUND");
  EXPECT_TRUE(Contains(status["error"]["message"].get<std::string>(), "/nonexistent/xaiserve/model"));
  EXPECT_EQ(model.model, "broken");
}

TEST_F(RoutesTest, UnknownRoutesModelsVersionsAndMethods) {
  EXPECT_EQ(ErrorStatus(Call("GET", "/nope"), 404), "NOT_FOUND");
  EXPECT_TRUE(Contains(Message(Call("GET", "/nope")), "GET /v1/models"));

  const HttpResponse model = Call("POST", "/v1/models/zebra:predict", "{}");
  EXPECT_EQ(ErrorStatus(model, 404), "NOT_FOUND");
  EXPECT_TRUE(Contains(Message(model), "served models: broken"));
  EXPECT_EQ(model.model, "");  // unknown names are not metric labels

  const HttpResponse verb = Call("POST", "/v1/models/broken:classify", "{}");
  EXPECT_EQ(ErrorStatus(verb, 404), "NOT_FOUND");
  EXPECT_TRUE(Contains(Message(verb), ":predict or :explain"));

  const HttpResponse version = Call("GET", "/v1/models/broken/versions/abc");
  EXPECT_EQ(ErrorStatus(version, 404), "NOT_FOUND");
  EXPECT_TRUE(Contains(Message(version), "non-negative integers"));
}

TEST_F(RoutesTest, WrongHttpMethodIs405WithAllow) {
  const HttpResponse get_explain = Call("GET", "/v1/models/broken:explain");
  EXPECT_EQ(ErrorStatus(get_explain, 405), "METHOD_NOT_ALLOWED");
  ASSERT_EQ(get_explain.headers.size(), 1u);
  EXPECT_EQ(get_explain.headers[0], std::make_pair(std::string("Allow"), std::string("POST")));

  const HttpResponse post_list = Call("POST", "/v1/models", "{}");
  EXPECT_EQ(ErrorStatus(post_list, 405), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(post_list.headers[0].second, "GET, HEAD");  // HEAD is answered wherever GET is
  EXPECT_EQ(ErrorStatus(Call("DELETE", "/healthz"), 405), "METHOD_NOT_ALLOWED");
  // :predict and :explain take POST only: other methods with a body are not run.
  for (const char* method : {"PUT", "PATCH", "DELETE", "OPTIONS"}) {
    const HttpResponse response = Call(method, "/v1/models/broken:predict", R"({"instances": [[1]]})");
    EXPECT_EQ(ErrorStatus(response, 405), "METHOD_NOT_ALLOWED") << method;
    EXPECT_EQ(response.headers[0].second, "POST") << method;
  }
}

TEST_F(RoutesTest, BadBodiesAre400BeforeTheModelIsNeeded) {
  const std::string path = "/v1/models/broken:explain";
  EXPECT_TRUE(Contains(Message(Call("POST", path, "{\"instances\": [1,")), "request body"));
  EXPECT_EQ(ErrorStatus(Call("POST", path, "{\"instances\": [1,"), 400), "INVALID_ARGUMENT");
  EXPECT_TRUE(Contains(Message(Call("POST", path, "")), "empty"));
  EXPECT_TRUE(Contains(Message(Call("POST", path, "[1]")), "JSON object"));
  EXPECT_TRUE(Contains(Message(Call("POST", path, std::string(100, '[') + std::string(100, ']'))), "deeper than"));
  EXPECT_TRUE(Contains(Message(Call("POST", path, "{\"instance\": [[1]]}")), "instance"));
  EXPECT_TRUE(Contains(Message(Call("POST", path, "{\"parameters\": {}}")), "no \"instances\""));

  const HttpResponse steps = Call(
      "POST", path, R"({"instances": [[1]], "explanationSpecOverride": {"parameters": {"integratedGradientsAttribution": {"stepCount": 500}}}})");
  EXPECT_EQ(ErrorStatus(steps, 400), "INVALID_ARGUMENT");
  EXPECT_TRUE(Contains(Message(steps), "stepCount"));
  EXPECT_EQ(steps.method_label, "explain");

  // Vertex's prediction parameters beside explanationSpecOverride.parameters
  // are not used: the request gets past parsing (to the model, which did not load).
  const HttpResponse prediction_parameters = Call("POST", path,
                                  R"({"instances": [[1]], "parameters": {"confidenceThreshold": 0.5},
                                      "explanationSpecOverride": {"parameters": {"topK": 1}}})");
  EXPECT_EQ(ErrorStatus(prediction_parameters, 503), "UNAVAILABLE");
  // Without the override, "parameters" are explanation parameters, and the message says so.
  const HttpResponse unknown = Call("POST", path, R"({"instances": [[1]], "parameters": {"confidenceThreshold": 0.5}})");
  EXPECT_EQ(ErrorStatus(unknown, 400), "INVALID_ARGUMENT");
  EXPECT_TRUE(Contains(Message(unknown), "unknown field 'confidenceThreshold'"));
  EXPECT_TRUE(Contains(Message(unknown), "without explanationSpecOverride.parameters"));

  const HttpResponse both = Call("POST", "/v1/models/broken:predict", R"({"instances": [[1]], "inputs": [[1]]})");
  EXPECT_TRUE(Contains(Message(both), "not both"));
  const HttpResponse ragged = Call("POST", "/v1/models/broken:predict", R"({"inputs": {"a": [1, 2], "b": [1]}})");
  EXPECT_TRUE(Contains(Message(ragged), "one entry per instance"));
}

TEST_F(RoutesTest, TooManyInstancesIs413NamingTheLimit) {
  const HttpResponse response = Call("POST", "/v1/models/broken:predict", R"({"instances": [[1], [2], [3]]})");
  EXPECT_EQ(ErrorStatus(response, 413), "RESOURCE_EXHAUSTED");
  EXPECT_TRUE(Contains(Message(response), "at most 2"));
  EXPECT_TRUE(Contains(Message(response), "--max-instances"));
  const HttpResponse columnar = Call("POST", "/v1/models/broken:predict", R"({"inputs": {"x": [1, 2, 3]}})");
  EXPECT_EQ(ErrorStatus(columnar, 413), "RESOURCE_EXHAUSTED");
}

TEST_F(RoutesTest, TooManyInstancesInALargeBodyAreRefusedBeforeItIsParsed) {
  // 20,000 instances, then text that is not JSON: the count answers first.
  std::string body = R"({"instances": [)";
  for (int i = 0; i < 20000; ++i) body += "[0],";
  body += "[0]], not json";
  const HttpResponse response = Call("POST", "/v1/models/broken:predict", body);
  EXPECT_EQ(ErrorStatus(response, 413), "RESOURCE_EXHAUSTED");
  EXPECT_TRUE(Contains(Message(response), "20001 instances"));
  // A small body is parsed first, as before.
  EXPECT_EQ(ErrorStatus(Call("POST", "/v1/models/broken:predict", R"({"instances": [[0],[0],[0]], x})"), 400),
            "INVALID_ARGUMENT");
}

TEST_F(RoutesTest, AValidRequestForAModelThatDidNotLoadIs503WithTheReason) {
  const HttpResponse response = Call("POST", "/v1/models/broken:explain", R"({"instances": [[1]]})");
  EXPECT_EQ(ErrorStatus(response, 503), "UNAVAILABLE");
  EXPECT_TRUE(Contains(Message(response), "/nonexistent/xaiserve/model"));
  EXPECT_EQ(response.method_label, "explain:sampled-shapley");  // the model's default method
  EXPECT_EQ(response.model, "broken");

  const HttpResponse named = Call("POST", "/v1/models/broken/versions/3:explain",
                                  R"({"instances": [[1]], "parameters": {"xraiAttribution": {}}})");
  EXPECT_EQ(ErrorStatus(named, 404), "NOT_FOUND");
  EXPECT_EQ(named.method_label, "explain:xrai");
}

TEST_F(RoutesTest, BearerTokenGuardsEverythingButHealth) {
  context_.auth_token = "s3cret";
  const HttpResponse none = Call("GET", "/v1/models");
  EXPECT_EQ(ErrorStatus(none, 401), "UNAUTHENTICATED");
  EXPECT_EQ(none.headers[0], std::make_pair(std::string("WWW-Authenticate"), std::string("Bearer")));
  EXPECT_EQ(ErrorStatus(Call("GET", "/v1/models", "", {{"authorization", "Bearer wrong!"}}), 401), "UNAUTHENTICATED");
  EXPECT_EQ(ErrorStatus(Call("GET", "/v1/models", "", {{"authorization", "Bearer s3cre"}}), 401), "UNAUTHENTICATED");
  EXPECT_EQ(ErrorStatus(Call("GET", "/nope"), 401), "UNAUTHENTICATED");  // no route discovery without the token
  EXPECT_EQ(Call("GET", "/v1/models", "", {{"authorization", "Bearer s3cret"}}).status, 200);
  EXPECT_EQ(Call("GET", "/v1/models", "", {{"authorization", "bearer s3cret"}}).status, 200);
  EXPECT_EQ(Call("GET", "/healthz").status, 200);
  EXPECT_EQ(Call("GET", "/").status, 200);  // the page is public; it asks for the token
  EXPECT_EQ(ErrorStatus(Call("GET", "/v1/models/broken:examples"), 401), "UNAUTHENTICATED");
}

TEST_F(RoutesTest, ServesTheWebPageAndItsFiles) {
  const HttpResponse page = Call("GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_TRUE(Contains(page.body, "<!DOCTYPE html>"));
  EXPECT_EQ(page.method_label, "static");
  EXPECT_EQ(Call("HEAD", "/").status, 200);

  const HttpResponse script = Call("GET", "/static/app.js");
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Call("GET", "/static/index.html").body, page.body);

  for (const char* path : {"/static/", "/static/nope.js", "/static/../CMakeLists.txt", "/static/./app.js",
                           "/static//app.js", "/static/..", "/static/..\\app.js", "/static/%2e%2e/README.md"}) {
    EXPECT_EQ(ErrorStatus(Call("GET", path), 404), "NOT_FOUND") << path;
  }
  EXPECT_TRUE(Contains(Message(Call("GET", "/static/nope.js")), "'nope.js'"));
  EXPECT_EQ(ErrorStatus(Call("POST", "/", "{}"), 405), "METHOD_NOT_ALLOWED");
}

TEST_F(RoutesTest, MetadataOfAModelThatDidNotLoadIs503AndLabelsAre404) {
  EXPECT_EQ(ErrorStatus(Call("GET", "/v1/models/broken/metadata"), 503), "UNAVAILABLE");
  EXPECT_EQ(ErrorStatus(Call("GET", "/v1/models/zebra/metadata"), 404), "NOT_FOUND");
  EXPECT_EQ(ErrorStatus(Call("POST", "/v1/models/broken/metadata", "{}"), 405), "METHOD_NOT_ALLOWED");
  const HttpResponse label = Call("POST", "/v1/models/broken/labels/stable:predict", R"({"instances": [[1]]})");
  EXPECT_EQ(ErrorStatus(label, 404), "NOT_FOUND");
  EXPECT_TRUE(Contains(Message(label), "no version labels"));
  EXPECT_TRUE(Contains(Message(label), "/versions/{v}"));
}

TEST_F(RoutesTest, ExamplesOfAModelThatDidNotLoadIs503) {
  EXPECT_EQ(ErrorStatus(Call("GET", "/v1/models/broken:examples"), 503), "UNAVAILABLE");
  EXPECT_EQ(ErrorStatus(Call("GET", "/v1/models/zebra:examples"), 404), "NOT_FOUND");
  EXPECT_EQ(ErrorStatus(Call("POST", "/v1/models/broken:examples", "{}"), 405), "METHOD_NOT_ALLOWED");
}

}  // namespace
}  // namespace xai
