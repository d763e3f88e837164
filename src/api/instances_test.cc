#include "api/instances.h"

#include <gtest/gtest.h>

namespace xai {
namespace {

TensorInfo Input(const std::string& key, DType dtype, Shape shape) {
  TensorInfo t;
  t.key = key;
  t.tensor_name = key + ":0";
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

SignatureInfo Signature(std::vector<TensorInfo> inputs) {
  SignatureInfo sig;
  sig.key = "serving_default";
  sig.inputs = std::move(inputs);
  return sig;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(DecodeInstanceTest, BareValueForASingleInput) {
  const SignatureInfo sig = Signature({Input("x", DType::kFloat32, {-1, 3})});
  auto decoded = DecodeInstance(Json::parse("[1, 2, 3]"), sig, 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->at("x").shape, (Shape{1, 3}));
  EXPECT_EQ(decoded->at("x").values, (std::vector<double>{1, 2, 3}));
  EXPECT_TRUE(IsBareInstance(Json::parse("[1, 2, 3]"), sig));
  EXPECT_FALSE(IsBareInstance(Json::parse(R"({"x": [1, 2, 3]})"), sig));
}

TEST(DecodeInstanceTest, Base64ObjectIsABareBinaryValue) {
  const SignatureInfo sig = Signature({Input("examples", DType::kString, {-1})});
  const Json instance = Json::parse(R"({"b64": "aGVsbG8="})");
  EXPECT_TRUE(IsBareInstance(instance, sig));
  auto decoded = DecodeInstance(instance, sig, 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->at("examples").strings, (std::vector<std::string>{"hello"}));
}

TEST(DecodeInstanceTest, KeyedInstanceForSeveralInputs) {
  const SignatureInfo sig = Signature({Input("a", DType::kFloat32, {-1}), Input("b", DType::kInt64, {-1, 2})});
  auto decoded = DecodeInstance(Json::parse(R"({"a": 0.5, "b": [1, 2]})"), sig, 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->at("a").shape, (Shape{1}));
  EXPECT_EQ(decoded->at("b").values, (std::vector<double>{1, 2}));
}

TEST(DecodeInstanceTest, ErrorsNameInstanceAndInput) {
  const SignatureInfo sig = Signature({Input("a", DType::kFloat32, {-1}), Input("b", DType::kFloat32, {-1, 2})});
  auto bare = DecodeInstance(Json::parse("[1, 2]"), sig, 4);
  ASSERT_FALSE(bare.ok());
  EXPECT_TRUE(Contains(bare.status().message(), "instance 4")) << bare.status().message();
  EXPECT_TRUE(Contains(bare.status().message(), "object keyed by input name")) << bare.status().message();

  auto unknown = DecodeInstance(Json::parse(R"({"a": 1, "b": [1, 2], "c": 3})"), sig, 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(Contains(unknown.status().message(), "unknown input 'c'")) << unknown.status().message();
  EXPECT_TRUE(Contains(unknown.status().message(), "takes: a, b")) << unknown.status().message();

  auto missing = DecodeInstance(Json::parse(R"({"a": 1})"), sig, 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(missing.status().message(), "missing input 'b'")) << missing.status().message();

  auto shape = DecodeInstance(Json::parse(R"({"a": 1, "b": [1, 2, 3]})"), sig, 2);
  ASSERT_FALSE(shape.ok());
  EXPECT_TRUE(Contains(shape.status().message(), "instance 2, input 'b'")) << shape.status().message();
  EXPECT_TRUE(Contains(shape.status().message(), "[2]")) << shape.status().message();
}

TEST(DecodeInstancesTest, ListRequiredAndNonEmpty) {
  const SignatureInfo sig = Signature({Input("x", DType::kFloat32, {-1})});
  EXPECT_FALSE(DecodeInstances(Json::parse("{}"), sig).ok());
  auto empty = DecodeInstances(Json::parse("[]"), sig);
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(Contains(empty.status().message(), "empty")) << empty.status().message();
  auto two = DecodeInstances(Json::parse("[1, 2]"), sig);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
}

TEST(StackInstancesTest, StacksRowsAndRejectsDifferentShapes) {
  const SignatureInfo sig = Signature({Input("x", DType::kFloat32, {-1, -1})});
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

}  // namespace
}  // namespace xai
