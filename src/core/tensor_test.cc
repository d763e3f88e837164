#include "core/tensor.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using testing::Contains;

// A [rows, 2] float32 batch whose row r is {10r, 10r + 1}.
Tensor NumberedRows(int64_t rows) {
  std::vector<double> values;
  for (int64_t r = 0; r < rows; ++r) {
    values.push_back(10.0 * r);
    values.push_back(10.0 * r + 1);
  }
  return Tensor::FromValues(DType::kFloat32, {rows, 2}, values);
}

Tensor StringRows(std::vector<std::string> rows) {
  Tensor t(DType::kString, {static_cast<int64_t>(rows.size())});
  t.strings = std::move(rows);
  return t;
}

TEST(DTypeTest, NamesAndKinds) {
  EXPECT_STREQ(DTypeName(DType::kFloat32), "float32");
  EXPECT_STREQ(DTypeName(DType::kInt64), "int64");
  EXPECT_STREQ(DTypeName(DType::kUInt8), "uint8");
  EXPECT_STREQ(DTypeName(DType::kString), "string");
  EXPECT_TRUE(IsFloating(DType::kFloat16));
  EXPECT_TRUE(IsFloating(DType::kBFloat16));
  EXPECT_FALSE(IsFloating(DType::kInt32));
  EXPECT_TRUE(IsInteger(DType::kInt8));
  EXPECT_TRUE(IsInteger(DType::kBool));
  EXPECT_FALSE(IsInteger(DType::kString));
  EXPECT_FALSE(IsInteger(DType::kFloat64));
}

TEST(ShapeTest, NumElements) {
  EXPECT_EQ(NumElements({}), 1);
  EXPECT_EQ(NumElements({7}), 7);
  EXPECT_EQ(NumElements({2, 3, 4}), 24);
  EXPECT_EQ(NumElements({5, 0, 3}), 0);
}

TEST(ShapeTest, ShapeToStringPrintsUnknownAsQuestionMark) {
  EXPECT_EQ(ShapeToString({}), "[]");
  EXPECT_EQ(ShapeToString({3}), "[3]");
  EXPECT_EQ(ShapeToString({-1, 30}), "[?,30]");
  EXPECT_EQ(ShapeToString({-1, 32, 32, -1}), "[?,32,32,?]");
}

TEST(ShapeTest, ShapeMatchesSpec) {
  EXPECT_TRUE(ShapeMatchesSpec({}, {}));
  EXPECT_TRUE(ShapeMatchesSpec({4, 30}, {-1, 30}));
  EXPECT_TRUE(ShapeMatchesSpec({4, 30}, {4, 30}));
  EXPECT_FALSE(ShapeMatchesSpec({4, 29}, {-1, 30}));
  EXPECT_FALSE(ShapeMatchesSpec({30}, {-1, 30}));        // rank differs
  EXPECT_FALSE(ShapeMatchesSpec({1, 4, 30}, {-1, 30}));  // rank differs
  EXPECT_FALSE(ShapeMatchesSpec({3}, {}));
  EXPECT_TRUE(ShapeMatchesSpec({0, 7}, {-1, -1}));
}

TEST(TensorTest, ConstructorZeroFills) {
  Tensor numeric(DType::kInt32, {2, 3});
  EXPECT_EQ(numeric.values, std::vector<double>(6, 0.0));
  EXPECT_TRUE(numeric.strings.empty());
  Tensor strings(DType::kString, {2});
  EXPECT_EQ(strings.strings, std::vector<std::string>(2, ""));
  EXPECT_TRUE(strings.values.empty());
}

TEST(TensorTest, BatchViews) {
  Tensor t(DType::kFloat32, {4, 3, 2});
  EXPECT_EQ(t.num_elements(), 24);
  EXPECT_EQ(t.batch_size(), 4);
  EXPECT_EQ(t.row_elements(), 6);
  EXPECT_EQ(t.row_shape(), (Shape{3, 2}));
  Tensor scalar(DType::kFloat32, {});
  EXPECT_EQ(scalar.batch_size(), 1);
  EXPECT_EQ(scalar.row_elements(), 1);
  EXPECT_EQ(scalar.row_shape(), Shape{});
  Tensor vector(DType::kFloat32, {5});
  EXPECT_EQ(vector.row_elements(), 1);
  EXPECT_EQ(vector.row_shape(), Shape{});
}

TEST(SliceRowsTest, TakesTheRequestedRows) {
  const Tensor batch = NumberedRows(4);
  const Tensor middle = SliceRows(batch, 1, 3);
  EXPECT_EQ(middle.dtype, DType::kFloat32);
  EXPECT_EQ(middle.shape, (Shape{2, 2}));
  EXPECT_EQ(middle.values, (std::vector<double>{10, 11, 20, 21}));

  const Tensor last = SliceRows(batch, 3, 4);
  EXPECT_EQ(last.shape, (Shape{1, 2}));
  EXPECT_EQ(last.values, (std::vector<double>{30, 31}));

  const Tensor none = SliceRows(batch, 2, 2);
  EXPECT_EQ(none.shape, (Shape{0, 2}));
  EXPECT_TRUE(none.values.empty());
}

TEST(SliceRowsTest, SlicesStrings) {
  const Tensor sliced = SliceRows(StringRows({"a", "b", "c"}), 1, 3);
  EXPECT_EQ(sliced.dtype, DType::kString);
  EXPECT_EQ(sliced.shape, (Shape{2}));
  EXPECT_EQ(sliced.strings, (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(sliced.values.empty());
}

TEST(ConcatRowsTest, ConcatenatesAlongTheBatchDimension) {
  const Tensor batch = NumberedRows(5);
  auto joined = ConcatRows({SliceRows(batch, 0, 2), SliceRows(batch, 2, 3), SliceRows(batch, 3, 5)});
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_EQ(joined->shape, batch.shape);
  EXPECT_EQ(joined->values, batch.values);
  EXPECT_EQ(joined->dtype, DType::kFloat32);
}

TEST(ConcatRowsTest, AppendsTheRowsOfASecondTensor) {
  const Tensor batch = NumberedRows(5);
  auto joined = ConcatRows(SliceRows(batch, 0, 4), SliceRows(batch, 4, 5));
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_EQ(joined->shape, batch.shape);
  EXPECT_EQ(joined->values, batch.values);
  auto mismatch = ConcatRows(batch, Tensor(DType::kInt64, batch.shape));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_TRUE(Contains(mismatch.status().message(), "int64"));
}

TEST(ConcatRowsTest, ConcatenatesStrings) {
  auto joined = ConcatRows({StringRows({"a"}), StringRows({"b", "c"})});
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_EQ(joined->shape, (Shape{3}));
  EXPECT_EQ(joined->strings, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ConcatRowsTest, RowShapeMismatchNamesBothShapes) {
  const Tensor wide(DType::kFloat32, {2, 3});
  const Tensor narrow(DType::kFloat32, {1, 2});
  auto joined = ConcatRows({wide, narrow});
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(joined.status().message(), "float32[3]"));
  EXPECT_TRUE(Contains(joined.status().message(), "float32[2]"));
}

TEST(ConcatRowsTest, DTypeMismatchNamesBothDTypes) {
  auto joined = ConcatRows({Tensor(DType::kFloat32, {1, 2}), Tensor(DType::kInt64, {1, 2})});
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(joined.status().message(), "float32[2]"));
  EXPECT_TRUE(Contains(joined.status().message(), "int64[2]"));
}

TEST(ConcatRowsTest, NothingToConcatenateAndScalarsAreErrors) {
  auto empty = ConcatRows({});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  auto scalars = ConcatRows({Tensor(DType::kFloat32, {}), Tensor(DType::kFloat32, {})});
  ASSERT_FALSE(scalars.ok());
  EXPECT_TRUE(Contains(scalars.status().message(), "scalar"));
}

TEST(RepeatRowTest, CopiesTheRow) {
  const Tensor row = Tensor::FromValues(DType::kFloat64, {1, 3}, {1.5, -2, 3});
  const Tensor batch = RepeatRow(row, 3);
  EXPECT_EQ(batch.dtype, DType::kFloat64);
  EXPECT_EQ(batch.shape, (Shape{3, 3}));
  EXPECT_EQ(batch.values, (std::vector<double>{1.5, -2, 3, 1.5, -2, 3, 1.5, -2, 3}));

  const Tensor none = RepeatRow(row, 0);
  EXPECT_EQ(none.shape, (Shape{0, 3}));
  EXPECT_TRUE(none.values.empty());
}

TEST(RepeatRowTest, CopiesStringRows) {
  const Tensor batch = RepeatRow(StringRows({"x"}), 2);
  EXPECT_EQ(batch.shape, (Shape{2}));
  EXPECT_EQ(batch.strings, (std::vector<std::string>{"x", "x"}));
}

TEST(StatusTest, ToStringAndContext) {
  EXPECT_EQ(OkStatus().ToString(), "OK");
  const Status bad = NotFound("model 'm' not found");
  EXPECT_EQ(bad.ToString(), "NOT_FOUND: model 'm' not found");
  const Status wrapped = bad.WithContext("loading");
  EXPECT_EQ(wrapped.code(), StatusCode::kNotFound);
  EXPECT_EQ(wrapped.message(), "loading: model 'm' not found");
  EXPECT_TRUE(OkStatus().WithContext("ignored").ok());
  StatusOr<int> from_ok_status = OkStatus();
  EXPECT_FALSE(from_ok_status.ok());
  EXPECT_EQ(from_ok_status.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace xai
