#include "render/color_map.h"

#include <cmath>
#include <ostream>

#include <gtest/gtest.h>

namespace xai {

std::ostream& operator<<(std::ostream& os, const Rgb& c) {
  return os << "(" << int{c.r} << "," << int{c.g} << "," << int{c.b} << ")";
}

namespace {

// The end points documented in color_map.h.
struct Ends {
  ColorMap map;
  Rgb negative_one, zero, positive_one;
};

TEST(ColorMapTest, EndPointsAreTheDocumentedColours) {
  const Ends ends[] = {
      {ColorMap::kPinkGreen, {255, 20, 147}, {0, 0, 0}, {0, 255, 0}},
      {ColorMap::kRedGreen, {255, 0, 0}, {0, 0, 0}, {0, 255, 0}},
      {ColorMap::kPinkWhiteGreen, {142, 1, 82}, {247, 247, 247}, {39, 100, 25}},
      {ColorMap::kRed, {255, 0, 0}, {0, 0, 0}, {255, 0, 0}},
      {ColorMap::kGreen, {0, 255, 0}, {0, 0, 0}, {0, 255, 0}},
      {ColorMap::kViridis, {253, 231, 37}, {68, 1, 84}, {253, 231, 37}},
  };
  for (const Ends& e : ends) {
    SCOPED_TRACE(ColorMapName(e.map));
    EXPECT_EQ(ColorAt(e.map, 0.0), e.zero);
    EXPECT_EQ(ColorAt(e.map, 1.0), e.positive_one);
    EXPECT_EQ(ColorAt(e.map, -1.0), e.negative_one);
    // Out of range clamps; NaN counts as 0.
    EXPECT_EQ(ColorAt(e.map, 7.0), e.positive_one);
    EXPECT_EQ(ColorAt(e.map, -7.0), e.negative_one);
    EXPECT_EQ(ColorAt(e.map, std::nan("")), e.zero);
  }
}

TEST(ColorMapTest, ViridisPassesThroughItsQuarterStops) {
  EXPECT_EQ(ColorAt(ColorMap::kViridis, 0.25), (Rgb{59, 82, 139}));
  EXPECT_EQ(ColorAt(ColorMap::kViridis, 0.5), (Rgb{33, 145, 140}));
  EXPECT_EQ(ColorAt(ColorMap::kViridis, 0.75), (Rgb{94, 201, 98}));
}

TEST(ColorMapTest, InBetweenIsLinear) {
  EXPECT_EQ(ColorAt(ColorMap::kRed, 0.5), (Rgb{128, 0, 0}));
  EXPECT_EQ(ColorAt(ColorMap::kPinkGreen, 0.5), (Rgb{0, 128, 0}));
  EXPECT_EQ(ColorAt(ColorMap::kPinkGreen, -0.5), (Rgb{128, 10, 74}));
}

TEST(ColorMapTest, TwoSidedMapsAreTheSignedOnes) {
  EXPECT_TRUE(IsTwoSided(ColorMap::kPinkGreen));
  EXPECT_TRUE(IsTwoSided(ColorMap::kRedGreen));
  EXPECT_TRUE(IsTwoSided(ColorMap::kPinkWhiteGreen));
  EXPECT_FALSE(IsTwoSided(ColorMap::kViridis));
  EXPECT_FALSE(IsTwoSided(ColorMap::kRed));
  EXPECT_FALSE(IsTwoSided(ColorMap::kGreen));
}

}  // namespace
}  // namespace xai
