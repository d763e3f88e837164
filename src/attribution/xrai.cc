#include "attribution/xrai.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <string>
#include <utility>

#include "attribution/option_checks.h"
#include "attribution/path_integration.h"

namespace xai {

namespace {

using std::to_string;

constexpr char kImagesOnly[] =
    ". XRAI explains image inputs only: use Integrated Gradients "
    "(integratedGradientsAttribution) to explain other inputs";

struct ImageLayout {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  int64_t pixels() const { return height * width; }
};

// Checks that `image` is one floating-point image of shape [1, H, W, C] or
// [1, H, W] with finite values, small enough to segment.
StatusOr<ImageLayout> CheckImage(const Tensor& image) {
  const std::string expected = "; expected an image of shape [height,width,channels] or [height,width] per instance";
  if (!IsFloating(image.dtype)) {
    return InvalidArgument(std::string("XRAI input has dtype ") + DTypeName(image.dtype) +
                           "; expected floating-point pixel values" + kImagesOnly);
  }
  const Shape& shape = image.shape;
  bool image_shape = (shape.size() == 3 || shape.size() == 4) && shape[0] == 1;
  for (size_t d = 1; d < shape.size(); ++d) image_shape = image_shape && shape[d] >= 1;
  if (!image_shape) {
    // Named per instance, as the user gave it (one instance is [1, ...]).
    const std::string given = !shape.empty() && shape[0] == 1 ? ShapeToString(image.row_shape()) + " per instance"
                                                               : ShapeToString(shape) + " (with its batch dimension)";
    return InvalidArgument("XRAI input has shape " + given + expected +
                           " (every dimension >= 1)" + kImagesOnly);
  }
  ImageLayout layout;
  layout.height = shape[1];
  layout.width = shape[2];
  layout.channels = shape.size() == 4 ? shape[3] : 1;
  if (layout.height > kMaxSegmentationPixels / layout.width) {
    return ResourceExhausted("XRAI input image has " + to_string(layout.height) + "x" +
                             to_string(layout.width) + " pixels; XRAI segments at most " +
                             to_string(kMaxSegmentationPixels) +
                             " pixels: resize the image (for example to 224x224) first");
  }
  if (static_cast<int64_t>(image.values.size()) != image.num_elements()) {
    return InvalidArgument("XRAI input holds " + to_string(image.values.size()) +
                           " values; expected " + to_string(image.num_elements()) +
                           " for shape " + ShapeToString(shape));
  }
  for (size_t e = 0; e < image.values.size(); ++e) {
    if (!std::isfinite(image.values[e])) {
      return InvalidArgument("XRAI input value " + to_string(e) + " is " +
                             (std::isnan(image.values[e]) ? "nan" : "infinite") +
                             "; expected finite pixel values");
    }
  }
  return layout;
}

// The indices into options.scales that are segmented: all of them, or with
// `fast` the first, middle and last.
std::vector<int> ScaleIndices(const XraiOptions& options) {
  const int n = static_cast<int>(options.scales.size());
  if (!options.fast) {
    std::vector<int> all(n);
    for (int i = 0; i < n; ++i) all[i] = i;
    return all;
  }
  std::vector<int> three = {0, n / 2, n - 1};
  three.erase(std::unique(three.begin(), three.end()), three.end());
  return three;
}

// Appends one region per segment of `segments`, its mask grown by a disk of
// `radius` pixels: pixel p joins every segment that has a pixel within
// Euclidean distance `radius` of p. Each row's label runs are skipped in one
// step, so a pixel costs about 2 * radius + 1 lookups.
void AppendDilatedSegments(const SegmentLabels& segments, int radius, int scale_index,
                           std::vector<XraiRegion>& regions) {
  const int64_t height = segments.height;
  const int64_t width = segments.width;
  const std::vector<int32_t>& label = segments.labels;
  const size_t first = regions.size();
  regions.resize(first + segments.num_segments);
  for (size_t r = first; r < regions.size(); ++r) regions[r].scale_index = scale_index;

  // run_end[p]: the first column right of p, in p's row, with another label.
  std::vector<int32_t> run_end(label.size());
  for (int64_t y = 0; y < height; ++y) {
    const int64_t row = y * width;
    run_end[row + width - 1] = static_cast<int32_t>(width);
    for (int64_t x = width - 2; x >= 0; --x) {
      run_end[row + x] = label[row + x] == label[row + x + 1] ? run_end[row + x + 1]
                                                                : static_cast<int32_t>(x + 1);
    }
  }
  // half_width[dy + radius]: the largest dx with dx^2 + dy^2 <= radius^2.
  std::vector<int64_t> half_width(2 * radius + 1);
  for (int dy = -radius; dy <= radius; ++dy) {
    int64_t w = 0;
    while ((w + 1) * (w + 1) + dy * dy <= radius * radius) ++w;
    half_width[dy + radius] = w;
  }

  std::vector<int32_t> near;  // labels near the current pixel (usually 1 to 3).
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      near.clear();
      for (int dy = -radius; dy <= radius; ++dy) {
        const int64_t yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        const int64_t row = yy * width;
        const int64_t last = std::min(width - 1, x + half_width[dy + radius]);
        for (int64_t xx = std::max<int64_t>(0, x - half_width[dy + radius]); xx <= last;
             xx = run_end[row + xx]) {
          const int32_t l = label[row + xx];
          if (std::find(near.begin(), near.end(), l) == near.end()) near.push_back(l);
        }
      }
      const int32_t p = static_cast<int32_t>(y * width + x);
      for (int32_t l : near) regions[first + l].pixels.push_back(p);
    }
  }
}

// A pixel count given for a 224x224 image, carried to an image of `pixels`
// pixels: scaled by area and rounded, at least 1 and at most `pixels`; 0 stays 0.
int64_t ScaledToImage(int64_t count, int64_t pixels) {
  if (count <= 0) return 0;
  const double scaled = std::round(static_cast<double>(count) * static_cast<double>(pixels) /
                                   static_cast<double>(kXraiReferencePixels));
  return static_cast<int64_t>(std::clamp(scaled, 1.0, static_cast<double>(pixels)));
}

// A candidate in the exact selection's priority queue; stale once its
// region's version has moved on.
struct QueueEntry {
  double gain;
  int32_t region;
  uint32_t version;
  // Highest gain first, then the lowest region index.
  bool operator<(const QueueEntry& other) const {
    if (gain != other.gain) return gain < other.gain;
    return region > other.region;
  }
};

}  // namespace

Status ValidateXraiOptions(const XraiOptions& options) {
  XAI_RETURN_IF_ERROR(ValidateIntegratedGradientsOptions(options.integrated_gradients));
  const size_t num_scales = options.scales.size();
  if (num_scales < 1 || num_scales > static_cast<size_t>(kXraiMaxScales)) {
    return InvalidArgument("XRAI got " + to_string(num_scales) +
                           " segmentation scales; expected 1 to " + to_string(kXraiMaxScales));
  }
  for (size_t s = 0; s < num_scales; ++s) {
    if (!(std::isfinite(options.scales[s]) && options.scales[s] > 0)) {
      return InvalidArgument("XRAI segmentation scale " + to_string(s) + " is " +
                             to_string(options.scales[s]) + "; expected a finite value > 0");
    }
  }
  if (!(options.segmentation_sigma >= 0 && options.segmentation_sigma <= kMaxSegmentationSigma)) {
    return InvalidArgument("XRAI segmentation_sigma " + to_string(options.segmentation_sigma) +
                           " is out of range; expected [0, " +
                           to_string(kMaxSegmentationSigma) + "] pixels");
  }
  XAI_RETURN_IF_ERROR(
      CheckIntegerOptionAtLeast("XRAI min_segment_size", options.min_segment_size, 0));
  XAI_RETURN_IF_ERROR(
      CheckIntegerOptionAtLeast("XRAI min_new_pixels", options.min_new_pixels, 0));
  XAI_RETURN_IF_ERROR(CheckIntegerOptionInRange("XRAI dilation_radius", options.dilation_radius,
                                                0, kXraiMaxDilationRadius));
  if (!(std::isfinite(options.black) && std::isfinite(options.white) &&
        options.black < options.white)) {
    return InvalidArgument("XRAI black " + to_string(options.black) + " and white " +
                           to_string(options.white) +
                           " are not a valid pixel range; expected finite values with black < "
                           "white (the input domain's min and max)");
  }
  return OkStatus();
}

StatusOr<std::vector<XraiRegion>> XraiCandidateRegions(const Tensor& image,
                                                       const XraiOptions& options) {
  XAI_RETURN_IF_ERROR(ValidateXraiOptions(options));
  XAI_ASSIGN_OR_RETURN(const ImageLayout layout, CheckImage(image));

  // [black, white] -> [0, 255], the units of the scales.
  Tensor normalized(DType::kFloat64, {layout.height, layout.width, layout.channels});
  const double factor = 255.0 / (options.white - options.black);
  for (size_t e = 0; e < image.values.size(); ++e) {
    normalized.values[e] = (image.values[e] - options.black) * factor;
  }
  XAI_ASSIGN_OR_RETURN(const FelzenszwalbGraph graph,
                       FelzenszwalbGraph::Build(normalized, options.segmentation_sigma));

  // The defaults are for 224x224; see XraiOptions::scales and min_segment_size.
  const double area_ratio =
      static_cast<double>(layout.pixels()) / static_cast<double>(kXraiReferencePixels);
  const int min_size = static_cast<int>(ScaledToImage(options.min_segment_size, layout.pixels()));
  std::vector<XraiRegion> regions;
  for (int s : ScaleIndices(options)) {
    XAI_ASSIGN_OR_RETURN(const SegmentLabels segments,
                         graph.Segment(options.scales[s] * std::sqrt(area_ratio), min_size));
    AppendDilatedSegments(segments, options.dilation_radius, s, regions);
  }
  return regions;
}

StatusOr<XraiRanking> RankXraiRegions(const Tensor& pixel_attributions,
                                      const std::vector<XraiRegion>& regions, bool fast,
                                      int64_t min_new_pixels) {
  const std::vector<double>& value = pixel_attributions.values;
  const int64_t num_pixels = static_cast<int64_t>(value.size());
  if (num_pixels != pixel_attributions.num_elements()) {
    return InvalidArgument("pixel attributions hold " + to_string(num_pixels) +
                           " values; expected " + to_string(pixel_attributions.num_elements()) +
                           " for shape " + ShapeToString(pixel_attributions.shape));
  }
  if (num_pixels > std::numeric_limits<int32_t>::max() ||
      regions.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return InvalidArgument("got " + to_string(num_pixels) + " pixels and " +
                           to_string(regions.size()) + " regions; expected fewer than 2^31 each");
  }
  for (int64_t p = 0; p < num_pixels; ++p) {
    if (!std::isfinite(value[p])) {
      return InvalidArgument("pixel attribution " + to_string(p) + " is " + to_string(value[p]) +
                             "; expected finite values");
    }
  }
  const int32_t num_regions = static_cast<int32_t>(regions.size());

  // The inverse index: the regions holding pixel p are
  // member[member_begin[p] .. member_end[p]), each once.
  std::vector<int64_t> member_begin(num_pixels + 1, 0);
  for (int32_t r = 0; r < num_regions; ++r) {
    for (int32_t p : regions[r].pixels) {
      if (p < 0 || p >= num_pixels) {
        return InvalidArgument("region " + to_string(r) + " has pixel " + to_string(p) +
                               "; expected flat indices in [0, " + to_string(num_pixels) + ")");
      }
      ++member_begin[p + 1];
    }
  }
  for (int64_t p = 0; p < num_pixels; ++p) member_begin[p + 1] += member_begin[p];
  std::vector<int64_t> member_end(member_begin.begin(), member_begin.end() - 1);
  std::vector<int32_t> member(member_begin[num_pixels]);
  // Per region: its uncovered pixels' count and attribution sum.
  std::vector<int64_t> count(num_regions, 0);
  std::vector<double> sum(num_regions, 0.0);
  for (int32_t r = 0; r < num_regions; ++r) {
    for (int32_t p : regions[r].pixels) {
      int64_t& end = member_end[p];
      if (end > member_begin[p] && member[end - 1] == r) continue;  // listed twice in r.
      member[end++] = r;
      ++count[r];
      sum[r] += value[p];
    }
  }

  XraiRanking ranking;
  ranking.map = Tensor(DType::kFloat64, pixel_attributions.shape);
  std::vector<char> covered(num_pixels, 0);
  std::vector<int32_t> newly;    // pixels covered by the current selection.
  std::vector<int32_t> touched;  // regions that lost pixels to it.
  std::vector<int64_t> touched_stamp(num_regions, -1);

  // Takes region r: covers its uncovered pixels with their mean attribution
  // (summed afresh, so the map sums exactly) and updates the regions sharing
  // them.
  auto take = [&](int32_t r) {
    newly.clear();
    touched.clear();
    double gain_sum = 0;
    for (int32_t p : regions[r].pixels) {
      if (covered[p]) continue;
      covered[p] = 1;
      newly.push_back(p);
      gain_sum += value[p];
    }
    const double gain = gain_sum / static_cast<double>(newly.size());
    const int64_t stamp = static_cast<int64_t>(ranking.selections.size());
    for (int32_t p : newly) {
      ranking.map.values[p] = gain;
      for (int64_t m = member_begin[p]; m < member_end[p]; ++m) {
        const int32_t q = member[m];
        --count[q];
        sum[q] -= value[p];
        if (touched_stamp[q] != stamp) {
          touched_stamp[q] = stamp;
          touched.push_back(q);
        }
      }
    }
    ranking.selections.push_back({r, gain, static_cast<int64_t>(newly.size())});
  };
  auto gain_of = [&](int32_t r) { return sum[r] / static_cast<double>(count[r]); };
  // A region still worth taking: it would newly cover enough pixels.
  const int64_t fewest = std::max<int64_t>(1, min_new_pixels);
  auto eligible = [&](int32_t r) { return count[r] >= fewest; };

  if (!fast) {
    // Lazy priority queue: a region's entry is replaced (version bump)
    // whenever it loses pixels.
    std::vector<uint32_t> version(num_regions, 0);
    std::priority_queue<QueueEntry> queue;
    for (int32_t r = 0; r < num_regions; ++r) {
      if (eligible(r)) queue.push({gain_of(r), r, 0});
    }
    while (!queue.empty()) {
      const QueueEntry entry = queue.top();
      queue.pop();
      if (!eligible(entry.region) || version[entry.region] != entry.version) continue;
      take(entry.region);
      for (int32_t q : touched) {
        if (eligible(q)) queue.push({gain_of(q), q, ++version[q]});
      }
    }
  } else {
    std::vector<int32_t> live;
    for (int32_t r = 0; r < num_regions; ++r) {
      if (eligible(r)) live.push_back(r);
    }
    std::vector<std::pair<double, int32_t>> ranked;
    while (!live.empty()) {
      ranked.clear();
      for (int32_t r : live) ranked.push_back({-gain_of(r), r});  // best first.
      std::sort(ranked.begin(), ranked.end());
      const size_t round = (ranked.size() + 9) / 10;
      for (size_t i = 0; i < round; ++i) {
        if (eligible(ranked[i].second)) take(ranked[i].second);
      }
      live.erase(std::remove_if(live.begin(), live.end(), [&](int32_t r) { return !eligible(r); }),
                 live.end());
    }
  }

  // The pixels no region covers: one last region.
  double rest_sum = 0;
  int64_t rest_count = 0;
  for (int64_t p = 0; p < num_pixels; ++p) {
    if (!covered[p]) {
      rest_sum += value[p];
      ++rest_count;
    }
  }
  if (rest_count > 0) {
    const double gain = rest_sum / static_cast<double>(rest_count);
    for (int64_t p = 0; p < num_pixels; ++p) {
      if (!covered[p]) ranking.map.values[p] = gain;
    }
    ranking.selections.push_back({-1, gain, rest_count});
  }
  return ranking;
}

StatusOr<Tensor> XraiRegionMap(const Tensor& pixel_attributions,
                               const std::vector<XraiRegion>& regions, bool fast,
                               int64_t min_new_pixels) {
  XAI_ASSIGN_OR_RETURN(XraiRanking ranking,
                       RankXraiRegions(pixel_attributions, regions, fast, min_new_pixels));
  return std::move(ranking.map);
}

StatusOr<std::vector<Attribution>> Xrai::Attribute(ModelFunction& model,
                                                   const AttributionInputs& inputs) const {
  XAI_RETURN_IF_ERROR(ValidateXraiOptions(options_));
  if (inputs.instance.size() != 1) {
    return InvalidArgument("XRAI got " + to_string(inputs.instance.size()) +
                           " attributed inputs; expected exactly one, an image of shape "
                           "[1,height,width,channels] or [1,height,width]" +
                           kImagesOnly);
  }
  const Tensor& image = inputs.instance[0];
  XAI_ASSIGN_OR_RETURN(const ImageLayout layout, CheckImage(image));

  // Integrated Gradients from the black and the white image, in one call;
  // with a blur baseline, from the blurred image alone (Vertex's
  // xraiAttribution.blurBaselineConfig).
  AttributionInputs path_inputs;
  path_inputs.instance = inputs.instance;
  if (!options_.integrated_gradients.max_blur_sigma) {
    for (double level : {options_.black, options_.white}) {
      Tensor baseline(image.dtype, image.shape);
      std::fill(baseline.values.begin(), baseline.values.end(), level);
      path_inputs.baselines.push_back({std::move(baseline)});
    }
  }
  path_inputs.output_elements = inputs.output_elements;
  XAI_ASSIGN_OR_RETURN(
      std::vector<Attribution> attributions,
      IntegratedGradients(options_.integrated_gradients).Attribute(model, path_inputs));

  XAI_ASSIGN_OR_RETURN(const std::vector<XraiRegion> regions,
                       XraiCandidateRegions(image, options_));
  const int64_t min_new_pixels = ScaledToImage(options_.min_new_pixels, layout.pixels());
  const int64_t channels = layout.channels;
  for (Attribution& attribution : attributions) {
    const std::vector<double>& path = attribution.attributions[0].values;
    Tensor pixels(DType::kFloat64, {layout.height, layout.width});
    for (int64_t p = 0; p < layout.pixels(); ++p) {
      double total = 0;
      for (int64_t c = 0; c < channels; ++c) total += path[p * channels + c];
      pixels.values[p] = total;
    }
    XAI_ASSIGN_OR_RETURN(const Tensor map,
                         XraiRegionMap(pixels, regions, options_.fast, min_new_pixels));

    Tensor spread(image.dtype, image.shape);
    for (int64_t p = 0; p < layout.pixels(); ++p) {
      const double share = map.values[p] / static_cast<double>(channels);
      for (int64_t c = 0; c < channels; ++c) spread.values[p * channels + c] = share;
    }
    attribution.attributions = {std::move(spread)};
    // The map redistributes the IG total exactly, so IG's approximation_error
    // (the completeness gap of the paths integrated, noisy ones included with
    // SmoothGrad) stays the right one.
  }
  return attributions;
}

}  // namespace xai
