// JSON <-> Tensor, written once for the CLI, the server and the metadata:
// nested JSON arrays are row-major tensors, numbers are checked against the
// dtype (integral, in range, finite), strings may be {"b64": "..."}.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/tensor.h"

namespace xai {

using Json = nlohmann::json;

// Arrays and objects nested deeper than this are refused by ParseJson. The
// code that walks JSON values (and nlohmann's copies and dumps) recurses once
// per level, so a small file of "[[[[..." could otherwise overflow the stack.
// Tensors, requests and metadata need a handful of levels.
inline constexpr int kMaxJsonNesting = 64;

// Parses JSON text; the error names `what` and the parser's reason (syntax
// error and where, a number out of range, nesting deeper than
// kMaxJsonNesting, a key given twice in one object, a NUL byte, or text in
// UTF-16 rather than UTF-8).
StatusOr<Json> ParseJson(const std::string& text, const std::string& what);

// True when `text` holds no JSON value: only spaces, tabs, CR and LF, after a
// UTF-8 byte order mark if any (which the parser skips, as Windows editors
// write one).
bool IsBlankJsonText(std::string_view text);

// How many elements the array under the top-level object's field `key`
// holds, counted in one pass over the text without parsing it: a request's
// instances can be refused before it is parsed (parsing takes many times the
// text's size: 1.5 M tiny instances in 12 MB, about 750 MB). nullopt if the
// top level has no such array; the largest if the key comes more than once.
// Meant for well-formed JSON: on malformed text, a key given twice included,
// the count may be anything (ParseJson then refuses the text).
std::optional<size_t> CountTopLevelArrayElements(const std::string& text, const std::string& key);

// JSON text, compact, as Json::dump(-1) with invalid UTF-8 replaced (U+FFFD)
// but faster on many floating-point numbers (attributions): those go through
// std::to_chars, the shortest text that reads back as the same double, with
// ".0" on whole numbers as nlohmann writes them; non-finite ones are null.
// Strings, integers, booleans and null are written as nlohmann writes them
// (strings that need escaping or replacing by nlohmann itself).
std::string DumpJson(const Json& value);

// Decodes one instance's value. `row_spec` is the expected shape without the
// batch dimension (-1 = any size; nullopt = any rank). The result has shape
// [1, ...row shape]. `what` names the value in error messages, e.g.
// "instance 3, input 'features'".
StatusOr<Tensor> TensorRowFromJson(const Json& value, DType dtype,
                                   const std::optional<Shape>& row_spec, const std::string& what);

// The shape of a rectangular nested JSON array (a scalar has shape []).
StatusOr<Shape> JsonArrayShape(const Json& value, const std::string& what);

// How string elements are written: as JSON strings when valid UTF-8 (others
// as {"b64": ...}), or all as {"b64": ...}.
enum class StringLeaves { kTextWhenUtf8, kBase64 };
// TF Serving's rule for a model output: one named "*_bytes" holds binary
// values, written as {"b64": ...} whatever the bytes.
StringLeaves StringLeavesOfOutput(std::string_view key);

// Row `row` of a batch-first tensor as nested JSON (a bare value for a row of
// shape []).
Json TensorRowToJson(const Tensor& batch, int64_t row, StringLeaves strings = StringLeaves::kTextWhenUtf8);
// A whole tensor, including the batch dimension.
Json TensorToJson(const Tensor& tensor);

// JSON text written directly, piece by piece, exactly as DumpJson writes the
// same values: for responses, whose trees cost more than their text (an
// allocation per object field and per nested array; a tabular explanation's
// tree and its dump took 8 us of a 73 us explanation).
void AppendJsonDouble(double value, std::string* out);  // non-finite: null
void AppendJsonInteger(int64_t value, std::string* out);
void AppendJsonString(const std::string& text, std::string* out);
// TensorRowToJson(batch, row) as DumpJson writes it.
void AppendTensorRowJson(const Tensor& batch, int64_t row, std::string* out,
                         StringLeaves strings = StringLeaves::kTextWhenUtf8);

// JSON text written in advance (by the Append functions above), held in a
// Json value that a tree can contain: DumpJson copies the text in place. The
// value is a binary one of subtype kJsonTextSubtype, which only DumpJson
// writes as JSON (Json::dump would print its bytes); every response xaiserve
// sends goes through DumpJson. Read it back with ParseJson.
inline constexpr std::uint64_t kJsonTextSubtype = 0x4a53;  // "JS"
Json JsonText(const std::string& text);

}  // namespace xai
