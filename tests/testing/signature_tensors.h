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

}  // namespace xai::testing
