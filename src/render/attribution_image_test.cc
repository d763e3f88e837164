#include "render/attribution_image.h"

#include <cmath>
#include <ostream>

#include <gtest/gtest.h>

#include "render/color_map.h"
#include "testing/status_matchers.h"

namespace xai {

std::ostream& operator<<(std::ostream& os, const Rgb& c);  // color_map_test.cc

namespace {

using ::xai::testing::FailsWith;

constexpr Rgb kBlack{0, 0, 0};

// A [1,H,W,1] attribution with the given per-pixel values.
Tensor Attribution(int64_t height, int64_t width, const std::vector<double>& values) {
  return Tensor::FromValues(DType::kFloat64, {1, height, width, 1}, values);
}

// A [1,H,W,1] attribution: `inside` on the rectangle [x0,x1) x [y0,y1), 0 elsewhere.
Tensor Rectangle(int64_t height, int64_t width, int64_t x0, int64_t y0, int64_t x1, int64_t y1, double inside) {
  std::vector<double> values(static_cast<size_t>(height * width), 0.0);
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t x = x0; x < x1; ++x) values[static_cast<size_t>(y * width + x)] = inside;
  }
  return Attribution(height, width, values);
}

// A colourful original image: a different colour at every pixel.
Image Original(int64_t width, int64_t height) {
  Image image(width, height, 3);
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      image.set_rgb(x, y, {static_cast<uint8_t>(10 + 20 * x), static_cast<uint8_t>(200 - 10 * y), 90});
    }
  }
  return image;
}

Visualization Pixels(ColorMap map, OverlayType overlay = OverlayType::kNone) {
  Visualization v;
  v.type = VisualizationType::kPixels;
  v.color_map = map;
  v.overlay_type = overlay;
  return v;
}

Image Render(const Tensor& attribution, const Visualization& v, const Image* original = nullptr) {
  StatusOr<Image> image = RenderAttributionImage(attribution, v, original);
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  return image.ok() ? *image : Image();
}

TEST(SumOverChannelsTest, SumsEachPixelsChannels) {
  const Tensor t = Tensor::FromValues(DType::kFloat32, {1, 1, 2, 3}, {1, 2, 3, -1, -1, 0.5});
  auto map = SumOverChannels(t);
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  EXPECT_EQ(map->height, 1);
  EXPECT_EQ(map->width, 2);
  EXPECT_EQ(map->values, (std::vector<double>{6, -1.5}));
}

TEST(SumOverChannelsTest, TakesGrayImagesWithoutChannels) {
  auto map = SumOverChannels(Tensor::FromValues(DType::kFloat32, {1, 2, 1}, {4, 5}));
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->values, (std::vector<double>{4, 5}));
}

TEST(SumOverChannelsTest, RefusesNonImages) {
  EXPECT_TRUE(FailsWith(SumOverChannels(Tensor::FromValues(DType::kFloat32, {1, 3}, {1, 2, 3})).status(),
                        StatusCode::kInvalidArgument, {"[1,3]", "[1,H,W,C]"}));
  EXPECT_TRUE(FailsWith(SumOverChannels(Tensor(DType::kFloat32, {2, 2, 2, 1})).status(), StatusCode::kInvalidArgument));
}

TEST(PercentileTest, InterpolatesBetweenRanksAsNumpy) {
  const std::vector<double> v = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 3);
  EXPECT_DOUBLE_EQ(Percentile(v, 62), 3.48);  // numpy.percentile([1,2,3,4,5], 62)
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 5);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0);
}

// 100 pixels with attributions 1..100.
PixelMap Ramp() {
  PixelMap map;
  map.height = 10;
  map.width = 10;
  for (int i = 1; i <= 100; ++i) map.values.push_back(i);
  return map;
}

TEST(ClipAttributionsTest, ClipsAtThePercentiles) {
  const std::vector<double> s = ClipAttributions(Ramp(), Polarity::kPositive, 10, 90);
  // lo = percentile 10 = 10.9, hi = percentile 90 = 90.1.
  for (int i = 1; i <= 10; ++i) EXPECT_EQ(s[i - 1], 0.0) << "value " << i << " is below the lower bound";
  for (int i = 91; i <= 100; ++i) EXPECT_EQ(s[i - 1], 1.0) << "value " << i << " is above the upper bound";
  EXPECT_NEAR(s[49], (50 - 10.9) / (90.1 - 10.9), 1e-12);
  for (int i = 12; i <= 90; ++i) EXPECT_LT(s[i - 2], s[i - 1]) << "strictly increasing in between";
}

TEST(ClipAttributionsTest, DefaultBoundsKeepTheTop38Percent) {
  const std::vector<double> s = ClipAttributions(Ramp(), Polarity::kPositive, 62, 99.9);
  int above = 0;
  for (double v : s) above += v > 0;
  EXPECT_EQ(above, 38);  // values 63..100 are above percentile 62 (= 62.38)
  EXPECT_EQ(s[99], 1.0);
}

TEST(ClipAttributionsTest, PolarityKeepsOneSignOrBoth) {
  PixelMap map;
  map.height = 1;
  map.width = 4;
  map.values = {2, -4, 1, -1};
  EXPECT_EQ(ClipAttributions(map, Polarity::kPositive, 0, 100), (std::vector<double>{1, 0, 0, 0}));
  // Negative: by magnitude among the negative pixels (1..4), signed.
  EXPECT_EQ(ClipAttributions(map, Polarity::kNegative, 0, 100), (std::vector<double>{0, -1, 0, 0}));
  const std::vector<double> both = ClipAttributions(map, Polarity::kBoth, 0, 100);
  // Magnitudes 1, 1, 2, 4: lo 1, hi 4.
  EXPECT_DOUBLE_EQ(both[0], 1.0 / 3);
  EXPECT_DOUBLE_EQ(both[1], -1.0);
  EXPECT_DOUBLE_EQ(both[2], 0.0);
  EXPECT_DOUBLE_EQ(both[3], 0.0);
}

TEST(ClipAttributionsTest, EqualMagnitudesAreAllFullStrength) {
  PixelMap map;
  map.height = 1;
  map.width = 3;
  map.values = {0, 3, 3};
  EXPECT_EQ(ClipAttributions(map, Polarity::kPositive, 62, 99.9), (std::vector<double>{0, 1, 1}));
}

TEST(RenderPixelsTest, OverlayNoneIsTheColourMapItself) {
  const Tensor ramp = Attribution(1, 3, {0, 1, 2});
  Visualization v = Pixels(ColorMap::kRed);
  v.clip_percent_lowerbound = 0;
  v.clip_percent_upperbound = 100;
  const Image image = Render(ramp, v);
  ASSERT_EQ(image.width, 3);
  ASSERT_EQ(image.height, 1);
  ASSERT_EQ(image.channels, 3);
  EXPECT_EQ(image.rgb_at(0, 0), kBlack);          // zero attribution
  EXPECT_EQ(image.rgb_at(1, 0), kBlack);          // at the lower bound
  EXPECT_EQ(image.rgb_at(2, 0), (Rgb{255, 0, 0}));  // at the upper bound
}

TEST(RenderPixelsTest, EachColourMapsEndsAppearInThePicture) {
  // Pixel 0: negative, pixel 1: zero, pixel 2: positive, all at full strength.
  const Tensor t = Attribution(1, 3, {-1, 0, 1});
  for (ColorMap map : {ColorMap::kPinkGreen, ColorMap::kViridis, ColorMap::kRed, ColorMap::kGreen,
                       ColorMap::kRedGreen, ColorMap::kPinkWhiteGreen}) {
    SCOPED_TRACE(ColorMapName(map));
    Visualization v = Pixels(map);
    v.polarity = Polarity::kBoth;
    const Image image = Render(t, v);
    EXPECT_EQ(image.rgb_at(0, 0), ColorAt(map, -1));
    EXPECT_EQ(image.rgb_at(1, 0), ColorAt(map, 0));
    EXPECT_EQ(image.rgb_at(2, 0), ColorAt(map, 1));
  }
}

TEST(RenderPixelsTest, PositivePolarityHidesNegativeAttributions) {
  const Tensor t = Attribution(1, 2, {-5, 5});
  const Image image = Render(t, Pixels(ColorMap::kPinkGreen));
  EXPECT_EQ(image.rgb_at(0, 0), kBlack);
  EXPECT_EQ(image.rgb_at(1, 0), (Rgb{0, 255, 0}));
  Visualization negative = Pixels(ColorMap::kPinkGreen);
  negative.polarity = Polarity::kNegative;
  const Image n = Render(t, negative);
  EXPECT_EQ(n.rgb_at(0, 0), (Rgb{255, 20, 147}));
  EXPECT_EQ(n.rgb_at(1, 0), kBlack);
}

TEST(RenderPixelsTest, OverlayOriginalShowsTheImageWhereAttributionIsWeak) {
  const Image original = Original(3, 1);
  const Tensor t = Attribution(1, 3, {0, 1, 2});
  Visualization v = Pixels(ColorMap::kGreen, OverlayType::kOriginal);
  v.clip_percent_lowerbound = 0;
  v.clip_percent_upperbound = 100;
  const Image image = Render(t, v, &original);
  EXPECT_EQ(image.rgb_at(0, 0), original.rgb_at(0, 0));
  EXPECT_EQ(image.rgb_at(1, 0), original.rgb_at(1, 0));  // strength 0 at the lower bound
  EXPECT_EQ(image.rgb_at(2, 0), (Rgb{0, 255, 0}));
}

TEST(RenderPixelsTest, OverlayBlendsByStrength) {
  Image original(3, 1, 3);
  std::fill(original.pixels.begin(), original.pixels.end(), 200);
  const Tensor t = Attribution(1, 3, {1, 2, 3});
  Visualization v = Pixels(ColorMap::kRed, OverlayType::kOriginal);
  v.clip_percent_lowerbound = 0;
  v.clip_percent_upperbound = 100;
  const Image image = Render(t, v, &original);
  // Strength 0.5: half the base (100) plus half of red at 0.5 (128 / 2 = 64).
  EXPECT_EQ(image.rgb_at(1, 0), (Rgb{164, 100, 100}));
}

TEST(RenderPixelsTest, OverlayGrayscaleConvertsTheOriginal) {
  Image original(2, 1, 3);
  original.set_rgb(0, 0, {200, 100, 50});
  original.set_rgb(1, 0, {10, 20, 30});
  const Tensor t = Attribution(1, 2, {0, 1});
  const Image image = Render(t, Pixels(ColorMap::kViridis, OverlayType::kGrayscale), &original);
  // 0.299 * 200 + 0.587 * 100 + 0.114 * 50 = 124.2
  EXPECT_EQ(image.rgb_at(0, 0), (Rgb{124, 124, 124}));
  EXPECT_EQ(image.rgb_at(1, 0), (Rgb{253, 231, 37}));

  const Image gray = Grayscale(original);
  EXPECT_EQ(gray.rgb_at(1, 0), (Rgb{18, 18, 18}));  // 2.99 + 11.74 + 3.42 = 18.15
}

TEST(RenderPixelsTest, MaskBlackZeroesPixelsBelowTheThreshold) {
  const Image original = Original(4, 1);
  const Tensor t = Attribution(1, 4, {-3, 0, 1, 5});
  Visualization v = Pixels(ColorMap::kGreen, OverlayType::kMaskBlack);
  v.clip_percent_lowerbound = 0;
  v.clip_percent_upperbound = 100;
  const Image image = Render(t, v, &original);
  EXPECT_EQ(image.rgb_at(0, 0), kBlack);  // negative: not kept
  EXPECT_EQ(image.rgb_at(1, 0), kBlack);  // zero
  EXPECT_EQ(image.rgb_at(2, 0), kBlack);  // at the lower bound
  EXPECT_EQ(image.rgb_at(3, 0), original.rgb_at(3, 0));  // at the upper bound: the original as is
}

TEST(RenderPixelsTest, WithoutAnOriginalOverlaysDrawOnBlack) {
  const Tensor t = Attribution(1, 2, {0, 1});
  const Image image = Render(t, Pixels(ColorMap::kRed, OverlayType::kOriginal), nullptr);
  EXPECT_EQ(image.rgb_at(0, 0), kBlack);
  EXPECT_EQ(image.rgb_at(1, 0), (Rgb{255, 0, 0}));
}

TEST(RenderOutlinesTest, AnEvenAttributionIsOutlinedAtTheImageBorder) {
  // Constant attribution stays constant under the smoothing: one region, the whole image.
  const Tensor t = Rectangle(12, 12, 0, 0, 12, 12, 2.0);
  const Image image = Render(t, DefaultVisualization("integrated-gradients"));  // outlines, pink_green
  for (int64_t y = 0; y < 12; ++y) {
    for (int64_t x = 0; x < 12; ++x) {
      const bool border = x == 0 || y == 0 || x == 11 || y == 11;
      EXPECT_EQ(image.rgb_at(x, y), border ? Rgb({0, 255, 0}) : kBlack) << "at " << x << "," << y;
    }
  }
}

TEST(RenderOutlinesTest, DrawsAClosedLineAroundTheRegionAndNothingInside) {
  // A 10x10 square (20..29) of positive attribution in a 50x50 image.
  const Tensor t = Rectangle(50, 50, 20, 20, 30, 30, 1.0);
  Visualization v = DefaultVisualization("integrated-gradients");
  v.clip_percent_lowerbound = 50;
  const Image image = Render(t, v);
  const Rgb green{0, 255, 0};
  const double sigma = OutlineSmoothingSigma(50, 50);
  EXPECT_DOUBLE_EQ(sigma, 2.0);
  const int reach = static_cast<int>(std::ceil(3 * sigma));  // the smoothing kernel's radius
  int drawn = 0;
  for (int64_t y = 0; y < 50; ++y) {
    for (int64_t x = 0; x < 50; ++x) {
      const Rgb c = image.rgb_at(x, y);
      ASSERT_TRUE(c == green || c == kBlack) << "at " << x << "," << y;
      if (c != green) continue;
      ++drawn;
      // On a ring around the square: not deep inside it, not beyond the smoothing's reach.
      const bool deep_inside = x >= 22 && x < 28 && y >= 22 && y < 28;
      const bool far_away = x < 20 - reach || x >= 30 + reach || y < 20 - reach || y >= 30 + reach;
      EXPECT_FALSE(deep_inside || far_away) << "outline pixel at " << x << "," << y;
    }
  }
  EXPECT_GT(drawn, 4 * 8);
  // Closed: the rows and columns through the centre cross the line on both sides.
  auto crosses = [&](bool row, int64_t from, int64_t to) {
    for (int64_t k = from; k < to; ++k) {
      if ((row ? image.rgb_at(k, 25) : image.rgb_at(25, k)) == green) return true;
    }
    return false;
  };
  EXPECT_TRUE(crosses(true, 0, 25) && crosses(true, 25, 50));
  EXPECT_TRUE(crosses(false, 0, 25) && crosses(false, 25, 50));
}

TEST(RenderOutlinesTest, BothPolaritiesOutlineEachSignInItsColour) {
  std::vector<double> values(40 * 40, 0.0);
  for (int y = 15; y < 25; ++y) {
    for (int x = 5; x < 15; ++x) values[y * 40 + x] = 1.0;    // positive square on the left
    for (int x = 25; x < 35; ++x) values[y * 40 + x] = -1.0;  // negative square on the right
  }
  Visualization v = DefaultVisualization("integrated-gradients");
  v.polarity = Polarity::kBoth;
  v.color_map = ColorMap::kRedGreen;
  const Image image = Render(Attribution(40, 40, values), v);
  int green_left = 0, red_right = 0, misplaced = 0;
  for (int64_t y = 0; y < 40; ++y) {
    for (int64_t x = 0; x < 40; ++x) {
      const Rgb c = image.rgb_at(x, y);
      if (c == Rgb{0, 255, 0}) (x < 20 ? green_left : misplaced)++;
      if (c == Rgb{255, 0, 0}) (x >= 20 ? red_right : misplaced)++;
    }
  }
  EXPECT_GT(green_left, 20);
  EXPECT_GT(red_right, 20);
  EXPECT_EQ(misplaced, 0);
  EXPECT_EQ(image.rgb_at(10, 20), kBlack);  // the squares' interiors stay clear
  EXPECT_EQ(image.rgb_at(30, 20), kBlack);
}

TEST(RenderOutlinesTest, OverlaysShowTheImageAroundTheOutline) {
  const Image original = Original(8, 8);
  const Tensor t = Rectangle(8, 8, 0, 0, 8, 8, 1.0);  // one region: the whole image
  Visualization v = DefaultVisualization("integrated-gradients");
  v.overlay_type = OverlayType::kOriginal;
  const Image over_original = Render(t, v, &original);
  EXPECT_EQ(over_original.rgb_at(0, 0), (Rgb{0, 255, 0}));
  EXPECT_EQ(over_original.rgb_at(3, 3), original.rgb_at(3, 3));

  v.overlay_type = OverlayType::kGrayscale;
  const Image over_gray = Render(t, v, &original);
  EXPECT_EQ(over_gray.rgb_at(3, 3), Grayscale(original).rgb_at(3, 3));
  EXPECT_EQ(over_gray.rgb_at(7, 7), (Rgb{0, 255, 0}));
}

TEST(RenderOutlinesTest, MaskBlackKeepsTheRegionsAndBlacksOutTheRest) {
  // Left half positive, right half negative: with positive polarity only the
  // left is a region; the smoothing blurs the boundary, so look away from it.
  std::vector<double> values(20 * 20);
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 20; ++x) values[y * 20 + x] = x < 10 ? 1.0 : -1.0;
  }
  const Image original = Original(20, 20);
  Visualization v = DefaultVisualization("integrated-gradients");
  v.overlay_type = OverlayType::kMaskBlack;
  v.clip_percent_lowerbound = 0;
  const Image masked = Render(Attribution(20, 20, values), v, &original);
  EXPECT_EQ(masked.rgb_at(3, 10), original.rgb_at(3, 10));  // inside the region: the original
  EXPECT_EQ(masked.rgb_at(16, 10), kBlack);                  // outside: black
  EXPECT_EQ(masked.rgb_at(0, 10), (Rgb{0, 255, 0}));         // the outline at the image edge
}

TEST(RegionOutlineTest, RegionsAtTheImageEdgeAreClosed) {
  const std::vector<bool> everything(9, true);
  const std::vector<bool> outline = RegionOutline(everything, 3, 3, 1);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(outline[i], i != 4) << i;
}

TEST(RegionOutlineTest, WiderOutlinesErodeFurther) {
  const std::vector<bool> everything(25, true);
  const std::vector<bool> outline = RegionOutline(everything, 5, 5, 2);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(outline[i], i != 12) << i;
}

TEST(RenderTest, RefusesAMismatchedOriginal) {
  const Image original = Original(3, 3);
  const Tensor t = Attribution(2, 2, {1, 2, 3, 4});
  EXPECT_TRUE(FailsWith(RenderAttributionImage(t, Pixels(ColorMap::kRed), &original).status(),
                        StatusCode::kInvalidArgument, {"3x3", "2x2"}));
}

TEST(RenderTest, NonFiniteAttributionsCountAsZero) {
  const Tensor t = Attribution(1, 3, {std::nan(""), 1, INFINITY});
  const Image image = Render(t, Pixels(ColorMap::kRed));
  EXPECT_EQ(image.rgb_at(0, 0), kBlack);
  EXPECT_EQ(image.rgb_at(1, 0), (Rgb{255, 0, 0}));
  EXPECT_EQ(image.rgb_at(2, 0), kBlack);
}

}  // namespace
}  // namespace xai
