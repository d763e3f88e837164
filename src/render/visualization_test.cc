#include "render/visualization.h"

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::FailsWith;

TEST(VisualizationTest, MethodDefaultsAreTheCloudServices) {
  const Visualization ig = DefaultVisualization("integrated-gradients");
  EXPECT_EQ(ig.type, VisualizationType::kOutlines);
  EXPECT_EQ(ig.color_map, ColorMap::kPinkGreen);
  EXPECT_EQ(ig.polarity, Polarity::kPositive);
  EXPECT_EQ(ig.overlay_type, OverlayType::kNone);
  EXPECT_DOUBLE_EQ(ig.clip_percent_upperbound, 99.9);
  EXPECT_DOUBLE_EQ(ig.clip_percent_lowerbound, 62);

  const Visualization xrai = DefaultVisualization("xrai");
  EXPECT_EQ(xrai.type, VisualizationType::kPixels);
  EXPECT_EQ(xrai.color_map, ColorMap::kViridis);
}

TEST(VisualizationTest, NullMeansTheMethodDefaults) {
  auto v = ParseVisualization(nullptr, "xrai", "md");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->type, VisualizationType::kPixels);
  EXPECT_EQ(v->color_map, ColorMap::kViridis);
}

TEST(VisualizationTest, ReadsSnakeCase) {
  auto v = ParseVisualization(Json::parse(R"({"type": "pixels", "polarity": "both", "color_map": "red_green",
      "clip_percent_upperbound": 95, "clip_percent_lowerbound": 10, "overlay_type": "mask_black"})"),
                              "integrated-gradients", "md");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->type, VisualizationType::kPixels);
  EXPECT_EQ(v->polarity, Polarity::kBoth);
  EXPECT_EQ(v->color_map, ColorMap::kRedGreen);
  EXPECT_DOUBLE_EQ(v->clip_percent_upperbound, 95);
  EXPECT_DOUBLE_EQ(v->clip_percent_lowerbound, 10);
  EXPECT_EQ(v->overlay_type, OverlayType::kMaskBlack);
}

TEST(VisualizationTest, ReadsCamelCaseAndUpperCaseValues) {
  auto v = ParseVisualization(Json::parse(R"({"type": "OUTLINES", "polarity": "NEGATIVE",
      "colorMap": "PINK_WHITE_GREEN", "clipPercentUpperbound": 90, "clipPercentLowerbound": 5,
      "overlayType": "GRAYSCALE"})"),
                              "xrai", "md");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->type, VisualizationType::kOutlines);
  EXPECT_EQ(v->polarity, Polarity::kNegative);
  EXPECT_EQ(v->color_map, ColorMap::kPinkWhiteGreen);
  EXPECT_DOUBLE_EQ(v->clip_percent_upperbound, 90);
  EXPECT_DOUBLE_EQ(v->clip_percent_lowerbound, 5);
  EXPECT_EQ(v->overlay_type, OverlayType::kGrayscale);
}

TEST(VisualizationTest, EnumsMayBeTheirProtoNumbers) {
  // google.cloud.aiplatform.v1 ExplanationMetadata.InputMetadata.Visualization's
  // numbers, as the SDK's to_json() writes them (RED_GREEN is 6, PINK_WHITE_GREEN 5).
  struct Case {
    Json json;
    VisualizationType type;
    Polarity polarity;
    ColorMap color_map;
    OverlayType overlay;
  };
  for (const Case& c : {
           Case{{{"type", 1}, {"polarity", 1}, {"colorMap", 1}, {"overlayType", 1}},
                VisualizationType::kPixels, Polarity::kPositive, ColorMap::kPinkGreen, OverlayType::kNone},
           Case{{{"type", 2}, {"polarity", 2}, {"colorMap", 2}, {"overlayType", 2}},
                VisualizationType::kOutlines, Polarity::kNegative, ColorMap::kViridis, OverlayType::kOriginal},
           Case{{{"polarity", 3}, {"color_map", 3}, {"overlay_type", 3}},
                VisualizationType::kPixels, Polarity::kBoth, ColorMap::kRed, OverlayType::kGrayscale},
           Case{{{"colorMap", 4}, {"overlayType", 4}},
                VisualizationType::kPixels, Polarity::kPositive, ColorMap::kGreen, OverlayType::kMaskBlack},
           Case{{{"colorMap", 5}}, VisualizationType::kPixels, Polarity::kPositive, ColorMap::kPinkWhiteGreen,
                OverlayType::kNone},
           Case{{{"colorMap", 6}}, VisualizationType::kPixels, Polarity::kPositive, ColorMap::kRedGreen,
                OverlayType::kNone},
       }) {
    auto v = ParseVisualization(c.json, "xrai", "md");
    ASSERT_TRUE(v.ok()) << c.json.dump() << ": " << v.status().ToString();
    EXPECT_EQ(v->type, c.type) << c.json.dump();
    EXPECT_EQ(v->polarity, c.polarity) << c.json.dump();
    EXPECT_EQ(v->color_map, c.color_map) << c.json.dump();
    EXPECT_EQ(v->overlay_type, c.overlay) << c.json.dump();
  }
  // 0 is each enum's _UNSPECIFIED: the method's default.
  auto zeros = ParseVisualization(Json{{"type", 0}, {"polarity", 0}, {"colorMap", 0}, {"overlayType", 0}},
                                  "integrated-gradients", "md");
  ASSERT_TRUE(zeros.ok()) << zeros.status().ToString();
  EXPECT_EQ(zeros->type, VisualizationType::kOutlines);
  EXPECT_EQ(zeros->color_map, ColorMap::kPinkGreen);
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"colorMap", 7}}, "xrai", "md").status(),
                        StatusCode::kInvalidArgument, {"md.colorMap is 7", "5 (PINK_WHITE_GREEN)", "6 (RED_GREEN)"}));
}

TEST(VisualizationTest, AZeroClipBoundInVertexsNamesIsTheDefault) {
  // proto3 cannot tell 0 from unset: to_json() writes 0.0 for both bounds left
  // unset, which Vertex reads as 99.9 and 62.
  for (const Json& json : {Json{{"clipPercentUpperbound", 0.0}, {"clipPercentLowerbound", 0.0}},
                           Json{{"clip_percent_upperbound", 0}, {"clip_percent_lowerbound", "0"}}}) {
    auto v = ParseVisualization(json, "xrai", "md");
    ASSERT_TRUE(v.ok()) << json.dump() << ": " << v.status().ToString();
    EXPECT_DOUBLE_EQ(v->clip_percent_upperbound, kDefaultClipPercentUpperbound);
    EXPECT_DOUBLE_EQ(v->clip_percent_lowerbound, kDefaultClipPercentLowerbound);
  }
  // The SDK's names are plain JSON: a lower bound of 0 clips nothing below.
  auto sdk = ParseVisualization(Json{{"clip_below_percentile", 0}}, "xrai", "md");
  ASSERT_TRUE(sdk.ok()) << sdk.status().ToString();
  EXPECT_DOUBLE_EQ(sdk->clip_percent_lowerbound, 0);
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"clip_above_percentile", 0}}, "xrai", "md").status(),
                        StatusCode::kInvalidArgument, {"must be below clip_above_percentile (0.0)"}));
}

TEST(VisualizationTest, VertexsUnspecifiedValuesKeepTheMethodDefaults) {
  auto v = ParseVisualization(Json::parse(R"({"type": "TYPE_UNSPECIFIED", "polarity": "POLARITY_UNSPECIFIED",
      "colorMap": "COLOR_MAP_UNSPECIFIED", "overlayType": "OVERLAY_TYPE_UNSPECIFIED"})"),
                              "xrai", "md");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const Visualization defaults = DefaultVisualization("xrai");
  EXPECT_EQ(v->type, defaults.type);
  EXPECT_EQ(v->polarity, defaults.polarity);
  EXPECT_EQ(v->color_map, defaults.color_map);
  EXPECT_EQ(v->overlay_type, defaults.overlay_type);
  // One field's default is not another's.
  EXPECT_FALSE(ParseVisualization(Json{{"polarity", "TYPE_UNSPECIFIED"}}, "xrai", "md").ok());
}

TEST(VisualizationTest, MetadataOverridesOnlyWhatItSays) {
  auto v = ParseVisualization(Json::parse(R"({"overlay_type": "original"})"), "xrai", "md");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->type, VisualizationType::kPixels);
  EXPECT_EQ(v->color_map, ColorMap::kViridis);
  EXPECT_EQ(v->overlay_type, OverlayType::kOriginal);
}

TEST(VisualizationTest, EveryNameRoundTrips) {
  for (const char* name : {"pink_green", "viridis", "red", "green", "red_green", "pink_white_green"}) {
    auto v = ParseVisualization(Json{{"color_map", name}}, "xrai", "md");
    ASSERT_TRUE(v.ok()) << name;
    EXPECT_STREQ(ColorMapName(v->color_map), name);
  }
  for (const char* name : {"none", "original", "grayscale", "mask_black"}) {
    auto v = ParseVisualization(Json{{"overlayType", name}}, "xrai", "md");
    ASSERT_TRUE(v.ok()) << name;
    EXPECT_STREQ(OverlayTypeName(v->overlay_type), name);
  }
}

TEST(VisualizationTest, BadValuesNameTheFieldAndTheChoices) {
  const std::string where = "metadata inputs.image.visualization";
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"colorMap", "jet"}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {where + ".colorMap", "\"jet\"", "viridis", "pink_white_green"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"type", "dots"}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {".type", "pixels, outlines"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"polarity", "all"}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {".polarity", "positive, negative, both"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"polarity", 4}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {".polarity is 4", "1 (POSITIVE), 2 (NEGATIVE), 3 (BOTH)"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"overlay_type", "sepia"}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {".overlay_type", "mask_black"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"clip_percent_upperbound", 101}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {".clip_percent_upperbound", "0 to 100"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"clipPercentLowerbound", "sixty"}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {".clipPercentLowerbound"}));
  EXPECT_TRUE(FailsWith(
      ParseVisualization(Json{{"clipPercentLowerbound", 90}, {"clipPercentUpperbound", 80}}, "xrai", where).status(),
      StatusCode::kInvalidArgument, {"must be below clipPercentUpperbound"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"colour_map", "red"}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {"unknown field 'colour_map'"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json::array({1}), "xrai", where).status(), StatusCode::kInvalidArgument,
                        {where + " must be an object"}));
  EXPECT_TRUE(FailsWith(
      ParseVisualization(Json{{"color_map", "red"}, {"colorMap", "green"}}, "xrai", where).status(),
      StatusCode::kInvalidArgument));
}

TEST(VisualizationTest, ReadsTheExplainableAiSdksNames) {
  // What explainable_ai_sdk's VisualizationParameters writes.
  auto v = ParseVisualization(Json::parse(R"({"type": "pixels", "clip_above_percentile": 95,
      "clip_below_percentile": 10, "overlay_type": "mask"})"),
                              "integrated-gradients", "md");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_DOUBLE_EQ(v->clip_percent_upperbound, 95);
  EXPECT_DOUBLE_EQ(v->clip_percent_lowerbound, 10);
  EXPECT_EQ(v->overlay_type, OverlayType::kMaskBlack);
  EXPECT_STREQ(OverlayTypeName(v->overlay_type), "mask_black");
  EXPECT_TRUE(v->not_drawn.empty());
}

TEST(VisualizationTest, TheSdksSettingsThatAreNotDrawnAreNamed) {
  auto v = ParseVisualization(Json::parse(R"({"blur_sigma": 2, "overlay_multiplier": 0.5, "output_format": "JPEG",
      "resized_shape": [224, 224], "translate": [0, 3], "shade_within_outlines": false})"),
                              "integrated-gradients", "md");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->not_drawn, (std::vector<std::string>{"blur_sigma", "overlay_multiplier", "shade_within_outlines",
                                                    "output_format", "resized_shape", "translate"}));
}

TEST(VisualizationTest, TheSdksSettingsAreStillChecked) {
  const std::string where = "md";
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"blur_sigma", -1}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {"md.blur_sigma", ">= 0"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"overlay_multiplier", 7}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {"md.overlay_multiplier", "from 0 to 1"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"translate", {-5, 9}}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {"md.translate", "integers >= 0"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"resized_shape", {0, 3}}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {"md.resized_shape", "integers >= 1"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"shade_within_outlines", "yes"}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {"md.shade_within_outlines", "true or false"}));
  // The bounds are named as written, a default by its camelCase name.
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"clip_above_percentile", 50}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument,
                        {"clipPercentLowerbound (62.0) must be below clip_above_percentile (50.0)"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"output_format", "gif"}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {"md.output_format", "png, jpeg"}));
  EXPECT_TRUE(FailsWith(ParseVisualization(Json{{"resized_shape", 224}}, "xrai", where).status(),
                        StatusCode::kInvalidArgument, {"md.resized_shape", "two integers"}));
  // One bound given twice, under both names.
  EXPECT_TRUE(FailsWith(
      ParseVisualization(Json{{"clip_above_percentile", 90}, {"clip_percent_upperbound", 95}}, "xrai", where).status(),
      StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace xai
