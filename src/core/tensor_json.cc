#include "core/tensor_json.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_set>
#include <vector>

#include "core/base64.h"
#include "core/number_format.h"

namespace xai {
namespace {

// The largest finite value of each 16- and 32-bit float dtype, and the
// magnitude from which a value rounds to infinity in it (the largest plus
// half its last step): a value below that is taken, rounding as TensorFlow's
// cast does (numpy prints float32's largest as 3.4028235e+38, which is above
// it but rounds to it).
struct FloatRange {
  double largest;
  double rounds_to_inf;
};
std::optional<FloatRange> FloatRangeOf(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return FloatRange{std::numeric_limits<float>::max(), std::ldexp(2.0 - std::ldexp(1.0, -24), 127)};
    case DType::kFloat16: return FloatRange{65504, 65520};
    case DType::kBFloat16: return FloatRange{std::ldexp(2.0 - std::ldexp(1.0, -7), 127), std::ldexp(2.0 - std::ldexp(1.0, -8), 127)};
    default: return std::nullopt;
  }
}

// Range of values a dtype can hold, for integer dtypes (64-bit ones: what a
// double holds exactly, kLargestExactInteger).
void IntegerRange(DType dtype, double* lo, double* hi) {
  constexpr double kLargestExact = static_cast<double>(kLargestExactInteger);
  switch (dtype) {
    case DType::kInt8: *lo = -128; *hi = 127; return;
    case DType::kInt16: *lo = -32768; *hi = 32767; return;
    case DType::kInt32: *lo = -2147483648.0; *hi = 2147483647.0; return;
    case DType::kUInt8: *lo = 0; *hi = 255; return;
    case DType::kUInt16: *lo = 0; *hi = 65535; return;
    case DType::kUInt32: *lo = 0; *hi = 4294967295.0; return;
    case DType::kUInt64: *lo = 0; *hi = kLargestExact; return;
    case DType::kBool: *lo = 0; *hi = 1; return;
    default: *lo = -kLargestExact; *hi = kLargestExact; return;
  }
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF. What fails here is returned as {"b64": ...}.
bool IsValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int extra;
    uint32_t code, min_code;
    if (c < 0x80) { ++i; continue; }
    if ((c >> 5) == 0x6) { extra = 1; code = c & 0x1F; min_code = 0x80; }
    else if ((c >> 4) == 0xE) { extra = 2; code = c & 0x0F; min_code = 0x800; }
    else if ((c >> 3) == 0x1E) { extra = 3; code = c & 0x07; min_code = 0x10000; }
    else return false;
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      const unsigned char next = s[i + k];
      if ((next >> 6) != 0x2) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// True if arrays and objects in `text` nest deeper than `limit`. Counts
// brackets outside strings; for text that is not JSON the parser's error
// follows (or this one comes first, which is as good).
bool NestsDeeperThan(const std::string& text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // skip the escaped character
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// A key as the JSON parser reads it: escapes (e.g. "instan\u0063es") decoded
// in place, so that the count finds every spelling of the key it looks for.
void DecodeKeyEscapes(std::string* key) {
  if (key->find('\\') == std::string::npos) return;
  const Json decoded = Json::parse("\"" + *key + "\"", nullptr, /*allow_exceptions=*/false);
  if (decoded.is_string()) *key = decoded.get<std::string>();
}

}  // namespace

std::optional<size_t> CountTopLevelArrayElements(const std::string& text, const std::string& key) {
  int depth = 0;
  bool in_string = false;
  size_t string_start = 0;
  std::string last_string;  // the last string closed at depth 1, a key if a ':' follows
  bool key_matches = false;
  bool counting = false, saw_element = false;
  size_t commas = 0;
  std::optional<size_t> largest;  // over every occurrence: a key may come twice
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 1 && !counting) {
          last_string.assign(text, string_start, i - string_start);
          DecodeKeyEscapes(&last_string);
        }
      }
      continue;
    }
    if (counting && depth >= 2 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      if (depth == 2 && c == ',') {
        ++commas;
      } else if (!(depth == 2 && c == ']')) {
        saw_element = true;
      }
    }
    if (c == '"') {
      in_string = true;
      string_start = i + 1;
    } else if (c == ':' && depth == 1) {
      key_matches = last_string == key;
    } else if (c == ',' && depth == 1) {
      key_matches = false;
    } else if (c == '[' || c == '{') {
      if (depth == 1 && c == '[' && key_matches) {
        counting = true;
        saw_element = false;
        commas = 0;
      }
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
      if (counting && depth == 1) {
        counting = false;
        largest = std::max(largest.value_or(0), saw_element ? commas + 1 : 0);
      }
    }
  }
  return largest;
}

namespace {

class RowDecoder {
 public:
  RowDecoder(DType dtype, const std::string& what, Tensor* out) : dtype_(dtype), what_(what), out_(out) {}

  Status DecodeLeaf(const Json& v) {
    if (dtype_ == DType::kString) {
      if (v.is_string()) {
        out_->strings.push_back(v.get<std::string>());
        return OkStatus();
      }
      if (v.is_object() && v.size() == 1 && v.contains("b64") && v["b64"].is_string()) {
        auto bytes = Base64Decode(v["b64"].get<std::string>());
        if (!bytes.ok()) return bytes.status().WithContext(what_);
        out_->strings.push_back(std::move(bytes).value());
        return OkStatus();
      }
      return InvalidArgument(what_ + ": expected a string or {\"b64\": ...} for a string input, got " +
                             Describe(v));
    }
    double x;
    if (v.is_boolean() && dtype_ == DType::kBool) {
      x = v.get<bool>() ? 1.0 : 0.0;
    } else if (v.is_boolean()) {
      // As TF Serving: a boolean is a bool input's value, not a number's.
      return InvalidArgument(what_ + ": expected " + Expected() + ", got " + v.dump() + " (a boolean: send 1 or 0)");
    } else if (v.is_number()) {
      x = v.get<double>();
    } else {
      return InvalidArgument(what_ + ": expected " + Expected() + ", got " + Describe(v));
    }
    if (!std::isfinite(x)) {
      return InvalidArgument(what_ + ": value " + NonFiniteName(x) + " is not finite; send finite numbers");
    }
    if (IsInteger(dtype_)) {
      double lo, hi;
      IntegerRange(dtype_, &lo, &hi);
      // A JSON integer beyond 2^53 reads as a rounded double: compare the
      // integer itself, or 2^53 + 1 would pass as 2^53.
      const bool beyond = (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) ||
                          (v.is_number_integer() && !v.is_number_unsigned() &&
                           (v.get<int64_t>() > static_cast<int64_t>(hi) || v.get<int64_t>() < static_cast<int64_t>(lo)));
      if (dtype_ == DType::kBool && (x != 0 && x != 1)) {
        return InvalidArgument(what_ + ": value " + v.dump() + " is not a valid bool (expected true or false, or 1 "
                               "or 0)");
      }
      if (x != std::floor(x) || x < lo || x > hi || beyond) {
        const bool wide = dtype_ == DType::kInt64 || dtype_ == DType::kUInt64;
        return InvalidArgument(what_ + ": value " + v.dump() + " is not a valid " + DTypeName(dtype_) +
                               " (expected an integer in [" + std::to_string(static_cast<int64_t>(lo)) + ", " +
                               std::to_string(static_cast<int64_t>(hi)) + "]" +
                               (wide ? ": xaiserve holds values as float64, exact up to 2^53, so a larger "
                                       "int64 (a hashed id, say) would be rounded; send ids below 2^53"
                                     : "") +
                               ")");
      }
    } else if (const std::optional<FloatRange> range = FloatRangeOf(dtype_); range && std::fabs(x) >= range->rounds_to_inf) {
      return InvalidArgument(what_ + ": value " + v.dump() + " overflows " + DTypeName(dtype_) + " (largest " +
                             FormatNumber(range->largest) + ")");
    }
    out_->values.push_back(x);
    return OkStatus();
  }

  Status Decode(const Json& v, int depth, int rank) {
    if (depth == rank) return DecodeLeaf(v);
    for (const Json& child : v) XAI_RETURN_IF_ERROR(Decode(child, depth + 1, rank));
    return OkStatus();
  }

  // What a leaf of this dtype must be, for messages: "a number for an int64 input".
  std::string Expected() const {
    if (dtype_ == DType::kBool) return "true or false (or 1 or 0) for a bool input";
    const std::string name = DTypeName(dtype_);
    return std::string("a number for ") + (name[0] == 'i' ? "an " : "a ") + name + " input";
  }

  static std::string Describe(const Json& v) {
    if (v.is_null()) return "null";
    std::string text = v.dump();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return std::string(v.type_name()) + " " + text;
  }

 private:
  DType dtype_;
  const std::string& what_;
  Tensor* out_;
};

std::string NlohmannText(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

void AppendJsonDouble(double value, std::string* out) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  char text[32];
  char* end = std::to_chars(text, text + sizeof text, value).ptr;
  out->append(text, end - text);
  // A whole number may come out without a point ("3", "-0"): nlohmann writes "3.0".
  if (std::trunc(value) == value && std::none_of(text, end, [](char c) { return c == '.' || c == 'e'; })) {
    out->append(".0");
  }
}

// A string as nlohmann writes it. Printable ASCII other than '"' and '\\'
// (every key xaiserve writes, most values) comes out as it is, between
// quotes; anything else goes through nlohmann's escaping, which also
// replaces invalid UTF-8.
void AppendJsonString(const std::string& text, std::string* out) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
  });
  if (!plain) {
    out->append(NlohmannText(Json(text)));
    return;
  }
  out->push_back('"');
  out->append(text);
  out->push_back('"');
}

namespace {

// An integer in decimal, as nlohmann writes it.
template <typename Integer>
void AppendIntegerText(Integer value, std::string* out) {
  char text[24];
  char* end = std::to_chars(text, text + sizeof text, value).ptr;
  out->append(text, end - text);
}

void AppendJson(const Json& value, std::string* out) {
  switch (value.type()) {
    case Json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, item] : value.get_ref<const Json::object_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(key, out);
        out->push_back(':');
        AppendJson(item, out);
      }
      out->push_back('}');
      return;
    }
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const Json& item : value.get_ref<const Json::array_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(item, out);
      }
      out->push_back(']');
      return;
    }
    case Json::value_t::number_float:
      AppendJsonDouble(*value.get_ptr<const Json::number_float_t*>(), out);
      return;
    case Json::value_t::string:
      AppendJsonString(value.get_ref<const Json::string_t&>(), out);
      return;
    case Json::value_t::number_integer:
      AppendIntegerText(*value.get_ptr<const Json::number_integer_t*>(), out);
      return;
    case Json::value_t::number_unsigned:
      AppendIntegerText(*value.get_ptr<const Json::number_unsigned_t*>(), out);
      return;
    case Json::value_t::binary: {
      const Json::binary_t& bytes = value.get_binary();
      if (bytes.has_subtype() && bytes.subtype() == kJsonTextSubtype) {  // JsonText
        out->append(bytes.begin(), bytes.end());
        return;
      }
      out->append(NlohmannText(value));
      return;
    }
    default:
      out->append(NlohmannText(value));
  }
}

}  // namespace

std::string DumpJson(const Json& value) {
  std::string out;
  AppendJson(value, &out);
  return out;
}

namespace {

// True when the word around byte `byte` (1-based, the last one a parse error
// read) is NaN, Infinity or inf, in any case: a non-finite number written as
// Python's json module and JavaScript write it.
bool NonFiniteLiteralAt(const std::string& text, size_t byte) {
  if (byte == 0 || byte > text.size()) return false;
  size_t begin = byte - 1;
  const auto letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  while (begin > 0 && letter(text[begin - 1])) --begin;
  size_t end = begin;
  while (end < text.size() && letter(text[end])) ++end;
  std::string word = text.substr(begin, end - begin);
  std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
  return word == "nan" || word == "infinity" || word == "inf";
}

}  // namespace

namespace {

// UTF-16 text (Windows PowerShell 5.1's `>` writes it) has a NUL byte beside
// every ASCII character, or starts with a byte order mark FF FE or FE FF.
bool LooksLikeUtf16(const std::string& text) {
  if (text.size() >= 2 && ((text[0] == '\xff' && text[1] == '\xfe') || (text[0] == '\xfe' && text[1] == '\xff'))) {
    return true;
  }
  return text.size() >= 2 && (text[0] == '\0' || text[1] == '\0');
}

// Thrown by the parser's callback at a key given twice in one object, and
// caught in ParseJson.
struct DuplicateKey {
  std::string key;
};

}  // namespace

StatusOr<Json> ParseJson(const std::string& text, const std::string& what) {
  if (LooksLikeUtf16(text)) {
    return InvalidArgument(what + ": not valid JSON: the text looks like UTF-16, and JSON must be UTF-8; convert it "
                           "(e.g. iconv -f UTF-16 -t UTF-8, or in PowerShell Out-File -Encoding utf8)");
  }
  // nlohmann's parser takes a NUL byte for the end of the text and would
  // ignore whatever follows it. JSON has none outside strings, and inside a
  // string it is written \u0000.
  if (const size_t nul = text.find('\0'); nul != std::string::npos) {
    return InvalidArgument(what + ": not valid JSON: a NUL byte at byte " + std::to_string(nul + 1) +
                           "; JSON text has none (inside a string, write it as \\u0000)");
  }
  if (NestsDeeperThan(text, kMaxJsonNesting)) {
    return InvalidArgument(what + ": JSON nested deeper than " + std::to_string(kMaxJsonNesting) +
                           " levels (arrays and objects); a tensor needs one nested list per dimension");
  }
  // The keys of each object being parsed, innermost last. RFC 8259 leaves a
  // key given twice to the parser: nlohmann keeps the last, TF Serving's
  // rapidjson finds the first, so a request could mean two things.
  std::vector<std::unordered_set<std::string>> keys;
  const auto refuse_duplicate_keys = [&keys](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      keys.pop_back();
    } else if (event == Json::parse_event_t::key) {
      std::string key = parsed.get<std::string>();
      if (!keys.back().insert(key).second) throw DuplicateKey{std::move(key)};
    }
    return true;
  };
  try {
    return Json::parse(text, refuse_duplicate_keys);
  } catch (const DuplicateKey& duplicate) {
    return InvalidArgument(what + ": not valid JSON here: the key " + Json(duplicate.key).dump() +
                           " appears twice in one object, and parsers disagree on which one counts; give it once");
  } catch (const Json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> the part after "] ".
    std::string reason = e.what();
    const size_t bracket = reason.find("] ");
    if (bracket != std::string::npos) reason = reason.substr(bracket + 2);
    const auto* parse_error = dynamic_cast<const Json::parse_error*>(&e);
    if (parse_error != nullptr && NonFiniteLiteralAt(text, parse_error->byte)) {
      reason += " (NaN and Infinity are not JSON, though Python's json.dumps writes them for non-finite floats; "
                "xaiserve takes finite numbers only)";
    }
    return InvalidArgument(what + ": not valid JSON: " + reason);
  }
}

bool IsBlankJsonText(std::string_view text) {
  constexpr std::string_view kUtf8ByteOrderMark = "\xEF\xBB\xBF";
  if (text.substr(0, kUtf8ByteOrderMark.size()) == kUtf8ByteOrderMark) text.remove_prefix(kUtf8ByteOrderMark.size());
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

StatusOr<Shape> JsonArrayShape(const Json& value, const std::string& what) {
  Shape shape;
  const Json* level = &value;
  while (level->is_array()) {
    shape.push_back(static_cast<int64_t>(level->size()));
    if (level->empty()) break;
    level = &(*level)[0];
  }
  // Check that every sub-array at each depth has the same length.
  std::vector<const Json*> frontier = {&value};
  for (size_t depth = 0; depth < shape.size(); ++depth) {
    std::vector<const Json*> next;
    for (const Json* node : frontier) {
      if (!node->is_array() || static_cast<int64_t>(node->size()) != shape[depth]) {
        return InvalidArgument(what + ": ragged nested list: expected " + std::to_string(shape[depth]) +
                               " elements at depth " + std::to_string(depth) + "; every row must have the same length");
      }
      for (const Json& child : *node) next.push_back(&child);
    }
    frontier = std::move(next);
  }
  for (const Json* leaf : frontier) {
    if (leaf->is_array()) {
      return InvalidArgument(what + ": ragged nested list: mixes lists and values at depth " +
                             std::to_string(shape.size()));
    }
  }
  return shape;
}

StatusOr<Tensor> TensorRowFromJson(const Json& value, DType dtype, const std::optional<Shape>& row_spec,
                                   const std::string& what) {
  XAI_ASSIGN_OR_RETURN(Shape shape, JsonArrayShape(value, what));
  if (row_spec && !ShapeMatchesSpec(shape, *row_spec)) {
    std::string got = ShapeToString(shape);
    if (value.is_object() && value.size() == 1 && value.contains("b64")) {
      got = "a {\"b64\": ...} upload, which only string inputs and image inputs (floating-point or uint8; height, "
            "width and 1 or 3 channels) take";
    } else if (value.is_object() && value.contains("b64")) {
      got = "an object with \"b64\" and other keys; a {\"b64\": ...} value must be an object with that one key";
    } else if (value.is_object()) {
      got = "an object; give the value as a nested list, one list per dimension";
    }
    return InvalidArgument(what + ": expected shape " + ShapeToString(*row_spec) + " per instance, got " + got);
  }
  Tensor out;
  out.dtype = dtype;
  out.shape = shape;
  out.shape.insert(out.shape.begin(), 1);
  const int64_t n = NumElements(shape);
  if (dtype == DType::kString) out.strings.reserve(n); else out.values.reserve(n);
  RowDecoder decoder(dtype, what, &out);
  XAI_RETURN_IF_ERROR(decoder.Decode(value, 0, static_cast<int>(shape.size())));
  return out;
}

namespace {

// A value of an integer dtype as a JSON integer. Values held as double are
// exact to 2^53, so the largest int64 / uint64 values (from the runtime) round
// up to 2^63 / 2^64, past what the type holds: those saturate to the type's
// limit (which is what they were) instead of an out-of-range conversion,
// which is undefined behaviour.
Json IntegerToJson(DType dtype, double v) {
  if (dtype == DType::kUInt64) {
    if (!(v < 0x1p64)) return std::numeric_limits<uint64_t>::max();
    return static_cast<uint64_t>(std::max(v, 0.0));
  }
  if (!(v < 0x1p63)) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(std::max(v, -0x1p63));
}

// A floating-point element as written: a float32 one as the float it is
// (0.1f is 0.100000001490116..., written 0.10000000149011612).
double FloatingLeaf(const Tensor& t, int64_t index) {
  const double v = t.values[index];
  return t.dtype == DType::kFloat32 ? static_cast<double>(static_cast<float>(v)) : v;
}

Json LeafToJson(const Tensor& t, int64_t index, StringLeaves strings) {
  if (t.dtype == DType::kString) {
    const std::string& s = t.strings[index];
    if (strings == StringLeaves::kTextWhenUtf8 && IsValidUtf8(s)) return s;
    return Json{{"b64", Base64Encode(s)}};
  }
  const double v = t.values[index];
  if (t.dtype == DType::kBool) return v != 0.0;
  if (IsInteger(t.dtype)) return IntegerToJson(t.dtype, v);
  return FloatingLeaf(t, index);
}

Json Nested(const Tensor& t, const Shape& shape, size_t depth, int64_t* cursor, StringLeaves strings) {
  if (depth == shape.size()) return LeafToJson(t, (*cursor)++, strings);
  Json list = Json::array();
  list.get_ref<Json::array_t&>().reserve(static_cast<size_t>(shape[depth]));
  for (int64_t i = 0; i < shape[depth]; ++i) list.push_back(Nested(t, shape, depth + 1, cursor, strings));
  return list;
}

// LeafToJson's value as DumpJson writes it, without making the value.
void AppendLeafText(const Tensor& t, int64_t index, StringLeaves strings, std::string* out) {
  if (t.dtype == DType::kString || IsInteger(t.dtype)) {
    AppendJson(LeafToJson(t, index, strings), out);
    return;
  }
  AppendJsonDouble(FloatingLeaf(t, index), out);
}

// Nested's value written as JSON text, leaf by leaf as DumpJson writes them.
void AppendNestedText(const Tensor& t, const Shape& shape, size_t depth, int64_t* cursor, StringLeaves strings,
                      std::string* out) {
  if (depth == shape.size()) {
    AppendLeafText(t, (*cursor)++, strings, out);
    return;
  }
  out->push_back('[');
  for (int64_t i = 0; i < shape[depth]; ++i) {
    if (i > 0) out->push_back(',');
    AppendNestedText(t, shape, depth + 1, cursor, strings, out);
  }
  out->push_back(']');
}

}  // namespace

StringLeaves StringLeavesOfOutput(std::string_view key) {
  constexpr std::string_view kBytesSuffix = "_bytes";
  const bool bytes = key.size() >= kBytesSuffix.size() && key.substr(key.size() - kBytesSuffix.size()) == kBytesSuffix;
  return bytes ? StringLeaves::kBase64 : StringLeaves::kTextWhenUtf8;
}

Json TensorRowToJson(const Tensor& batch, int64_t row, StringLeaves strings) {
  int64_t cursor = row * batch.row_elements();
  return Nested(batch, batch.row_shape(), 0, &cursor, strings);
}

void AppendJsonInteger(int64_t value, std::string* out) { AppendIntegerText(value, out); }

void AppendTensorRowJson(const Tensor& batch, int64_t row, std::string* out, StringLeaves strings) {
  int64_t cursor = row * batch.row_elements();
  AppendNestedText(batch, batch.row_shape(), 0, &cursor, strings, out);
}

Json JsonText(const std::string& text) {
  return Json::binary(Json::binary_t::container_type(text.begin(), text.end()), kJsonTextSubtype);
}

Json TensorToJson(const Tensor& tensor) {
  int64_t cursor = 0;
  return Nested(tensor, tensor.shape, 0, &cursor, StringLeaves::kTextWhenUtf8);
}

}  // namespace xai
