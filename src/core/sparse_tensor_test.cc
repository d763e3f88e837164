#include "core/sparse_tensor.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using testing::FailsWith;

constexpr char kWhat[] = "instance 0, input 'words'";

// --- dense <-> COO --------------------------------------------------------------

TEST(DenseToSparseTest, KeepsTheNonzeroElementsInRowMajorOrder) {
  Tensor dense = Tensor::FromValues(DType::kFloat32, {2, 3}, {0, 2.5, 0, -1, 0, 4});
  SparseCoo coo = DenseToSparse(dense);
  EXPECT_EQ(coo.dense_shape, (Shape{2, 3}));
  EXPECT_EQ(coo.indices, (std::vector<int64_t>{0, 1, 1, 0, 1, 2}));
  EXPECT_EQ(coo.values, (std::vector<double>{2.5, -1, 4}));
}

TEST(DenseToSparseTest, AllZeroHasNoEntries) {
  SparseCoo coo = DenseToSparse(Tensor(DType::kFloat32, {3, 2}));
  EXPECT_EQ(coo.nnz(), 0);
  EXPECT_TRUE(coo.indices.empty());
  EXPECT_EQ(coo.dense_shape, (Shape{3, 2}));
}

TEST(DenseToSparseTest, RoundTripsThroughSparseToDense) {
  Tensor dense = Tensor::FromValues(DType::kFloat64, {2, 2, 3}, {1, 0, 0, 0, 0, 7, 0, 0, 0, 3, 0, -2});
  SparseCoo coo = DenseToSparse(dense);
  EXPECT_EQ(coo.nnz(), 4);
  auto back = SparseToDense(coo, DType::kFloat64, kWhat);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->shape, dense.shape);
  EXPECT_EQ(back->values, dense.values);
}

TEST(SparseToDenseTest, ScattersValuesAndLeavesTheRestZero) {
  SparseCoo coo{{2, 3}, {1, 2, 0, 0}, {5, 6}};
  auto dense = SparseToDense(coo, DType::kFloat32, kWhat);
  ASSERT_TRUE(dense.ok()) << dense.status().ToString();
  EXPECT_EQ(dense->dtype, DType::kFloat32);
  EXPECT_EQ(dense->values, (std::vector<double>{6, 0, 0, 0, 0, 5}));
}

TEST(SparseToDenseTest, RefusesIndicesOutOfRange) {
  SparseCoo coo{{2, 3}, {1, 3}, {5}};
  EXPECT_TRUE(FailsWith(SparseToDense(coo, DType::kFloat32, kWhat).status(), StatusCode::kInvalidArgument,
                        {kWhat, "index 0 [1,3] is out of range for dense_shape [2,3]"}));
  SparseCoo negative{{2, 3}, {-1, 0}, {5}};
  EXPECT_TRUE(FailsWith(SparseToDense(negative, DType::kFloat32, kWhat).status(), StatusCode::kInvalidArgument,
                        {"[-1,0] is out of range"}));
}

TEST(SparseToDenseTest, RefusesARepeatedPosition) {
  SparseCoo coo{{4}, {2, 1, 2}, {1, 2, 3}};
  EXPECT_TRUE(FailsWith(SparseToDense(coo, DType::kFloat32, kWhat).status(), StatusCode::kInvalidArgument,
                        {"index 2 [2] repeats an earlier index"}));
}

TEST(SparseToDenseTest, RefusesAWrongNumberOfCoordinates) {
  SparseCoo coo{{2, 3}, {1, 2, 0}, {5, 6}};
  EXPECT_TRUE(FailsWith(SparseToDense(coo, DType::kFloat32, kWhat).status(), StatusCode::kInvalidArgument,
                        {"2 values need 2 indices of 2 coordinates", "got 3 coordinates"}));
}

// --- JSON ------------------------------------------------------------------------

StatusOr<Tensor> Decode(const std::string& text, std::optional<Shape> row_spec = Shape{5}) {
  return SparseRowFromJson(Json::parse(text), DType::kFloat32, row_spec, kWhat);
}

TEST(SparseRowFromJsonTest, IsSparseJsonNeedsValuesAndIndicesOnly) {
  EXPECT_TRUE(IsSparseJson(Json::parse(R"({"values": [], "indices": []})")));
  EXPECT_TRUE(IsSparseJson(Json::parse(R"({"values": [1], "indices": [[0]], "dense_shape": [3]})")));
  EXPECT_FALSE(IsSparseJson(Json::parse(R"({"values": [1]})")));
  EXPECT_FALSE(IsSparseJson(Json::parse(R"({"values": [1], "indices": [[0]], "shape": [3]})")));
  EXPECT_FALSE(IsSparseJson(Json::parse(R"([1, 2])")));
}

TEST(SparseRowFromJsonTest, DecodesToTheDenseRow) {
  auto row = Decode(R"({"values": [2, 5, 1], "indices": [[0], [2], [4]], "dense_shape": [5]})");
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->shape, (Shape{1, 5}));
  EXPECT_EQ(row->values, (std::vector<double>{2, 0, 5, 0, 1}));
}

TEST(SparseRowFromJsonTest, DenseShapeDefaultsToAKnownRowShape) {
  auto row = Decode(R"({"values": [3], "indices": [[1]]})");
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->values, (std::vector<double>{0, 3, 0, 0, 0}));
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [3], "indices": [[1]]})", Shape{-1}).status(),
                        StatusCode::kInvalidArgument, {"\"dense_shape\" is required", "[?]"}));
}

TEST(SparseRowFromJsonTest, TakesAnUnknownDimensionFromDenseShape) {
  auto row = Decode(R"({"values": [1, 2], "indices": [[0, 1], [2, 0]], "dense_shape": [3, 2]})", Shape{-1, 2});
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->shape, (Shape{1, 3, 2}));
  EXPECT_EQ(row->values, (std::vector<double>{0, 1, 0, 0, 2, 0}));
}

TEST(SparseRowFromJsonTest, NoValuesIsAnAllZeroRow) {
  auto row = Decode(R"({"values": [], "indices": [], "dense_shape": [5]})");
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->values, (std::vector<double>(5, 0.0)));
}

TEST(SparseRowFromJsonTest, RefusesAWrongDenseShape) {
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [1], "indices": [[0]], "dense_shape": [6]})").status(),
                        StatusCode::kInvalidArgument,
                        {kWhat, "dense_shape [6] does not fit the input's shape per instance [5]", "batch"}));
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [1], "indices": [[0, 0]], "dense_shape": [1, 5]})").status(),
                        StatusCode::kInvalidArgument, {"dense_shape [1,5]"}));
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [1], "indices": [[0]], "dense_shape": [-5]})", Shape{-1}).status(),
                        StatusCode::kInvalidArgument, {"dense_shape[0] is negative"}));
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [1], "indices": [[0]], "dense_shape": 5})").status(),
                        StatusCode::kInvalidArgument, {"\"dense_shape\" must be a list"}));
}

TEST(SparseRowFromJsonTest, RefusesAHugeDenseShapeBeforeAllocating) {
  EXPECT_TRUE(FailsWith(
      Decode(R"({"values": [], "indices": [], "dense_shape": [1000000000, 1000000000, 1000000000]})", Shape{-1, -1, -1})
          .status(),
      StatusCode::kInvalidArgument, {kWhat, "has more than 4194304 elements"}));
  // At the limit is fine.
  auto row = Decode(R"({"values": [1], "indices": [[4194303]], "dense_shape": [4194304]})", Shape{-1});
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->values.back(), 1);
}

TEST(SparseRowFromJsonTest, RefusesMismatchedLengths) {
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [1, 2], "indices": [[0]]})").status(), StatusCode::kInvalidArgument,
                        {kWhat, "2 values but 1 indices"}));
}

TEST(SparseRowFromJsonTest, RefusesBadIndices) {
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [1], "indices": [[7]]})").status(), StatusCode::kInvalidArgument,
                        {kWhat, "index 0 [7] is out of range for dense_shape [5]"}));
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [1], "indices": [[0, 1]]})").status(), StatusCode::kInvalidArgument,
                        {"indices[0] must be a list of 1 coordinates"}));
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [1], "indices": [[1.5]]})").status(), StatusCode::kInvalidArgument,
                        {"indices[0][0] must be an integer"}));
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [1, 2], "indices": [[1], [1]]})").status(),
                        StatusCode::kInvalidArgument, {"repeats an earlier index"}));
}

TEST(SparseRowFromJsonTest, ChecksValuesLikeDenseOnes) {
  EXPECT_TRUE(FailsWith(Decode(R"({"values": ["a"], "indices": [[0]]})").status(), StatusCode::kInvalidArgument,
                        {kWhat, "\"values\""}));
  EXPECT_TRUE(FailsWith(Decode(R"({"values": [[1]], "indices": [[0]]})").status(), StatusCode::kInvalidArgument,
                        {"\"values\""}));
}

TEST(SparseRowFromJsonTest, RefusesStringTensors) {
  EXPECT_TRUE(FailsWith(SparseRowFromJson(Json::parse(R"({"values": ["a"], "indices": [[0]]})"), DType::kString,
                                          Shape{3}, kWhat)
                            .status(),
                        StatusCode::kInvalidArgument, {kWhat, "sparse string tensors are not supported"}));
  EXPECT_TRUE(FailsWith(SparseToDense(SparseCoo{{3}, {0}, {1}}, DType::kString, kWhat).status(),
                        StatusCode::kInvalidArgument, {"sparse string tensors"}));
}

}  // namespace
}  // namespace xai
