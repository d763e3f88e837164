#include "render/image_tensor.h"

#include <gtest/gtest.h>

#include <cmath>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::FailsWith;

Image Gray(int64_t width, int64_t height, std::vector<uint8_t> pixels) {
  Image image(width, height, 1);
  image.pixels = std::move(pixels);
  return image;
}

Image Rgb3(int64_t width, int64_t height, std::vector<uint8_t> pixels) {
  Image image(width, height, 3);
  image.pixels = std::move(pixels);
  return image;
}

TEST(ResizeBilinearTest, SameSizeIsTheIdentity) {
  const Image image = Gray(3, 2, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(ResizeBilinear(image, 3, 2), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(ResizeBilinearTest, UpscalesWithHalfPixelCentres) {
  // Source x of output o: (o + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
  EXPECT_EQ(ResizeBilinear(Gray(2, 1, {0, 100}), 4, 1), (std::vector<double>{0, 25, 75, 100}));
}

TEST(ResizeBilinearTest, DownscalesByAveragingNeighbours) {
  // Source x of output o: (o + 0.5) * 2 - 0.5 = 0.5, 2.5.
  EXPECT_EQ(ResizeBilinear(Gray(4, 1, {0, 10, 20, 30}), 2, 1), (std::vector<double>{5, 25}));
  // Both axes at once: a 2x2 checkerboard to 1x1 is its mean.
  EXPECT_EQ(ResizeBilinear(Gray(2, 2, {0, 100, 100, 0}), 1, 1), (std::vector<double>{50}));
}

TEST(ResizeBilinearTest, KeepsChannelsApart) {
  const Image image = Rgb3(2, 1, {0, 10, 200, 100, 30, 0});
  EXPECT_EQ(ResizeBilinear(image, 1, 1), (std::vector<double>{50, 20, 100}));
}

TEST(ImageToTensorRowTest, ScalesBytesToTheDomain) {
  const Image image = Rgb3(2, 1, {0, 51, 255, 255, 0, 102});
  auto unit = ImageToTensorRow(image, {1, 2, 3}, DType::kFloat32, {});
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  EXPECT_EQ(unit->shape, (Shape{1, 1, 2, 3}));
  EXPECT_EQ(unit->dtype, DType::kFloat32);
  EXPECT_DOUBLE_EQ(unit->values[0], 0);
  EXPECT_DOUBLE_EQ(unit->values[1], 0.2);
  EXPECT_DOUBLE_EQ(unit->values[2], 1);
  EXPECT_DOUBLE_EQ(unit->values[3], 1);

  auto symmetric = ImageToTensorRow(image, {1, 2, 3}, DType::kFloat32, {-1, 1});
  ASSERT_TRUE(symmetric.ok());
  EXPECT_DOUBLE_EQ(symmetric->values[0], -1);
  EXPECT_DOUBLE_EQ(symmetric->values[2], 1);
  EXPECT_DOUBLE_EQ(symmetric->values[1], -0.6);
}

TEST(ImageToTensorRowTest, ConvertsToGrayWithTheLuma) {
  const Image image = Rgb3(1, 1, {200, 100, 50});
  auto gray = ImageToTensorRow(image, {1, 1, 1}, DType::kFloat32, {0, 255});
  ASSERT_TRUE(gray.ok());
  EXPECT_EQ(gray->shape, (Shape{1, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(gray->values[0], 124);  // round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)
}

TEST(ImageToTensorRowTest, ResizesToTheInputAndTakesTheImageSizeWhenUnknown) {
  const Image image = Rgb3(2, 1, {0, 0, 0, 255, 255, 255});
  auto resized = ImageToTensorRow(image, {2, 4, 3}, DType::kFloat32, {0, 255});
  ASSERT_TRUE(resized.ok());
  EXPECT_EQ(resized->shape, (Shape{1, 2, 4, 3}));
  EXPECT_DOUBLE_EQ(resized->values[3], 63.75);  // x = 1 of 4: a quarter of the way

  auto any = ImageToTensorRow(image, {-1, -1, 3}, DType::kFloat32, {});
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->shape, (Shape{1, 1, 2, 3}));
}

TEST(ImageToTensorRowTest, RefusesOtherChannelCounts) {
  EXPECT_TRUE(FailsWith(ImageToTensorRow(Rgb3(1, 1, {1, 2, 3}), {1, 1, 4}, DType::kFloat32, {}).status(),
                        StatusCode::kInvalidArgument, {"[H,W,1] or [H,W,3]"}));
}

TEST(IsImageInputSpecTest, FloatingOrUint8HwcWithOneOrThreeChannels) {
  EXPECT_TRUE(IsImageInputSpec(DType::kFloat32, Shape{32, 32, 3}));
  EXPECT_TRUE(IsImageInputSpec(DType::kFloat64, Shape{-1, -1, 1}));
  EXPECT_TRUE(IsImageInputSpec(DType::kUInt8, Shape{32, 32, 3}));  // a model that takes bytes
  EXPECT_FALSE(IsImageInputSpec(DType::kFloat32, Shape{32, 32, 4}));
  EXPECT_FALSE(IsImageInputSpec(DType::kFloat32, Shape{32, 32}));
  EXPECT_FALSE(IsImageInputSpec(DType::kInt32, Shape{32, 32, 3}));
  EXPECT_FALSE(IsImageInputSpec(DType::kFloat32, std::nullopt));
}

TEST(ImageToTensorRowTest, Uint8InputsTakeTheBytesWhateverTheDomain) {
  const Image image = Rgb3(2, 1, {0, 1, 2, 128, 254, 255});
  auto row = ImageToTensorRow(image, {1, 2, 3}, DType::kUInt8, {-1, 1});
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->dtype, DType::kUInt8);
  EXPECT_EQ(row->values, (std::vector<double>{0, 1, 2, 128, 254, 255}));
  // Resized, a pixel is rounded to a byte.
  auto resized = ImageToTensorRow(Rgb3(2, 1, {0, 0, 0, 1, 1, 1}), {1, 1, 3}, DType::kUInt8, {});
  ASSERT_TRUE(resized.ok());
  for (double v : resized->values) EXPECT_EQ(v, std::round(v));
}

TEST(ImageFromTensorRowTest, MapsTheRangeToBytes) {
  const Tensor t = Tensor::FromValues(DType::kFloat32, {1, 1, 2, 3}, {0, 0.5, 1, 2, -1, 0.2});
  auto image = ImageFromTensorRow(t, {0, 1});
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->width, 2);
  EXPECT_EQ(image->height, 1);
  EXPECT_EQ(image->pixels, (std::vector<uint8_t>{0, 128, 255, 255, 0, 51}));
}

TEST(ImageFromTensorRowTest, GrayBecomesRgb) {
  const Tensor t = Tensor::FromValues(DType::kFloat32, {1, 1, 2}, {0, 255});
  auto image = ImageFromTensorRow(t, {0, 255});
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->pixels, (std::vector<uint8_t>{0, 0, 0, 255, 255, 255}));
  EXPECT_FALSE(ImageFromTensorRow(Tensor(DType::kFloat32, {1, 2, 2, 4}), {0, 1}).ok());
}

TEST(ImageToTensorRowTest, RoundTripsThroughBytes) {
  const Image image = Rgb3(2, 2, {0, 1, 2, 3, 100, 101, 102, 103, 252, 253, 254, 255});
  auto row = ImageToTensorRow(image, {2, 2, 3}, DType::kFloat32, {});
  ASSERT_TRUE(row.ok());
  auto back = ImageFromTensorRow(*row, {0, 1});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pixels, image.pixels);
}

TEST(DisplayRangeTest, UnitThenBytesThenMinMax) {
  EXPECT_DOUBLE_EQ(DisplayRange(Tensor::FromValues(DType::kFloat32, {2}, {0, 1})).max, 1);
  EXPECT_DOUBLE_EQ(DisplayRange(Tensor::FromValues(DType::kFloat32, {2}, {0, 17})).max, 255);
  const ValueRange r = DisplayRange(Tensor::FromValues(DType::kFloat32, {2}, {-2, 3}));
  EXPECT_DOUBLE_EQ(r.min, -2);
  EXPECT_DOUBLE_EQ(r.max, 3);
}

}  // namespace
}  // namespace xai
