// Renders an image input's attributions to an RGB picture following its
// metadata's `visualization` (SPEC §6; see visualization.h for the fields and
// color_map.h for the colours). The steps:
//
// 1. Per-pixel map: the attribution [1,H,W,C] (or [1,H,W]) summed over its
//    channels: m(y, x). Non-finite values count as 0.
// 2. Polarity keeps the pixels of one sign: positive keeps m > 0, negative
//    keeps m < 0 (by magnitude |m|), both keeps every m != 0; the others get 0.
// 3. Clipping: lo and hi are the clipPercentLowerbound and
//    clipPercentUpperbound percentiles of the kept pixels' magnitudes |m|
//    (linear interpolation between ranks, as numpy.percentile). A kept
//    pixel's strength is (|m| - lo) / (hi - lo), clamped to [0, 1]: 0 at or
//    below lo, 1 at or above hi (if hi == lo: 1 for |m| >= hi, else 0). The
//    clipped value s carries m's sign: s in [-1, 1].
// 4a. type pixels: every pixel gets colour C(s) of the colour map; with an
//    overlay the picture is the base image blended with C(s) by the strength
//    |s|: (1 - |s|) * base + |s| * C(s). mask_black shows the original image
//    scaled by |s| (black where the attribution is below lo).
// 4b. type outlines: first the per-pixel map m is smoothed with a Gaussian
//    of sigma = max(2, min(H, W) / 32) pixels (attribution/gaussian_blur.h,
//    edges reflected), so that outlines follow regions rather than single
//    noisy pixels; steps 2 and 3 then run on the smoothed map. The regions
//    are the pixels with s > 0 (and, separately, s < 0), i.e. above the
//    lower clip percentile. A region pixel lies on the
//    boundary when one of its 4 neighbours (up, down, left, right; outside
//    the image counts as outside) is not in the region; the outline is the
//    boundary pixels, grown inwards to a width of max(1, round(min(H, W) /
//    100)) pixels by repeated 4-neighbour erosion. Outline pixels get the
//    colour map's full-strength colour, C(+1) or C(-1); all other pixels show
//    the base: black (none), the original, its grayscale, or for mask_black
//    the original inside the regions and black outside.
//
// The base image for original / grayscale / mask_black is the instance's
// image (RGB, same size); without one (e.g. an internal graph tensor) the
// overlay is drawn on black as for none. Grayscale is the ITU-R 601 luma
// 0.299 R + 0.587 G + 0.114 B. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "render/image.h"
#include "render/visualization.h"

namespace xai {

// Step 1: H x W values, row-major.
struct PixelMap {
  int64_t height = 0, width = 0;
  std::vector<double> values;
};

// True for one row of an image: [1,H,W] or [1,H,W,C] with H, W, C >= 1.
bool IsImageRowShape(const Shape& shape);

// Step 1. INVALID_ARGUMENT unless IsImageRowShape(attribution.shape).
StatusOr<PixelMap> SumOverChannels(const Tensor& attribution);

// The p-th percentile (p in [0, 100]) of `values` with linear interpolation
// between closest ranks (numpy's default); 0 for no values.
double Percentile(std::vector<double> values, double p);

// Steps 2 and 3: the clipped value s in [-1, 1] of every pixel.
std::vector<double> ClipAttributions(const PixelMap& map, Polarity polarity, double lower_percent,
                                     double upper_percent);

// Step 4b's smoothing: the Gaussian sigma, in pixels, for an H x W image.
inline constexpr double kMinOutlineSmoothingSigma = 2.0;
inline constexpr double kOutlineSmoothingDivisor = 32.0;
double OutlineSmoothingSigma(int64_t height, int64_t width);

// Step 4b: the outline of `region` (H x W, row-major), `width` pixels wide.
std::vector<bool> RegionOutline(const std::vector<bool>& region, int64_t height, int64_t width, int outline_width);

// The ITU-R 601 luma of an RGB image, as an RGB image.
Image Grayscale(const Image& rgb);

// The whole picture. `original`: the instance's image (RGB, H x W) or null.
StatusOr<Image> RenderAttributionImage(const Tensor& attribution, const Visualization& visualization,
                                       const Image* original);

}  // namespace xai
