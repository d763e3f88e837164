// Sparse tensors in COO form (TensorFlow's SparseTensor: values, indices,
// dense_shape) and their dense view. xaiserve's requests, attribution methods
// and responses see a sparse input as the dense tensor of its dense shape,
// where an absent element is 0; only the runtime feeds the COO form to
// TensorFlow (DenseToSparse) and scatters gradients back (SparseToDense).
// A request may give a sparse input's instance as {"values", "indices",
// "dense_shape"} (SparseRowFromJson), converted to dense here.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "core/tensor_json.h"

namespace xai {

// The most elements a sparse instance's dense view may have (2^22, 32 MiB
// as doubles): a request's dense_shape is not bounded by the body size the
// way a dense value is, so it is bounded here.
inline constexpr int64_t kMaxSparseDenseElements = int64_t{1} << 22;

struct SparseCoo {
  Shape dense_shape;
  // nnz x rank coordinates, row-major: entry k is at
  // indices[k * rank, (k + 1) * rank).
  std::vector<int64_t> indices;
  std::vector<double> values;  // nnz entries.

  int64_t nnz() const { return static_cast<int64_t>(values.size()); }
  int64_t rank() const { return static_cast<int64_t>(dense_shape.size()); }
};

// The nonzero elements of `dense`, in row-major order (TensorFlow's canonical
// SparseTensor order). An element equal to 0 is absent: a zero given
// explicitly in a sparse request becomes absent too. A tensor of no nonzero
// element gives nnz = 0 (and its dense_shape).
SparseCoo DenseToSparse(const Tensor& dense);

// The dense tensor of `sparse` (absent elements 0), of `dtype`. Checks that
// the dense_shape dimensions are >= 0, that there are nnz * rank indices,
// each in range, and no position twice; INVALID_ARGUMENT naming `what`, the
// entry and the bad value otherwise (and for kString: sparse tensors are
// numeric here).
StatusOr<Tensor> SparseToDense(const SparseCoo& sparse, DType dtype, const std::string& what);

// True for a JSON object with "values" and "indices" (and optionally
// "dense_shape") and nothing else: a sparse instance value.
bool IsSparseJson(const Json& value);

// One instance's sparse value {"values": [v, ...], "indices": [[i, j, ...],
// ...], "dense_shape": [d, ...]} -> a dense tensor [1, ...dense_shape] of
// `dtype`. Indices and dense_shape describe one instance (no batch
// coordinate). `row_spec` is the input's shape per instance (-1: any size;
// nullopt: any rank): dense_shape must fit it, and may be left out only when
// row_spec is fully known; its dense view may have at most
// kMaxSparseDenseElements elements. Values are checked against the dtype as in
// TensorRowFromJson. INVALID_ARGUMENT naming `what` and the bad field.
StatusOr<Tensor> SparseRowFromJson(const Json& value, DType dtype, const std::optional<Shape>& row_spec,
                                   const std::string& what);

}  // namespace xai
