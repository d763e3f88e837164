#include "attribution/gaussian_blur.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"
#include "testing/test_inputs.h"

namespace xai {
namespace {

using testing::FailsWith;
using testing::RowShaped;  // a float32 image of one row: shape [1, dims...].
using testing::Sum;

// Deterministic, varied pixel values (no randomness needed).
std::vector<double> Pattern(int64_t n) {
  std::vector<double> values(n);
  for (int64_t e = 0; e < n; ++e) values[e] = std::sin(0.37 * e * e + 1.3 * e) * 10 + 0.1 * e;
  return values;
}

// exp(-k^2 / (2 sigma^2)) for k = -r..r, r = ceil(3 sigma), normalized here,
// independently of the code under test.
std::vector<double> ExpectedKernel(double sigma) {
  const int r = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> kernel;
  for (int k = -r; k <= r; ++k) kernel.push_back(std::exp(-(k * k) / (2 * sigma * sigma)));
  const double sum = Sum(kernel);
  for (double& w : kernel) w /= sum;
  return kernel;
}

TEST(GaussianKernelTest, HasRadiusCeilThreeSigmaSumsToOneAndIsTheSampledGaussian) {
  for (double sigma : {0.3, 1.0, 1.7, 2.5, 10.0}) {
    SCOPED_TRACE("sigma " + std::to_string(sigma));
    const std::vector<double> kernel = GaussianKernel(sigma);
    const int64_t radius = static_cast<int64_t>(std::ceil(3 * sigma));
    EXPECT_EQ(GaussianKernelRadius(sigma), radius);
    ASSERT_EQ(kernel.size(), static_cast<size_t>(2 * radius + 1));
    EXPECT_NEAR(Sum(kernel), 1.0, 1e-15);
    const std::vector<double> expected = ExpectedKernel(sigma);
    for (size_t k = 0; k < kernel.size(); ++k) {
      EXPECT_NEAR(kernel[k], expected[k], 1e-15);
      EXPECT_EQ(kernel[k], kernel[kernel.size() - 1 - k]);  // symmetric.
    }
    // Peaked at the centre, decreasing outwards.
    for (int64_t k = radius; k < 2 * radius; ++k) EXPECT_GT(kernel[k], kernel[k + 1]);
  }
  EXPECT_TRUE(GaussianKernel(0).empty());
  EXPECT_TRUE(GaussianKernel(-1).empty());
}

TEST(GaussianBlurTest, ConstantImageStaysConstant) {
  for (double sigma : {0.5, 2.0, 40.0}) {  // 40: the kernel is wider than the image.
    Tensor image = RowShaped({7, 9, 3}, std::vector<double>(7 * 9 * 3, 2.5));
    StatusOr<Tensor> blurred = GaussianBlurImage(image, sigma);
    ASSERT_TRUE(blurred.ok()) << blurred.status().ToString();
    for (double value : blurred->values) EXPECT_NEAR(value, 2.5, 1e-12) << "sigma " << sigma;
  }
}

TEST(GaussianBlurTest, ReflectingEdgesPreserveEveryChannelsSum) {
  // Half-sample reflection keeps the sum of any image, whatever sigma.
  for (double sigma : {0.7, 1.5, 3.0, 25.0}) {
    SCOPED_TRACE("sigma " + std::to_string(sigma));
    const Tensor image = RowShaped({6, 11, 2}, Pattern(6 * 11 * 2));
    StatusOr<Tensor> blurred = GaussianBlurImage(image, sigma);
    ASSERT_TRUE(blurred.ok()) << blurred.status().ToString();
    for (int c = 0; c < 2; ++c) {
      double before = 0;
      double after = 0;
      for (size_t e = c; e < image.values.size(); e += 2) {
        before += image.values[e];
        after += blurred->values[e];
      }
      EXPECT_NEAR(after, before, 1e-10) << "channel " << c;
    }
    // It really did blur: values changed.
    EXPECT_NE(blurred->values, image.values);
  }
}

TEST(GaussianBlurTest, EdgesReflectAboutThePixelEdge) {
  // A single row ([1,1,W]): the height pass leaves it unchanged, and the width
  // pass reads x[-1] = x[0], x[-2] = x[1], x[W] = x[W-1], x[W+1] = x[W-2].
  const double sigma = 0.6;  // radius 2.
  const std::vector<double> w = ExpectedKernel(sigma);  // w[0..4] for k = -2..2.
  const std::vector<double> x = {1, 4, -2, 8, 3};
  StatusOr<Tensor> blurred = GaussianBlurImage(RowShaped({1, 5}, x), sigma);
  ASSERT_TRUE(blurred.ok()) << blurred.status().ToString();
  const std::vector<double> padded = {x[1], x[0], x[0], x[1], x[2], x[3], x[4], x[4], x[3]};
  for (int j = 0; j < 5; ++j) {
    double expected = 0;
    for (int k = 0; k < 5; ++k) expected += w[k] * padded[j + k];
    EXPECT_NEAR(blurred->values[j], expected, 1e-14) << "pixel " << j;
  }
}

TEST(GaussianBlurTest, ImpulseBecomesASymmetricSeparableGaussianWithTheExpectedSigma) {
  const double sigma = 2.5;  // radius 8, well inside a 41x41 image.
  const int n = 41;
  const int centre = 20;
  std::vector<double> values(n * n, 0.0);
  values[centre * n + centre] = 1.0;
  StatusOr<Tensor> blurred = GaussianBlurImage(RowShaped({n, n}, values), sigma);
  ASSERT_TRUE(blurred.ok()) << blurred.status().ToString();
  const std::vector<double>& out = blurred->values;
  auto at = [&](int h, int w) { return out[h * n + w]; };

  const std::vector<double> kernel = ExpectedKernel(sigma);
  const int radius = static_cast<int>(kernel.size() / 2);
  double second_moment_h = 0;
  double second_moment_w = 0;
  double mean_h = 0;
  for (int h = 0; h < n; ++h) {
    for (int w = 0; w < n; ++w) {
      const int dh = h - centre;
      const int dw = w - centre;
      // Separable: the outer product of the kernel with itself, zero outside.
      const bool inside = std::abs(dh) <= radius && std::abs(dw) <= radius;
      const double expected = inside ? kernel[dh + radius] * kernel[dw + radius] : 0.0;
      EXPECT_NEAR(at(h, w), expected, 1e-15) << h << "," << w;
      // Symmetric under reflections and transposition about the centre.
      EXPECT_NEAR(at(h, w), at(2 * centre - h, w), 1e-17);
      EXPECT_NEAR(at(h, w), at(h, 2 * centre - w), 1e-17);
      EXPECT_NEAR(at(h, w), at(w, h), 1e-17);
      mean_h += dh * at(h, w);
      second_moment_h += dh * dh * at(h, w);
      second_moment_w += dw * dw * at(h, w);
    }
  }
  EXPECT_NEAR(Sum(out), 1.0, 1e-12);
  EXPECT_NEAR(mean_h, 0.0, 1e-12);
  // The variance of the truncated, sampled Gaussian ...
  double kernel_variance = 0;
  for (int k = -radius; k <= radius; ++k) kernel_variance += k * k * kernel[k + radius];
  EXPECT_NEAR(second_moment_h, kernel_variance, 1e-10);
  EXPECT_NEAR(second_moment_w, kernel_variance, 1e-10);
  // ... is sigma^2 but for the tails cut at 3 sigma (about 2.7% less).
  EXPECT_NEAR(second_moment_h, sigma * sigma, 0.04 * sigma * sigma);
  EXPECT_LT(second_moment_h, sigma * sigma);
}

TEST(GaussianBlurTest, ChannelsAreBlurredIndependently) {
  const int h = 9;
  const int w = 8;
  const double sigma = 1.3;
  // Channel 0: an impulse; channel 1: a pattern; channel 2: a constant.
  std::vector<std::vector<double>> channels(3, std::vector<double>(h * w, 0.0));
  channels[0][4 * w + 3] = 5.0;
  channels[1] = Pattern(h * w);
  channels[2].assign(h * w, -1.5);
  std::vector<double> interleaved(h * w * 3);
  for (int p = 0; p < h * w; ++p) {
    for (int c = 0; c < 3; ++c) interleaved[p * 3 + c] = channels[c][p];
  }
  StatusOr<Tensor> blurred = GaussianBlurImage(RowShaped({h, w, 3}, interleaved), sigma);
  ASSERT_TRUE(blurred.ok()) << blurred.status().ToString();
  EXPECT_EQ(blurred->shape, (Shape{1, h, w, 3}));
  for (int c = 0; c < 3; ++c) {
    SCOPED_TRACE("channel " + std::to_string(c));
    // The same as blurring that channel alone as a [1,H,W] image.
    StatusOr<Tensor> alone = GaussianBlurImage(RowShaped({h, w}, channels[c]), sigma);
    ASSERT_TRUE(alone.ok()) << alone.status().ToString();
    EXPECT_EQ(alone->shape, (Shape{1, h, w}));
    for (int p = 0; p < h * w; ++p) {
      EXPECT_NEAR(blurred->values[p * 3 + c], alone->values[p], 1e-14) << "pixel " << p;
    }
  }
  // The impulse spread only within its own channel: channel 2 is still flat.
  for (int p = 0; p < h * w; ++p) EXPECT_NEAR(blurred->values[p * 3 + 2], -1.5, 1e-12);
}

TEST(GaussianBlurTest, KeepsDtypeAndShape) {
  Tensor image = RowShaped({3, 4}, Pattern(12));
  image.dtype = DType::kFloat64;
  StatusOr<Tensor> blurred = GaussianBlurImage(image, 1.0);
  ASSERT_TRUE(blurred.ok()) << blurred.status().ToString();
  EXPECT_EQ(blurred->dtype, DType::kFloat64);
  EXPECT_EQ(blurred->shape, (Shape{1, 3, 4}));
  EXPECT_EQ(blurred->values.size(), 12u);
}

TEST(GaussianBlurTest, NonImagesAndBadSigmasAreRejected) {
  struct Case {
    Tensor image;
    double sigma;
    std::string piece;
  };
  const Case cases[] = {
      {Tensor(DType::kFloat32, {1, 5}), 1.0, "[1,H,W] or [1,H,W,C]; got [1,5]"},
      {Tensor(DType::kFloat32, {1, 2, 2, 2, 2}), 1.0, "got [1,2,2,2,2]"},
      {Tensor(DType::kFloat32, {2, 3, 3}), 1.0, "got [2,3,3]"},
      {Tensor::FromValues(DType::kFloat32, {1, 2, 2}, {1, 2, 3}), 1.0, "holds 3 values"},
      {Tensor(DType::kFloat32, {1, 3, 3}), 0.0, "sigma 0 is out of range"},
      {Tensor(DType::kFloat32, {1, 3, 3}), -2.0, "sigma -2 is out of range"},
      {Tensor(DType::kFloat32, {1, 3, 3}), std::numeric_limits<double>::quiet_NaN(),
       "sigma nan is out of range"},
      {Tensor(DType::kFloat32, {1, 3, 3}), 2e4, "(0, 10000]"},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(FailsWith(GaussianBlurImage(c.image, c.sigma).status(),
                          StatusCode::kInvalidArgument, {c.piece}));
  }
  EXPECT_TRUE(IsImageShape({1, 4, 4}));
  EXPECT_TRUE(IsImageShape({1, 4, 4, 3}));
  EXPECT_FALSE(IsImageShape({4, 4}));
  EXPECT_FALSE(IsImageShape({1, 4}));
}

}  // namespace
}  // namespace xai
