#include "render/attribution_image.h"

#include <algorithm>
#include <cmath>

#include "attribution/gaussian_blur.h"
#include "render/color_map.h"

namespace xai {
namespace {

uint8_t ToByte(double v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0))); }

Rgb Blend(Rgb base, Rgb color, double alpha) {
  return {ToByte((1 - alpha) * base.r + alpha * color.r), ToByte((1 - alpha) * base.g + alpha * color.g),
          ToByte((1 - alpha) * base.b + alpha * color.b)};
}

Rgb Scale(Rgb c, double f) { return {ToByte(c.r * f), ToByte(c.g * f), ToByte(c.b * f)}; }

// The image drawn under the attributions; black when there is none.
Image BaseImage(OverlayType overlay, const Image* original, int64_t width, int64_t height) {
  if (original == nullptr || overlay == OverlayType::kNone) return Image(width, height, 3);
  if (overlay == OverlayType::kGrayscale) return Grayscale(*original);
  return *original;  // original, and mask_black (masked by the caller)
}

int OutlineWidth(int64_t height, int64_t width) {
  return static_cast<int>(std::max<int64_t>(1, std::llround(std::min(height, width) / 100.0)));
}

// Outlines follow regions, not single pixels: the map is smoothed first.
StatusOr<PixelMap> SmoothForOutlines(const PixelMap& map) {
  const double sigma = OutlineSmoothingSigma(map.height, map.width);
  XAI_ASSIGN_OR_RETURN(Tensor blurred,
                       GaussianBlurImage(Tensor::FromValues(DType::kFloat64, {1, map.height, map.width}, map.values), sigma));
  PixelMap smooth = map;
  smooth.values = std::move(blurred.values);
  return smooth;
}

}  // namespace

double OutlineSmoothingSigma(int64_t height, int64_t width) {
  return std::max(kMinOutlineSmoothingSigma, static_cast<double>(std::min(height, width)) / kOutlineSmoothingDivisor);
}

bool IsImageRowShape(const Shape& shape) {
  if (shape.size() != 3 && shape.size() != 4) return false;
  if (shape[0] != 1) return false;
  return std::all_of(shape.begin() + 1, shape.end(), [](int64_t d) { return d >= 1; });
}

StatusOr<PixelMap> SumOverChannels(const Tensor& attribution) {
  if (!IsImageRowShape(attribution.shape)) {
    return InvalidArgument("cannot draw attributions of shape " + ShapeToString(attribution.shape) +
                           " as an image; expected [1,H,W] or [1,H,W,C]");
  }
  PixelMap map;
  map.height = attribution.shape[1];
  map.width = attribution.shape[2];
  const int64_t channels = attribution.shape.size() == 4 ? attribution.shape[3] : 1;
  if (static_cast<int64_t>(attribution.values.size()) != map.height * map.width * channels) {
    return InvalidArgument("attribution of shape " + ShapeToString(attribution.shape) + " holds " +
                           std::to_string(attribution.values.size()) + " values");
  }
  map.values.assign(static_cast<size_t>(map.height * map.width), 0.0);
  for (int64_t p = 0; p < map.height * map.width; ++p) {
    double sum = 0;
    for (int64_t c = 0; c < channels; ++c) {
      const double v = attribution.values[static_cast<size_t>(p * channels + c)];
      if (std::isfinite(v)) sum += v;
    }
    map.values[static_cast<size_t>(p)] = sum;
  }
  return map;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(rank));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double f = rank - static_cast<double>(below);
  return values[below] + (values[above] - values[below]) * f;
}

std::vector<double> ClipAttributions(const PixelMap& map, Polarity polarity, double lower_percent,
                                     double upper_percent) {
  auto kept = [polarity](double m) {
    switch (polarity) {
      case Polarity::kPositive: return m > 0;
      case Polarity::kNegative: return m < 0;
      case Polarity::kBoth: return m != 0;
    }
    return false;
  };
  std::vector<double> magnitudes;
  for (double m : map.values) {
    if (kept(m)) magnitudes.push_back(std::fabs(m));
  }
  const double lo = Percentile(magnitudes, lower_percent);
  const double hi = Percentile(magnitudes, upper_percent);
  std::vector<double> clipped(map.values.size(), 0.0);
  for (size_t i = 0; i < map.values.size(); ++i) {
    const double m = map.values[i];
    if (!kept(m)) continue;
    const double a = std::fabs(m);
    const double strength = hi > lo ? std::clamp((a - lo) / (hi - lo), 0.0, 1.0) : (a >= hi ? 1.0 : 0.0);
    clipped[i] = m < 0 ? -strength : strength;
  }
  return clipped;
}

std::vector<bool> RegionOutline(const std::vector<bool>& region, int64_t height, int64_t width, int outline_width) {
  // Erode `outline_width` times; the outline is what erosion removed.
  std::vector<bool> inner = region;
  for (int step = 0; step < outline_width; ++step) {
    std::vector<bool> next = inner;
    for (int64_t y = 0; y < height; ++y) {
      for (int64_t x = 0; x < width; ++x) {
        const size_t i = static_cast<size_t>(y * width + x);
        if (!inner[i]) continue;
        const bool edge = y == 0 || x == 0 || y == height - 1 || x == width - 1 || !inner[i - width] ||
                          !inner[i + width] || !inner[i - 1] || !inner[i + 1];
        if (edge) next[i] = false;
      }
    }
    inner = std::move(next);
  }
  std::vector<bool> outline(region.size(), false);
  for (size_t i = 0; i < region.size(); ++i) outline[i] = region[i] && !inner[i];
  return outline;
}

Image Grayscale(const Image& rgb) {
  Image gray(rgb.width, rgb.height, 3);
  for (int64_t y = 0; y < rgb.height; ++y) {
    for (int64_t x = 0; x < rgb.width; ++x) {
      const Rgb c = rgb.rgb_at(x, y);
      const uint8_t l = ToByte(0.299 * c.r + 0.587 * c.g + 0.114 * c.b);
      gray.set_rgb(x, y, {l, l, l});
    }
  }
  return gray;
}

StatusOr<Image> RenderAttributionImage(const Tensor& attribution, const Visualization& v, const Image* original) {
  XAI_ASSIGN_OR_RETURN(PixelMap map, SumOverChannels(attribution));
  if (v.type == VisualizationType::kOutlines) {
    XAI_ASSIGN_OR_RETURN(map, SmoothForOutlines(map));
  }
  const int64_t h = map.height, w = map.width;
  if (original != nullptr && (original->width != w || original->height != h || original->channels != 3)) {
    return InvalidArgument("the original image is " + std::to_string(original->width) + "x" +
                           std::to_string(original->height) + " with " + std::to_string(original->channels) +
                           " channels; the attributions need " + std::to_string(w) + "x" + std::to_string(h) +
                           " RGB");
  }
  const std::vector<double> s =
      ClipAttributions(map, v.polarity, v.clip_percent_lowerbound, v.clip_percent_upperbound);
  const bool has_base = original != nullptr && v.overlay_type != OverlayType::kNone;
  Image out = BaseImage(v.overlay_type, original, w, h);

  if (v.type == VisualizationType::kPixels) {
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const double value = s[static_cast<size_t>(y * w + x)];
        const double strength = std::fabs(value);
        if (!has_base) {
          out.set_rgb(x, y, ColorAt(v.color_map, value));
        } else if (v.overlay_type == OverlayType::kMaskBlack) {
          out.set_rgb(x, y, Scale(out.rgb_at(x, y), strength));
        } else {
          out.set_rgb(x, y, Blend(out.rgb_at(x, y), ColorAt(v.color_map, value), strength));
        }
      }
    }
    return out;
  }

  // Outlines of the positive and of the negative regions.
  std::vector<bool> positive(s.size()), negative(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    positive[i] = s[i] > 0;
    negative[i] = s[i] < 0;
  }
  if (has_base && v.overlay_type == OverlayType::kMaskBlack) {
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        if (s[static_cast<size_t>(y * w + x)] == 0) out.set_rgb(x, y, {0, 0, 0});
      }
    }
  }
  const int outline_width = OutlineWidth(h, w);
  const std::vector<bool> positive_outline = RegionOutline(positive, h, w, outline_width);
  const std::vector<bool> negative_outline = RegionOutline(negative, h, w, outline_width);
  const Rgb positive_color = ColorAt(v.color_map, 1.0);
  const Rgb negative_color = ColorAt(v.color_map, -1.0);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const size_t i = static_cast<size_t>(y * w + x);
      if (positive_outline[i]) out.set_rgb(x, y, positive_color);
      if (negative_outline[i]) out.set_rgb(x, y, negative_color);
    }
  }
  return out;
}

}  // namespace xai
