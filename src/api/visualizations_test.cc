#include "api/visualizations.h"

#include <gtest/gtest.h>

#include "render/png.h"
#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::FailsWith;

BoundInput Input(const std::string& name, DType dtype, const std::string& modality = "numeric") {
  BoundInput input;
  input.metadata.name = name;
  input.metadata.input_tensor_name = name;
  input.metadata.modality = modality;
  input.tensor.key = name;
  input.tensor.tensor_name = name + ":0";
  input.tensor.dtype = dtype;
  input.signature_key = name;
  return input;
}

Tensor Ramp(Shape shape) {
  Tensor t(DType::kFloat64, std::move(shape));
  for (size_t i = 0; i < t.values.size(); ++i) t.values[i] = static_cast<double>(i % 7) - 2.0;
  return t;
}

InstanceExplanation Explanation(const std::string& method, std::vector<Tensor> attributions, int entries = 1) {
  InstanceExplanation e;
  e.method = method;
  for (int i = 0; i < entries; ++i) {
    OutputAttribution out;
    out.output_name = "probabilities";
    out.output_index = {i};
    out.attribution.attributions = attributions;
    e.outputs.push_back(out);
  }
  return e;
}

TEST(IsImageAttributionTest, ImageModalityOrFloatHwcWithOneOrThreeChannels) {
  EXPECT_TRUE(IsImageAttribution(Input("image", DType::kFloat32, "image"), Tensor(DType::kFloat64, {1, 4, 4, 3})));
  EXPECT_TRUE(IsImageAttribution(Input("image", DType::kFloat32, "image"), Tensor(DType::kFloat64, {1, 4, 4})));
  EXPECT_TRUE(IsImageAttribution(Input("x", DType::kFloat32), Tensor(DType::kFloat64, {1, 4, 4, 1})));
  EXPECT_FALSE(IsImageAttribution(Input("x", DType::kFloat32), Tensor(DType::kFloat64, {1, 4, 4, 5})));
  EXPECT_FALSE(IsImageAttribution(Input("x", DType::kFloat32), Tensor(DType::kFloat64, {1, 30})));
  EXPECT_FALSE(IsImageAttribution(Input("x", DType::kFloat32, "text"), Tensor(DType::kFloat64, {1, 4, 4, 3})));
  EXPECT_FALSE(IsImageAttribution(Input("image", DType::kFloat32, "image"), Tensor(DType::kFloat64, {1, 30})));
}

TEST(RenderExplanationPicturesTest, ImageInputsGetAPngOfTheirSize) {
  const std::vector<BoundInput> inputs = {Input("image", DType::kFloat32, "image")};
  const Tensor original = Ramp({1, 6, 5, 3});
  auto pictures = RenderExplanationPictures(Explanation("xrai", {Ramp({1, 6, 5, 3})}, 2), inputs, {&original});
  ASSERT_TRUE(pictures.ok()) << pictures.status().ToString();
  ASSERT_EQ(pictures->size(), 2u);  // one per attribution entry
  ASSERT_EQ((*pictures)[0].size(), 1u);
  const auto& [name, picture] = (*pictures)[0][0];
  EXPECT_EQ(name, "image");
  EXPECT_EQ(picture.mime_type, "image/png");
  EXPECT_STREQ(picture.extension(), "png");
  auto decoded = DecodeImage(picture.bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->width, 5);
  EXPECT_EQ(decoded->height, 6);
}

TEST(RenderExplanationPicturesTest, TheMetadataVisualizationDecides) {
  BoundInput input = Input("image", DType::kFloat32, "image");
  const Tensor attribution = Ramp({1, 4, 4, 1});
  auto defaults = RenderExplanationPictures(Explanation("xrai", {attribution}), {input}, {nullptr});
  input.metadata.visualization = Json{{"colorMap", "red"}, {"type", "pixels"}};
  auto red = RenderExplanationPictures(Explanation("xrai", {attribution}), {input}, {nullptr});
  ASSERT_TRUE(defaults.ok() && red.ok());
  EXPECT_NE((*defaults)[0][0].second.bytes, (*red)[0][0].second.bytes);
  const Image image = *DecodeImage((*red)[0][0].second.bytes);
  for (int64_t y = 0; y < 4; ++y) {
    for (int64_t x = 0; x < 4; ++x) {
      const Rgb c = image.rgb_at(x, y);
      EXPECT_EQ(c.g, 0);  // only shades of red
      EXPECT_EQ(c.b, 0);
    }
  }
}

TEST(RenderExplanationPicturesTest, BadVisualizationMetadataNamesTheField) {
  BoundInput input = Input("image", DType::kFloat32, "image");
  input.metadata.visualization = Json{{"colorMap", "rainbow"}};
  auto pictures = RenderExplanationPictures(Explanation("xrai", {Ramp({1, 4, 4, 3})}), {input}, {nullptr});
  EXPECT_TRUE(FailsWith(pictures.status(), StatusCode::kInvalidArgument,
                        {"metadata inputs.image.visualization.colorMap", "rainbow", "viridis"}));
}

TEST(CheckVisualizationMetadataTest, ABadVisualizationIsFoundWithoutAPicture) {
  ExplanationMetadata metadata;
  metadata.source = "md.json";
  metadata.inputs.push_back(Input("table", DType::kFloat32, "numeric").metadata);
  EXPECT_TRUE(CheckVisualizationMetadata(metadata).ok());
  metadata.inputs.push_back(Input("image", DType::kFloat32, "image").metadata);
  metadata.inputs.back().visualization = Json{{"overlayType", "sepia"}};
  EXPECT_TRUE(FailsWith(CheckVisualizationMetadata(metadata), StatusCode::kInvalidArgument,
                        {"md.json: inputs.image.visualization.overlayType", "sepia"}));
}

TEST(CheckVisualizationMetadataTest, SettingsThatAreNotDrawnGetANotePerInput) {
  ExplanationMetadata metadata;
  metadata.source = "md.json";
  metadata.inputs.push_back(Input("image", DType::kFloat32, "image").metadata);
  metadata.inputs.back().visualization = Json{{"type", "pixels"}, {"overlay_multiplier", 0.5}, {"translate", {1, 2}}};
  metadata.inputs.push_back(Input("plain", DType::kFloat32, "image").metadata);
  metadata.inputs.back().visualization = Json{{"type", "pixels"}};
  std::vector<std::string> notes;
  ASSERT_TRUE(CheckVisualizationMetadata(metadata, &notes).ok());
  EXPECT_EQ(notes, std::vector<std::string>{"md.json: inputs.image.visualization: overlay_multiplier, translate "
                                            "accepted but not applied to xaiserve's pictures"});
}

TEST(RenderExplanationPicturesTest, TabularInputsGetABarChartWithTheirFeatureNames) {
  BoundInput named = Input("words", DType::kFloat32);
  named.metadata.index_feature_mapping = {"good", "bad", "dull"};
  const std::vector<BoundInput> inputs = {Input("features", DType::kFloat32), named};
  const Tensor features = Tensor::FromValues(DType::kFloat64, {1, 3}, {0.1, -0.7, 0.3});
  const Tensor words = Tensor::FromValues(DType::kFloat64, {1, 3}, {0.5, -0.2, 0.0});
  auto pictures = RenderExplanationPictures(Explanation("integrated-gradients", {features, words}), inputs, {});
  ASSERT_TRUE(pictures.ok()) << pictures.status().ToString();
  ASSERT_EQ((*pictures)[0].size(), 2u);
  const auto& [name, chart] = (*pictures)[0][0];
  EXPECT_EQ(name, "features");
  EXPECT_EQ(chart.mime_type, "image/svg+xml");
  EXPECT_STREQ(chart.extension(), "svg");
  EXPECT_LT(chart.bytes.find("features[1]"), chart.bytes.find("features[2]"));  // |-0.7| first
  EXPECT_LT(chart.bytes.find("features[2]"), chart.bytes.find("features[0]"));
  EXPECT_NE((*pictures)[0][1].second.bytes.find(">good<"), std::string::npos);
  EXPECT_NE((*pictures)[0][1].second.bytes.find(">dull<"), std::string::npos);
}

TEST(RenderExplanationPicturesTest, GroupsGetOneChartWithABarPerMember) {
  BoundInput a = Input("age", DType::kFloat32);
  BoundInput b = Input("income", DType::kFloat32);
  a.metadata.group_name = b.metadata.group_name = "person";
  auto pictures = RenderExplanationPictures(
      Explanation("sampled-shapley", {Tensor::FromValues(DType::kFloat64, {1}, {0.25}),
                                      Tensor::FromValues(DType::kFloat64, {1, 2}, {1, -3})}),
      {a, b}, {});
  ASSERT_TRUE(pictures.ok()) << pictures.status().ToString();
  ASSERT_EQ((*pictures)[0].size(), 1u);
  const auto& [name, chart] = (*pictures)[0][0];
  EXPECT_EQ(name, "person");
  EXPECT_NE(chart.bytes.find("<title>income: -2</title>"), std::string::npos) << chart.bytes;
  EXPECT_NE(chart.bytes.find("<title>age: 0.25</title>"), std::string::npos) << chart.bytes;
}

}  // namespace
}  // namespace xai
