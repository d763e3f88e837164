#include "render/png.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <png.h>
// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

namespace xai {
namespace {

bool IsPng(const std::string& bytes) {
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature, 8) == 0;
}

bool IsJpeg(const std::string& bytes) {
  return bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xff &&
         static_cast<unsigned char>(bytes[1]) == 0xd8 && static_cast<unsigned char>(bytes[2]) == 0xff;
}

Status TooLarge(int64_t width, int64_t height, int64_t max_pixels) {
  return ResourceExhausted("the image is " + std::to_string(width) + "x" + std::to_string(height) + " = " +
                           std::to_string(width * height) + " pixels, more than the " + std::to_string(max_pixels) +
                           " pixels xaiserve decodes here; send a smaller image");
}

// An interlaced 16-bit PNG, whose header `png` has read: libpng 1.6's
// simplified reader gets every other row wrong when it makes 8 bits of
// such a file, so its 16-bit values are read as they are and made 8-bit
// here (value / 257, rounded, as for the other files; transparency over white).
StatusOr<Image> DecodeInterlaced16BitPng(png_image* png) {
  png->format = PNG_FORMAT_LINEAR_RGB_ALPHA;  // "linear": the stored values, unconverted
  const int64_t width = png->width, height = png->height;
  std::vector<uint16_t> wide(static_cast<size_t>(width * height * 4));
  if (!png_image_finish_read(png, nullptr, wide.data(), 0, nullptr)) {
    const std::string reason = png->message;
    png_image_free(png);
    return InvalidArgument("corrupt PNG data (libpng: " + reason + ")");
  }
  Image image(width, height, 3);
  for (int64_t p = 0; p < width * height; ++p) {
    const uint32_t alpha = wide[4 * p + 3];
    for (int c = 0; c < 3; ++c) {
      const uint32_t value = (wide[4 * p + c] * 255u + 32767u) / 65535u;
      image.pixels[3 * p + c] = static_cast<uint8_t>((value * alpha + 255u * (65535u - alpha) + 32767u) / 65535u);
    }
  }
  return image;
}

StatusOr<Image> DecodePng(const std::string& bytes, int64_t max_pixels) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    return InvalidArgument(std::string("corrupt PNG data (libpng: ") + png.message + ")");
  }
  const int64_t width = png.width, height = png.height;
  if (width * height > max_pixels) {
    png_image_free(&png);
    return TooLarge(width, height, max_pixels);
  }
  // IHDR's bit depth and interlace method (bytes 24 and 28 of the file).
  const bool interlaced_16_bit = bytes.size() > 28 && bytes[24] == 16 && bytes[28] == 1;
  if (interlaced_16_bit) return DecodeInterlaced16BitPng(&png);
  png.format = PNG_FORMAT_RGB;
  // 16-bit files without gamma information are sRGB-encoded like 8-bit ones
  // (as browsers show them), not linear (libpng's default).
  png.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  Image image(width, height, 3);
  std::fill(image.pixels.begin(), image.pixels.end(), 255);  // transparency shows white
  const png_color white = {255, 255, 255};
  if (!png_image_finish_read(&png, &white, image.pixels.data(), 0, nullptr)) {
    const std::string reason = png.message;
    png_image_free(&png);
    return InvalidArgument("corrupt PNG data (libpng: " + reason + ")");
  }
  return image;
}

// libjpeg reports fatal errors through error_exit, which must not return:
// jump back to DecodeJpeg instead of letting libjpeg call exit().
struct JpegErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {0};
};

void JpegErrorExit(j_common_ptr info) {
  auto* manager = reinterpret_cast<JpegErrorManager*>(info->err);
  manager->base.format_message(info, manager->message);
  std::longjmp(manager->jump, 1);
}

// A warning (corrupt data that libjpeg would paper over) refuses the image,
// at once: decoding on could cost seconds (a progressive file's scans).
void JpegEmitMessage(j_common_ptr info, int level) {
  if (level < 0) JpegErrorExit(info);
}

// A progressive JPEG may repeat scans without end, each a pass over every
// pixel: 1000 scans of a few bytes took 20 s of CPU for one 250 KB file.
// Real files have about 10 (libjpeg's default progression has 10).
constexpr int kMaxJpegScans = 64;

void JpegProgress(j_common_ptr info) {
  auto* decompress = reinterpret_cast<j_decompress_ptr>(info);
  if (decompress->input_scan_number <= kMaxJpegScans) return;
  auto* manager = reinterpret_cast<JpegErrorManager*>(info->err);
  std::snprintf(manager->message, sizeof manager->message,
                "a progressive JPEG of more than %d scans, which is not read; re-save it (baseline or progressive)",
                kMaxJpegScans);
  std::longjmp(manager->jump, 1);
}

// Everything that must survive the longjmp lives outside the setjmp frame's
// locals (no C++ objects with destructors are created between setjmp and
// longjmp).
struct JpegDecoding {
  jpeg_decompress_struct info;
  JpegErrorManager error;
  jpeg_progress_mgr progress;
  std::vector<uint8_t> pixels;
  int64_t width = 0, height = 0;
  int64_t max_pixels = kMaxDecodedPixels;
  bool too_large = false;
  bool cmyk = false;  // CMYK or YCCK, which libjpeg does not convert to RGB
};

// Returns false on a libjpeg error (the message is in d->error.message).
bool RunJpegDecoder(JpegDecoding* d, const std::string& bytes) {
  d->info.err = jpeg_std_error(&d->error.base);
  d->error.base.error_exit = JpegErrorExit;
  d->error.base.emit_message = JpegEmitMessage;
  if (setjmp(d->error.jump)) {
    jpeg_destroy_decompress(&d->info);
    return false;
  }
  jpeg_create_decompress(&d->info);
  d->progress.progress_monitor = JpegProgress;
  d->info.progress = &d->progress;
  jpeg_mem_src(&d->info, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&d->info, TRUE);
  d->width = d->info.image_width;
  d->height = d->info.image_height;
  if (d->width * d->height > d->max_pixels) {
    d->too_large = true;
    jpeg_destroy_decompress(&d->info);
    return true;
  }
  if (d->info.jpeg_color_space == JCS_CMYK || d->info.jpeg_color_space == JCS_YCCK) {
    d->cmyk = true;
    jpeg_destroy_decompress(&d->info);
    return true;
  }
  d->info.out_color_space = JCS_RGB;  // libjpeg converts gray and YCbCr
  jpeg_start_decompress(&d->info);
  d->pixels.resize(static_cast<size_t>(d->width * d->height * 3));
  while (d->info.output_scanline < d->info.output_height) {
    JSAMPROW row = d->pixels.data() + static_cast<size_t>(d->info.output_scanline) * d->width * 3;
    jpeg_read_scanlines(&d->info, &row, 1);
  }
  jpeg_finish_decompress(&d->info);
  jpeg_destroy_decompress(&d->info);
  return true;
}

StatusOr<Image> DecodeJpeg(const std::string& bytes, int64_t max_pixels) {
  auto d = std::make_unique<JpegDecoding>();
  d->max_pixels = max_pixels;
  const bool decoded = RunJpegDecoder(d.get(), bytes);
  if (!decoded) {
    return InvalidArgument(std::string("corrupt JPEG data (libjpeg: ") + d->error.message + ")");
  }
  if (d->too_large) return TooLarge(d->width, d->height, max_pixels);
  if (d->cmyk) {
    return InvalidArgument("a CMYK JPEG image, which is not read: send grayscale or RGB (save it as RGB, or as PNG)");
  }
  Image image;
  image.width = d->width;
  image.height = d->height;
  image.channels = 3;
  image.pixels = std::move(d->pixels);
  return image;
}

}  // namespace

StatusOr<std::string> EncodePng(const Image& image) {
  if (image.channels != 1 && image.channels != 3 && image.channels != 4) {
    return InvalidArgument("cannot encode an image of " + std::to_string(image.channels) +
                           " channels as PNG; give 1 (gray), 3 (RGB) or 4 (RGBA)");
  }
  if (image.width < 1 || image.height < 1 || image.width > 0x7fffffff / 4 || image.height > 0x7fffffff ||
      image.pixels.size() != static_cast<size_t>(image.width * image.height * image.channels)) {
    return InvalidArgument("cannot encode a " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                           " image holding " + std::to_string(image.pixels.size()) + " bytes as PNG");
  }
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  png_alloc_size_t size = 0;
  // First call: the size the PNG needs; second call: write it.
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels.data(), 0, nullptr)) {
    return Internal(std::string("libpng could not encode the picture: ") + png.message);
  }
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, image.pixels.data(), 0, nullptr)) {
    return Internal(std::string("libpng could not encode the picture: ") + png.message);
  }
  bytes.resize(size);
  return bytes;
}

StatusOr<Image> DecodeImage(const std::string& bytes, int64_t max_pixels) {
  max_pixels = std::min(max_pixels, kMaxDecodedPixels);
  if (IsPng(bytes)) return DecodePng(bytes, max_pixels);
  if (IsJpeg(bytes)) return DecodeJpeg(bytes, max_pixels);
  return InvalidArgument("not a PNG or JPEG image: the bytes start with neither the PNG nor the JPEG signature");
}

}  // namespace xai
