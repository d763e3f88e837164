#include "attribution/gaussian_blur.h"

#include <cmath>
#include <string>
#include <utility>

#include "core/number_format.h"

namespace xai {

namespace {

// One tap of a 1-D pass: output j reads input Reflect(j + offset).
struct Tap {
  int64_t offset = 0;
  double weight = 0;
};

// Index i mapped into [0, size) by half-sample symmetric reflection, repeated
// with period 2 * size: -1 -> 0, -2 -> 1, size -> size - 1, ... size >= 1.
int64_t Reflect(int64_t i, int64_t size) {
  const int64_t period = 2 * size;
  int64_t m = i % period;
  if (m < 0) m += period;
  return m < size ? m : period - 1 - m;
}

// The taps of `kernel` for a dimension of `size` >= 1. When the kernel is
// wider than one reflection period (2 * size), taps that land on the same
// input for every output are merged, so a pass costs at most 2 * size taps
// per output whatever sigma is.
std::vector<Tap> TapsFor(const std::vector<double>& kernel, int64_t size) {
  const int64_t radius = static_cast<int64_t>(kernel.size() / 2);
  const int64_t period = 2 * size;
  std::vector<Tap> taps;
  if (static_cast<int64_t>(kernel.size()) <= period) {
    taps.reserve(kernel.size());
    for (int64_t k = -radius; k <= radius; ++k) taps.push_back({k, kernel[k + radius]});
    return taps;
  }
  taps.resize(period);
  for (int64_t m = 0; m < period; ++m) taps[m].offset = m;
  for (int64_t k = -radius; k <= radius; ++k) {
    int64_t m = k % period;
    if (m < 0) m += period;
    taps[m].weight += kernel[k + radius];
  }
  return taps;
}

// Blurs along the middle dimension of a row-major [outer, size, inner] array.
void BlurAxis(const std::vector<double>& kernel, int64_t outer, int64_t size, int64_t inner,
              const std::vector<double>& in, std::vector<double>& out) {
  out.assign(in.size(), 0.0);
  if (size == 0 || inner == 0) return;
  const std::vector<Tap> taps = TapsFor(kernel, size);
  for (int64_t o = 0; o < outer; ++o) {
    const double* source = in.data() + o * size * inner;
    double* target = out.data() + o * size * inner;
    for (int64_t j = 0; j < size; ++j) {
      double* to = target + j * inner;
      for (const Tap& tap : taps) {
        const double* from = source + Reflect(j + tap.offset, size) * inner;
        for (int64_t c = 0; c < inner; ++c) to[c] += tap.weight * from[c];
      }
    }
  }
}

}  // namespace

Status ValidateGaussianBlurSigma(double sigma, const char* what) {
  if (!(sigma > 0) || !(sigma <= kMaxGaussianBlurSigma)) {
    return InvalidArgument(std::string(what) + " " + FormatNumber(sigma) +
                           " is out of range; expected a number of pixels in (0, " +
                           FormatNumber(kMaxGaussianBlurSigma) + "]");
  }
  return OkStatus();
}

int64_t GaussianKernelRadius(double sigma) { return static_cast<int64_t>(std::ceil(3 * sigma)); }

std::vector<double> GaussianKernel(double sigma) {
  if (!ValidateGaussianBlurSigma(sigma).ok()) return {};
  const int64_t radius = GaussianKernelRadius(sigma);
  std::vector<double> kernel(2 * radius + 1);
  double sum = 0;
  for (int64_t k = -radius; k <= radius; ++k) {
    const double weight = std::exp(-0.5 * (k / sigma) * (k / sigma));
    kernel[k + radius] = weight;
    sum += weight;
  }
  for (double& weight : kernel) weight /= sum;
  return kernel;
}

bool IsImageShape(const Shape& shape) {
  if (shape.size() != 3 && shape.size() != 4) return false;
  if (shape[0] != 1) return false;
  for (int64_t dim : shape) {
    if (dim < 0) return false;
  }
  return true;
}

StatusOr<Tensor> GaussianBlurImage(const Tensor& image, double sigma) {
  if (!IsImageShape(image.shape)) {
    return InvalidArgument("Gaussian blur needs an image of shape [1,H,W] or [1,H,W,C]; got " +
                           ShapeToString(image.shape));
  }
  if (static_cast<int64_t>(image.values.size()) != image.num_elements()) {
    return InvalidArgument("image to blur holds " + std::to_string(image.values.size()) +
                           " values; expected " + std::to_string(image.num_elements()) +
                           " for shape " + ShapeToString(image.shape));
  }
  XAI_RETURN_IF_ERROR(ValidateGaussianBlurSigma(sigma));

  const int64_t height = image.shape[1];
  const int64_t width = image.shape[2];
  const int64_t channels = image.shape.size() == 4 ? image.shape[3] : 1;
  const std::vector<double> kernel = GaussianKernel(sigma);
  std::vector<double> along_height;
  BlurAxis(kernel, 1, height, width * channels, image.values, along_height);
  Tensor blurred;
  blurred.dtype = image.dtype;
  blurred.shape = image.shape;
  BlurAxis(kernel, height, width, channels, along_height, blurred.values);
  return blurred;
}

}  // namespace xai
