// Fuzzes the conversions under every instance and response: base64 and
// JSON <-> Tensor. The first input byte picks a dtype and whether the row
// shape is known; the rest is base64 text and, separately, JSON.
//
// Properties: nothing crashes, leaks or hits undefined behaviour;
//   - base64: decode(encode(bytes)) == bytes for any bytes, and text that
//     decodes re-encodes to text that decodes to the same bytes;
//   - tensors: a row that decodes writes back to JSON that serializes, decodes
//     again under the same dtype and shape, and writes back identically (one
//     round trip reaches a fixed point: float32 values are rounded once).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/base64.h"
#include "core/tensor_json.h"
#include "fuzz_check.h"

namespace xai {
namespace {

constexpr DType kDTypes[] = {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kBFloat16,
                             DType::kInt8,    DType::kInt16,   DType::kInt32,   DType::kInt64,
                             DType::kUInt8,   DType::kUInt16,  DType::kUInt32,  DType::kUInt64,
                             DType::kBool,    DType::kString};

void Base64RoundTrip(const std::string& bytes) {
  const std::string encoded = Base64Encode(bytes);
  StatusOr<std::string> decoded = Base64Decode(encoded);
  XAI_FUZZ_CHECK(decoded.ok() && *decoded == bytes, "base64 of " + std::to_string(bytes.size()) +
                                                        " bytes does not decode back: " + encoded);
  StatusOr<std::string> from_text = Base64Decode(bytes);  // the same bytes read as base64 text
  if (!from_text.ok()) return;
  StatusOr<std::string> again = Base64Decode(Base64Encode(*from_text));
  XAI_FUZZ_CHECK(again.ok() && *again == *from_text, "re-encoded base64 text decodes differently: " + bytes);
}

void TensorRoundTrip(const Json& value, DType dtype, const std::optional<Shape>& row_spec) {
  StatusOr<Tensor> row = TensorRowFromJson(value, dtype, row_spec, "fuzz");
  if (!row.ok()) {
    XAI_FUZZ_CHECK(!row.status().message().empty(), "an error without a message");
    return;
  }
  const Json written = TensorRowToJson(*row, 0);
  const std::string text = written.dump();  // throws on strings that are not UTF-8
  (void)TensorToJson(*row).dump();
  StatusOr<Tensor> again = TensorRowFromJson(written, dtype, row_spec, "fuzz");
  XAI_FUZZ_CHECK(again.ok(), std::string(DTypeName(dtype)) + " row written as " + text +
                                 " does not decode: " + again.status().message());
  XAI_FUZZ_CHECK(again->shape == row->shape, "round trip changed the shape of " + text);
  const std::string text_again = TensorRowToJson(*again, 0).dump();
  XAI_FUZZ_CHECK(text_again == text, std::string(DTypeName(dtype)) + " round trip is not a fixed point:\n" +
                                         text + "\n" + text_again);
}

}  // namespace
}  // namespace xai

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xai;
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  Base64RoundTrip(rest);

  const DType dtype = kDTypes[data[0] % (sizeof(kDTypes) / sizeof(kDTypes[0]))];
  StatusOr<Json> value = ParseJson(rest, "fuzz");
  if (!value.ok()) return 0;
  // The row shape as a signature would give it: unknown rank, or the value's
  // own rank with every dimension unknown (-1).
  std::optional<Shape> row_spec;
  if (data[0] & 0x80) {
    StatusOr<Shape> shape = JsonArrayShape(*value, "fuzz");
    if (shape.ok()) row_spec = Shape(shape->size(), -1);
  }
  TensorRoundTrip(*value, dtype, row_spec);
  return 0;
}
