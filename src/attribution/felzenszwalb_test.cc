#include "attribution/felzenszwalb.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using testing::FailsWith;

// An [H, W, C] image with every pixel set by `value(y, x)` on every channel.
template <typename ValueFn>
Tensor Image(int64_t height, int64_t width, int64_t channels, ValueFn value) {
  Tensor image(DType::kFloat64, {height, width, channels});
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int64_t c = 0; c < channels; ++c) image.values[(y * width + x) * channels + c] = value(y, x);
    }
  }
  return image;
}

// Seeded uniform noise in [0, 255], independently per channel.
Tensor NoiseImage(int64_t height, int64_t width, int64_t channels, uint32_t seed) {
  Tensor image(DType::kFloat64, {height, width, channels});
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> noise(0.0, 255.0);
  for (double& v : image.values) v = noise(random);
  return image;
}

// A smooth gradient plus noise: structure at several scales.
Tensor TexturedImage(int64_t height, int64_t width, uint32_t seed) {
  Tensor image = NoiseImage(height, width, 3, seed);
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int64_t c = 0; c < 3; ++c) {
        double& v = image.values[(y * width + x) * 3 + c];
        v = 0.3 * v + 100.0 * std::sin(0.2 * x + c) + 60.0 * std::cos(0.15 * y);
      }
    }
  }
  return image;
}

FelzenszwalbOptions Options(double scale, double sigma, int min_size) {
  FelzenszwalbOptions options;
  options.scale = scale;
  options.sigma = sigma;
  options.min_size = min_size;
  return options;
}

SegmentLabels Segment(const Tensor& image, const FelzenszwalbOptions& options) {
  StatusOr<SegmentLabels> labels = FelzenszwalbSegment(image, options);
  EXPECT_TRUE(labels.ok()) << labels.status().ToString();
  return labels.ok() ? *labels : SegmentLabels{};
}

// Labels are 0..n-1, each used, numbered in raster order of first appearance.
void ExpectContiguousRasterLabels(const SegmentLabels& segments) {
  ASSERT_EQ(segments.labels.size(), static_cast<size_t>(segments.height * segments.width));
  int32_t next = 0;
  for (int32_t label : segments.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LE(label, next) << "label " << label << " appears before label " << next;
    if (label == next) ++next;
  }
  EXPECT_EQ(next, segments.num_segments);
}

TEST(FelzenszwalbTest, TwoColorImageSplitsExactlyAtTheBoundaryForARangeOfScales) {
  const Tensor image = Image(32, 32, 3, [](int64_t, int64_t x) { return x < 16 ? 0.0 : 255.0; });
  // Without smoothing every scale below the boundary's weight times the half's
  // size (441 * 512) keeps the halves apart; with the paper's smoothing the
  // blurred columns at the boundary are merged into their side by min_size.
  const std::vector<FelzenszwalbOptions> cases = {
      Options(1, 0, 0),     Options(30, 0, 0),     Options(300, 0, 0),
      Options(3000, 0, 0),  Options(50000, 0, 0),  Options(30, 0.8, 64),
      Options(300, 0.8, 64), Options(1000, 0.8, 64), Options(5000, 0.8, 64)};
  for (const FelzenszwalbOptions& options : cases) {
    SCOPED_TRACE("scale " + std::to_string(options.scale) + " sigma " +
                 std::to_string(options.sigma));
    const SegmentLabels segments = Segment(image, options);
    ASSERT_EQ(segments.num_segments, 2);
    for (int64_t y = 0; y < 32; ++y) {
      for (int64_t x = 0; x < 32; ++x) {
        ASSERT_EQ(segments.labels[y * 32 + x], x < 16 ? 0 : 1) << "at y " << y << " x " << x;
      }
    }
  }
}

TEST(FelzenszwalbTest, ScaleAboveTheBoundaryWeightTimesHalfSizeMergesTheHalves) {
  // The boundary edges weigh 255 * sqrt(3) = 441.7; each half has 512 pixels.
  const Tensor image = Image(32, 32, 3, [](int64_t, int64_t x) { return x < 16 ? 0.0 : 255.0; });
  EXPECT_EQ(Segment(image, Options(441.0 * 512, 0, 0)).num_segments, 2);
  EXPECT_EQ(Segment(image, Options(442.0 * 512, 0, 0)).num_segments, 1);
}

TEST(FelzenszwalbTest, ConstantImageIsOneSegment) {
  for (double sigma : {0.0, 0.8, 2.0}) {
    for (double scale : {0.01, 1.0, 500.0}) {
      const SegmentLabels segments = Segment(Image(20, 17, 3, [](int64_t, int64_t) { return 77.0; }),
                                             Options(scale, sigma, 0));
      EXPECT_EQ(segments.num_segments, 1);
      for (int32_t label : segments.labels) EXPECT_EQ(label, 0);
    }
  }
}

TEST(FelzenszwalbTest, NeighboursAreEightConnected) {
  // A white diagonal on black: the diagonal is one segment only through the
  // diagonal edges, and the black pixels on either side of it touch only
  // diagonally across it, so 8-connectivity gives 2 segments (4-connectivity
  // would give 3 white + 2 black).
  const Tensor image = Image(3, 3, 1, [](int64_t y, int64_t x) { return x == y ? 255.0 : 0.0; });
  const SegmentLabels segments = Segment(image, Options(1, 0, 0));
  EXPECT_EQ(segments.num_segments, 2);
  EXPECT_EQ(segments.labels, (std::vector<int32_t>{0, 1, 1, 1, 0, 1, 1, 1, 0}));
}

TEST(FelzenszwalbTest, MinSizeMergesTinyNoiseBlobsIntoTheirSurroundings) {
  // Black, with three 1-pixel and two 2x2 white blobs.
  const std::set<std::pair<int64_t, int64_t>> white = {
      {2, 3}, {10, 20}, {25, 5}, {15, 15}, {15, 16}, {16, 15}, {16, 16},
      {5, 28}, {5, 29}, {6, 28}, {6, 29}};
  const Tensor image = Image(32, 32, 3, [&](int64_t y, int64_t x) {
    return white.count({y, x}) ? 255.0 : 0.0;
  });
  const SegmentLabels kept = Segment(image, Options(100, 0, 0));
  EXPECT_EQ(kept.num_segments, 1 + 5);
  const SegmentLabels merged = Segment(image, Options(100, 0, 5));
  EXPECT_EQ(merged.num_segments, 1);
  // A min size of 2 merges the single pixels only.
  EXPECT_EQ(Segment(image, Options(100, 0, 2)).num_segments, 1 + 2);
}

TEST(FelzenszwalbTest, MinSizeBoundsTheSmallestSegment) {
  const Tensor image = NoiseImage(40, 30, 3, 11);
  for (int min_size : {1, 5, 20, 100}) {
    const SegmentLabels segments = Segment(image, Options(50, 0.8, min_size));
    std::vector<int> sizes(segments.num_segments, 0);
    for (int32_t label : segments.labels) ++sizes[label];
    for (int size : sizes) EXPECT_GE(size, min_size) << "min_size " << min_size;
  }
}

TEST(FelzenszwalbTest, LabelsAreContiguousInRasterOrder) {
  for (const Tensor& image : {NoiseImage(23, 31, 3, 1), TexturedImage(40, 40, 2)}) {
    for (double scale : {5.0, 30.0, 150.0}) {
      const SegmentLabels segments = Segment(image, Options(scale, 0.8, 4));
      EXPECT_GT(segments.num_segments, 1);
      ExpectContiguousRasterLabels(segments);
      EXPECT_EQ(segments.height, image.shape[0]);
      EXPECT_EQ(segments.width, image.shape[1]);
    }
  }
}

TEST(FelzenszwalbTest, LargerScaleGivesFewerOrEqualSegmentsOnANoisyImage) {
  const Tensor image = TexturedImage(64, 64, 5);
  StatusOr<FelzenszwalbGraph> graph = FelzenszwalbGraph::Build(image, 0.8);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  int previous = std::numeric_limits<int>::max();
  int first = 0;
  for (double scale : {10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0}) {
    StatusOr<SegmentLabels> segments = graph->Segment(scale, 10);
    ASSERT_TRUE(segments.ok());
    EXPECT_LE(segments->num_segments, previous) << "scale " << scale;
    previous = segments->num_segments;
    if (first == 0) first = previous;
  }
  EXPECT_GT(first, 4 * previous);  // the scales really differ.
}

TEST(FelzenszwalbTest, OneGraphSegmentsLikeTheOneShotFunction) {
  const Tensor image = TexturedImage(30, 40, 9);
  StatusOr<FelzenszwalbGraph> graph = FelzenszwalbGraph::Build(image, 0.8);
  ASSERT_TRUE(graph.ok());
  for (double scale : {20.0, 300.0}) {
    StatusOr<SegmentLabels> from_graph = graph->Segment(scale, 8);
    ASSERT_TRUE(from_graph.ok());
    EXPECT_EQ(from_graph->labels, Segment(image, Options(scale, 0.8, 8)).labels);
  }
}

TEST(FelzenszwalbTest, GrayscaleImagesWithoutAChannelDimensionWork) {
  Tensor gray(DType::kFloat32, {8, 10});
  for (int64_t y = 0; y < 8; ++y) {
    for (int64_t x = 0; x < 10; ++x) gray.values[y * 10 + x] = y < 4 ? 10.0 : 200.0;
  }
  const SegmentLabels segments = Segment(gray, Options(100, 0, 0));
  EXPECT_EQ(segments.num_segments, 2);
  EXPECT_EQ(segments.labels[0], 0);
  EXPECT_EQ(segments.labels[79], 1);
  EXPECT_EQ(segments.labels[39], 0);
  EXPECT_EQ(segments.labels[40], 1);
}

TEST(FelzenszwalbTest, OnePixelAndOneRowImagesWork) {
  EXPECT_EQ(Segment(Image(1, 1, 3, [](int64_t, int64_t) { return 1.0; }), Options(1, 0.8, 5))
                .num_segments,
            1);
  const SegmentLabels row =
      Segment(Image(1, 6, 1, [](int64_t, int64_t x) { return x < 3 ? 0.0 : 255.0; }),
              Options(10, 0, 0));
  EXPECT_EQ(row.labels, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
}

TEST(FelzenszwalbTest, BadImagesAndOptionsAreRejectedNamingTheValue) {
  auto code = [](const Tensor& image, const FelzenszwalbOptions& options) {
    return FelzenszwalbSegment(image, options).status();
  };
  const Tensor good = Image(4, 4, 3, [](int64_t, int64_t) { return 1.0; });

  EXPECT_TRUE(FailsWith(code(Tensor(DType::kFloat32, {16}), {}), StatusCode::kInvalidArgument,
                        {"[16]"}));

  EXPECT_EQ(code(Tensor(DType::kFloat32, {0, 4, 3}), {}).code(), StatusCode::kInvalidArgument);

  Tensor short_values = good;
  short_values.values.pop_back();
  EXPECT_EQ(code(short_values, {}).code(), StatusCode::kInvalidArgument);

  Tensor nan = good;
  nan.values[5] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(FailsWith(code(nan, {}), StatusCode::kInvalidArgument, {"element 5"}));

  EXPECT_TRUE(FailsWith(code(good, Options(0, 0.8, 1)), StatusCode::kInvalidArgument, {"scale"}));
  EXPECT_EQ(code(good, Options(std::numeric_limits<double>::infinity(), 0.8, 1)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(FailsWith(code(good, Options(1, -1, 1)), StatusCode::kInvalidArgument, {"sigma"}));
  EXPECT_EQ(code(good, Options(1, 100, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(good, Options(1, 0.8, -1)).code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(code(Tensor(DType::kFloat32, {2048, 2048}), {}).code(),
            StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace xai
