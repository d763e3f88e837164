#include "core/tensor.h"

#include <sstream>

namespace xai {

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kInt8: return "int8";
    case DType::kInt16: return "int16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kUInt8: return "uint8";
    case DType::kUInt16: return "uint16";
    case DType::kUInt32: return "uint32";
    case DType::kUInt64: return "uint64";
    case DType::kBool: return "bool";
    case DType::kString: return "string";
  }
  return "unknown";
}

bool IsFloating(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat64 || dtype == DType::kFloat16 ||
         dtype == DType::kBFloat16;
}

bool IsInteger(DType dtype) { return !IsFloating(dtype) && dtype != DType::kString; }

std::string ShapeToString(const Shape& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out << ",";
    if (shape[i] < 0) out << "?"; else out << shape[i];
  }
  out << "]";
  return out.str();
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool ShapeMatchesSpec(const Shape& shape, const Shape& spec) {
  if (shape.size() != spec.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (spec[i] >= 0 && spec[i] != shape[i]) return false;
  }
  return true;
}

Tensor::Tensor(DType dtype_in, Shape shape_in) : dtype(dtype_in), shape(std::move(shape_in)) {
  if (dtype == DType::kString) strings.resize(NumElements(shape));
  else values.resize(NumElements(shape), 0.0);
}

Tensor Tensor::FromValues(DType dtype, Shape shape, std::vector<double> values) {
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.values = std::move(values);
  return t;
}

int64_t Tensor::row_elements() const {
  if (shape.empty()) return 1;
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

Tensor SliceRows(const Tensor& batch, int64_t begin, int64_t end) {
  Tensor out;
  out.dtype = batch.dtype;
  out.shape = batch.shape;
  out.shape[0] = end - begin;
  const int64_t row = batch.row_elements();
  if (batch.dtype == DType::kString) {
    out.strings.assign(batch.strings.begin() + begin * row, batch.strings.begin() + end * row);
  } else {
    out.values.assign(batch.values.begin() + begin * row, batch.values.begin() + end * row);
  }
  return out;
}

namespace {

// The parts concatenated: each value copied once, into storage sized up front.
StatusOr<Tensor> ConcatRowsOf(const std::vector<const Tensor*>& parts) {
  if (parts.empty()) return InvalidArgument("ConcatRows: no tensors to concatenate");
  Tensor out;
  out.dtype = parts[0]->dtype;
  out.shape = parts[0]->shape;
  if (out.shape.empty()) return InvalidArgument("ConcatRows: scalars have no rows");
  out.shape[0] = 0;
  size_t values = 0, strings = 0;
  for (const Tensor* p : parts) {
    if (p->dtype != out.dtype || p->row_shape() != parts[0]->row_shape()) {
      return InvalidArgument("ConcatRows: expected rows of " + std::string(DTypeName(out.dtype)) +
                             ShapeToString(parts[0]->row_shape()) + ", got " + DTypeName(p->dtype) +
                             ShapeToString(p->row_shape()));
    }
    out.shape[0] += p->shape[0];
    values += p->values.size();
    strings += p->strings.size();
  }
  out.values.reserve(values);
  out.strings.reserve(strings);
  for (const Tensor* p : parts) {
    out.values.insert(out.values.end(), p->values.begin(), p->values.end());
    out.strings.insert(out.strings.end(), p->strings.begin(), p->strings.end());
  }
  return out;
}

}  // namespace

StatusOr<Tensor> ConcatRows(const std::vector<Tensor>& parts) {
  std::vector<const Tensor*> pointers;
  pointers.reserve(parts.size());
  for (const Tensor& p : parts) pointers.push_back(&p);
  return ConcatRowsOf(pointers);
}

StatusOr<Tensor> ConcatRows(const Tensor& batch, const Tensor& more) { return ConcatRowsOf({&batch, &more}); }

Tensor RepeatRow(const Tensor& row, int64_t count) {
  Tensor out;
  out.dtype = row.dtype;
  out.shape = row.shape;
  out.shape[0] = count;
  for (int64_t i = 0; i < count; ++i) {
    out.values.insert(out.values.end(), row.values.begin(), row.values.end());
    out.strings.insert(out.strings.end(), row.strings.begin(), row.strings.end());
  }
  return out;
}

}  // namespace xai
