#include "api/instances.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "render/png.h"
#include "testing/signature_tensors.h"
#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::Contains;
using ::xai::testing::SignatureTensor;
using ::xai::testing::SparseSignatureTensor;

SignatureInfo Signature(std::vector<TensorInfo> inputs) {
  SignatureInfo sig;
  sig.key = "serving_default";
  sig.inputs = std::move(inputs);
  return sig;
}

TEST(DecodeInstanceTest, BareValueForASingleInput) {
  const SignatureInfo sig = Signature({SignatureTensor("x", DType::kFloat32, {-1, 3})});
  auto decoded = DecodeInstance(Json::parse("[1, 2, 3]"), sig, 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->at("x").shape, (Shape{1, 3}));
  EXPECT_EQ(decoded->at("x").values, (std::vector<double>{1, 2, 3}));
  EXPECT_TRUE(IsBareInstance(Json::parse("[1, 2, 3]"), sig));
  EXPECT_FALSE(IsBareInstance(Json::parse(R"({"x": [1, 2, 3]})"), sig));
}

TEST(DecodeInstanceTest, Base64ObjectIsABareBinaryValue) {
  const SignatureInfo sig = Signature({SignatureTensor("examples", DType::kString, {-1})});
  const Json instance = Json::parse(R"({"b64": "aGVsbG8="})");
  EXPECT_TRUE(IsBareInstance(instance, sig));
  auto decoded = DecodeInstance(instance, sig, 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->at("examples").strings, (std::vector<std::string>{"hello"}));
}

TEST(DecodeInstanceTest, KeyedInstanceForSeveralInputs) {
  const SignatureInfo sig = Signature({SignatureTensor("a", DType::kFloat32, {-1}), SignatureTensor("b", DType::kInt64, {-1, 2})});
  auto decoded = DecodeInstance(Json::parse(R"({"a": 0.5, "b": [1, 2]})"), sig, 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->at("a").shape, (Shape{1}));
  EXPECT_EQ(decoded->at("b").values, (std::vector<double>{1, 2}));
}

TEST(DecodeInstanceTest, SparseInputTakesDenseOrCooValuesAsDense) {
  const SignatureInfo sig = Signature({SparseSignatureTensor("words", {-1, 5})});
  const Json coo = Json::parse(R"({"values": [2, 5, 1], "indices": [[0], [2], [4]], "dense_shape": [5]})");
  EXPECT_TRUE(IsBareInstance(coo, sig));
  for (const Json& instance : {coo, Json::parse("[2, 0, 5, 0, 1]"), Json::parse(R"({"words": [2, 0, 5, 0, 1]})"),
                               Json::parse(R"({"words": {"values": [1, 5, 2], "indices": [[4], [2], [0]]}})")}) {
    SCOPED_TRACE(instance.dump());
    auto decoded = DecodeInstance(instance, sig, 0);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->at("words").shape, (Shape{1, 5}));
    EXPECT_EQ(decoded->at("words").values, (std::vector<double>{2, 0, 5, 0, 1}));
  }
}

TEST(DecodeInstanceTest, BadSparseValuesNameInstanceInputAndField) {
  const SignatureInfo sig = Signature({SparseSignatureTensor("words", {-1, 5})});
  auto out_of_range = DecodeInstance(Json::parse(R"({"values": [1], "indices": [[5]]})"), sig, 2);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(out_of_range.status().message(), "instance 2, input 'words'")) << out_of_range.status().message();
  EXPECT_TRUE(Contains(out_of_range.status().message(), "out of range")) << out_of_range.status().message();
  auto mismatched = DecodeInstance(Json::parse(R"({"values": [1, 2], "indices": [[0]]})"), sig, 0);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_TRUE(Contains(mismatched.status().message(), "2 values but 1 indices")) << mismatched.status().message();
  // A dense input does not take the sparse form: it is an object of unknown keys.
  const SignatureInfo dense = Signature({SignatureTensor("x", DType::kFloat32, {-1, 5})});
  auto refused = DecodeInstance(Json::parse(R"({"values": [1], "indices": [[0]]})"), dense, 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(), "unknown input 'indices'")) << refused.status().message();
}

TEST(DecodeInstanceTest, ErrorsNameInstanceAndInput) {
  const SignatureInfo sig = Signature({SignatureTensor("a", DType::kFloat32, {-1}), SignatureTensor("b", DType::kFloat32, {-1, 2})});
  auto bare = DecodeInstance(Json::parse("[1, 2]"), sig, 4);
  ASSERT_FALSE(bare.ok());
  EXPECT_TRUE(Contains(bare.status().message(), "instance 4")) << bare.status().message();
  EXPECT_TRUE(Contains(bare.status().message(), "object keyed by input name")) << bare.status().message();

  auto unknown = DecodeInstance(Json::parse(R"({"a": 1, "b": [1, 2], "c": 3})"), sig, 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(Contains(unknown.status().message(), "unknown input 'c'")) << unknown.status().message();
  EXPECT_TRUE(Contains(unknown.status().message(), "takes: a, b")) << unknown.status().message();

  auto b64_and_more = DecodeInstance(Json::parse(R"({"b64": "AAAA", "a": 1})"), sig, 0);
  ASSERT_FALSE(b64_and_more.ok());
  EXPECT_TRUE(Contains(b64_and_more.status().message(), "unknown input 'b64'"));
  EXPECT_TRUE(Contains(b64_and_more.status().message(), "must be an object with that one key"));
  EXPECT_FALSE(Contains(unknown.status().message(), "b64"));

  auto missing = DecodeInstance(Json::parse(R"({"a": 1})"), sig, 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(missing.status().message(), "missing input 'b'")) << missing.status().message();

  auto shape = DecodeInstance(Json::parse(R"({"a": 1, "b": [1, 2, 3]})"), sig, 2);
  ASSERT_FALSE(shape.ok());
  EXPECT_TRUE(Contains(shape.status().message(), "instance 2, input 'b'")) << shape.status().message();
  EXPECT_TRUE(Contains(shape.status().message(), "[2]")) << shape.status().message();
}

TEST(DecodeInstancesTest, ListRequiredAndNonEmpty) {
  const SignatureInfo sig = Signature({SignatureTensor("x", DType::kFloat32, {-1})});
  EXPECT_FALSE(DecodeInstances(Json::parse("{}"), sig).ok());
  auto empty = DecodeInstances(Json::parse("[]"), sig);
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(Contains(empty.status().message(), "empty")) << empty.status().message();
  auto two = DecodeInstances(Json::parse("[1, 2]"), sig);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
}

TEST(StackInstancesTest, StacksRowsAndRejectsDifferentShapes) {
  const SignatureInfo sig = Signature({SignatureTensor("x", DType::kFloat32, {-1, -1})});
  auto same = DecodeInstances(Json::parse("[[1, 2], [3, 4]]"), sig);
  ASSERT_TRUE(same.ok());
  auto batch = StackInstances(*same);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->at("x").shape, (Shape{2, 2}));
  EXPECT_EQ(batch->at("x").values, (std::vector<double>{1, 2, 3, 4}));

  auto ragged = DecodeInstances(Json::parse("[[1, 2], [3, 4, 5]]"), sig);
  ASSERT_TRUE(ragged.ok());  // each row alone fits [?]
  auto stacked = StackInstances(*ragged);
  ASSERT_FALSE(stacked.ok());
  EXPECT_TRUE(Contains(stacked.status().message(), "instance 1, input 'x'")) << stacked.status().message();
}

// A PNG of `width` x `height` RGB pixels, base64-encoded as an instance value.
Json PngUpload(int64_t width, int64_t height, const std::vector<uint8_t>& rgb) {
  Image image(width, height, 3);
  image.pixels = rgb;
  return Json{{"b64", Base64Encode(*EncodePng(image))}};
}

TEST(ImageUploadTest, PngForAFloatImageInputIsScaledToTheDomain) {
  const SignatureInfo sig = Signature({SignatureTensor("image", DType::kFloat32, {-1, 1, 2, 3})});
  const Json upload = PngUpload(2, 1, {0, 51, 255, 255, 102, 0});
  auto unit = DecodeInstance(upload, sig, 0);
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  EXPECT_EQ(unit->at("image").shape, (Shape{1, 1, 2, 3}));
  EXPECT_DOUBLE_EQ(unit->at("image").values[1], 0.2);
  EXPECT_DOUBLE_EQ(unit->at("image").values[4], 0.4);

  InstanceDecoding decoding;
  decoding.image_domains["image"] = {-1, 1};
  auto keyed = DecodeInstance(Json{{"image", upload}}, sig, 0, decoding);
  ASSERT_TRUE(keyed.ok()) << keyed.status().ToString();
  EXPECT_DOUBLE_EQ(keyed->at("image").values[0], -1);
  EXPECT_DOUBLE_EQ(keyed->at("image").values[2], 1);
}

TEST(ImageUploadTest, ConvertsToGrayAndResizes) {
  const SignatureInfo sig = Signature({SignatureTensor("image", DType::kFloat32, {-1, 2, 2, 1})});
  auto decoded = DecodeInstance(PngUpload(1, 1, {200, 100, 50}), sig, 0, {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->at("image").shape, (Shape{1, 2, 2, 1}));
  for (double v : decoded->at("image").values) EXPECT_DOUBLE_EQ(v, 124 / 255.0);
}

TEST(ImageUploadTest, CorruptBytesNameTheInstanceAndInput) {
  const SignatureInfo sig = Signature({SignatureTensor("image", DType::kFloat32, {-1, 2, 2, 3})});
  auto garbage = DecodeInstances(Json::array({PngUpload(2, 2, std::vector<uint8_t>(12, 9)),
                                              Json{{"b64", Base64Encode("definitely not an image")}}}),
                                 sig);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(garbage.status().message(), "instance 1, input 'image': not a PNG or JPEG image"))
      << garbage.status().message();
  auto bad_base64 = DecodeInstance(Json{{"b64", "***"}}, sig, 3);
  ASSERT_FALSE(bad_base64.ok());
  EXPECT_TRUE(Contains(bad_base64.status().message(), "instance 3, input 'image': invalid base64"))
      << bad_base64.status().message();
}

// PNG's chunk checksum (CRC-32, ISO 3309), bit by bit: enough for one chunk.
uint32_t Crc32(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A crafted PNG: a real 1x1 file whose header (IHDR) is rewritten to claim
// `width` x `height` pixels, its CRC fixed so that only the size is wrong.
// Its pixel data stays that of one pixel: decoding it fails, so only a check
// of the header can refuse it for its size.
std::string PngClaiming(uint32_t width, uint32_t height) {
  std::string png = *EncodePng(Image(1, 1, 3));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = static_cast<char>((width >> (24 - 8 * i)) & 0xff);
    png[20 + i] = static_cast<char>((height >> (24 - 8 * i)) & 0xff);
  }
  const uint32_t crc = Crc32(png.substr(12, 4 + 13));
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  return png;
}

TEST(ImageUploadTest, ThePixelBudgetIsSharedByTheInstancesOfOneCall) {
  const SignatureInfo sig = Signature({SignatureTensor("image", DType::kFloat32, {-1, 2, 2, 3})});
  InstanceDecoding decoding;
  decoding.image_pixel_budget = 10;
  const Json small = PngUpload(2, 2, std::vector<uint8_t>(12, 9));  // 4 pixels
  ASSERT_TRUE(DecodeInstances(Json::array({small, small}), sig, decoding).ok());
  auto three = DecodeInstances(Json::array({small, small, small}), sig, decoding);
  ASSERT_FALSE(three.ok());
  EXPECT_EQ(three.status().code(), StatusCode::kResourceExhausted);
  for (const char* phrase : {"instance 2, input 'image'", "2x2 = 4 pixels", "more than the 2 pixels",
                             "decode to 10 pixels together (--max-image-pixels)", "earlier images used 8"}) {
    EXPECT_TRUE(Contains(three.status().message(), phrase)) << phrase << " in " << three.status().message();
  }
  // Each DecodeInstance call has the whole budget; no budget (the CLI's) has
  // none beyond the per-image limit.
  EXPECT_TRUE(DecodeInstance(small, sig, 0, decoding).ok());
  EXPECT_TRUE(DecodeInstances(Json::array({small, small, small}), sig, {}).ok());
}

TEST(ImageUploadTest, AHugeImageIsRefusedFromItsHeaderWithTheSizeAndTheLimit) {
  const SignatureInfo sig = Signature({SignatureTensor("image", DType::kFloat32, {-1, 2, 2, 3})});
  const Json upload = Json{{"b64", Base64Encode(PngClaiming(60000, 50000))}};
  InstanceDecoding decoding;
  decoding.image_pixel_budget = 1 << 20;
  auto refused = DecodeInstance(upload, sig, 0, decoding);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(refused.status().message(), "60000x50000 = 3000000000 pixels, more than the 1048576 pixels"))
      << refused.status().message();
  // Without a budget the per-image limit refuses it, also before decoding.
  auto unbudgeted = DecodeInstance(upload, sig, 0);
  ASSERT_FALSE(unbudgeted.ok());
  EXPECT_EQ(unbudgeted.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(unbudgeted.status().message(), std::to_string(kMaxDecodedPixels)))
      << unbudgeted.status().message();
  // Within the budget, such a header reaches the decoder, which refuses the
  // file for its missing pixel data.
  auto corrupt = DecodeInstance(Json{{"b64", Base64Encode(PngClaiming(3, 3))}}, sig, 0, decoding);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kInvalidArgument) << corrupt.status().message();
}

TEST(ImageUploadTest, OnlyFloatImageInputsDecodeImages) {
  // A string input keeps the raw bytes.
  const SignatureInfo bytes_sig = Signature({SignatureTensor("png", DType::kString, {-1})});
  const Json upload = PngUpload(1, 1, {1, 2, 3});
  auto raw = DecodeInstance(upload, bytes_sig, 0);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(raw->at("png").strings[0].substr(1, 3), "PNG");
  // A float input that is not an image [H,W,1|3] refuses {"b64"} as before.
  const SignatureInfo vector_sig = Signature({SignatureTensor("x", DType::kFloat32, {-1, 3})});
  EXPECT_FALSE(DecodeInstance(upload, vector_sig, 0).ok());
}

}  // namespace
}  // namespace xai
