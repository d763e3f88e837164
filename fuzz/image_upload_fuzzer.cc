// Fuzzes what happens to an uploaded image ({"b64": PNG or JPEG} for an image
// input) once its base64 is decoded: bytes -> DecodeImage (libpng /
// libjpeg-turbo behind our wrapper) -> ImageToTensorRow for image inputs of
// several shapes (the image's own size, resized to gray, resized to RGB),
// then back to pixels (ImageFromTensorRow) and to PNG (EncodePng).
//
// Properties: nothing crashes, leaks, hangs or hits undefined behaviour, also
// on corrupt or truncated files (the JPEG error path longjmps); a decoded
// image has width x height x 3 bytes; tensor rows have the spec's shape and
// values inside the domain; a decoded image re-encoded as PNG decodes to the
// same pixels.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "fuzz_check.h"
#include "render/image_tensor.h"
#include "render/png.h"

namespace xai {
namespace {

// Only small images are re-encoded: the round trip is about correctness, and
// a few megapixels would only slow the fuzzer down.
constexpr int64_t kMaxRoundTripPixels = 1 << 16;

void CheckRow(const Image& rgb, const Shape& row_spec, const ValueRange& domain) {
  StatusOr<Tensor> row = ImageToTensorRow(rgb, row_spec, DType::kFloat32, domain);
  if (!row.ok()) {
    XAI_FUZZ_CHECK(!row.status().message().empty(), "an error without a message");
    return;
  }
  const int64_t height = row_spec[0] > 0 ? row_spec[0] : rgb.height;
  const int64_t width = row_spec[1] > 0 ? row_spec[1] : rgb.width;
  XAI_FUZZ_CHECK((row->shape == Shape{1, height, width, row_spec[2]}),
                 "image row has shape " + ShapeToString(row->shape) + " for spec " + ShapeToString(row_spec));
  XAI_FUZZ_CHECK(static_cast<int64_t>(row->values.size()) == row->num_elements(), "image row value count");
  for (double v : row->values) {
    XAI_FUZZ_CHECK(v >= domain.min && v <= domain.max,
                   "pixel value " + std::to_string(v) + " outside the domain for spec " + ShapeToString(row_spec));
  }
  StatusOr<Image> back = ImageFromTensorRow(*row, domain);
  XAI_FUZZ_CHECK(back.ok(), "an image row does not convert back to pixels: " + back.status().message());
}

}  // namespace
}  // namespace xai

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xai;
  StatusOr<Image> image = DecodeImage(std::string(reinterpret_cast<const char*>(data), size));
  if (!image.ok()) {
    XAI_FUZZ_CHECK(!image.status().message().empty(), "an error without a message");
    return 0;
  }
  XAI_FUZZ_CHECK(image->channels == 3 && image->width > 0 && image->height > 0 &&
                     static_cast<int64_t>(image->pixels.size()) == image->width * image->height * 3,
                 "decoded image " + std::to_string(image->width) + "x" + std::to_string(image->height) + "x" +
                     std::to_string(image->channels) + " holds " + std::to_string(image->pixels.size()) + " bytes");
  if (image->width * image->height > kMaxRoundTripPixels) return 0;
  CheckRow(*image, {-1, -1, 3}, ValueRange{0, 1});
  CheckRow(*image, {8, 8, 1}, ValueRange{-1, 1});
  CheckRow(*image, {3, 5, 3}, ValueRange{0, 255});

  StatusOr<std::string> png = EncodePng(*image);
  XAI_FUZZ_CHECK(png.ok(), "a decoded image does not encode as PNG: " + png.status().message());
  StatusOr<Image> again = DecodeImage(*png);
  XAI_FUZZ_CHECK(again.ok() && again->width == image->width && again->height == image->height &&
                     again->pixels == image->pixels,
                 "a decoded image re-encoded as PNG does not decode to the same pixels");
  return 0;
}
