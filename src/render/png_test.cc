#include "render/png.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include <jpeglib.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::FailsWith;

Image Pattern(int64_t width, int64_t height, int channels) {
  Image image(width, height, channels);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>((i * 37 + i / 7) % 256);
  return image;
}

// A JPEG of `image` (RGB or gray), written with libjpeg for the decoding
// tests; `configure`, if given, changes libjpeg's defaults before writing.
std::string EncodeJpeg(const Image& image, int quality,
                       const std::function<void(jpeg_compress_struct&)>& configure = nullptr) {
  jpeg_compress_struct info;
  jpeg_error_mgr error;
  info.err = jpeg_std_error(&error);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = static_cast<JDIMENSION>(image.width);
  info.image_height = static_cast<JDIMENSION>(image.height);
  info.input_components = image.channels;
  info.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : image.channels == 4 ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  if (configure) configure(info);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.pixels.data()) + info.next_scanline * image.width * image.channels;
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::string bytes(reinterpret_cast<char*>(buffer), size);
  std::free(buffer);
  return bytes;
}

TEST(PngTest, RgbRoundTripsExactly) {
  const Image image = Pattern(17, 9, 3);
  auto png = EncodePng(image);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  EXPECT_EQ(png->substr(1, 3), "PNG");
  auto decoded = DecodeImage(*png);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->width, 17);
  EXPECT_EQ(decoded->height, 9);
  EXPECT_EQ(decoded->channels, 3);
  EXPECT_EQ(decoded->pixels, image.pixels);
}

TEST(PngTest, EncodingIsDeterministic) {
  const Image image = Pattern(8, 8, 3);
  EXPECT_EQ(*EncodePng(image), *EncodePng(image));
}

TEST(PngTest, GrayDecodesToRgb) {
  const Image gray = Pattern(5, 4, 1);
  auto decoded = DecodeImage(*EncodePng(gray));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->channels, 3);
  for (size_t p = 0; p < gray.pixels.size(); ++p) {
    for (int c = 0; c < 3; ++c) ASSERT_EQ(decoded->pixels[p * 3 + c], gray.pixels[p]) << p;
  }
}

TEST(PngTest, OpaqueRgbaKeepsItsColoursAndTransparencyShowsWhite) {
  Image rgba = Pattern(2, 1, 4);
  rgba.pixels[3] = 255;  // pixel 0 opaque
  rgba.pixels[7] = 0;    // pixel 1 fully transparent
  auto decoded = DecodeImage(*EncodePng(rgba));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->rgb_at(0, 0), (Rgb{rgba.pixels[0], rgba.pixels[1], rgba.pixels[2]}));
  EXPECT_EQ(decoded->rgb_at(1, 0), (Rgb{255, 255, 255}));
}

TEST(PngTest, RefusesToEncodeWhatIsNotAnImage) {
  EXPECT_TRUE(FailsWith(EncodePng(Image(2, 2, 2)).status(), StatusCode::kInvalidArgument, {"2 channels"}));
  Image wrong(2, 2, 3);
  wrong.pixels.pop_back();
  EXPECT_TRUE(FailsWith(EncodePng(wrong).status(), StatusCode::kInvalidArgument, {"2x2"}));
  EXPECT_FALSE(EncodePng(Image(0, 0, 3)).ok());
}

TEST(JpegTest, DecodesRgbCloseToTheOriginal) {
  Image smooth(16, 16, 3);
  for (int64_t y = 0; y < 16; ++y) {
    for (int64_t x = 0; x < 16; ++x) smooth.set_rgb(x, y, {static_cast<uint8_t>(x * 16), static_cast<uint8_t>(y * 16), 128});
  }
  auto decoded = DecodeImage(EncodeJpeg(smooth, 100));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->width, 16);
  ASSERT_EQ(decoded->height, 16);
  ASSERT_EQ(decoded->channels, 3);
  for (size_t i = 0; i < smooth.pixels.size(); ++i) {
    ASSERT_NEAR(decoded->pixels[i], smooth.pixels[i], 12) << "byte " << i;  // lossy, with chroma subsampling
  }
}

TEST(JpegTest, GrayJpegDecodesToRgb) {
  Image gray(8, 8, 1);
  std::fill(gray.pixels.begin(), gray.pixels.end(), 77);
  auto decoded = DecodeImage(EncodeJpeg(gray, 95));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->channels, 3);
  EXPECT_EQ(decoded->rgb_at(3, 3), (Rgb{77, 77, 77}));
}

TEST(CorruptImageTest, NonImageBytesAreRefusedByName) {
  for (const std::string& bytes : {std::string(), std::string("hello, world"), std::string("GIF89a\x01\x00", 8),
                                  std::string("\x89PN", 3)}) {
    EXPECT_TRUE(FailsWith(DecodeImage(bytes).status(), StatusCode::kInvalidArgument,
                          {"not a PNG or JPEG image", "signature"}));
  }
}

TEST(CorruptImageTest, CorruptPngIsAnErrorNotACrash) {
  const std::string png = *EncodePng(Pattern(32, 32, 3));
  // Truncated at every few bytes up to the end of the pixel data, from just
  // after the signature (only the closing 12-byte IEND chunk is not needed).
  for (size_t size = 8; size < png.size() - 12; size += 7) {
    EXPECT_TRUE(FailsWith(DecodeImage(png.substr(0, size)).status(), StatusCode::kInvalidArgument,
                          {"corrupt PNG data (libpng: "}))
        << "truncated to " << size;
  }
  // The signature followed by garbage, and a flipped byte in the image data (CRC error).
  EXPECT_FALSE(DecodeImage(png.substr(0, 8) + std::string(100, '\x42')).ok());
  std::string flipped = png;
  flipped[png.size() / 2] = static_cast<char>(flipped[png.size() / 2] ^ 0x5a);
  EXPECT_TRUE(FailsWith(DecodeImage(flipped).status(), StatusCode::kInvalidArgument, {"libpng"}));
}

TEST(JpegTest, CmykJpegIsNamedNotCalledCorrupt) {
  // It used to read "corrupt JPEG data (libjpeg: Unsupported color conversion request)".
  auto decoded = DecodeImage(EncodeJpeg(Pattern(8, 8, 4), 90));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("a CMYK JPEG image"), std::string::npos) << decoded.status().message();
}

TEST(CorruptImageTest, CorruptJpegIsAnErrorNotACrash) {
  const std::string jpeg = EncodeJpeg(Pattern(32, 32, 3), 90);
  for (size_t size = 3; size < jpeg.size(); size += 11) {
    EXPECT_TRUE(FailsWith(DecodeImage(jpeg.substr(0, size)).status(), StatusCode::kInvalidArgument,
                          {"corrupt JPEG data (libjpeg: "}))
        << "truncated to " << size;
  }
  EXPECT_TRUE(FailsWith(DecodeImage(std::string("\xff\xd8\xff", 3) + std::string(200, '\x13')).status(),
                        StatusCode::kInvalidArgument, {"libjpeg"}));
}

// A progressive JPEG of an RGB `image`: libjpeg's own progression (10
// scans), or with `every_coefficient` one scan per DCT coefficient and
// component after the DC scan (1 + 63 x 3 scans): a valid file, but one
// that passes over every pixel as many times.
std::string EncodeProgressiveJpeg(const Image& image, bool every_coefficient) {
  std::vector<jpeg_scan_info> scans(1);
  return EncodeJpeg(image, 90, [&](jpeg_compress_struct& info) {
    jpeg_simple_progression(&info);
    if (!every_coefficient) return;
    scans[0].comps_in_scan = 3;
    for (int c = 0; c < 3; ++c) scans[0].component_index[c] = c;
    for (int k = 1; k < 64; ++k) {
      for (int c = 0; c < 3; ++c) {
        jpeg_scan_info scan{};
        scan.comps_in_scan = 1;
        scan.component_index[0] = c;
        scan.Ss = scan.Se = k;
        scans.push_back(scan);
      }
    }
    info.scan_info = scans.data();
    info.num_scans = static_cast<int>(scans.size());
  });
}

TEST(JpegTest, AProgressiveJpegOfTooManyScansIsRefusedAndAnOrdinaryOneDecodes) {
  // 1000 scans of a few bytes each took 20 s of CPU on a 5792 x 5792 image.
  EXPECT_TRUE(FailsWith(DecodeImage(EncodeProgressiveJpeg(Pattern(16, 16, 3), true)).status(),
                        StatusCode::kInvalidArgument, {"a progressive JPEG of more than 64 scans"}));
  auto ordinary = DecodeImage(EncodeProgressiveJpeg(Pattern(16, 16, 3), false));
  ASSERT_TRUE(ordinary.ok()) << ordinary.status().ToString();
  EXPECT_EQ(ordinary->width, 16);
}

// A PNG chunk: length, type, data, CRC.
std::string PngChunk(const std::string& type, const std::string& data) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  const std::string body = type + data;
  return be32(static_cast<uint32_t>(data.size())) + body +
         be32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
}

// An Adam7-interlaced 16-bit RGB PNG of `rgb` (width x height x 3 values),
// written by hand: libpng's simplified writer does not interlace.
std::string Interlaced16BitPng(int width, int height, const std::vector<uint16_t>& rgb) {
  constexpr int kPasses[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                 {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};  // x0, y0, dx, dy
  std::string raw;
  for (const auto& pass : kPasses) {
    if (pass[0] >= width || pass[1] >= height) continue;
    for (int y = pass[1]; y < height; y += pass[3]) {
      raw.push_back('\0');  // filter: none
      for (int x = pass[0]; x < width; x += pass[2]) {
        for (int c = 0; c < 3; ++c) {
          const uint16_t v = rgb[(y * width + x) * 3 + c];
          raw.push_back(static_cast<char>(v >> 8));
          raw.push_back(static_cast<char>(v & 0xff));
        }
      }
    }
  }
  uLongf size = compressBound(raw.size());
  std::string compressed(size, '\0');
  compress(reinterpret_cast<Bytef*>(compressed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  compressed.resize(size);
  std::string header = PngChunk("IHDR", std::string{0, 0, 0, static_cast<char>(width), 0, 0, 0,
                                                    static_cast<char>(height), 16, 2, 0, 0, 1});
  return std::string("\x89PNG\r\n\x1a\n", 8) + header + PngChunk("IDAT", compressed) + PngChunk("IEND", "");
}

TEST(PngTest, AnInterlaced16BitPngDecodesEveryRow) {
  // libpng's simplified reader made every other row of such a file wrong.
  const int width = 11, height = 9;
  std::vector<uint16_t> rgb(width * height * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint16_t>(((i * 37 + i / 7) % 256) * 257);
  auto decoded = DecodeImage(Interlaced16BitPng(width, height, rgb));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->pixels.size(), rgb.size());
  for (size_t i = 0; i < rgb.size(); ++i) ASSERT_EQ(decoded->pixels[i], rgb[i] / 257) << "value " << i;
}

TEST(CorruptImageTest, HugeDimensionsAreRefusedBeforeDecoding) {
  // A real PNG whose header (IHDR) is rewritten to claim 100000 x 100000
  // pixels, with the chunk's CRC fixed so that only the size is wrong.
  std::string png = *EncodePng(Pattern(1, 1, 3));
  ASSERT_EQ(png.substr(12, 4), "IHDR");
  const unsigned char big[8] = {0x00, 0x01, 0x86, 0xa0, 0x00, 0x01, 0x86, 0xa0};
  png.replace(16, 8, reinterpret_cast<const char*>(big), 8);
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 4 + 13);
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  EXPECT_TRUE(FailsWith(DecodeImage(png).status(), StatusCode::kResourceExhausted,
                        {"100000x100000 = 10000000000 pixels", std::to_string(kMaxDecodedPixels), "smaller image"}));
  // A larger limit than kMaxDecodedPixels does not raise it.
  EXPECT_TRUE(FailsWith(DecodeImage(png, kMaxDecodedPixels * 1000).status(), StatusCode::kResourceExhausted,
                        {std::to_string(kMaxDecodedPixels)}));
}

TEST(CorruptImageTest, ACallersPixelLimitIsCheckedFromTheHeader) {
  const std::string png = *EncodePng(Pattern(20, 10, 3));
  const std::string jpeg = EncodeJpeg(Pattern(20, 10, 3), 90);
  for (const std::string& bytes : {png, jpeg}) {
    EXPECT_TRUE(FailsWith(DecodeImage(bytes, 199).status(), StatusCode::kResourceExhausted,
                          {"20x10 = 200 pixels", "more than the 199 pixels"}));
    EXPECT_TRUE(DecodeImage(bytes, 200).ok());
  }
  EXPECT_TRUE(FailsWith(DecodeImage(png, 0).status(), StatusCode::kResourceExhausted, {"the 0 pixels"}));
}

}  // namespace
}  // namespace xai
