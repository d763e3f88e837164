#include "attribution/xrai.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "attribution/integrated_gradients.h"
#include "testing/fake_image_models.h"
#include "testing/fake_models.h"
#include "testing/status_matchers.h"
#include "testing/test_inputs.h"

namespace xai {
namespace {

using testing::Contains;
using testing::FailsWith;
using testing::LinearModel;
using testing::Patch;
using testing::PatchImage;
using testing::PatchModel;
using testing::Sum;

Tensor Pixels(Shape shape, std::vector<double> values) {
  return Tensor::FromValues(DType::kFloat64, std::move(shape), std::move(values));
}

XraiRegion Region(std::vector<int32_t> pixels) {
  XraiRegion region;
  region.pixels = std::move(pixels);
  return region;
}

// The greedy selection written the slow, obvious way: every step recomputes
// every region's gain over its uncovered pixels.
std::vector<double> NaiveRegionMap(const std::vector<double>& value,
                                   const std::vector<XraiRegion>& regions) {
  std::vector<double> map(value.size(), 0.0);
  std::vector<bool> covered(value.size(), false);
  while (true) {
    int best = -1;
    double best_gain = 0;
    for (size_t r = 0; r < regions.size(); ++r) {
      std::set<int32_t> uncovered;
      for (int32_t p : regions[r].pixels) {
        if (!covered[p]) uncovered.insert(p);
      }
      if (uncovered.empty()) continue;
      double sum = 0;
      for (int32_t p : uncovered) sum += value[p];
      const double gain = sum / uncovered.size();
      if (best < 0 || gain > best_gain) {
        best = static_cast<int>(r);
        best_gain = gain;
      }
    }
    if (best < 0) break;
    for (int32_t p : regions[best].pixels) {
      if (!covered[p]) {
        covered[p] = true;
        map[p] = best_gain;
      }
    }
  }
  double rest = 0;
  int count = 0;
  for (size_t p = 0; p < value.size(); ++p) {
    if (!covered[p]) {
      rest += value[p];
      ++count;
    }
  }
  for (size_t p = 0; p < value.size(); ++p) {
    if (!covered[p]) map[p] = rest / count;
  }
  return map;
}

// ---------------------------------------------------------------------------
// Greedy selection on hand-made regions.

// 10 pixels; pixels 8 and 9 are in no region.
const std::vector<double> kValues = {4, 4, 1, 1, 0, 0, -2, 10, 3, -1};
const std::vector<XraiRegion> kRegions = {
    Region({0, 1, 2}),     // gain 3
    Region({6, 7}),        // gain 4
    Region({0, 1}),        // gain 4 (tie with region 1: the lower index goes first)
    Region({1, 2, 3}),     // gain 2
    Region({2, 3, 4, 5}),  // gain 0.5
};

TEST(XraiRegionMapTest, PixelsGetTheGreedyDensitiesInOrder) {
  StatusOr<XraiRanking> ranking = RankXraiRegions(Pixels({10}, kValues), kRegions);
  ASSERT_TRUE(ranking.ok()) << ranking.status().ToString();
  // 1 (gain 4) covers 6, 7; 2 (gain 4) covers 0, 1; then region 0 has only
  // pixel 2 left (gain 1, not its initial 3) and ties region 3 ({2, 3}, gain 1);
  // then region 3 covers 3; region 4 covers 4, 5 (gain 0); 8 and 9 are last.
  EXPECT_EQ(ranking->map.values, (std::vector<double>{4, 4, 1, 1, 0, 0, 4, 4, 1, 1}));
  EXPECT_EQ(ranking->map.shape, (Shape{10}));
  const std::vector<std::pair<int, int64_t>> expected = {{1, 2}, {2, 2}, {0, 1},
                                                         {3, 1}, {4, 2}, {-1, 2}};
  const std::vector<double> gains = {4, 4, 1, 1, 0, 1};
  ASSERT_EQ(ranking->selections.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(ranking->selections[i].region, expected[i].first) << "selection " << i;
    EXPECT_EQ(ranking->selections[i].pixels, expected[i].second) << "selection " << i;
    EXPECT_DOUBLE_EQ(ranking->selections[i].gain, gains[i]) << "selection " << i;
  }
  EXPECT_DOUBLE_EQ(Sum(ranking->map.values), Sum(kValues));
}

TEST(XraiRegionMapTest, RegionsAddingTooFewNewPixelsAreDropped) {
  for (bool fast : {false, true}) {
    // At least 2 new pixels: region 0, left with pixel 2 alone once region 2
    // is taken, is dropped; region 3 then takes pixels 2 and 3 together.
    StatusOr<XraiRanking> two = RankXraiRegions(Pixels({10}, kValues), kRegions, fast, 2);
    ASSERT_TRUE(two.ok()) << two.status().ToString();
    std::vector<int> taken;
    for (const XraiSelection& s : two->selections) {
      EXPECT_GE(s.pixels, 2) << "region " << s.region << (fast ? " (fast)" : "");
      taken.push_back(s.region);
    }
    if (!fast) {
      EXPECT_EQ(taken, (std::vector<int>{1, 2, 3, 4, -1}));
    }
    EXPECT_EQ(std::count(taken.begin(), taken.end(), 0), 0) << (fast ? "fast" : "exact");
    EXPECT_DOUBLE_EQ(Sum(two->map.values), Sum(kValues));
  }

  // At least 3: region 1 ({6, 7}) never qualifies, so its strong pixel 7
  // joins the last region with 6, 8 and 9 instead of ranking first.
  StatusOr<XraiRanking> three = RankXraiRegions(Pixels({10}, kValues), kRegions, false, 3);
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  const double third = 1.0 / 3.0;
  const std::vector<double> expected = {3, 3, 3, third, third, third, 2.5, 2.5, 2.5, 2.5};
  ASSERT_EQ(three->map.values.size(), expected.size());
  for (size_t p = 0; p < expected.size(); ++p) {
    EXPECT_DOUBLE_EQ(three->map.values[p], expected[p]) << "pixel " << p;
  }
  ASSERT_EQ(three->selections.size(), 3u);
  EXPECT_EQ(three->selections[0].region, 0);
  EXPECT_EQ(three->selections[1].region, 4);
  EXPECT_EQ(three->selections[2].region, -1);
}

TEST(XraiRegionMapTest, OverlappingPixelsBelongToTheFirstRegionThatCoversThem) {
  // Region 1 ({1, 2}) is better than region 0 ({0, 1}); pixel 1 is in both.
  const std::vector<double> values = {0, 2, 6};
  StatusOr<Tensor> map = XraiRegionMap(Pixels({3}, values), {Region({0, 1}), Region({1, 2})});
  ASSERT_TRUE(map.ok());
  // Region 1 takes pixels 1 and 2 at (2 + 6) / 2; region 0 is left with
  // pixel 0 alone, at 0.
  EXPECT_EQ(map->values, (std::vector<double>{0, 4, 4}));
}

TEST(XraiRegionMapTest, RegionsWithNothingLeftAreDroppedAndDuplicatesCountOnce) {
  // Region 2 lies inside region 0, which goes first: region 2 never selects.
  // Region 1 lists pixel 3 three times: its gain is (1 + 3) / 2, not 10 / 4.
  const std::vector<double> values = {5, 5, 1, 3};
  StatusOr<XraiRanking> ranking = RankXraiRegions(
      Pixels({2, 2}, values), {Region({0, 1}), Region({3, 2, 3, 3}), Region({1})});
  ASSERT_TRUE(ranking.ok());
  EXPECT_EQ(ranking->map.values, (std::vector<double>{5, 5, 2, 2}));
  EXPECT_EQ(ranking->map.shape, (Shape{2, 2}));
  ASSERT_EQ(ranking->selections.size(), 2u);
  EXPECT_EQ(ranking->selections[0].region, 0);
  EXPECT_EQ(ranking->selections[1].region, 1);
  EXPECT_EQ(ranking->selections[1].pixels, 2);
}

TEST(XraiRegionMapTest, UncoveredPixelsFormTheLastRegion) {
  const std::vector<double> values = {1, -3, 7, 2, 0.5};
  StatusOr<XraiRanking> ranking = RankXraiRegions(Pixels({5}, values), {Region({2})});
  ASSERT_TRUE(ranking.ok());
  const double rest = (1 - 3 + 2 + 0.5) / 4.0;
  EXPECT_EQ(ranking->map.values, (std::vector<double>{rest, rest, 7, rest, rest}));
  ASSERT_EQ(ranking->selections.size(), 2u);
  EXPECT_EQ(ranking->selections[1].region, -1);
  EXPECT_EQ(ranking->selections[1].pixels, 4);

  // No regions at all: one region of everything, at the mean.
  StatusOr<Tensor> all = XraiRegionMap(Pixels({5}, values), {});
  ASSERT_TRUE(all.ok());
  for (double v : all->values) EXPECT_DOUBLE_EQ(v, Sum(values) / 5);
}

TEST(XraiRegionMapTest, MatchesTheNaiveGreedyAndSumsExactlyOnRandomOverlappingRegions) {
  std::mt19937 random(3);
  for (int trial = 0; trial < 20; ++trial) {
    const int side = 12;
    const int pixels = side * side;
    std::uniform_real_distribution<double> attribution(-1.0, 3.0);
    std::vector<double> values(pixels);
    for (double& v : values) v = attribution(random);
    // Random rectangles, overlapping, not covering everything.
    std::uniform_int_distribution<int> coordinate(0, side - 1);
    std::vector<XraiRegion> regions(30);
    for (XraiRegion& region : regions) {
      int y0 = coordinate(random), y1 = coordinate(random);
      int x0 = coordinate(random), x1 = coordinate(random);
      if (y0 > y1) std::swap(y0, y1);
      if (x0 > x1) std::swap(x0, x1);
      y1 = std::min(y1, y0 + 4);
      x1 = std::min(x1, x0 + 4);
      for (int y = y0; y <= y1; ++y) {
        for (int x = x0; x <= x1; ++x) region.pixels.push_back(y * side + x);
      }
    }
    StatusOr<Tensor> map = XraiRegionMap(Pixels({side, side}, values), regions);
    ASSERT_TRUE(map.ok());
    const std::vector<double> naive = NaiveRegionMap(values, regions);
    for (int p = 0; p < pixels; ++p) ASSERT_NEAR(map->values[p], naive[p], 1e-12) << "pixel " << p;
    EXPECT_NEAR(Sum(map->values), Sum(values), 1e-9);

    StatusOr<Tensor> fast = XraiRegionMap(Pixels({side, side}, values), regions, /*fast=*/true);
    ASSERT_TRUE(fast.ok());
    EXPECT_NEAR(Sum(fast->values), Sum(values), 1e-9);
  }
}

TEST(XraiRegionMapTest, FastSelectionIsTheExactGreedyWithFewRegions) {
  // With at most 10 regions left, a round takes one region: exact greedy.
  for (bool fast : {false, true}) {
    StatusOr<Tensor> map = XraiRegionMap(Pixels({10}, kValues), kRegions, fast);
    ASSERT_TRUE(map.ok());
    EXPECT_EQ(map->values, (std::vector<double>{4, 4, 1, 1, 0, 0, 4, 4, 1, 1})) << fast;
  }
}

TEST(XraiRegionMapTest, BadInputsAreRejected) {
  EXPECT_TRUE(FailsWith(XraiRegionMap(Pixels({3}, {1, 2, 3}), {Region({0, 3})}).status(),
                        StatusCode::kInvalidArgument, {"region 0 has pixel 3"}));
  EXPECT_EQ(XraiRegionMap(Pixels({3}, {1, 2, 3}), {Region({-1})}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(XraiRegionMap(Pixels({3}, {1, std::nan(""), 3}), {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(XraiRegionMap(Pixels({4}, {1, 2, 3}), {}).status().code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Candidate regions.

// [1, 32, 32, 3]: left half `left`, right half `right`.
Tensor HalvesImage(double left, double right) {
  Tensor image(DType::kFloat32, {1, 32, 32, 3});
  for (int64_t e = 0; e < image.num_elements(); ++e) {
    image.values[e] = (e / 3) % 32 < 16 ? left : right;
  }
  return image;
}

XraiOptions SharpSegmentation(int dilation_radius) {
  XraiOptions options;
  options.segmentation_sigma = 0;
  options.dilation_radius = dilation_radius;
  return options;
}

TEST(XraiCandidateRegionsTest, TwoColorImageGivesTheTwoHalvesAtEveryScale) {
  StatusOr<std::vector<XraiRegion>> regions =
      XraiCandidateRegions(HalvesImage(0, 1), SharpSegmentation(0));
  ASSERT_TRUE(regions.ok()) << regions.status().ToString();
  const int num_scales = static_cast<int>(XraiOptions().scales.size());
  ASSERT_EQ(regions->size(), 2u * num_scales);
  for (int s = 0; s < num_scales; ++s) {
    for (int half = 0; half < 2; ++half) {
      const XraiRegion& region = (*regions)[2 * s + half];
      EXPECT_EQ(region.scale_index, s);
      std::vector<int32_t> expected;
      for (int32_t p = 0; p < 32 * 32; ++p) {
        if ((p % 32 < 16) == (half == 0)) expected.push_back(p);
      }
      EXPECT_EQ(region.pixels, expected) << "scale " << s << " half " << half;
    }
  }
}

TEST(XraiCandidateRegionsTest, MasksAreDilatedByAEuclideanDisk) {
  // Left half, dilated by 2: columns 0..17 in every row.
  StatusOr<std::vector<XraiRegion>> regions =
      XraiCandidateRegions(HalvesImage(0.2, 0.9), SharpSegmentation(2));
  ASSERT_TRUE(regions.ok());
  std::vector<int32_t> left;
  for (int32_t p = 0; p < 32 * 32; ++p) {
    if (p % 32 <= 17) left.push_back(p);
  }
  EXPECT_EQ((*regions)[0].pixels, left);

  // A single bright pixel's segment dilated by 2 is the 13 pixels of the
  // disk x^2 + y^2 <= 4 around it.
  Tensor dot(DType::kFloat32, {1, 9, 9});
  dot.values[4 * 9 + 4] = 1.0;
  XraiOptions options = SharpSegmentation(2);
  options.min_segment_size = 0;
  options.scales = {1};
  StatusOr<std::vector<XraiRegion>> around = XraiCandidateRegions(dot, options);
  ASSERT_TRUE(around.ok());
  ASSERT_EQ(around->size(), 2u);  // the background, then the dot.
  std::vector<int32_t> disk;
  for (int y = 0; y < 9; ++y) {
    for (int x = 0; x < 9; ++x) {
      if ((y - 4) * (y - 4) + (x - 4) * (x - 4) <= 4) disk.push_back(y * 9 + x);
    }
  }
  EXPECT_EQ((*around)[1].pixels, disk);
  EXPECT_EQ((*around)[0].pixels.size(), 81u);  // the background reaches the dot.
}

TEST(XraiCandidateRegionsTest, EveryScaleCoversEveryPixelAndFastUsesThreeScales) {
  const Tensor image = PatchImage(48, 40, 3, {{10, 10, 12}}, 0.9);
  for (bool fast : {false, true}) {
    XraiOptions options;
    options.fast = fast;
    StatusOr<std::vector<XraiRegion>> regions = XraiCandidateRegions(image, options);
    ASSERT_TRUE(regions.ok());
    std::set<int> scales;
    for (const XraiRegion& region : *regions) scales.insert(region.scale_index);
    const std::set<int> expected = fast ? std::set<int>{0, 3, 5} : std::set<int>{0, 1, 2, 3, 4, 5};
    EXPECT_EQ(scales, expected);
    for (int s : scales) {
      std::vector<int> covered(48 * 40, 0);
      for (const XraiRegion& region : *regions) {
        if (region.scale_index != s) continue;
        EXPECT_TRUE(std::is_sorted(region.pixels.begin(), region.pixels.end()));
        for (int32_t p : region.pixels) ++covered[p];
      }
      EXPECT_EQ(std::count(covered.begin(), covered.end(), 0), 0) << "scale " << s;
    }
  }
}

TEST(XraiCandidateRegionsTest, TheFinestScaleGivesManyMoreRegionsThanTheCoarsest) {
  // (Felzenszwalb segment counts need not fall monotonically with k on noise,
  // so only the ends of the ladder are compared.)
  const Tensor image = PatchImage(64, 64, 3, {{20, 20, 16}}, 0.9, 0.0, 0.3, 4);
  StatusOr<std::vector<XraiRegion>> regions = XraiCandidateRegions(image, XraiOptions());
  ASSERT_TRUE(regions.ok());
  std::vector<int> per_scale(6, 0);
  for (const XraiRegion& region : *regions) ++per_scale[region.scale_index];
  EXPECT_GT(per_scale[0], 2 * per_scale[5]);
  EXPECT_GT(per_scale[5], 1);
}

// ---------------------------------------------------------------------------
// XRAI end to end on PatchModel.

constexpr int64_t kSide = 32;
const Patch kPatch = {8, 12, 8};  // rows 8..15, columns 12..19.
constexpr double kPatchValue = 0.9;
constexpr double kWeight = 2.0;

AttributionInputs ImageInputs(Tensor image, std::vector<int64_t> output_elements = {0}) {
  AttributionInputs inputs;
  // A caller's baseline, which XRAI ignores: a constant 0.5 image.
  Tensor ignored(image.dtype, image.shape);
  std::fill(ignored.values.begin(), ignored.values.end(), 0.5);
  inputs.instance = {std::move(image)};
  inputs.baselines = {{std::move(ignored)}};
  inputs.output_elements = std::move(output_elements);
  return inputs;
}

// Distance from pixel p of a kSide-wide image to the patch (0 inside).
double DistanceToPatch(int64_t p, const Patch& patch) {
  const int64_t y = p / kSide, x = p % kSide;
  const int64_t dy = std::max<int64_t>({patch.top - y, 0, y - (patch.top + patch.size - 1)});
  const int64_t dx = std::max<int64_t>({patch.left - x, 0, x - (patch.left + patch.size - 1)});
  return std::sqrt(static_cast<double>(dy * dy + dx * dx));
}

// Per pixel: the sum over channels.
std::vector<double> PixelSums(const Tensor& attribution, int64_t channels) {
  std::vector<double> sums(attribution.values.size() / channels, 0.0);
  for (size_t e = 0; e < attribution.values.size(); ++e) sums[e / channels] += attribution.values[e];
  return sums;
}

TEST(XraiTest, SharpSegmentationWithoutDilationPutsTheHighestValuesExactlyOnThePatch) {
  PatchModel model(kSide, kSide, 3, {kPatch}, kWeight);
  XraiOptions options = SharpSegmentation(0);
  StatusOr<std::vector<Attribution>> result =
      Xrai(options).Attribute(model, ImageInputs(PatchImage(kSide, kSide, 3, {kPatch}, kPatchValue)));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->size(), 1u);
  const Attribution& attribution = (*result)[0];
  ASSERT_EQ(attribution.attributions.size(), 1u);
  EXPECT_EQ(attribution.attributions[0].shape, (Shape{1, kSide, kSide, 3}));
  EXPECT_EQ(attribution.attributions[0].dtype, DType::kFloat32);
  // IG averaged over black and white: w (x - 1/2) per channel in the patch.
  const double per_channel = kWeight * (kPatchValue - 0.5);
  const std::vector<double>& values = attribution.attributions[0].values;
  for (int64_t e = 0; e < static_cast<int64_t>(values.size()); ++e) {
    const int64_t p = e / 3;
    if (kPatch.Contains(p / kSide, p % kSide)) {
      ASSERT_NEAR(values[e], per_channel, 1e-9) << "element " << e;
    } else {
      ASSERT_NEAR(values[e], 0.0, 1e-9) << "element " << e;
    }
  }
}

TEST(XraiTest, HighestValuesLieOnThePatchAndTheTotalIsTheIntegratedGradientsTotal) {
  PatchModel model(kSide, kSide, 3, {kPatch}, kWeight);
  const Tensor image = PatchImage(kSide, kSide, 3, {kPatch}, kPatchValue);
  StatusOr<std::vector<Attribution>> result = Xrai().Attribute(model, ImageInputs(image));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Attribution& attribution = (*result)[0];
  const std::vector<double> pixels = PixelSums(attribution.attributions[0], 3);

  // The IG total, in closed form: 64 pixels * 3 channels * w * (0.9 - 0.5).
  const double total = 64 * 3 * kWeight * (kPatchValue - 0.5);
  EXPECT_NEAR(Sum(pixels), total, 1e-9 * total);
  EXPECT_NEAR(Sum(attribution.attributions[0].values), total, 1e-9 * total);
  // f(x) = w * 0.9 * 192; f(black) = 0, f(white) = w * 192.
  EXPECT_NEAR(attribution.instance_output, kWeight * kPatchValue * 192, 1e-9);
  EXPECT_NEAR(attribution.baseline_output, kWeight * 192 / 2, 1e-9);
  EXPECT_LT(attribution.approximation_error, 1e-9);
  EXPECT_EQ(attribution.steps, 50);
  EXPECT_EQ(attribution.output_element, 0);

  // The brightest pixels: some in the patch, none further from it than the
  // dilation radius; and the patch outshines the rest of the image.
  const double max = *std::max_element(pixels.begin(), pixels.end());
  EXPECT_GT(max, 0);
  int max_in_patch = 0;
  double inside = 0, outside = 0;
  for (int64_t p = 0; p < kSide * kSide; ++p) {
    const double distance = DistanceToPatch(p, kPatch);
    if (pixels[p] == max) {
      EXPECT_LE(distance, XraiOptions().dilation_radius) << "pixel " << p;
      if (distance == 0) ++max_in_patch;
    }
    (distance == 0 ? inside : outside) += pixels[p];
  }
  EXPECT_GT(max_in_patch, 0);
  EXPECT_GT(inside / 64, 5 * outside / (kSide * kSide - 64));
}

TEST(XraiTest, ResultIsTheRegionMapOfTheIntegratedGradientsFromBlackAndWhite) {
  const Tensor image = PatchImage(kSide, kSide, 3, {kPatch}, kPatchValue, 0.0, 0.3, 21);
  for (bool fast : {false, true}) {
    XraiOptions options;
    options.fast = fast;
    options.black = -0.5;
    options.white = 1.5;
    PatchModel model(kSide, kSide, 3, {kPatch}, kWeight);
    StatusOr<std::vector<Attribution>> result =
        Xrai(options).Attribute(model, ImageInputs(image));
    ASSERT_TRUE(result.ok()) << result.status().ToString();

    // The same pieces by hand: IG from the two constant images, summed over
    // channels, ranked over the candidate regions.
    PatchModel reference_model(kSide, kSide, 3, {kPatch}, kWeight);
    AttributionInputs ig_inputs = ImageInputs(image);
    ig_inputs.baselines.clear();
    for (double level : {-0.5, 1.5}) {
      Tensor baseline(image.dtype, image.shape);
      std::fill(baseline.values.begin(), baseline.values.end(), level);
      ig_inputs.baselines.push_back({baseline});
    }
    StatusOr<std::vector<Attribution>> ig =
        IntegratedGradients(options.integrated_gradients).Attribute(reference_model, ig_inputs);
    ASSERT_TRUE(ig.ok());
    StatusOr<std::vector<XraiRegion>> regions = XraiCandidateRegions(image, options);
    ASSERT_TRUE(regions.ok());
    StatusOr<Tensor> map = XraiRegionMap(
        Pixels({kSide, kSide}, PixelSums((*ig)[0].attributions[0], 3)), *regions, fast);
    ASSERT_TRUE(map.ok());

    const std::vector<double> pixels = PixelSums((*result)[0].attributions[0], 3);
    for (int64_t p = 0; p < kSide * kSide; ++p) {
      ASSERT_NEAR(pixels[p], map->values[p], 1e-12) << "pixel " << p << " fast " << fast;
    }
    EXPECT_NEAR(Sum(pixels), Sum((*ig)[0].attributions[0].values), 1e-9);
    EXPECT_DOUBLE_EQ((*result)[0].instance_output, (*ig)[0].instance_output);
    EXPECT_DOUBLE_EQ((*result)[0].baseline_output, (*ig)[0].baseline_output);
    EXPECT_NEAR((*result)[0].approximation_error, (*ig)[0].approximation_error, 1e-12);
  }
}

TEST(XraiTest, WithABlurBaselineIsTheRegionMapOfBlurIntegratedGradients) {
  const Tensor image = PatchImage(kSide, kSide, 3, {kPatch}, kPatchValue, 0.0, 0.3, 21);
  XraiOptions options;
  options.integrated_gradients.max_blur_sigma = 3.0;
  PatchModel model(kSide, kSide, 3, {kPatch}, kWeight);
  StatusOr<std::vector<Attribution>> result = Xrai(options).Attribute(model, ImageInputs(image));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(model.rows(), 51);  // one path, from the blurred image: not black and white

  PatchModel reference_model(kSide, kSide, 3, {kPatch}, kWeight);
  AttributionInputs ig_inputs = ImageInputs(image);
  ig_inputs.baselines.clear();
  StatusOr<std::vector<Attribution>> blur_ig =
      IntegratedGradients(options.integrated_gradients).Attribute(reference_model, ig_inputs);
  ASSERT_TRUE(blur_ig.ok()) << blur_ig.status().ToString();
  StatusOr<std::vector<XraiRegion>> regions = XraiCandidateRegions(image, options);
  ASSERT_TRUE(regions.ok());
  StatusOr<Tensor> map = XraiRegionMap(
      Pixels({kSide, kSide}, PixelSums((*blur_ig)[0].attributions[0], 3)), *regions, false);
  ASSERT_TRUE(map.ok());
  const std::vector<double> pixels = PixelSums((*result)[0].attributions[0], 3);
  for (int64_t p = 0; p < kSide * kSide; ++p) ASSERT_NEAR(pixels[p], map->values[p], 1e-12) << "pixel " << p;
  EXPECT_DOUBLE_EQ((*result)[0].baseline_output, (*blur_ig)[0].baseline_output);
  // Not the black-and-white answer: the blurred image's output differs from theirs.
  PatchModel plain_model(kSide, kSide, 3, {kPatch}, kWeight);
  StatusOr<std::vector<Attribution>> plain = Xrai().Attribute(plain_model, ImageInputs(image));
  ASSERT_TRUE(plain.ok());
  EXPECT_GT(std::abs((*plain)[0].baseline_output - (*result)[0].baseline_output), 1e-6);
}

TEST(XraiTest, IntegratesFromExactlyTheBlackAndWhiteImagesInOneBatchedPass) {
  const Tensor image = PatchImage(kSide, kSide, 3, {kPatch}, kPatchValue);
  {
    // Default: 2 baselines * 51 trapezoid points = 102 rows of a small image: one run.
    PatchModel model(kSide, kSide, 3, {kPatch}, kWeight);
    ASSERT_TRUE(Xrai().Attribute(model, ImageInputs(image)).ok());
    EXPECT_EQ(model.rows(), 102);
    EXPECT_EQ(model.calls(), 1);
    EXPECT_EQ(model.gradient_calls(), 1);
    // The caller's 0.5 baseline is not used.
    EXPECT_EQ(model.constant_rows(), (std::vector<double>{0.0, 1.0}));
  }
  {
    XraiOptions options;
    options.integrated_gradients.batch_size = 128;
    options.integrated_gradients.steps = 20;
    options.black = -1;
    options.white = 2;
    PatchModel model(kSide, kSide, 3, {kPatch}, kWeight);
    StatusOr<std::vector<Attribution>> result = Xrai(options).Attribute(model, ImageInputs(image));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(model.calls(), 1);
    EXPECT_EQ(model.rows(), 42);
    EXPECT_EQ(model.constant_rows(), (std::vector<double>{-1.0, 2.0}));
    EXPECT_EQ((*result)[0].steps, 20);
    EXPECT_NEAR((*result)[0].baseline_output, kWeight * 192 * (-1 + 2) / 2.0, 1e-9);
  }
}

TEST(XraiTest, SeveralOutputElementsComeFromOnePassInRequestOrder) {
  const Patch other = {20, 2, 6};
  const Tensor image = PatchImage(kSide, kSide, 3, {kPatch, other}, kPatchValue);
  PatchModel model(kSide, kSide, 3, {kPatch, other}, kWeight);
  XraiOptions options = SharpSegmentation(0);
  options.integrated_gradients.batch_size = 256;
  StatusOr<std::vector<Attribution>> result =
      Xrai(options).Attribute(model, ImageInputs(image, {1, 0}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(model.calls(), 1);
  ASSERT_EQ(result->size(), 2u);
  const std::vector<Patch> patches = {other, kPatch};
  for (size_t k = 0; k < 2; ++k) {
    const Patch& patch = patches[k];
    EXPECT_EQ((*result)[k].output_element, k == 0 ? 1 : 0);
    const std::vector<double> pixels = PixelSums((*result)[k].attributions[0], 3);
    const double max = *std::max_element(pixels.begin(), pixels.end());
    for (int64_t p = 0; p < kSide * kSide; ++p) {
      EXPECT_EQ(pixels[p] == max, patch.Contains(p / kSide, p % kSide)) << "output " << k
                                                                         << " pixel " << p;
    }
    const double total = patch.size * patch.size * 3 * kWeight * (kPatchValue - 0.5);
    EXPECT_NEAR(Sum(pixels), total, 1e-9 * total);
  }
}

TEST(XraiTest, GrayscaleImagesWithoutAChannelDimensionWork) {
  PatchModel model(kSide, kSide, 0, {kPatch}, kWeight);
  const Tensor image = PatchImage(kSide, kSide, 0, {kPatch}, kPatchValue);
  ASSERT_EQ(image.shape, (Shape{1, kSide, kSide}));
  StatusOr<std::vector<Attribution>> result =
      Xrai(SharpSegmentation(0)).Attribute(model, ImageInputs(image));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Tensor& attribution = (*result)[0].attributions[0];
  EXPECT_EQ(attribution.shape, (Shape{1, kSide, kSide}));
  const double max = *std::max_element(attribution.values.begin(), attribution.values.end());
  for (int64_t p = 0; p < kSide * kSide; ++p) {
    EXPECT_EQ(attribution.values[p] == max, kPatch.Contains(p / kSide, p % kSide)) << p;
  }
  EXPECT_NEAR(Sum(attribution.values), 64 * kWeight * (kPatchValue - 0.5), 1e-9);
}

void ExpectImagesOnlyError(const Status& status) {
  EXPECT_TRUE(FailsWith(status, StatusCode::kInvalidArgument,
                        {"XRAI explains image inputs", "Integrated Gradients"}));
}

TEST(XraiValidationTest, NonImageInputsAndSeveralInputsAreRefusedSuggestingIntegratedGradients) {
  // A tabular model: one input of row shape [10].
  LinearModel tabular({Shape{10}}, {{std::vector<double>(10, 1.0)}}, {0.0});
  AttributionInputs vector_input;
  vector_input.instance = {Tensor(DType::kFloat32, {1, 10})};
  vector_input.baselines = {{Tensor(DType::kFloat32, {1, 10})}};
  vector_input.output_elements = {0};
  Status status = Xrai().Attribute(tabular, vector_input).status();
  ExpectImagesOnlyError(status);
  EXPECT_TRUE(Contains(status.message(), "has shape [10] per instance")) << status.message();
  EXPECT_EQ(tabular.calls(), 0);

  // Two images.
  PatchModel model(kSide, kSide, 3, {kPatch}, kWeight);
  const Tensor image = PatchImage(kSide, kSide, 3, {kPatch}, kPatchValue);
  AttributionInputs two = ImageInputs(image);
  two.instance.push_back(image);
  two.baselines[0].push_back(image);
  Status two_status = Xrai().Attribute(model, two).status();
  ExpectImagesOnlyError(two_status);
  EXPECT_TRUE(Contains(two_status.message(), "got 2 attributed inputs"));

  // No input; a batch of two; rank 5; zero width; integer pixels.
  AttributionInputs none = ImageInputs(image);
  none.instance.clear();
  ExpectImagesOnlyError(Xrai().Attribute(model, none).status());
  for (const Shape& shape :
       {Shape{2, 32, 32, 3}, Shape{1, 4, 4, 3, 1}, Shape{1, 32, 0, 3}, Shape{32, 32}}) {
    ExpectImagesOnlyError(Xrai().Attribute(model, ImageInputs(Tensor(DType::kFloat32, shape)))
                              .status());
  }
  ExpectImagesOnlyError(
      Xrai().Attribute(model, ImageInputs(Tensor(DType::kUInt8, {1, 32, 32, 3}))).status());
  EXPECT_EQ(model.calls(), 0);
}

TEST(XraiValidationTest, BadValuesAndOptionsAreRejectedBeforeTheModelRuns) {
  PatchModel model(kSide, kSide, 3, {kPatch}, kWeight);
  Tensor image = PatchImage(kSide, kSide, 3, {kPatch}, kPatchValue);
  image.values[40] = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(FailsWith(Xrai().Attribute(model, ImageInputs(image)).status(),
                        StatusCode::kInvalidArgument, {"value 40 is infinite"}));

  const Tensor good = PatchImage(kSide, kSide, 3, {kPatch}, kPatchValue);
  auto rejected = [&](XraiOptions options, const std::string& field) {
    EXPECT_TRUE(FailsWith(Xrai(options).Attribute(model, ImageInputs(good)).status(),
                          StatusCode::kInvalidArgument, {field}));
  };
  XraiOptions options;
  options.scales = {};
  rejected(options, "scales");
  options.scales = {10, -1};
  rejected(options, "scale 1");
  options = XraiOptions();
  options.segmentation_sigma = -0.1;
  rejected(options, "segmentation_sigma");
  options = XraiOptions();
  options.min_segment_size = -3;
  rejected(options, "min_segment_size");
  options = XraiOptions();
  options.min_new_pixels = -1;
  rejected(options, "min_new_pixels");
  options = XraiOptions();
  options.dilation_radius = 101;
  rejected(options, "dilation_radius");
  options = XraiOptions();
  options.black = 1;
  options.white = 1;
  rejected(options, "black");
  options = XraiOptions();
  options.integrated_gradients.steps = 0;
  rejected(options, "steps");
  EXPECT_EQ(model.calls(), 0);

  // Too large to segment.
  EXPECT_TRUE(FailsWith(
      Xrai().Attribute(model, ImageInputs(Tensor(DType::kFloat32, {1, 2048, 2048, 1}))).status(),
      StatusCode::kResourceExhausted, {"resize"}));
}

TEST(XraiTest, NameIsXrai) { EXPECT_STREQ(Xrai().name(), "xrai"); }

}  // namespace
}  // namespace xai
