#include "render/color_map.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace xai {
namespace {

// Colour stops at equal spacing over [0, 1].
using Stops = std::vector<Rgb>;

uint8_t Mix(uint8_t a, uint8_t b, double t) {
  return static_cast<uint8_t>(std::lround(a + (static_cast<double>(b) - a) * t));
}

Rgb Interpolate(const Stops& stops, double t) {
  t = std::clamp(t, 0.0, 1.0);
  const double position = t * static_cast<double>(stops.size() - 1);
  const size_t i = std::min(static_cast<size_t>(position), stops.size() - 2);
  const double f = position - static_cast<double>(i);
  const Rgb& a = stops[i];
  const Rgb& b = stops[i + 1];
  return {Mix(a.r, b.r, f), Mix(a.g, b.g, f), Mix(a.b, b.b, f)};
}

constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kRed{255, 0, 0};
constexpr Rgb kGreen{0, 255, 0};
constexpr Rgb kPink{255, 20, 147};

const Stops& Viridis() {
  static const Stops s = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  return s;
}

// ColorBrewer PiYG (11 classes), from the pink end (s = -1) to the green end.
const Stops& PiYG() {
  static const Stops s = {{142, 1, 82},    {197, 27, 125},  {222, 119, 174}, {241, 182, 218},
                          {253, 224, 239}, {247, 247, 247}, {230, 245, 208}, {184, 225, 134},
                          {127, 188, 65},  {77, 146, 33},   {39, 100, 25}};
  return s;
}

}  // namespace

bool IsTwoSided(ColorMap map) {
  return map == ColorMap::kPinkGreen || map == ColorMap::kRedGreen || map == ColorMap::kPinkWhiteGreen;
}

Rgb ColorAt(ColorMap map, double s) {
  if (std::isnan(s)) s = 0;
  s = std::clamp(s, -1.0, 1.0);
  const double strength = std::fabs(s);
  switch (map) {
    case ColorMap::kPinkGreen:
      return s < 0 ? Interpolate({kBlack, kPink}, strength) : Interpolate({kBlack, kGreen}, strength);
    case ColorMap::kRedGreen:
      return s < 0 ? Interpolate({kBlack, kRed}, strength) : Interpolate({kBlack, kGreen}, strength);
    case ColorMap::kPinkWhiteGreen:
      return Interpolate(PiYG(), (s + 1) / 2);
    case ColorMap::kRed:
      return Interpolate({kBlack, kRed}, strength);
    case ColorMap::kGreen:
      return Interpolate({kBlack, kGreen}, strength);
    case ColorMap::kViridis:
      return Interpolate(Viridis(), strength);
  }
  return kBlack;
}

}  // namespace xai
