// Between 8-bit images and image tensors of a model input ([1,H,W,C] rows):
//
// - Uploads ({"b64": PNG or JPEG} for a floating-point image input): the
//   decoded RGB image is converted to the input's C channels (C = 1: the
//   ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B; C = 3: RGB), resized to
//   H x W with bilinear interpolation, and scaled from 0..255 to the input's
//   domain: v = min + (byte / 255) * (max - min).
//   Bilinear: half-pixel centres (the source coordinate of output pixel x is
//   (x + 0.5) * in_width / out_width - 0.5, clamped to the image), weights
//   linear in the distance to the two nearest source pixels on each axis,
//   no antialiasing when shrinking -- TensorFlow's tf.image.resize(...,
//   "bilinear", antialias=False) and OpenCV's INTER_LINEAR. An image of the
//   input's size is taken as is.
// - Pictures: an instance's image tensor back to RGB bytes for the overlays,
//   mapping the domain [min, max] onto 0..255 (rounded, clamped).
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "render/image.h"

namespace xai {

// A value range, e.g. an input's metadata domain.
struct ValueRange {
  double min = 0, max = 1;
};

// True for a floating-point or uint8 input whose rows are images [H,W,C]
// with C 1 or 3 (H and W may be unknown, -1).
bool IsImageInputSpec(DType dtype, const std::optional<Shape>& row_spec);

// The image resized to out_width x out_height: out_height * out_width *
// image.channels values in 0..255, row-major, channels interleaved.
std::vector<double> ResizeBilinear(const Image& image, int64_t out_width, int64_t out_height);

// An uploaded RGB image as one row of an image input: shape [1,H,W,C] from
// `row_spec` [H,W,C] (an unknown H or W takes the image's), C 1 or 3; 0..255
// mapped onto `domain` for a floating-point dtype, the bytes as they are for
// uint8.
StatusOr<Tensor> ImageToTensorRow(const Image& rgb, const Shape& row_spec, DType dtype, const ValueRange& domain);

// The range an image tensor's values are shown in when its metadata gives no
// domain: [0, 1] if every value is in it, else [0, 255] if every value is in
// that, else the values' own min..max.
ValueRange DisplayRange(const Tensor& image);

// One image row ([1,H,W], [1,H,W,1] or [1,H,W,3]) as RGB, `range` mapped to
// 0..255. INVALID_ARGUMENT for other shapes.
StatusOr<Image> ImageFromTensorRow(const Tensor& image, const ValueRange& range);

}  // namespace xai
