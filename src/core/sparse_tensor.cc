#include "core/sparse_tensor.h"

#include <algorithm>
#include <cstdint>

namespace xai {
namespace {

std::string IndexToString(const int64_t* index, int64_t rank) {
  std::string s = "[";
  for (int64_t d = 0; d < rank; ++d) s += (d ? "," : "") + std::to_string(index[d]);
  return s + "]";
}

// A JSON integer (not 1.5, not "1"); `field` names it in the message.
StatusOr<int64_t> JsonInteger(const Json& value, const std::string& field) {
  if (!value.is_number_integer()) {
    return InvalidArgument(field + " must be an integer, got " + value.dump());
  }
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return InvalidArgument(field + " is out of range: " + value.dump());
  }
  return value.get<int64_t>();
}

}  // namespace

SparseCoo DenseToSparse(const Tensor& dense) {
  SparseCoo coo;
  coo.dense_shape = dense.shape;
  const int64_t rank = coo.rank();
  std::vector<int64_t> index(rank, 0);
  for (size_t flat = 0; flat < dense.values.size(); ++flat) {
    if (dense.values[flat] != 0) {
      coo.indices.insert(coo.indices.end(), index.begin(), index.end());
      coo.values.push_back(dense.values[flat]);
    }
    // Advance the row-major multi-index.
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < dense.shape[d]) break;
      index[d] = 0;
    }
  }
  return coo;
}

StatusOr<Tensor> SparseToDense(const SparseCoo& sparse, DType dtype, const std::string& what) {
  if (dtype == DType::kString) {
    return InvalidArgument(what + ": sparse string tensors are not supported; sparse inputs must be numeric");
  }
  const int64_t rank = sparse.rank();
  for (int64_t d : sparse.dense_shape) {
    if (d < 0) return InvalidArgument(what + ": dense_shape " + ShapeToString(sparse.dense_shape) + " has a negative dimension");
  }
  if (static_cast<int64_t>(sparse.indices.size()) != sparse.nnz() * rank) {
    return InvalidArgument(what + ": " + std::to_string(sparse.nnz()) + " values need " + std::to_string(sparse.nnz()) +
                           " indices of " + std::to_string(rank) + " coordinates (dense_shape " +
                           ShapeToString(sparse.dense_shape) + "), got " + std::to_string(sparse.indices.size()) +
                           " coordinates");
  }
  Tensor dense(dtype, sparse.dense_shape);
  std::vector<char> seen(dense.values.size(), 0);  // positions already given.
  for (int64_t k = 0; k < sparse.nnz(); ++k) {
    const int64_t* index = sparse.indices.data() + k * rank;
    int64_t flat = 0;
    for (int64_t d = 0; d < rank; ++d) {
      if (index[d] < 0 || index[d] >= sparse.dense_shape[d]) {
        return InvalidArgument(what + ": index " + std::to_string(k) + " " + IndexToString(index, rank) +
                               " is out of range for dense_shape " + ShapeToString(sparse.dense_shape));
      }
      flat = flat * sparse.dense_shape[d] + index[d];
    }
    if (seen[flat]) {
      return InvalidArgument(what + ": index " + std::to_string(k) + " " + IndexToString(index, rank) +
                             " repeats an earlier index; give each position once");
    }
    seen[flat] = 1;
    dense.values[flat] = sparse.values[k];
  }
  return dense;
}

bool IsSparseJson(const Json& value) {
  if (!value.is_object() || !value.contains("values") || !value.contains("indices")) return false;
  return value.size() == 2 || (value.size() == 3 && value.contains("dense_shape"));
}

StatusOr<Tensor> SparseRowFromJson(const Json& value, DType dtype, const std::optional<Shape>& row_spec,
                                   const std::string& what) {
  if (!IsSparseJson(value)) {
    return InvalidArgument(what + ": a sparse value is an object {\"values\": [...], \"indices\": [[...], ...], "
                           "\"dense_shape\": [...]} with nothing else");
  }
  if (dtype == DType::kString) {
    return InvalidArgument(what + ": sparse string tensors are not supported; sparse inputs must be numeric");
  }
  SparseCoo coo;
  // dense_shape: given, else the input's shape per instance when fully known.
  if (value.contains("dense_shape")) {
    const Json& shape = value["dense_shape"];
    if (!shape.is_array()) return InvalidArgument(what + ": \"dense_shape\" must be a list of dimensions, got " + shape.dump());
    for (size_t d = 0; d < shape.size(); ++d) {
      XAI_ASSIGN_OR_RETURN(int64_t dim, JsonInteger(shape[d], what + ": dense_shape[" + std::to_string(d) + "]"));
      if (dim < 0) return InvalidArgument(what + ": dense_shape[" + std::to_string(d) + "] is negative: " + std::to_string(dim));
      coo.dense_shape.push_back(dim);
    }
    if (row_spec && !ShapeMatchesSpec(coo.dense_shape, *row_spec)) {
      return InvalidArgument(what + ": dense_shape " + ShapeToString(coo.dense_shape) +
                             " does not fit the input's shape per instance " + ShapeToString(*row_spec) +
                             " (dense_shape describes one instance, without the batch dimension)");
    }
  } else {
    const bool known = row_spec && std::all_of(row_spec->begin(), row_spec->end(), [](int64_t d) { return d >= 0; });
    if (!known) {
      return InvalidArgument(what + ": \"dense_shape\" is required: the input's shape per instance is " +
                             (row_spec ? ShapeToString(*row_spec) : std::string("unknown")));
    }
    coo.dense_shape = *row_spec;
  }
  int64_t elements = 1;
  for (int64_t dim : coo.dense_shape) {
    if (dim != 0 && elements > kMaxSparseDenseElements / dim) {
      return InvalidArgument(what + ": dense_shape " + ShapeToString(coo.dense_shape) + " has more than " +
                             std::to_string(kMaxSparseDenseElements) +
                             " elements, more than xaiserve takes for one instance (its dense view is materialized)");
    }
    elements *= dim;
  }
  const Json& values = value["values"];
  const Json& indices = value["indices"];
  if (!values.is_array()) return InvalidArgument(what + ": \"values\" must be a list, got " + values.dump());
  if (!indices.is_array()) return InvalidArgument(what + ": \"indices\" must be a list of index lists, got " + indices.dump());
  if (values.size() != indices.size()) {
    return InvalidArgument(what + ": " + std::to_string(values.size()) + " values but " +
                           std::to_string(indices.size()) + " indices; give one index per value");
  }
  XAI_ASSIGN_OR_RETURN(Tensor decoded_values, TensorRowFromJson(values, dtype, Shape{-1}, what + ", \"values\""));
  coo.values = std::move(decoded_values.values);
  const size_t rank = coo.dense_shape.size();
  for (size_t k = 0; k < indices.size(); ++k) {
    const Json& index = indices[k];
    const std::string field = what + ": indices[" + std::to_string(k) + "]";
    if (!index.is_array() || index.size() != rank) {
      return InvalidArgument(field + " must be a list of " + std::to_string(rank) + " coordinates (dense_shape " +
                             ShapeToString(coo.dense_shape) + "), got " + index.dump());
    }
    for (size_t d = 0; d < rank; ++d) {
      XAI_ASSIGN_OR_RETURN(int64_t coordinate, JsonInteger(index[d], field + "[" + std::to_string(d) + "]"));
      coo.indices.push_back(coordinate);
    }
  }
  XAI_ASSIGN_OR_RETURN(Tensor dense, SparseToDense(coo, dtype, what));
  dense.shape.insert(dense.shape.begin(), 1);
  return dense;
}

}  // namespace xai
