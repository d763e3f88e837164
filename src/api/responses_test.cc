#include "api/responses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/base64.h"
#include "core/tensor_json.h"

namespace xai {
namespace {

BoundInput Bound(const std::string& name, const std::string& group = "") {
  BoundInput in;
  in.metadata.name = name;
  in.metadata.group_name = group;
  return in;
}

OutputAttribution Output(std::vector<Tensor> attributions, std::vector<int64_t> index = {1}) {
  OutputAttribution out;
  out.output_name = "probabilities";
  out.output_index = std::move(index);
  out.attribution.attributions = std::move(attributions);
  out.attribution.instance_output = 0.9;
  out.attribution.baseline_output = 0.4;
  out.attribution.approximation_error = 0.01;
  out.attribution.steps = 64;
  return out;
}

// The response as sent: the explanation is held as JSON text (JsonText),
// which DumpJson writes in place.
Json Written(const Json& response) {
  StatusOr<Json> parsed = ParseJson(DumpJson(response), "response");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : Json();
}

Tensor Row(std::vector<double> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return Tensor::FromValues(DType::kFloat64, {1, n}, std::move(values));
}

TEST(PredictionToJsonTest, OneOutputIsTheRowSeveralAreKeyed) {
  NamedTensors one = {{"p", Tensor::FromValues(DType::kFloat32, {2, 2}, {0.25, 0.75, 0.5, 0.5})}};
  EXPECT_EQ(PredictionToJson(one, 0), Json::parse("[0.25, 0.75]"));
  NamedTensors two = {{"p", Tensor::FromValues(DType::kFloat32, {1, 1}, {0.5})},
                      {"label", Tensor::FromValues(DType::kInt64, {1}, {3})}};
  EXPECT_EQ(PredictionToJson(two, 0), Json::parse(R"({"label": 3, "p": [0.5]})"));
}

TEST(PredictionJsonTextTest, IsWhatDumpJsonWritesForPredictionToJson) {
  NamedTensors one = {{"p", Tensor::FromValues(DType::kFloat32, {2, 3}, {0.25, -0.75, 3, 0.1, 1e-30, -0.0})}};
  EXPECT_EQ(PredictionJsonText(one, 0), DumpJson(PredictionToJson(one, 0)));
  EXPECT_EQ(PredictionJsonText(one, 1), DumpJson(PredictionToJson(one, 1)));
  EXPECT_EQ(PredictionJsonText(one, 0), "[0.25,-0.75,3.0]");
  // Several outputs: keyed and sorted by name, names escaped, rows of any rank.
  NamedTensors several = {{"p", Tensor::FromValues(DType::kFloat32, {1, 2, 1}, {0.5, 2})},
                          {"label", Tensor::FromValues(DType::kInt64, {1}, {3})},
                          {"a \"quoted\" name", Tensor::FromValues(DType::kFloat64, {1, 1}, {-1.5})}};
  EXPECT_EQ(PredictionJsonText(several, 0), DumpJson(PredictionToJson(several, 0)));
  EXPECT_EQ(PredictionJsonText(several, 0), R"({"a \"quoted\" name":[-1.5],"label":3,"p":[[0.5],[2.0]]})");
}

TEST(PredictionToJsonTest, StringOutputsNamedBytesAreAlwaysBase64AsInTfServing) {
  Tensor text(DType::kString, {2});
  text.strings = {"hello", std::string("\xff\x00", 2)};
  // "hello" is valid UTF-8: written as text unless the output's name ends in _bytes.
  NamedTensors plain = {{"echo", text}};
  EXPECT_EQ(PredictionToJson(plain, 0), Json("hello"));
  EXPECT_EQ(PredictionToJson(plain, 1), Json::parse(R"({"b64": "/wA="})"));
  NamedTensors bytes = {{"echo_bytes", text}};
  EXPECT_EQ(PredictionToJson(bytes, 0), Json::parse(R"({"b64": "aGVsbG8="})"));
  EXPECT_EQ(PredictionJsonText(bytes, 0), R"({"b64":"aGVsbG8="})");
  NamedTensors several = {{"echo_bytes", text}, {"label", text}};
  EXPECT_EQ(PredictionToJson(several, 0), Json::parse(R"({"echo_bytes": {"b64": "aGVsbG8="}, "label": "hello"})"));
  EXPECT_EQ(PredictionJsonText(several, 0), DumpJson(PredictionToJson(several, 0)));
  // Only a suffix counts, and only strings change.
  NamedTensors prefix = {{"bytes_echo", text}};
  EXPECT_EQ(PredictionToJson(prefix, 0), Json("hello"));
  NamedTensors numbers = {{"count_bytes", Tensor::FromValues(DType::kInt64, {1}, {3})}};
  EXPECT_EQ(PredictionJsonText(numbers, 0), "3");
}

TEST(ExplainResponseTextTest, IsWhatDumpJsonWritesForTheBodyTree) {
  InstanceExplanation first, second;
  first.outputs.push_back(Output({Row({0.25, -0.5})}));
  second.outputs.push_back(Output({Row({1.5, 2})}, {0}));
  const std::vector<std::string> entries = {ExplanationJsonText(first, {Bound("x")}, true),
                                            ExplanationJsonText(second, {Bound("x")}, true)};
  const Json tree_entries = Json::array({Written(ExplanationToJson(first, {Bound("x")}, true)),
                                         Written(ExplanationToJson(second, {Bound("x")}, true))});
  const std::vector<Json> predictions = {Json::parse("[0.1, 0.9]"), Json::parse(R"({"label": 1})")};
  const std::vector<std::string> prediction_texts = {DumpJson(predictions[0]), DumpJson(predictions[1])};

  EXPECT_EQ(ExplainResponseText(entries, &prediction_texts),
            DumpJson(Json{{"explanations", tree_entries}, {"predictions", Json(predictions)}}));
  EXPECT_EQ(ExplainResponseText(entries, nullptr), DumpJson(Json{{"explanations", tree_entries}}));
  EXPECT_EQ(ExplainResponseText({}, nullptr), R"({"explanations":[]})");
}

TEST(ExplanationToJsonTest, FieldsOfOneAttribution) {
  InstanceExplanation explanation;
  explanation.outputs.push_back(Output({Row({0.25, 0.25})}));
  explanation.outputs.back().output_display_name = "positive";
  const Json json = Written(ExplanationToJson(explanation, {Bound("x")}, /*bare=*/true));
  const Json& a = json["attributions"][0];
  EXPECT_EQ(a["featureAttributions"], Json::parse("[0.25, 0.25]"));
  EXPECT_EQ(a["instanceOutputValue"], 0.9);
  EXPECT_EQ(a["baselineOutputValue"], 0.4);
  EXPECT_EQ(a["approximationError"], 0.01);
  EXPECT_EQ(a["outputIndex"], Json::parse("[1]"));
  EXPECT_EQ(a["outputName"], "probabilities");
  EXPECT_EQ(a["outputDisplayName"], "positive");
  EXPECT_FALSE(a.contains("stepCount"));  // only reported with an approximation target
}

TEST(ExplanationToJsonTest, KeyedByInputAndScalarOutputHasNoIndex) {
  InstanceExplanation explanation;
  explanation.outputs.push_back(Output({Row({1, 2}), Row({3})}, /*index=*/{}));
  const Json json = Written(ExplanationToJson(explanation, {Bound("a"), Bound("b")}, /*bare=*/false));
  const Json& a = json["attributions"][0];
  EXPECT_EQ(a["featureAttributions"], Json::parse(R"({"a": [1.0, 2.0], "b": [3.0]})"));
  EXPECT_FALSE(a.contains("outputIndex"));
  EXPECT_FALSE(a.contains("outputDisplayName"));
}

TEST(ExplanationToJsonTest, GroupedInputsGetOneSummedAttribution) {
  InstanceExplanation explanation;
  explanation.outputs.push_back(Output({Row({1, 2}), Row({3}), Row({0.5})}));
  const Json json = Written(ExplanationToJson(explanation, {Bound("a", "ab"), Bound("b", "ab"), Bound("c")}, false));
  EXPECT_EQ(json["attributions"][0]["featureAttributions"], Json::parse(R"({"ab": 6.0, "c": [0.5]})"));
}

TEST(ExplanationToJsonTest, BagOfFeaturesIsNamedByItsMapping) {
  BoundInput words = Bound("words");
  words.metadata.encoding = "bag_of_features";
  words.metadata.index_feature_mapping = {"good", "bad"};
  InstanceExplanation explanation;
  explanation.outputs.push_back(Output({Row({0.75, -0.25})}));
  const Json json = Written(ExplanationToJson(explanation, {words}, /*bare=*/false));
  EXPECT_EQ(json["attributions"][0]["featureAttributions"], Json::parse(R"({"words": {"good": 0.75, "bad": -0.25}})"));
  words.metadata.encoding = "identity";  // the same mapping with identity keeps the list
  EXPECT_EQ(Written(ExplanationToJson(explanation, {words}, false))["attributions"][0]["featureAttributions"],
            Json::parse(R"({"words": [0.75, -0.25]})"));
}

TEST(ExplanationToJsonTest, BudgetReportedAsStepsOrPaths) {
  InstanceExplanation explanation;
  explanation.outputs.push_back(Output({Row({1})}));
  explanation.budget_reported = true;
  explanation.method = "integrated-gradients";
  EXPECT_EQ(Written(ExplanationToJson(explanation, {Bound("x")}, true))["attributions"][0]["stepCount"], 64);
  explanation.method = "sampled-shapley";
  const Json shapley = Written(ExplanationToJson(explanation, {Bound("x")}, true))["attributions"][0];
  EXPECT_EQ(shapley["pathCount"], 64);
  EXPECT_FALSE(shapley.contains("stepCount"));
}

TEST(ExplanationToJsonTest, TextIsWhatDumpJsonWritesForTheSameTree) {
  // Every field, several entries, names that sort differently from their
  // order, a group, a named bag of features, a float32 attribution, a
  // non-finite value and a name that needs escaping: the text written
  // directly is byte for byte the dump of the tree nlohmann would hold.
  BoundInput words = Bound("words");
  words.metadata.encoding = "indicator";
  words.metadata.index_feature_mapping = {"zebra", "apple"};
  InstanceExplanation explanation;
  explanation.method = "integrated-gradients";
  explanation.budget_reported = true;
  explanation.outputs.push_back(Output({Row({0.1, 1.0 / 3}), Row({3}), Row({0.5}), Row({0.75, -0.25}),
                                        Tensor::FromValues(DType::kFloat32, {1, 1}, {0.1})},
                                       {2, 1}));
  explanation.outputs.back().output_display_name = "quote \" and tab \t";
  explanation.outputs.push_back(Output({Row({std::nan(""), -0.0}), Row({1e300}), Row({-2}), Row({0, 1}), Row({5})}, {}));
  explanation.outputs.back().attribution.approximation_error = std::numeric_limits<double>::infinity();
  const std::vector<BoundInput> inputs = {Bound("z_last"), Bound("b", "grouped"), Bound("a", "grouped"), words,
                                          Bound("A_first")};
  Json tree = {{"attributions", Json::array()}};
  for (const OutputAttribution& out : explanation.outputs) {
    const Attribution& a = out.attribution;
    Json entry = {{"approximationError", a.approximation_error}, {"baselineOutputValue", a.baseline_output},
                  {"instanceOutputValue", a.instance_output}, {"outputName", out.output_name},
                  {"stepCount", a.steps}};
    entry["featureAttributions"] = {{"z_last", TensorRowToJson(a.attributions[0], 0)},
                                    {"grouped", a.attributions[1].values[0] + a.attributions[2].values[0]},
                                    {"words", {{"zebra", a.attributions[3].values[0]},
                                               {"apple", a.attributions[3].values[1]}}},
                                    {"A_first", TensorRowToJson(a.attributions[4], 0)}};
    if (!out.output_index.empty()) entry["outputIndex"] = out.output_index;
    if (!out.output_display_name.empty()) entry["outputDisplayName"] = out.output_display_name;
    tree["attributions"].push_back(entry);
  }
  EXPECT_EQ(DumpJson(ExplanationToJson(explanation, inputs, /*bare=*/false)), DumpJson(tree));
  // A bare value, and pathCount for Sampled Shapley.
  explanation.method = "sampled-shapley";
  explanation.outputs.resize(1);
  explanation.outputs[0].attribution.attributions.resize(1);
  Json bare_entry = tree["attributions"][0];
  bare_entry.erase("stepCount");
  bare_entry["pathCount"] = 64;
  bare_entry["featureAttributions"] = TensorRowToJson(explanation.outputs[0].attribution.attributions[0], 0);
  EXPECT_EQ(DumpJson(ExplanationToJson(explanation, {Bound("x")}, /*bare=*/true)),
            DumpJson(Json{{"attributions", Json::array({bare_entry})}}));
}

TEST(ExplanationToJsonTest, PicturesGoInEachEntryAsBase64) {
  InstanceExplanation explanation;
  explanation.outputs.push_back(Output({Row({1})}));
  explanation.outputs.push_back(Output({Row({2})}));
  std::vector<EntryPictures> pictures(2);
  pictures[0].emplace_back("image", Picture{"image/png", "\x89PNG-bytes"});
  pictures[1].emplace_back("zeta", Picture{"image/svg+xml", "<svg/>"});
  pictures[1].emplace_back("features", Picture{"image/svg+xml", "<svg></svg>"});
  const Json json = Written(ExplanationToJson(explanation, {Bound("x")}, /*bare=*/true, &pictures));
  const Json& first = json["attributions"][0]["visualizations"]["image"];
  EXPECT_EQ(first["mimeType"], "image/png");
  EXPECT_EQ(*Base64Decode(first["data"].get<std::string>()), "\x89PNG-bytes");
  const Json& second = json["attributions"][1]["visualizations"];
  EXPECT_EQ(second["zeta"]["mimeType"], "image/svg+xml");
  EXPECT_EQ(*Base64Decode(second["zeta"]["data"].get<std::string>()), "<svg/>");
  EXPECT_EQ(*Base64Decode(second["features"]["data"].get<std::string>()), "<svg></svg>");
  EXPECT_EQ(json["attributions"][0]["featureAttributions"], Json::parse("[1.0]"));
  // Without pictures, no field.
  EXPECT_FALSE(Written(ExplanationToJson(explanation, {Bound("x")}, true))["attributions"][0].contains("visualizations"));
}

}  // namespace
}  // namespace xai
