// Fake image models with analytic gradients, and the synthetic images they are
// explained on, for the XRAI tests. Builds on fake_models.h (batch checks,
// call and row counts). Header-only. Not thread-safe, like any ModelFunction.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "attribution/model_function.h"
#include "core/status.h"
#include "core/tensor.h"
#include "testing/fake_models.h"

namespace xai::testing {

// A square of pixels: rows [top, top + size), columns [left, left + size).
struct Patch {
  int64_t top = 0;
  int64_t left = 0;
  int64_t size = 0;
  bool Contains(int64_t y, int64_t x) const {
    return y >= top && y < top + size && x >= left && x < left + size;
  }
};

// f_k(image) = weight * (sum of every channel of every pixel in patches[k]):
// zero gradient elsewhere. One input of row shape [H, W, C] (or [H, W] when
// channels == 0, a grayscale image without a channel dimension); one output
// element per patch. Linear, so every integration rule gives the exact IG
// attribution weight * (x - b) inside patch k and 0 outside.
//
// Also records every row it is given whose values are all equal (a constant
// image, as a black or white baseline is), so tests can see which constant
// baselines were integrated from.
class PatchModel : public FakeModel {
 public:
  PatchModel(int64_t height, int64_t width, int64_t channels, std::vector<Patch> patches,
             double weight)
      : FakeModel({channels > 0 ? Shape{height, width, channels} : Shape{height, width}},
                  static_cast<int64_t>(patches.size())),
        width_(width),
        channels_(channels > 0 ? channels : 1),
        patches_(std::move(patches)),
        weight_(weight) {}

  StatusOr<ModelBatchResult> Evaluate(ModelBatch& batch, bool with_gradients) override {
    StatusOr<ModelBatchResult> result = FakeModel::Evaluate(batch, with_gradients);
    if (!result.ok()) return result;
    const Tensor& input = batch.inputs[0];
    const int64_t row_elements = input.row_elements();
    for (int64_t r = 0; r < input.batch_size(); ++r) {
      const double* row = input.values.data() + r * row_elements;
      bool constant = true;
      for (int64_t e = 1; e < row_elements && constant; ++e) constant = row[e] == row[0];
      if (constant) constant_rows_.push_back(row[0]);
    }
    return result;
  }

  // The values of the constant rows seen, in order.
  const std::vector<double>& constant_rows() const { return constant_rows_; }

  // Whether flat row element e (row-major over [H, W, C]) is in patch k.
  bool InPatch(int64_t k, int64_t e) const {
    const int64_t pixel = e / channels_;
    return patches_[k].Contains(pixel / width_, pixel % width_);
  }

  // The exact IG attribution of output k from the constant baseline `b`.
  std::vector<double> ExactAttribution(int64_t k, const std::vector<double>& image,
                                       double b) const {
    std::vector<double> attribution(image.size(), 0.0);
    for (size_t e = 0; e < image.size(); ++e) {
      if (InPatch(k, static_cast<int64_t>(e))) attribution[e] = weight_ * (image[e] - b);
    }
    return attribution;
  }

 protected:
  double Value(const std::vector<const double*>& x, int64_t k) const override {
    double value = 0;
    const int64_t elements = NumElements(row_shapes()[0]);
    for (int64_t e = 0; e < elements; ++e) {
      if (InPatch(k, e)) value += weight_ * x[0][e];
    }
    return value;
  }
  void Gradient(const std::vector<const double*>&, int64_t k,
                const std::vector<double*>& gradient) const override {
    const int64_t elements = NumElements(row_shapes()[0]);
    for (int64_t e = 0; e < elements; ++e) gradient[0][e] = InPatch(k, e) ? weight_ : 0.0;
  }

 private:
  int64_t width_;
  int64_t channels_;
  std::vector<Patch> patches_;
  double weight_;
  std::vector<double> constant_rows_;
};

// A [1, H, W, C] float32 image (or [1, H, W] when channels == 0): seeded
// uniform noise in [noise_low, noise_high] on every channel, with every pixel
// of `patches` set to `patch_value` on every channel.
inline Tensor PatchImage(int64_t height, int64_t width, int64_t channels,
                         const std::vector<Patch>& patches, double patch_value,
                         double noise_low = 0.0, double noise_high = 0.3, uint32_t seed = 7) {
  const int64_t c = channels > 0 ? channels : 1;
  Shape shape = channels > 0 ? Shape{1, height, width, channels} : Shape{1, height, width};
  Tensor image(DType::kFloat32, shape);
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> noise(noise_low, noise_high);
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      bool in_patch = false;
      for (const Patch& patch : patches) in_patch = in_patch || patch.Contains(y, x);
      for (int64_t ch = 0; ch < c; ++ch) {
        image.values[(y * width + x) * c + ch] = in_patch ? patch_value : noise(random);
      }
    }
  }
  return image;
}

}  // namespace xai::testing
