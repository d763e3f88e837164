#include "api/explain_parameters.h"

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

Json Parse(const std::string& text) { return Json::parse(text); }

StatusOr<ExplainOptions> FromText(const std::string& parameters, const std::string& metadata = "null") {
  return ParseExplainParameters(Parse(parameters), Parse(metadata));
}

std::string ErrorOf(const std::string& parameters, const std::string& metadata = "null") {
  auto options = FromText(parameters, metadata);
  EXPECT_FALSE(options.ok()) << "expected an error for " << parameters;
  return options.ok() ? "" : options.status().message();
}

using ::xai::testing::Contains;

TEST(ExplainParametersTest, DefaultsAreTheCloudServices) {
  auto options = FromText("null");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->method, "integrated-gradients");
  EXPECT_EQ(options->step_count, 50);
  EXPECT_EQ(options->path_count, 10);
  EXPECT_EQ(options->top_k, 1);
  EXPECT_EQ(options->batch_size, kAutoBatchSize);  // rows per run: AutoBatchSize
  EXPECT_FALSE(options->smooth_grad.has_value());
  EXPECT_FALSE(options->max_blur_sigma.has_value());
  EXPECT_FALSE(options->approximation_error_target.has_value());
  EXPECT_TRUE(options->output_indices.empty());
}

TEST(ExplainParametersTest, IntegratedGradientsInBothCasings) {
  auto camel = FromText(R"({"integratedGradientsAttribution": {"stepCount": 7}})");
  auto snake = FromText(R"({"integrated_gradients_attribution": {"step_count": 7}})");
  ASSERT_TRUE(camel.ok() && snake.ok());
  EXPECT_EQ(camel->step_count, 7);
  EXPECT_EQ(snake->step_count, 7);
}

TEST(ExplainParametersTest, StepCountOutOfRangeNamesFieldAndRange) {
  for (const char* bad : {"-1", "101", "2.5", "\"ten\"", "\"101\"", "\"\"", "\"5 \"", "true"}) {
    const std::string message = ErrorOf(std::string(R"({"integratedGradientsAttribution": {"stepCount": )") + bad + "}}");
    EXPECT_TRUE(Contains(message, "integratedGradientsAttribution.stepCount")) << message;
    EXPECT_TRUE(Contains(message, "[1, 100]")) << message;
  }
}

TEST(ExplainParametersTest, SmoothGradWithOneSigmaOrPerFeature) {
  auto one = FromText(R"({"integratedGradientsAttribution": {"smoothGradConfig": {"noiseSigma": 0.2, "noisySampleCount": 5}}})");
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(one->smooth_grad.has_value());
  EXPECT_DOUBLE_EQ(one->smooth_grad->noise_sigma, 0.2);
  EXPECT_EQ(one->smooth_grad->noisy_sample_count, 5);

  auto per_feature = FromText(R"({"xraiAttribution": {"smoothGradConfig": {"featureNoiseSigma":
      {"noiseSigma": [{"name": "a", "sigma": 0.1}, {"name": "b", "sigma": 0.3}]}}}})");
  ASSERT_TRUE(per_feature.ok());
  EXPECT_EQ(per_feature->method, "xrai");
  EXPECT_DOUBLE_EQ(per_feature->smooth_grad->feature_noise_sigma.at("b"), 0.3);
  EXPECT_EQ(per_feature->smooth_grad->noisy_sample_count, 3);
}

TEST(ExplainParametersTest, SmoothGradErrors) {
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {"smoothGradConfig": {}}})"), "needs noiseSigma"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {"smoothGradConfig":
      {"noiseSigma": 0.1, "featureNoiseSigma": {"noiseSigma": [{"name": "a", "sigma": 1}]}}}})"), "not both"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {"smoothGradConfig": {"noiseSigma": -1}}})"), ">= 0"));
  const std::string samples =
      ErrorOf(R"({"integratedGradientsAttribution": {"smoothGradConfig": {"noiseSigma": 1, "noisySampleCount": 51}}})");
  EXPECT_TRUE(Contains(samples, "noisySampleCount")) << samples;
  EXPECT_TRUE(Contains(samples, "[1, 50]")) << samples;
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {"smoothGradConfig":
      {"featureNoiseSigma": {"noiseSigma": [{"sigma": 0.1}]}}}})"), "\"name\""));
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {"smoothGradConfig":
      {"featureNoiseSigma": {"noiseSigma": [{"name": "a", "sigma": -0.1}]}}}})"), "\"sigma\": S >= 0"));
  // A name given twice, or a key that is not read, was dropped silently.
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {"smoothGradConfig": {"featureNoiseSigma":
      {"noiseSigma": [{"name": "a", "sigma": 0.1}, {"name": "a", "sigma": 0}]}}}})"), "names input 'a' twice"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {"smoothGradConfig": {"featureNoiseSigma":
      {"noiseSigma": [{"name": "a", "sigma": 0.1, "typo": 1}]}}}})"), "typo"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {"smoothGradConfig": {"featureNoiseSigma":
      {"noiseSigma": [{"name": "a", "sigma": 0.1}], "other": 5}}}})"), "other"));
}

TEST(ExplainParametersTest, BlurBaseline) {
  auto blur = FromText(R"({"integratedGradientsAttribution": {"blurBaselineConfig": {"maxBlurSigma": 4}}})");
  ASSERT_TRUE(blur.ok());
  EXPECT_DOUBLE_EQ(*blur->max_blur_sigma, 4);
  const std::string negative =
      ErrorOf(R"({"integratedGradientsAttribution": {"blurBaselineConfig": {"maxBlurSigma": -1}}})");
  EXPECT_TRUE(Contains(negative, "integratedGradientsAttribution.blurBaselineConfig.maxBlurSigma must be a finite "
                                 "number > 0 (in pixels), or left out for no blur baseline; got -1.0")) << negative;
}

TEST(ExplainParametersTest, ABlurBaselineWithoutSigmaIsNone) {
  // Google's client sends BlurBaselineConfig() as {} (or {"maxBlurSigma": 0.0}
  // from to_json()); Vertex: "If not set, the method defaults to the zero baseline".
  for (const char* method : {"integratedGradientsAttribution", "xraiAttribution"}) {
    for (const char* config : {"{}", R"({"maxBlurSigma": 0.0})", R"({"max_blur_sigma": "0"})"}) {
      const std::string text = std::string(R"({")") + method + R"(": {"blurBaselineConfig": )" + config + "}}";
      auto options = FromText(text);
      ASSERT_TRUE(options.ok()) << text << ": " << options.status().ToString();
      EXPECT_FALSE(options->max_blur_sigma.has_value()) << text;
    }
  }
}

TEST(ExplainParametersTest, AFeatureNoiseSigmaLeftOutIsVertexsDefault) {
  // NoiseSigmaForFeature(name="a") with no sigma: {"name": "a"}, or "sigma": 0.0
  // from to_json(). Vertex documents "Defaults to 0.1".
  auto options = FromText(R"({"integratedGradientsAttribution": {"smoothGradConfig": {"featureNoiseSigma":
      {"noiseSigma": [{"name": "a"}, {"name": "b", "sigma": 0.0}, {"name": "c", "sigma": 0.3}]}}}})");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_DOUBLE_EQ(options->smooth_grad->feature_noise_sigma.at("a"), kDefaultFeatureNoiseSigma);
  EXPECT_DOUBLE_EQ(options->smooth_grad->feature_noise_sigma.at("b"), 0.1);
  EXPECT_DOUBLE_EQ(options->smooth_grad->feature_noise_sigma.at("c"), 0.3);
}

TEST(ExplainParametersTest, TheCloudSdksToJsonOfDefaultParametersIsRead) {
  // google-cloud-aiplatform 2.7.0: ExplanationParameters.to_json() of an
  // IntegratedGradientsAttribution with a BlurBaselineConfig() and a
  // NoiseSigmaForFeature(name="features"), every field left at its default.
  auto options = FromText(R"({"integratedGradientsAttribution": {
      "smoothGradConfig": {"featureNoiseSigma": {"noiseSigma": [{"name": "features", "sigma": 0.0}]},
                           "noisySampleCount": 0},
      "blurBaselineConfig": {"maxBlurSigma": 0.0}, "stepCount": 0}, "topK": 0})",
                          R"({"inputs": {"features": {"inputBaselines": []}}})");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->step_count, kDefaultStepCount);
  EXPECT_EQ(options->top_k, 1);
  EXPECT_FALSE(options->max_blur_sigma.has_value());
  EXPECT_EQ(options->smooth_grad->noisy_sample_count, kDefaultNoisySamples);
  EXPECT_DOUBLE_EQ(options->smooth_grad->feature_noise_sigma.at("features"), 0.1);
  // An empty inputBaselines overrides nothing: Vertex "If it's not specified,
  // the original baselines are not overridden".
  EXPECT_TRUE(options->baseline_overrides.empty());
}

TEST(ExplainParametersTest, SampledShapleyPathCount) {
  auto shapley = FromText(R"({"sampledShapleyAttribution": {"pathCount": 25}})");
  ASSERT_TRUE(shapley.ok());
  EXPECT_EQ(shapley->method, "sampled-shapley");
  EXPECT_EQ(shapley->path_count, 25);
  const std::string message = ErrorOf(R"({"sampledShapleyAttribution": {"pathCount": 51}})");
  EXPECT_TRUE(Contains(message, "sampledShapleyAttribution.pathCount")) << message;
  EXPECT_TRUE(Contains(message, "[1, 50]")) << message;
}

TEST(ExplainParametersTest, OnlyOneMethod) {
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {}, "xraiAttribution": {}})"), "only one"));
  // XRAI's fast variant (beyond the cloud service): a boolean, for XRAI only.
  auto fast = FromText(R"({"xraiAttribution": {"stepCount": 20, "fast": true}})");
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_TRUE(fast->xrai_fast);
  EXPECT_EQ(fast->step_count, 20);
  EXPECT_FALSE(FromText(R"({"xraiAttribution": {}})")->xrai_fast);
  EXPECT_TRUE(Contains(ErrorOf(R"({"xraiAttribution": {"fast": 1}})"), "xraiAttribution.fast must be true or false"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"integratedGradientsAttribution": {"fast": true}})"), "fast"));
}

TEST(ExplainParametersTest, TopKAndOutputIndices) {
  auto all = FromText(R"({"topK": -1})");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->top_k, -1);
  auto named = FromText(R"({"outputIndices": [1, [0, 2]]})");
  ASSERT_TRUE(named.ok());
  ASSERT_EQ(named->output_indices.size(), 2u);
  EXPECT_EQ(named->output_indices[0], (OutputIndex{{1}, /*flat=*/true}));
  EXPECT_EQ(named->output_indices[1], (OutputIndex{{0, 2}, /*flat=*/false}));
  // A list of one coordinate is no flat index: [[1]] names coordinate 1 of a vector.
  auto listed = FromText(R"({"outputIndices": [[1]]})");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->output_indices[0], (OutputIndex{{1}, /*flat=*/false}));
  // Like the cloud service's: one or the other (topK used to be dropped silently).
  EXPECT_TRUE(Contains(ErrorOf(R"({"topK": 2, "outputIndices": [1]})"), "give topK"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"outputIndices": [-1]})"), "integers >= 0"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"outputIndices": [1, 0, 1]})"), "names output 1 twice"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"outputIndices": [[0, 2], [0, 2]]})"), "names output [0,2] twice"));
  {
    // A long list is checked for repeats as a set (pairwise, 160,000 entries took 43 s).
    Json many = Json::array();
    for (int i = 0; i < 100000; ++i) many.push_back(i);
    EXPECT_TRUE(FromText(Json{{"outputIndices", many}}.dump()).ok());
    many.push_back(4242);
    EXPECT_TRUE(Contains(ErrorOf(Json{{"outputIndices", many}}.dump()), "names output 4242 twice"));
  }
  // 2^64 - 1 would read as -1 if taken as a signed integer.
  EXPECT_TRUE(Contains(ErrorOf(R"({"outputIndices": [18446744073709551615]})"),
                       "entry 18446744073709551615 is too large"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"outputIndices": [[0, 9223372036854775808]]})"), "is too large"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"outputIndices": []})"), "is empty"));
}

// proto3 JSON, as protobuf's JSON printers and the cloud's client libraries
// write it: an int32 may come as a string, an unset one as 0, and a
// ListValue's numbers as doubles.
TEST(ExplainParametersTest, TakesProto3JsonForms) {
  auto strings = FromText(R"({"integratedGradientsAttribution": {"stepCount": "25", "smoothGradConfig":
                              {"noiseSigma": "0.25", "noisySampleCount": "4"}}, "topK": "2"})");
  ASSERT_TRUE(strings.ok()) << strings.status().message();
  EXPECT_EQ(strings->step_count, 25);
  EXPECT_EQ(strings->top_k, 2);
  ASSERT_TRUE(strings->smooth_grad);
  EXPECT_EQ(strings->smooth_grad->noise_sigma, 0.25);
  EXPECT_EQ(strings->smooth_grad->noisy_sample_count, 4);

  const ExplainOptions defaults;
  auto zeros = FromText(R"({"integratedGradientsAttribution": {"stepCount": 0, "smoothGradConfig":
                            {"noiseSigma": 0.1, "noisySampleCount": 0}}, "topK": 0, "outputIndices": [1.0, [0.0, 2.0]]})");
  ASSERT_TRUE(zeros.ok()) << zeros.status().message();
  EXPECT_EQ(zeros->step_count, defaults.step_count);
  EXPECT_EQ(zeros->top_k, defaults.top_k);
  EXPECT_EQ(zeros->smooth_grad->noisy_sample_count, SmoothGradRequest().noisy_sample_count);
  EXPECT_EQ(zeros->output_indices, (std::vector<OutputIndex>{{{1}, true}, {{0, 2}, false}}));
  auto shapley = FromText(R"({"sampledShapleyAttribution": {"pathCount": "0"}, "topK": -1.0})");
  ASSERT_TRUE(shapley.ok()) << shapley.status().message();
  EXPECT_EQ(shapley->path_count, defaults.path_count);
  EXPECT_EQ(shapley->top_k, -1);

  EXPECT_TRUE(Contains(ErrorOf(R"({"outputIndices": [1.5]})"), "integers >= 0"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"outputIndices": [-1.0]})"), "integers >= 0"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"outputIndices": ["x"]})"), "integers >= 0"));
}

TEST(ExplainParametersTest, TopKThatWouldWrapIsRefused) {
  // 2^64 - 1 reads as -1 ("all outputs") if taken as a signed integer; 2^63
  // as INT64_MIN; 2^32 + 1 as 1 once cast to int.
  for (const char* bad : {"18446744073709551615", "9223372036854775808", "4294967297", "1048577", "-2",
                          "-9223372036854775808", "1.5", "\"1.5\"", "\"three\"", "true", "[3]"}) {
    const std::string message = ErrorOf(std::string(R"({"topK": )") + bad + "}");
    EXPECT_TRUE(Contains(message, "parameters.topK must be an integer in [1, 1048576], or -1 for all outputs"))
        << bad << ": " << message;
  }
  EXPECT_TRUE(Contains(ErrorOf(R"({"top_k": 18446744073709551615})"), "parameters.top_k"));
  auto most = FromText(R"({"topK": 1048576})");
  ASSERT_TRUE(most.ok()) << most.status().ToString();
  EXPECT_EQ(most->top_k, kMaxTopK);
  auto two = FromText(R"({"topK": 2})");
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(two->top_k, 2);
  // Json built in code (the CLI's) holds integers signed.
  for (int64_t k : {int64_t{1}, int64_t{-1}, int64_t{kMaxTopK}}) {
    auto built = ParseExplainParameters(Json{{"topK", k}}, nullptr);
    ASSERT_TRUE(built.ok()) << k << ": " << built.status().ToString();
    EXPECT_EQ(built->top_k, k);
  }
  for (int64_t k : {int64_t{-2}, int64_t{kMaxTopK} + 1, INT64_MIN, INT64_MAX}) {
    EXPECT_FALSE(ParseExplainParameters(Json{{"topK", k}}, nullptr).ok()) << k;
  }
  EXPECT_FALSE(ParseExplainParameters(Json{{"topK", UINT64_MAX}}, nullptr).ok());
}

TEST(ExplainParametersTest, ExtensionsBatchSizeTargetAndOutputName) {
  auto options = FromText(R"({"batchSize": 8, "approximationErrorTarget": 0.01, "outputName": "logits"})");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->batch_size, 8);
  EXPECT_DOUBLE_EQ(*options->approximation_error_target, 0.01);
  EXPECT_EQ(options->output_name, "logits");
  EXPECT_TRUE(Contains(ErrorOf(R"({"approximationErrorTarget": 1.5})"), "(0, 1)"));
  EXPECT_TRUE(Contains(ErrorOf(R"({"batchSize": 0})"), "parameters.batchSize"));
}

TEST(ExplainParametersTest, UnknownFieldIsNamed) {
  const std::string message = ErrorOf(R"({"integratedGradientsAtribution": {}})");
  EXPECT_TRUE(Contains(message, "unknown field 'integratedGradientsAtribution'")) << message;
  EXPECT_TRUE(Contains(message, "integratedGradientsAttribution")) << message;  // the known fields are listed
}

TEST(ExplainParametersTest, BaselineOverride) {
  auto options = FromText("null", R"({"inputs": {"x": {"inputBaselines": [0, [1, 2]]}, "y": {"input_baselines": 3}}})");
  ASSERT_TRUE(options.ok());
  ASSERT_EQ(options->baseline_overrides.at("x").size(), 2u);
  EXPECT_EQ(options->baseline_overrides.at("x")[1], Json::parse("[1, 2]"));
  EXPECT_EQ(options->baseline_overrides.at("y"), (std::vector<Json>{Json(3)}));
  EXPECT_TRUE(Contains(ErrorOf("null", R"({"inputs": {"x": {"inputBaselines": [0,0,0,0,0,0,0,0,0,0,0]}}})"),
                       "1 to 10 baselines"));
  EXPECT_TRUE(Contains(ErrorOf("null", R"({"outputs": {}})"), "cannot be overridden"));
  EXPECT_TRUE(Contains(ErrorOf("null", R"({"inputs": {"x": {"encoding": "identity"}}})"), "unknown field 'encoding'"));
}

TEST(ExplainParametersTest, VisualizeIsABooleanForTheResponse) {
  auto on = ParseExplainRequestParameters(Json::parse(R"({"visualize": true, "xraiAttribution": {}})"), nullptr);
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_TRUE(on->visualize);
  EXPECT_EQ(on->options.method, "xrai");
  auto off = ParseExplainRequestParameters(Json::parse(R"({"topK": 2})"), nullptr);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->visualize);
  EXPECT_FALSE(ParseExplainRequestParameters(nullptr, nullptr)->visualize);
  auto bad = ParseExplainRequestParameters(Json::parse(R"({"visualize": "yes"})"), nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "parameters.visualize must be true or false")) << bad.status().message();
}

}  // namespace
}  // namespace xai
