// XRAI (Kapishnikov, Bolukbasi, Viegas, Terry 2019, "XRAI: Better
// Attributions Through Regions", ICCV): region-based image attributions built
// on Integrated Gradients.
//
//  1. Integrated Gradients (integrated_gradients.h, called, not copied) from
//     two baselines, a black and a white constant image, averaged, and summed
//     over channels into one value per pixel.
//  2. The image is over-segmented with Felzenszwalb's graph segmentation
//     (felzenszwalb.h) at several scales; each segment's mask, dilated by a
//     few pixels, is a candidate region.
//  3. Greedy selection: repeatedly take the candidate with the highest gain,
//     the mean attribution over its pixels not yet covered; those pixels
//     become covered and get that gain as their value. Until every pixel is
//     covered (pixels no candidate covers form one last region).
//
// Each pixel's value is the attribution density of the region that first
// covered it, so the map sums to the Integrated Gradients total, and the
// brightest pixels are the regions that matter most per pixel.
//
// The pieces (XraiCandidateRegions, RankXraiRegions, XraiRegionMap) are
// exposed for tests and benchmarks. Everything here is a pure function of its
// arguments or, for Xrai, of its options: Xrai is immutable and may be shared
// between threads; the ModelFunction may not.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "attribution/attribution_method.h"
#include "attribution/felzenszwalb.h"
#include "attribution/integrated_gradients.h"
#include "attribution/model_function.h"
#include "core/status.h"
#include "core/tensor.h"

namespace xai {

// The resolution the segmentation defaults are tuned for (224x224, as in the
// paper and in PAIR's reference implementation, which segments at 224x224).
inline constexpr int64_t kXraiReferencePixels = int64_t{224} * 224;
inline constexpr int kXraiMaxScales = 16;
inline constexpr int kXraiMaxDilationRadius = 100;

struct XraiOptions {
  // How the attributions are computed: steps (default 50), rule, batch size.
  // The baselines are the black and the white image below, or, with
  // max_blur_sigma, the image blurred (a straight path from it, as
  // Vertex's blurBaselineConfig for XRAI).
  IntegratedGradientsOptions integrated_gradients;

  // Felzenszwalb's k at each segmentation scale, in 0..255 intensity units
  // (the image is first mapped from [black, white] to [0, 255], the units of
  // the paper) for a 224x224 image. A geometric ladder from very fine (25:
  // many small segments, which lets XRAI pick out small parts) to coarse (800:
  // about the paper's k = 300 for 128x128 images, carried to 224x224, i.e.
  // object-sized segments); six scales as in the XRAI paper, each doubling
  // the last so that the scales give distinct segmentations. For an image of
  // P pixels every k is multiplied by sqrt(P / kXraiReferencePixels): resizing
  // a smooth image by a factor s changes its pixel differences by 1/s and its
  // segment areas by s^2, so this keeps the segments' share of the image about
  // the same from 32x32 to 224x224 and beyond. Each > 0; 1 to 16 scales.
  std::vector<double> scales = {25, 50, 100, 200, 400, 800};

  // Gaussian smoothing (pixels) before segmenting: the paper's 0.8, which
  // removes digitisation noise without moving edges. [0, 10].
  double segmentation_sigma = 0.8;

  // Smallest segment, in pixels of a 224x224 image (0.3% of it, as in PAIR's
  // reference): speckle is merged into its neighbours and a scale yields at
  // most ~330 segments. Multiplied by P / kXraiReferencePixels for an image of
  // P pixels (at least 1 pixel: 3 pixels at 32x32). >= 0.
  int min_segment_size = 150;

  // Each segment's mask is grown by this many pixels (Euclidean disk), in
  // pixels of the input image, as in the paper and PAIR's reference: dilated
  // regions overlap, so a region straddling a segment boundary can be picked
  // and object outlines are not missed. 0 disables dilation. Small images
  // (32x32) give finer maps with a smaller radius (1 or 2). [0, 100].
  int dilation_radius = 5;

  // The fewest pixels a region must newly cover to be taken, in pixels of a
  // 224x224 image (PAIR's reference uses 50, 0.1% of it): once a region would
  // add fewer, it is dropped, so slivers left between taken regions do not
  // rank first on a few strong pixels. Multiplied by P / kXraiReferencePixels
  // for an image of P pixels, at least 1 (1 pixel at 32x32). Pixels no taken
  // region covers form the last region. >= 0 (0 and 1 drop nothing).
  int min_new_pixels = 50;

  // The fast variant: segments at three scales only (the first, middle
  // (index n/2) and last of `scales`), and selects regions in rounds: each
  // round ranks the remaining regions once and takes the best tenth of them
  // (at least one) in that order, each with its gain over the pixels still
  // uncovered when it is taken. The map still sums to the IG total.
  bool fast = false;

  // The black and white baselines: constant images at these values, the
  // minimum and maximum of the input domain ([0, 1] by default). Also the
  // range mapped to [0, 255] for segmentation. Finite, black < white.
  double black = 0.0;
  double white = 1.0;
};

// INVALID_ARGUMENT naming the bad field, its value and the valid range
// (including the Integrated Gradients options).
Status ValidateXraiOptions(const XraiOptions& options);

// A candidate region: a set of pixels, by flat index y * width + x.
struct XraiRegion {
  std::vector<int32_t> pixels;  // ascending for the candidates made here.
  int scale_index = -1;         // index into XraiOptions::scales; -1 if made by hand.
};

// The candidate regions of an image, the instance tensor of shape
// [1, H, W, C] or [1, H, W] (see Xrai::Attribute for the checks): for each
// scale in turn (three with options.fast), one region per Felzenszwalb
// segment, dilated by options.dilation_radius. Every pixel is in at least one
// region of every scale.
StatusOr<std::vector<XraiRegion>> XraiCandidateRegions(const Tensor& image,
                                                       const XraiOptions& options);

// One step of the greedy selection.
struct XraiSelection {
  int region = -1;     // index into the regions; -1: the pixels no region covers.
  double gain = 0;     // mean attribution over the newly covered pixels.
  int64_t pixels = 0;  // how many pixels it newly covered (>= 1).
};

struct XraiRanking {
  // Shaped like the pixel attributions: each pixel's value is the gain of the
  // selection that covered it.
  Tensor map;
  std::vector<XraiSelection> selections;  // in the order taken.
};

// Greedy selection (step 3 above) over `pixel_attributions` (one value per
// pixel, any shape; region pixels index its flat values): exact (fast =
// false) or in rounds (fast = true, see XraiOptions::fast). Ties go to the
// lower region index; regions with fewer than max(1, min_new_pixels)
// uncovered pixels left are dropped (their pixels stay for other regions or
// the last one); a pixel listed twice in a region counts once. The map sums to the sum of
// pixel_attributions up to rounding. Each region's uncovered count and sum are
// updated incrementally as pixels are covered, so the cost is
// O(total region size + selections * log(regions)), not regions^2 * pixels.
// INVALID_ARGUMENT for a value count that does not match the shape, a
// non-finite value, or a region pixel outside [0, number of pixels).
StatusOr<XraiRanking> RankXraiRegions(const Tensor& pixel_attributions,
                                      const std::vector<XraiRegion>& regions, bool fast = false,
                                      int64_t min_new_pixels = 1);

// RankXraiRegions' map alone.
StatusOr<Tensor> XraiRegionMap(const Tensor& pixel_attributions,
                               const std::vector<XraiRegion>& regions, bool fast = false,
                               int64_t min_new_pixels = 1);

class Xrai : public AttributionMethod {
 public:
  explicit Xrai(XraiOptions options = {}) : options_(std::move(options)) {}

  const char* name() const override { return "xrai"; }
  const XraiOptions& options() const { return options_; }

  // One Attribution per requested output element, in request order.
  // `inputs.instance` must be exactly one floating-point image of shape
  // [1, H, W, C] or [1, H, W] with H, W, C >= 1, at most
  // kMaxSegmentationPixels pixels and finite values; otherwise
  // INVALID_ARGUMENT (RESOURCE_EXHAUSTED when too large) saying that XRAI
  // explains images and that Integrated Gradients explains other inputs.
  // `inputs.baselines` are ignored: XRAI's baselines are the black and white
  // images of the options, integrated in one IntegratedGradients call (one
  // batched pass over both paths). `feature_of_element` is ignored.
  //
  // attributions: shaped like the instance; a pixel's XRAI value divided
  // evenly over its C channels, so they sum to the IG total.
  // instance_output, baseline_output (mean of f(black), f(white)) and steps:
  // those of the IG result; approximation_error: CompletenessError of the
  // XRAI sum (equal to IG's up to rounding).
  StatusOr<std::vector<Attribution>> Attribute(ModelFunction& model,
                                               const AttributionInputs& inputs) const override;

 private:
  XraiOptions options_;
};

}  // namespace xai
