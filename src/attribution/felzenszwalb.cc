#include "attribution/felzenszwalb.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "attribution/gaussian_blur.h"

namespace xai {

namespace {

using std::to_string;

// Disjoint sets over the pixels, with union by size and path halving. Each
// root also keeps its component's threshold Int(C) + k / |C|.
class ComponentForest {
 public:
  ComponentForest(int32_t count, double scale)
      : parent_(count), size_(count, 1), threshold_(count, scale) {
    for (int32_t i = 0; i < count; ++i) parent_[i] = i;
  }

  int32_t Find(int32_t i) {
    while (parent_[i] != i) {
      parent_[i] = parent_[parent_[i]];
      i = parent_[i];
    }
    return i;
  }

  // Joins the components of roots a and b; returns the new root.
  int32_t Join(int32_t a, int32_t b) {
    if (size_[a] < size_[b]) std::swap(a, b);
    parent_[b] = a;
    size_[a] += size_[b];
    return a;
  }

  int32_t size(int32_t root) const { return size_[root]; }
  double threshold(int32_t root) const { return threshold_[root]; }
  void set_threshold(int32_t root, double value) { threshold_[root] = value; }

 private:
  std::vector<int32_t> parent_;
  std::vector<int32_t> size_;
  std::vector<double> threshold_;
};

}  // namespace

StatusOr<FelzenszwalbGraph> FelzenszwalbGraph::Build(const Tensor& image, double sigma) {
  if (image.shape.size() != 2 && image.shape.size() != 3) {
    return InvalidArgument("image to segment has shape " + ShapeToString(image.shape) +
                           "; expected [height, width] or [height, width, channels]");
  }
  for (int64_t dim : image.shape) {
    if (dim < 1) {
      return InvalidArgument("image to segment has shape " + ShapeToString(image.shape) +
                             "; expected every dimension >= 1");
    }
  }
  const int64_t height = image.shape[0];
  const int64_t width = image.shape[1];
  const int64_t channels = image.shape.size() == 3 ? image.shape[2] : 1;
  if (height > kMaxSegmentationPixels / width) {
    return ResourceExhausted("image to segment has " + to_string(height) + "x" +
                             to_string(width) + " pixels; at most " +
                             to_string(kMaxSegmentationPixels) + " are segmented");
  }
  if (static_cast<int64_t>(image.values.size()) != image.num_elements()) {
    return InvalidArgument("image to segment holds " + to_string(image.values.size()) +
                           " values; expected " + to_string(image.num_elements()) +
                           " for shape " + ShapeToString(image.shape));
  }
  for (size_t e = 0; e < image.values.size(); ++e) {
    if (!std::isfinite(image.values[e])) {
      return InvalidArgument("image to segment has value " + to_string(image.values[e]) +
                             " at element " + to_string(e) + "; expected finite values");
    }
  }
  if (!(sigma >= 0 && sigma <= kMaxSegmentationSigma)) {
    return InvalidArgument("segmentation sigma " + to_string(sigma) +
                           " is out of range; expected [0, " +
                           to_string(kMaxSegmentationSigma) + "] pixels");
  }

  std::vector<double> smoothed = image.values;
  if (sigma > 0) {
    Tensor batch = Tensor::FromValues(DType::kFloat64, {1, height, width, channels}, image.values);
    XAI_ASSIGN_OR_RETURN(Tensor blurred, GaussianBlurImage(batch, sigma));
    smoothed = std::move(blurred.values);
  }
  auto distance = [&](int64_t p, int64_t q) {
    double sum = 0;
    for (int64_t c = 0; c < channels; ++c) {
      const double d = smoothed[p * channels + c] - smoothed[q * channels + c];
      sum += d * d;
    }
    return std::sqrt(sum);
  };

  FelzenszwalbGraph graph;
  graph.height_ = height;
  graph.width_ = width;
  graph.edges_.reserve(4 * height * width);
  // Each pixel's right, lower-right, lower and lower-left neighbours: every
  // 8-neighbour pair once.
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      const int64_t p = y * width + x;
      auto add = [&](int64_t q) {
        graph.edges_.push_back({distance(p, q), static_cast<int32_t>(p), static_cast<int32_t>(q)});
      };
      if (x + 1 < width) add(p + 1);
      if (y + 1 < height) {
        if (x + 1 < width) add(p + width + 1);
        add(p + width);
        if (x > 0) add(p + width - 1);
      }
    }
  }
  // Stable: equal weights keep raster order, so results do not depend on the
  // standard library.
  std::stable_sort(graph.edges_.begin(), graph.edges_.end(),
                   [](const Edge& l, const Edge& r) { return l.weight < r.weight; });
  return graph;
}

StatusOr<SegmentLabels> FelzenszwalbGraph::Segment(double scale, int min_size) const {
  if (!(std::isfinite(scale) && scale > 0)) {
    return InvalidArgument("segmentation scale " + to_string(scale) +
                           " is out of range; expected a finite value > 0");
  }
  if (min_size < 0) {
    return InvalidArgument("minimum segment size " + to_string(min_size) +
                           " is out of range; expected an integer >= 0");
  }
  const int32_t pixels = static_cast<int32_t>(height_ * width_);
  ComponentForest forest(pixels, scale);
  for (const Edge& edge : edges_) {
    int32_t a = forest.Find(edge.a);
    int32_t b = forest.Find(edge.b);
    if (a == b) continue;
    if (edge.weight <= forest.threshold(a) && edge.weight <= forest.threshold(b)) {
      const int32_t root = forest.Join(a, b);
      // Edges come in increasing weight, so this one is the largest of the
      // joined component's minimum spanning tree: Int(C) = weight.
      forest.set_threshold(root, edge.weight + scale / forest.size(root));
    }
  }
  for (const Edge& edge : edges_) {
    const int32_t a = forest.Find(edge.a);
    const int32_t b = forest.Find(edge.b);
    if (a != b && (forest.size(a) < min_size || forest.size(b) < min_size)) forest.Join(a, b);
  }

  SegmentLabels result;
  result.height = height_;
  result.width = width_;
  result.labels.resize(pixels);
  std::vector<int32_t> label_of_root(pixels, -1);
  for (int32_t p = 0; p < pixels; ++p) {
    int32_t& label = label_of_root[forest.Find(p)];
    if (label < 0) label = result.num_segments++;
    result.labels[p] = label;
  }
  return result;
}

StatusOr<SegmentLabels> FelzenszwalbSegment(const Tensor& image, const FelzenszwalbOptions& options) {
  XAI_ASSIGN_OR_RETURN(FelzenszwalbGraph graph, FelzenszwalbGraph::Build(image, options.sigma));
  return graph.Segment(options.scale, options.min_size);
}

}  // namespace xai
