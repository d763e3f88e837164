#include "render/png.h"

#include <cstdio>
#include <cstdlib>

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

// A JPEG of `image` (RGB or gray), written with libjpeg for the decoding tests.
std::string EncodeJpeg(const Image& image, int quality) {
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
                          {"not a PNG or JPEG image", "PNG"}))
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
                          {"not a PNG or JPEG image", "JPEG"}))
        << "truncated to " << size;
  }
  EXPECT_TRUE(FailsWith(DecodeImage(std::string("\xff\xd8\xff", 3) + std::string(200, '\x13')).status(),
                        StatusCode::kInvalidArgument, {"libjpeg"}));
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
