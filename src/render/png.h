// PNG encoding of rendered pictures and PNG / JPEG decoding of uploaded
// images, through the well-kept libraries: libpng's simplified API
// (png_image_*) and libjpeg-turbo. No codec code of our own.
//
// Decoding never aborts the process: corrupt, truncated or non-image bytes
// come back as INVALID_ARGUMENT "not a PNG or JPEG image: ..." with the
// library's reason. Images larger than kMaxDecodedPixels (or a caller's
// smaller limit) are refused from their header, before their pixels are
// allocated, as RESOURCE_EXHAUSTED naming the size and the limit.
// Pure functions; thread-safe (both libraries are, per call).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "render/image.h"

namespace xai {

// 32 megapixels (96 MiB as RGB): beyond any model input and most photos.
inline constexpr int64_t kMaxDecodedPixels = int64_t{32} << 20;

// An 8-bit gray (1), RGB (3) or RGBA (4 channels) image as PNG bytes
// (deterministic: the same pixels give the same bytes).
StatusOr<std::string> EncodePng(const Image& image);

// PNG or JPEG bytes (recognised by their signatures) -> 8-bit RGB. PNG: any
// bit depth (16-bit files without gamma information read as sRGB), palette
// and gray expanded; transparency composited onto white.
// JPEG: gray, YCbCr or RGB colour spaces (CMYK is refused); a file with
// corrupt data (libjpeg warnings, e.g. a truncated file) is refused too.
// `max_pixels`: the most width x height to decode; at most kMaxDecodedPixels
// is ever decoded, whatever is given.
StatusOr<Image> DecodeImage(const std::string& bytes, int64_t max_pixels = kMaxDecodedPixels);

}  // namespace xai
