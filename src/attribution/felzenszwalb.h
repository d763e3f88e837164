// Felzenszwalb-Huttenlocher graph segmentation (Felzenszwalb, Huttenlocher
// 2004, "Efficient Graph-Based Image Segmentation", IJCV 59(2)): the image
// over-segmentation that XRAI (xrai.h) ranks by attribution density.
//
// The image is a graph with one vertex per pixel and an edge from each pixel
// to its 8 neighbours, weighted by the Euclidean distance between the two
// pixels' values (over all channels) after an optional Gaussian smoothing.
// Edges are visited in increasing weight; two components C1, C2 are merged
// when the edge between them weighs at most
//   min(Int(C1) + k / |C1|, Int(C2) + k / |C2|),
// Int(C) being the largest edge of C's minimum spanning tree and k the
// `scale`: a larger k favours larger segments. Components smaller than
// `min_size` are then merged into a neighbour, again in increasing edge
// weight. The weights, and so k, are in the units of the image's values (the
// paper uses 0..255 intensities, with sigma = 0.8 and k = 300 for 128x128
// images).
//
// FelzenszwalbGraph holds the smoothed image's sorted edges, which do not
// depend on k or min_size, so segmenting one image at several scales sorts
// once. It is immutable after Build and may be shared between threads.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace xai {

// Most pixels an image to segment may have (a 1024x1024 image: its graph holds
// about 4 edges of 16 bytes per pixel); larger images are refused with
// RESOURCE_EXHAUSTED.
inline constexpr int64_t kMaxSegmentationPixels = int64_t{1024} * 1024;
// Largest Gaussian smoothing sigma accepted, in pixels.
inline constexpr double kMaxSegmentationSigma = 10.0;

struct FelzenszwalbOptions {
  // k, in the units of the image's values; > 0. Larger: fewer, larger segments.
  double scale = 300;
  // Standard deviation, in pixels, of the Gaussian that smooths each channel
  // before the edge weights are taken (GaussianBlurImage, gaussian_blur.h;
  // the paper's 0.8 removes digitisation artefacts without moving edges); 0
  // disables smoothing. [0, 10].
  double sigma = 0.8;
  // Segments smaller than this many pixels are merged into a neighbour; 0 or
  // 1: no merging. >= 0.
  int min_size = 20;
};

// A label image: one segment index per pixel.
struct SegmentLabels {
  int64_t height = 0;
  int64_t width = 0;
  int num_segments = 0;
  // height * width labels, row-major, in 0..num_segments-1; every label is
  // used, and labels are numbered in raster order of their first pixel.
  std::vector<int32_t> labels;
};

class FelzenszwalbGraph {
 public:
  // The graph of `image`, a tensor of shape [H, W] (one channel) or [H, W, C],
  // smoothed with a Gaussian of `sigma`. INVALID_ARGUMENT for another rank, an
  // empty image, a value count that does not match the shape, a non-finite
  // value or sigma outside [0, 10]; RESOURCE_EXHAUSTED above
  // kMaxSegmentationPixels pixels.
  static StatusOr<FelzenszwalbGraph> Build(const Tensor& image, double sigma);

  // Segments with threshold constant `scale` (k) and `min_size` (see
  // FelzenszwalbOptions). O(edges * alpha(pixels)). INVALID_ARGUMENT for a
  // scale that is not finite and > 0 or a negative min_size.
  StatusOr<SegmentLabels> Segment(double scale, int min_size) const;

  int64_t height() const { return height_; }
  int64_t width() const { return width_; }

 private:
  struct Edge {
    double weight;
    int32_t a;
    int32_t b;
  };

  FelzenszwalbGraph() = default;

  int64_t height_ = 0;
  int64_t width_ = 0;
  std::vector<Edge> edges_;  // by increasing weight.
};

// Build then Segment, for one scale.
StatusOr<SegmentLabels> FelzenszwalbSegment(const Tensor& image,
                                            const FelzenszwalbOptions& options = {});

}  // namespace xai
