// An 8-bit raster image as the renderer and the codecs exchange it: width x
// height pixels, row-major from the top-left, `channels` interleaved bytes per
// pixel (1 gray, 3 RGB, 4 RGBA). Value type: copyable, thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xai {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
  bool operator!=(const Rgb& o) const { return !(*this == o); }
};

struct Image {
  int64_t width = 0, height = 0;
  int channels = 3;
  std::vector<uint8_t> pixels;  // width * height * channels bytes

  Image() = default;
  Image(int64_t width, int64_t height, int channels)
      : width(width), height(height), channels(channels),
        pixels(static_cast<size_t>(width * height * channels), 0) {}

  // The pixel at (x, y) of an RGB image.
  Rgb rgb_at(int64_t x, int64_t y) const {
    const uint8_t* p = &pixels[static_cast<size_t>((y * width + x) * channels)];
    return {p[0], p[1], p[2]};
  }
  void set_rgb(int64_t x, int64_t y, Rgb c) {
    uint8_t* p = &pixels[static_cast<size_t>((y * width + x) * channels)];
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
};

}  // namespace xai
