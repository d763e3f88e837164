#include "render/image_tensor.h"

#include <algorithm>
#include <cmath>

namespace xai {
namespace {

// Source positions and weights of one axis, half-pixel centres.
struct AxisSample {
  int64_t lo = 0, hi = 0;
  double weight_hi = 0;
};

std::vector<AxisSample> AxisSamples(int64_t in_size, int64_t out_size) {
  std::vector<AxisSample> samples(static_cast<size_t>(out_size));
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  for (int64_t o = 0; o < out_size; ++o) {
    const double source = std::clamp((o + 0.5) * scale - 0.5, 0.0, static_cast<double>(in_size - 1));
    AxisSample& s = samples[static_cast<size_t>(o)];
    s.lo = static_cast<int64_t>(std::floor(source));
    s.hi = std::min(s.lo + 1, in_size - 1);
    s.weight_hi = source - static_cast<double>(s.lo);
  }
  return samples;
}

}  // namespace

bool IsImageInputSpec(DType dtype, const std::optional<Shape>& row_spec) {
  if ((!IsFloating(dtype) && dtype != DType::kUInt8) || !row_spec || row_spec->size() != 3) return false;
  const Shape& s = *row_spec;
  return (s[2] == 1 || s[2] == 3) && (s[0] == -1 || s[0] >= 1) && (s[1] == -1 || s[1] >= 1);
}

std::vector<double> ResizeBilinear(const Image& image, int64_t out_width, int64_t out_height) {
  const int c = image.channels;
  std::vector<double> out(static_cast<size_t>(out_width * out_height * c));
  const std::vector<AxisSample> xs = AxisSamples(image.width, out_width);
  const std::vector<AxisSample> ys = AxisSamples(image.height, out_height);
  auto at = [&](int64_t x, int64_t y, int ch) {
    return static_cast<double>(image.pixels[static_cast<size_t>((y * image.width + x) * c + ch)]);
  };
  for (int64_t y = 0; y < out_height; ++y) {
    const AxisSample& sy = ys[static_cast<size_t>(y)];
    for (int64_t x = 0; x < out_width; ++x) {
      const AxisSample& sx = xs[static_cast<size_t>(x)];
      for (int ch = 0; ch < c; ++ch) {
        const double top = at(sx.lo, sy.lo, ch) * (1 - sx.weight_hi) + at(sx.hi, sy.lo, ch) * sx.weight_hi;
        const double bottom = at(sx.lo, sy.hi, ch) * (1 - sx.weight_hi) + at(sx.hi, sy.hi, ch) * sx.weight_hi;
        out[static_cast<size_t>((y * out_width + x) * c + ch)] = top * (1 - sy.weight_hi) + bottom * sy.weight_hi;
      }
    }
  }
  return out;
}

StatusOr<Tensor> ImageToTensorRow(const Image& rgb, const Shape& row_spec, DType dtype, const ValueRange& domain) {
  if (rgb.channels != 3 || rgb.width < 1 || rgb.height < 1) {
    return InvalidArgument("expected a decoded RGB image, got " + std::to_string(rgb.channels) + " channels");
  }
  if (row_spec.size() != 3 || (row_spec[2] != 1 && row_spec[2] != 3)) {
    return InvalidArgument("an image can only feed an input of shape [H,W,1] or [H,W,3], not " +
                           ShapeToString(row_spec));
  }
  const int64_t height = row_spec[0] > 0 ? row_spec[0] : rgb.height;
  const int64_t width = row_spec[1] > 0 ? row_spec[1] : rgb.width;
  const int64_t channels = row_spec[2];
  Image gray;
  if (channels == 1) {
    gray = Image(rgb.width, rgb.height, 1);
    for (int64_t p = 0; p < rgb.width * rgb.height; ++p) {
      const uint8_t* c = &rgb.pixels[static_cast<size_t>(p * 3)];
      gray.pixels[static_cast<size_t>(p)] = static_cast<uint8_t>(std::lround(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]));
    }
  }
  const Image& source = channels == 1 ? gray : rgb;
  std::vector<double> bytes;
  if (width == source.width && height == source.height) {
    bytes.assign(source.pixels.begin(), source.pixels.end());
  } else {
    bytes = ResizeBilinear(source, width, height);
  }
  Tensor row(dtype, {1, height, width, channels});
  if (dtype == DType::kUInt8) {  // the bytes themselves (a resized pixel rounded)
    for (size_t i = 0; i < bytes.size(); ++i) row.values[i] = std::round(bytes[i]);
    return row;
  }
  for (size_t i = 0; i < bytes.size(); ++i) row.values[i] = domain.min + bytes[i] / 255.0 * (domain.max - domain.min);
  return row;
}

ValueRange DisplayRange(const Tensor& image) {
  double lo = 0, hi = 0;
  bool first = true;
  for (double v : image.values) {
    if (!std::isfinite(v)) continue;
    lo = first ? v : std::min(lo, v);
    hi = first ? v : std::max(hi, v);
    first = false;
  }
  if (lo >= 0 && hi <= 1) return {0, 1};
  if (lo >= 0 && hi <= 255) return {0, 255};
  if (hi > lo) return {lo, hi};
  return {lo - 1, lo + 1};
}

StatusOr<Image> ImageFromTensorRow(const Tensor& image, const ValueRange& range) {
  const Shape& s = image.shape;
  const bool ok_shape = (s.size() == 3 && s[0] == 1) || (s.size() == 4 && s[0] == 1 && (s[3] == 1 || s[3] == 3));
  if (!ok_shape || image.values.size() != static_cast<size_t>(NumElements(s))) {
    return InvalidArgument("cannot show a tensor of shape " + ShapeToString(s) +
                           " as an image; expected [1,H,W], [1,H,W,1] or [1,H,W,3]");
  }
  const int64_t height = s[1], width = s[2], channels = s.size() == 4 ? s[3] : 1;
  const double span = range.max > range.min ? range.max - range.min : 1;
  auto to_byte = [&](double v) {
    if (!std::isfinite(v)) return uint8_t{0};
    return static_cast<uint8_t>(std::lround(std::clamp((v - range.min) / span * 255.0, 0.0, 255.0)));
  };
  Image out(width, height, 3);
  for (int64_t p = 0; p < width * height; ++p) {
    for (int ch = 0; ch < 3; ++ch) {
      const double v = image.values[static_cast<size_t>(p * channels + (channels == 3 ? ch : 0))];
      out.pixels[static_cast<size_t>(p * 3 + ch)] = to_byte(v);
    }
  }
  return out;
}

}  // namespace xai
