// TensorInfo values (runtime/model_runtime.h) for tests of the code that reads
// a SavedModel's signatures: signature rules, metadata inference, instance
// decoding. Header-only pure functions: thread-safe.
#pragma once

#include <string>
#include <utility>

#include "core/tensor.h"
#include "runtime/model_runtime.h"

namespace xai::testing {

// The signature tensor `key` of a known rank: `shape` with -1 for unknown
// dimensions, graph tensor `tensor_name` ("" gives "<key>:0").
inline TensorInfo SignatureTensor(const std::string& key, DType dtype, Shape shape,
                                  const std::string& tensor_name = "") {
  TensorInfo t;
  t.key = key;
  t.tensor_name = tensor_name.empty() ? key + ":0" : tensor_name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

// A SparseTensor (coo_sparse) signature input `key` of dense shape
// `dense_shape`: values "<key>/values:0", indices "<key>/indices:0", dense
// shape "<key>/shape:0".
inline TensorInfo SparseSignatureTensor(const std::string& key, Shape dense_shape) {
  TensorInfo t = SignatureTensor(key, DType::kFloat32, std::move(dense_shape), key + "/values:0");
  t.sparse_indices_tensor = key + "/indices:0";
  t.sparse_dense_shape_tensor = key + "/shape:0";
  return t;
}

}  // namespace xai::testing
