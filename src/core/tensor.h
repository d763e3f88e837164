// The project's own tensor: what crosses the TensorFlow boundary and what the
// attribution methods and the JSON layer work on. A dense, row-major array
// with a dtype and a shape. Numeric values of every dtype are held as double
// (exact for float32 and for integers up to 2^53); strings separately.
// Value type: copyable, no shared state, thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace xai {

enum class DType {
  kFloat32, kFloat64, kFloat16, kBFloat16,
  kInt8, kInt16, kInt32, kInt64, kUInt8, kUInt16, kUInt32, kUInt64,
  kBool, kString,
};

// Lower-case TensorFlow-style name: "float32", "int64", "string", ...
const char* DTypeName(DType dtype);
bool IsFloating(DType dtype);
bool IsInteger(DType dtype);  // bool counts as integer for value checks.

// A shape; in specs (signatures), -1 marks an unknown dimension.
using Shape = std::vector<int64_t>;

// "[?,30]" style rendering; -1 prints as "?".
std::string ShapeToString(const Shape& shape);
// Product of the dimensions (1 for a scalar). Dimensions must be >= 0.
int64_t NumElements(const Shape& shape);
// True if `shape` (fully known) fits `spec` (where -1 matches anything).
bool ShapeMatchesSpec(const Shape& shape, const Shape& spec);

// Tensor holds numbers as doubles, which hold every integer exactly only up
// to this magnitude: a 64-bit integer beyond it is refused where it enters
// (JSON, model outputs) rather than rounded.
inline constexpr int64_t kLargestExactInteger = int64_t{1} << 53;

struct Tensor {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::vector<double> values;        // numeric dtypes: NumElements(shape) entries.
  std::vector<std::string> strings;  // kString: NumElements(shape) entries.

  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled (empty strings).
  static Tensor FromValues(DType dtype, Shape shape, std::vector<double> values);

  int64_t num_elements() const { return NumElements(shape); }
  // Batch-first views: the size of dimension 0 and the elements per row.
  int64_t batch_size() const { return shape.empty() ? 1 : shape[0]; }
  int64_t row_elements() const;
  Shape row_shape() const { return shape.empty() ? Shape{} : Shape(shape.begin() + 1, shape.end()); }
};

// Rows [begin, end) of a batch-first tensor.
Tensor SliceRows(const Tensor& batch, int64_t begin, int64_t end);
// Concatenates batch-first tensors along dimension 0; all must agree on dtype
// and row shape.
StatusOr<Tensor> ConcatRows(const std::vector<Tensor>& parts);
// ConcatRows({batch, more}) without first copying `batch` into a vector.
StatusOr<Tensor> ConcatRows(const Tensor& batch, const Tensor& more);
// A batch of `count` copies of the single-row tensor `row` (shape [1, ...]).
Tensor RepeatRow(const Tensor& row, int64_t count);

}  // namespace xai
