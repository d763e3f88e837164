// Gaussian blur of image tensors, written once for the attribution methods
// that need it: the blur baseline of Integrated Gradients (SPEC §3,
// blurBaselineConfig) and, later, XRAI.
//
// The blur is separable: a 1-D kernel of 2r+1 taps, r = ceil(3 sigma),
// w_k proportional to exp(-k^2 / (2 sigma^2)) and normalized to sum 1, is run
// along the height and then along the width, each channel on its own.
// Edges are handled by reflection about the pixel edge (half-sample symmetric:
// ... c b a | a b c ... z | z y x ...), repeated periodically when the kernel is
// wider than the image. With this rule a constant image stays constant and the
// sum of every channel is preserved. Values are computed in double precision;
// the dtype is kept as is.
//
// Pure functions: no state, thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace xai {

// Largest accepted sigma, in pixels. Far beyond any image: once the kernel is
// much wider than the image, the blur is already the per-channel mean.
inline constexpr double kMaxGaussianBlurSigma = 1e4;

// INVALID_ARGUMENT naming `what` and the value unless sigma is finite and in
// (0, kMaxGaussianBlurSigma].
Status ValidateGaussianBlurSigma(double sigma, const char* what = "Gaussian blur sigma");

// r = ceil(3 sigma), the kernel's radius in pixels. Sigma must be valid.
int64_t GaussianKernelRadius(double sigma);

// The 2r+1 taps w_{-r}..w_r (index k + r), symmetric, summing to 1.
// Sigma must be valid (see ValidateGaussianBlurSigma); empty otherwise.
std::vector<double> GaussianKernel(double sigma);

// True for the image shapes of one row: [1,H,W] or [1,H,W,C].
bool IsImageShape(const Shape& shape);

// The image blurred with a Gaussian of `sigma` pixels over its two spatial
// dimensions (H and W), per channel. `image` has shape [1,H,W] or [1,H,W,C]
// and NumElements(shape) values; the result has the same dtype and shape.
// INVALID_ARGUMENT naming the bad shape or sigma otherwise.
StatusOr<Tensor> GaussianBlurImage(const Tensor& image, double sigma);

}  // namespace xai
