#include "core/tensor_json.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/base64.h"
#include "testing/status_matchers.h"

namespace xai {
namespace {

using testing::Contains;
using testing::ErrorMessage;

constexpr char kWhat[] = "instance 3, input 'features'";

StatusOr<Tensor> Decode(const Json& value, DType dtype, std::optional<Shape> row_spec = std::nullopt) {
  return TensorRowFromJson(value, dtype, row_spec, kWhat);
}

// The error message of decoding `value`, which must fail with INVALID_ARGUMENT
// and name the value's place (kWhat).
std::string DecodeError(const Json& value, DType dtype, std::optional<Shape> row_spec = std::nullopt) {
  return ErrorMessage(Decode(value, dtype, row_spec).status(), StatusCode::kInvalidArgument, {kWhat},
                      "decoding " + value.dump() + " as " + DTypeName(dtype));
}

// --- writing ------------------------------------------------------------------

std::string Nlohmann(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

TEST(DumpJsonTest, WritesWhatNlohmannWritesForEverythingButTheDigitsOfFloats) {
  const Json value = {{"name", "quote \" backslash \\ tab \t newline \n bell \x07 é ☃"},
                      {"ints", {0, -1, 42, std::numeric_limits<int64_t>::min(), std::numeric_limits<uint64_t>::max()}},
                      {"floats", {0.5, -0.0, 1.0, 3.0, 1e20, 1e-05, 123456789012.0, 0.25, -2.5e-300}},
                      {"flags", {true, false, nullptr}},
                      {"empty", {{"list", Json::array()}, {"object", Json::object()}}},
                      {"nested", {{{"a", {1.5, {2.5}}}}}}};
  EXPECT_EQ(DumpJson(value), Nlohmann(value));
}

TEST(DumpJsonTest, NonFiniteNumbersAreNullAsNlohmannWritesThem) {
  const Json value = {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  EXPECT_EQ(DumpJson(value), "[null,null,null]");
  EXPECT_EQ(DumpJson(value), Nlohmann(value));
}

TEST(DumpJsonTest, InvalidUtf8IsReplacedAsNlohmannReplacesIt) {
  const Json value = {{"bad \xff key", "bad \xc3 value"}};
  EXPECT_EQ(DumpJson(value), Nlohmann(value));
  EXPECT_NE(DumpJson(value).find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
}

TEST(DumpJsonTest, StringsOfEveryByteAreWrittenAsNlohmannWritesThem) {
  // Plain printable ASCII is copied between quotes without nlohmann; every
  // other byte must still come out escaped or replaced exactly as nlohmann does.
  Json value = Json::object();
  for (int byte = 0; byte < 256; ++byte) {
    const std::string text = "k" + std::string(1, static_cast<char>(byte)) + "v";
    value[text] = Json::array({text, std::string(1, static_cast<char>(byte))});
  }
  value["plain key with spaces ~{}[]:,"] = "plain value 0123456789 !#$%&'()*+-./;<=>?@^_`|";
  EXPECT_EQ(DumpJson(value), Nlohmann(value));
}

TEST(DumpJsonTest, TensorRowsWrittenAsTextAreWrittenAsTheirTrees) {
  std::mt19937_64 bits(11);
  std::normal_distribution<double> normal(0.0, 0.01);
  Tensor image(DType::kFloat64, {2, 16, 8, 3});
  for (double& v : image.values) v = normal(bits);
  image.values[5] = std::nan("");
  const Tensor ints = Tensor::FromValues(DType::kInt64, {2, 3}, {1, -2, 3, 4, 5, -6});
  const Tensor floats = Tensor::FromValues(DType::kFloat32, {1, 2}, {0.1, -1e-7});
  const Tensor scalars = Tensor::FromValues(DType::kFloat64, {3}, {0.5, -2.0, 1e300});
  Tensor words(DType::kString, {1, 2});
  words.strings = {"plain", "bad \xff"};
  for (const Tensor* t : std::vector<const Tensor*>{&image, &ints, &floats, &scalars, &words}) {
    for (int64_t row = 0; row < t->batch_size(); ++row) {
      SCOPED_TRACE(ShapeToString(t->shape) + " row " + std::to_string(row));
      std::string text;
      AppendTensorRowJson(*t, row, &text);
      EXPECT_EQ(text, DumpJson(TensorRowToJson(*t, row)));
      // Held in a tree, as a response holds it.
      EXPECT_EQ(DumpJson(Json{{"featureAttributions", JsonText(text)}, {"n", 1}}),
                DumpJson(Json{{"featureAttributions", TensorRowToJson(*t, row)}, {"n", 1}}));
    }
  }
  // Other binary values are still nlohmann's.
  const Json other = Json::binary({1, 2, 3}, 7);
  EXPECT_EQ(DumpJson(other), Nlohmann(other));
}

TEST(DumpJsonTest, EveryDoubleReadsBackExactly) {
  // Doubles from random bit patterns (every exponent, subnormals included)
  // and attribution-like ones (full precision, small).
  std::mt19937_64 bits(7);
  std::normal_distribution<double> normal(0.0, 0.01);
  Json numbers = Json::array();
  while (numbers.size() < 20000) {
    uint64_t pattern = bits();
    double x;
    std::memcpy(&x, &pattern, sizeof x);
    if (std::isfinite(x)) numbers.push_back(x);
    numbers.push_back(normal(bits));
  }
  numbers.push_back(std::numeric_limits<double>::denorm_min());
  numbers.push_back(std::numeric_limits<double>::max());
  numbers.push_back(-std::numeric_limits<double>::min());
  const std::string text = DumpJson(numbers);
  auto parsed = ParseJson(text, "dumped numbers");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), numbers.size());
  for (size_t i = 0; i < numbers.size(); ++i) {
    ASSERT_TRUE((*parsed)[i].is_number_float()) << i << ": " << (*parsed)[i].dump();
    ASSERT_EQ((*parsed)[i].get<double>(), numbers[i].get<double>()) << "number " << i;
  }
}

// --- parsing ------------------------------------------------------------------

TEST(ParseJsonTest, NestingDeeperThanTheLimitIsRefused) {
  // Found by probing the fuzz targets with deep inputs: 100000 nested lists
  // (200 KB) overflowed the stack in the recursive walks over the value.
  auto nested = [](int levels, const std::string& inside) {
    return std::string(levels, '[') + inside + std::string(levels, ']');
  };
  EXPECT_TRUE(ParseJson(nested(kMaxJsonNesting, "1"), "body").ok());
  ErrorMessage(ParseJson(nested(kMaxJsonNesting + 1, "1"), "body").status(), StatusCode::kInvalidArgument,
               {"body", "deeper than 64"}, "parsing 65 levels");
  EXPECT_FALSE(ParseJson(nested(100000, ""), "body").ok());
  const std::string deep_object = R"({"a": )" + nested(kMaxJsonNesting, "{}") + "}";
  EXPECT_FALSE(ParseJson(deep_object, "body").ok());
}

TEST(ParseJsonTest, NonFiniteLiteralsAsPythonWritesThemAreNamed) {
  for (const std::string text : {"[1, NaN]", "[1,-Infinity, 2]", R"({"a": Infinity})", "[nan]", "[[0.5, inf]]"}) {
    ErrorMessage(ParseJson(text, "body").status(), StatusCode::kInvalidArgument,
                 {"body: not valid JSON", "NaN and Infinity are not JSON", "finite numbers only"}, text);
  }
  // Other bad JSON gets no such hint, nor does the word inside a string.
  for (const std::string text : {"[1, 2", "[tru]", R"(["NaN", x])", "[Nap]"}) {
    auto parsed = ParseJson(text, "body");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().message().find("NaN and Infinity"), std::string::npos) << text;
  }
}

TEST(ParseJsonTest, AKeyGivenTwiceInOneObjectIsRefused) {
  // nlohmann keeps the last, TF Serving's rapidjson the first: refused, at any depth.
  for (const std::string text : {R"({"instances": [[1]], "instances": [[4]]})",
                                 R"({"instances": [{"x": [1], "x": [4]}]})",
                                 R"([{"a": 1}, {"b": {"c": 1, "d": 2, "c": 3}}])",
                                 R"({"instances": 1, "instan\u0063es": 2})"}) {
    ErrorMessage(ParseJson(text, "body").status(), StatusCode::kInvalidArgument,
                 {"body", "appears twice in one object", "give it once"}, text);
  }
  ErrorMessage(ParseJson(R"({"x": [1], "x": [4]})", "body").status(), StatusCode::kInvalidArgument,
               {"\"x\" appears twice"}, "the key named");
  // The same key in sibling or nested objects is not a duplicate.
  auto parsed = ParseJson(R"({"x": {"x": 1}, "y": [{"x": 2}, {"x": 3}]})", "body");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)["y"][1]["x"].get<int>(), 3);
}

TEST(ParseJsonTest, NulBytesAndUtf16AreRefusedNotCutShort) {
  // nlohmann stops at a NUL byte as at the end of the text: what followed was ignored.
  const std::string after_value = std::string(R"({"instances": ["x"]})") + '\0' + "junk{{{";
  ErrorMessage(ParseJson(after_value, "body").status(), StatusCode::kInvalidArgument,
               {"body: not valid JSON", "NUL byte at byte 21", "\\u0000"}, "NUL after the value");
  const std::string inside = std::string(R"({"instances": ["x"])") + '\0' + "}";
  ErrorMessage(ParseJson(inside, "body").status(), StatusCode::kInvalidArgument, {"NUL byte at byte 20"},
               "NUL inside");
  // UTF-16 as PowerShell 5.1 writes it (little-endian with a byte order mark), and without the mark.
  std::string utf16 = "\xff\xfe";
  for (char c : std::string(R"({"instances": [1]})")) utf16 += std::string{c, '\0'};
  for (const std::string& text : {utf16, utf16.substr(2), utf16.substr(2).substr(1)}) {
    ErrorMessage(ParseJson(text, "body").status(), StatusCode::kInvalidArgument,
                 {"body: not valid JSON", "looks like UTF-16", "must be UTF-8", "iconv"}, "UTF-16");
  }
  // An escaped NUL inside a string is JSON and stays.
  auto parsed = ParseJson(R"(["a\u0000b"])", "body");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)[0].get<std::string>(), std::string("a\0b", 3));
}

TEST(ParseJsonTest, BracketsInsideStringsDoNotCount) {
  const std::string brackets(200, '[');
  auto parsed = ParseJson(R"({"text": ")" + brackets + R"(\"[{", "b": [1]})", "body");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)["text"].get<std::string>(), brackets + "\"[{");
}

// --- decoding: shapes ---------------------------------------------------------

TEST(TensorRowFromJsonTest, NestedListGetsABatchDimensionOfOne) {
  auto t = Decode(Json::parse("[[1, 2, 3], [4, 5, 6]]"), DType::kFloat32, Shape{2, 3});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->dtype, DType::kFloat32);
  EXPECT_EQ(t->shape, (Shape{1, 2, 3}));
  EXPECT_EQ(t->values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(t->strings.empty());
}

TEST(TensorRowFromJsonTest, UnknownDimensionsInTheSpecAcceptAnySize) {
  auto t = Decode(Json::parse("[[1.5], [2.5], [3.5]]"), DType::kFloat64, Shape{-1, 1});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape, (Shape{1, 3, 1}));
  EXPECT_EQ(t->values, (std::vector<double>{1.5, 2.5, 3.5}));
}

TEST(TensorRowFromJsonTest, ScalarHasShapeOne) {
  auto t = Decode(Json(2.5), DType::kFloat32, Shape{});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape, (Shape{1}));
  EXPECT_EQ(t->values, (std::vector<double>{2.5}));
}

TEST(TensorRowFromJsonTest, EmptyListHasSizeZero) {
  auto t = Decode(Json::array(), DType::kFloat32, Shape{-1});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape, (Shape{1, 0}));
  EXPECT_TRUE(t->values.empty());
}

TEST(TensorRowFromJsonTest, RaggedListIsRejectedNamingTheDepth) {
  const std::string message = DecodeError(Json::parse("[[1, 2], [3]]"), DType::kFloat32);
  EXPECT_TRUE(Contains(message, "ragged"));
  EXPECT_TRUE(Contains(message, "depth 1"));
  EXPECT_TRUE(Contains(message, "expected 2 elements"));
}

TEST(TensorRowFromJsonTest, RaggedListDeeperDownNamesThatDepth) {
  const std::string message = DecodeError(Json::parse("[[[1, 2], [3, 4]], [[5, 6], [7]]]"), DType::kFloat32);
  EXPECT_TRUE(Contains(message, "ragged"));
  EXPECT_TRUE(Contains(message, "depth 2"));
}

TEST(TensorRowFromJsonTest, ListMixingValuesAndListsIsRejected) {
  // The first element decides the rank; a later list is ragged.
  const std::string later_list = DecodeError(Json::parse("[1, [2]]"), DType::kFloat32);
  EXPECT_TRUE(Contains(later_list, "ragged"));
  EXPECT_TRUE(Contains(later_list, "depth 1"));
  // A later bare value where a list was expected.
  const std::string later_value = DecodeError(Json::parse("[[1, 2], 3]"), DType::kFloat32);
  EXPECT_TRUE(Contains(later_value, "ragged"));
  EXPECT_TRUE(Contains(later_value, "depth 1"));
}

TEST(TensorRowFromJsonTest, ShapeMismatchNamesExpectedAndActualShapes) {
  const std::string message = DecodeError(Json::parse("[1, 2, 3]"), DType::kFloat32, Shape{-1, 30});
  EXPECT_TRUE(Contains(message, "[?,30]"));
  EXPECT_TRUE(Contains(message, "[3]"));

  const std::string wrong_size = DecodeError(Json::parse("[1, 2]"), DType::kFloat32, Shape{3});
  EXPECT_TRUE(Contains(wrong_size, "expected shape [3]"));
  EXPECT_TRUE(Contains(wrong_size, "got [2]"));

  const std::string list_for_scalar = DecodeError(Json::parse("[1]"), DType::kFloat32, Shape{});
  EXPECT_TRUE(Contains(list_for_scalar, "[]"));
  EXPECT_TRUE(Contains(list_for_scalar, "[1]"));
}

TEST(TensorRowFromJsonTest, UnknownRankAcceptsAnyShape) {
  auto scalar = Decode(Json(7), DType::kInt64, std::nullopt);
  ASSERT_TRUE(scalar.ok()) << scalar.status().ToString();
  EXPECT_EQ(scalar->shape, (Shape{1}));
  auto matrix = Decode(Json::parse("[[1, 2], [3, 4], [5, 6]]"), DType::kInt64, std::nullopt);
  ASSERT_TRUE(matrix.ok()) << matrix.status().ToString();
  EXPECT_EQ(matrix->shape, (Shape{1, 3, 2}));
  EXPECT_EQ(matrix->values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

// --- decoding: numbers ---------------------------------------------------------

TEST(TensorRowFromJsonTest, IntegerDTypesAcceptIntegersWithinRange) {
  auto int8 = Decode(Json::parse("[-128, 0, 127]"), DType::kInt8);
  ASSERT_TRUE(int8.ok()) << int8.status().ToString();
  EXPECT_EQ(int8->values, (std::vector<double>{-128, 0, 127}));
  auto uint8 = Decode(Json::parse("[0, 255]"), DType::kUInt8);
  ASSERT_TRUE(uint8.ok()) << uint8.status().ToString();
  EXPECT_EQ(uint8->values, (std::vector<double>{0, 255}));
  // 2.0 is an integer written as a float.
  auto int32 = Decode(Json::parse("[2.0, -2147483648, 2147483647]"), DType::kInt32);
  ASSERT_TRUE(int32.ok()) << int32.status().ToString();
  EXPECT_EQ(int32->values, (std::vector<double>{2, -2147483648.0, 2147483647.0}));
}

TEST(TensorRowFromJsonTest, IntegerDTypesRejectFractions) {
  const std::string message = DecodeError(Json::parse("[1, 1.5]"), DType::kInt32);
  EXPECT_TRUE(Contains(message, "1.5"));
  EXPECT_TRUE(Contains(message, "int32"));
  EXPECT_TRUE(Contains(message, "integer"));
}

TEST(TensorRowFromJsonTest, IntegerDTypesRejectOutOfRangeValuesNamingTheRange) {
  const std::string int8 = DecodeError(Json::parse("[300]"), DType::kInt8);
  EXPECT_TRUE(Contains(int8, "300"));
  EXPECT_TRUE(Contains(int8, "int8"));
  EXPECT_TRUE(Contains(int8, "-128"));
  EXPECT_TRUE(Contains(int8, "127"));

  const std::string uint8 = DecodeError(Json(-1), DType::kUInt8);
  EXPECT_TRUE(Contains(uint8, "-1"));
  EXPECT_TRUE(Contains(uint8, "uint8"));
  EXPECT_TRUE(Contains(uint8, "255"));

  const std::string int32 = DecodeError(Json(2147483648.0), DType::kInt32);
  EXPECT_TRUE(Contains(int32, "int32"));
  const std::string uint16 = DecodeError(Json(65536), DType::kUInt16);
  EXPECT_TRUE(Contains(uint16, "65536"));
}

TEST(TensorRowFromJsonTest, Int64RejectsValuesBeyondItsRange) {
  // 2^63 does not fit int64 (its largest value is 2^63 - 1), and 2^64 does
  // not fit uint64; both must be refused, not wrapped or cast with overflow.
  const std::string int64 = DecodeError(Json::parse("9223372036854775808"), DType::kInt64);
  EXPECT_TRUE(Contains(int64, "int64"));
  const std::string uint64 = DecodeError(Json::parse("18446744073709551616"), DType::kUInt64);
  EXPECT_TRUE(Contains(uint64, "uint64"));
}

TEST(TensorRowFromJsonTest, SixtyFourBitIntegersBeyondTwoToThe53AreRefusedNotRounded) {
  // Values are held as doubles: 2^53 + 1 used to come back as 2^53 with no
  // word (a hashed id, changed), and INT64_MAX was refused with a range
  // printed as floats that seemed to contain it.
  auto exact = Decode(Json::parse("[9007199254740992, -9007199254740992]"), DType::kInt64, Shape{2});
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(TensorRowToJson(*exact, 0).dump(), "[9007199254740992,-9007199254740992]");
  for (const char* beyond : {"9007199254740993", "-9007199254740993", "9223372036854775807", "1e17"}) {
    const std::string message = DecodeError(Json::parse(beyond), DType::kInt64);
    EXPECT_TRUE(Contains(message, "[-9007199254740992, 9007199254740992]")) << message;
    EXPECT_TRUE(Contains(message, "exact up to 2^53")) << message;
  }
  const std::string uint64 = DecodeError(Json::parse("18446744073709551615"), DType::kUInt64);
  EXPECT_TRUE(Contains(uint64, "[0, 9007199254740992]")) << uint64;
}

TEST(TensorRowFromJsonTest, Float16ValuesBeyondItsRangeAreRefused) {
  // 65519 rounds to 65504, 65520 to infinity.
  auto largest = Decode(Json::parse("[65504, -65519]"), DType::kFloat16, Shape{2});
  ASSERT_TRUE(largest.ok()) << largest.status().ToString();
  for (double beyond : {65520.0, -65520.0, 70000.0}) {
    const std::string message = DecodeError(Json(beyond), DType::kFloat16);
    EXPECT_TRUE(Contains(message, "overflows float16 (largest 65504)")) << message;
  }
}

TEST(TensorRowFromJsonTest, Float32AndBFloat16ValuesThatRoundToInfinityAreRefused) {
  // numpy prints float32's largest as 3.4028235e+38: above it, but it rounds to it.
  EXPECT_TRUE(Decode(Json::parse("[3.4028235e38, -3.4028235e38]"), DType::kFloat32, Shape{2}).ok());
  EXPECT_TRUE(Contains(DecodeError(Json(3.4028236e38), DType::kFloat32), "overflows float32 (largest 3.40282"));
  EXPECT_TRUE(Contains(DecodeError(Json(1e39), DType::kFloat32), "overflows float32"));
  // bfloat16 (largest 3.3895e38) used to take anything: 1e39 fed infinity.
  EXPECT_TRUE(Decode(Json::parse("[3.3895e38, -1e38]"), DType::kBFloat16, Shape{2}).ok());
  for (double beyond : {1e39, -3.4e38}) {
    const std::string message = DecodeError(Json(beyond), DType::kBFloat16);
    EXPECT_TRUE(Contains(message, "overflows bfloat16 (largest 3.38953")) << message;
  }
}

TEST(TensorRowFromJsonTest, NullIsNamedOnce) {
  const std::string message = DecodeError(Json::parse("[null, 2]"), DType::kFloat32, Shape{2});
  EXPECT_TRUE(Contains(message, "got null")) << message;
  EXPECT_FALSE(Contains(message, "null null")) << message;
}

TEST(TensorRowFromJsonTest, BoolAcceptsTrueFalseAndZeroOne) {
  auto t = Decode(Json::parse("[true, false, 1, 0]"), DType::kBool, Shape{4});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->values, (std::vector<double>{1, 0, 1, 0}));
  // The messages name true and false, which a bool input is given as.
  const std::string two = DecodeError(Json(2), DType::kBool);
  EXPECT_TRUE(Contains(two, "value 2 is not a valid bool (expected true or false, or 1 or 0)")) << two;
  const std::string half = DecodeError(Json(0.5), DType::kBool);
  EXPECT_TRUE(Contains(half, "expected true or false")) << half;
  const std::string text = DecodeError(Json("true"), DType::kBool);
  EXPECT_TRUE(Contains(text, "expected true or false (or 1 or 0) for a bool input, got string")) << text;
}

TEST(TensorRowFromJsonTest, BooleansAreForBoolInputsOnly) {
  // They read as 1 and 0 for any number (TF Serving refuses them): a
  // boolean sent for a float feature is more likely a mistake than a 1.
  for (DType dtype : {DType::kFloat32, DType::kInt64, DType::kUInt8}) {
    const std::string message = DecodeError(Json(true), dtype);
    EXPECT_TRUE(Contains(message, "got true (a boolean: send 1 or 0)")) << message;
  }
}

TEST(TensorRowFromJsonTest, StringsForNumericInputsAreRejected) {
  const std::string message = DecodeError(Json::parse("[1.0, \"2.0\"]"), DType::kFloat32);
  EXPECT_TRUE(Contains(message, "expected a number for a float32 input"));
  EXPECT_TRUE(Contains(message, "\"2.0\""));
  const std::string null_value = DecodeError(Json(nullptr), DType::kFloat32);
  EXPECT_TRUE(Contains(null_value, "null"));
  const std::string object = DecodeError(Json::parse(R"({"b64": "AAAA"})"), DType::kInt64);
  EXPECT_TRUE(Contains(object, "expected a number for an int64 input"));
  EXPECT_TRUE(Contains(DecodeError(Json("7"), DType::kUInt8), "expected a number for a uint8 input"));
}

TEST(TensorRowFromJsonTest, AnObjectForATensorIsNamedAnObjectNotShapeEmpty) {
  // It was "expected shape [3] per instance, got []".
  const std::string object = DecodeError(Json::parse(R"({"a": 1})"), DType::kFloat32, Shape{3});
  EXPECT_TRUE(Contains(object, "expected shape [3] per instance, got an object; give the value as a nested list"))
      << object;
  const std::string upload = DecodeError(Json::parse(R"({"b64": "AAAA", "mimeType": "image/png"})"), DType::kFloat32,
                                         Shape{32, 32, 1});
  EXPECT_TRUE(Contains(upload, "must be an object with that one key")) << upload;
}

TEST(TensorRowFromJsonTest, NonFiniteNumbersAreRejected) {
  // JSON text cannot hold inf or NaN (nlohmann 3.11 refuses 1e999 when
  // parsing), but a Json value built in C++ can.
  for (double bad : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()}) {
    SCOPED_TRACE(bad);
    for (DType dtype : {DType::kFloat32, DType::kFloat64}) {
      const std::string message = DecodeError(Json::array({1.0, bad}), dtype);
      EXPECT_TRUE(Contains(message, "not finite"));
      EXPECT_TRUE(Contains(message, "finite numbers"));
    }
  }
}

TEST(TensorRowFromJsonTest, NonFiniteValueIsShownAsItIsNotAsNull) {
  // nlohmann renders inf and NaN as "null", which reads as if the client had
  // sent null; the message should name the value itself (inf, -inf, nan).
  const std::string message = DecodeError(Json(std::numeric_limits<double>::infinity()), DType::kFloat32);
  EXPECT_FALSE(Contains(message, "null")) << message;
  EXPECT_TRUE(Contains(message, "inf")) << message;
}

TEST(TensorRowFromJsonTest, Float32OverflowIsRejected) {
  const std::string message = DecodeError(Json::parse("[1.0, 1e39]"), DType::kFloat32);
  EXPECT_TRUE(Contains(message, "1e+39"));
  EXPECT_TRUE(Contains(message, "overflows float32"));
  const std::string negative = DecodeError(Json::parse("[-1e39]"), DType::kFloat32);
  EXPECT_TRUE(Contains(negative, "float32"));
  // The same value fits float64, and the largest float32 fits float32.
  EXPECT_TRUE(Decode(Json::parse("[1e39]"), DType::kFloat64).ok());
  EXPECT_TRUE(Decode(Json(3.4028234663852886e38), DType::kFloat32).ok());
}

// --- decoding: strings ---------------------------------------------------------

TEST(TensorRowFromJsonTest, StringsAndBase64Objects) {
  auto t = Decode(Json::parse(R"(["plain", {"b64": "AAH/"}, ""])"), DType::kString, Shape{3});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape, (Shape{1, 3}));
  ASSERT_EQ(t->strings.size(), 3u);
  EXPECT_EQ(t->strings[0], "plain");
  EXPECT_EQ(t->strings[1], std::string("\x00\x01\xff", 3));
  EXPECT_EQ(t->strings[2], "");
  EXPECT_TRUE(t->values.empty());
}

TEST(TensorRowFromJsonTest, ScalarStringInstance) {
  auto t = Decode(Json("1.0,2.0,3.0"), DType::kString, Shape{});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape, (Shape{1}));
  EXPECT_EQ(t->strings, (std::vector<std::string>{"1.0,2.0,3.0"}));
}

TEST(TensorRowFromJsonTest, InvalidBase64IsRejected) {
  const std::string message = DecodeError(Json::parse(R"({"b64": "not base64!"})"), DType::kString);
  EXPECT_TRUE(Contains(message, "base64"));
  const std::string truncated = DecodeError(Json::parse(R"([{"b64": "Zm9vY"}])"), DType::kString);
  EXPECT_TRUE(Contains(truncated, "base64"));
}

TEST(TensorRowFromJsonTest, NumbersAndOtherObjectsForStringInputsAreRejected) {
  const std::string number = DecodeError(Json::parse(R"(["a", 5])"), DType::kString);
  EXPECT_TRUE(Contains(number, "expected a string or {\"b64\": ...}"));
  EXPECT_TRUE(Contains(number, "number 5"));
  const std::string extra_key = DecodeError(Json::parse(R"({"b64": "AAAA", "x": 1})"), DType::kString);
  EXPECT_TRUE(Contains(extra_key, "expected a string"));
  const std::string b64_not_string = DecodeError(Json::parse(R"({"b64": 12})"), DType::kString);
  EXPECT_TRUE(Contains(b64_not_string, "expected a string"));
  const std::string boolean = DecodeError(Json(true), DType::kString);
  EXPECT_TRUE(Contains(boolean, "boolean"));
}

TEST(JsonArrayShapeTest, Shapes) {
  auto scalar = JsonArrayShape(Json(1), "x");
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(*scalar, Shape{});
  auto cube = JsonArrayShape(Json::parse("[[[1], [2]], [[3], [4]], [[5], [6]]]"), "x");
  ASSERT_TRUE(cube.ok());
  EXPECT_EQ(*cube, (Shape{3, 2, 1}));
  auto empty_rows = JsonArrayShape(Json::parse("[[], []]"), "x");
  ASSERT_TRUE(empty_rows.ok());
  EXPECT_EQ(*empty_rows, (Shape{2, 0}));
  auto ragged = JsonArrayShape(Json::parse("[[], [1]]"), "baseline 0");
  ASSERT_FALSE(ragged.ok());
  EXPECT_TRUE(Contains(ragged.status().message(), "baseline 0"));
  EXPECT_TRUE(Contains(ragged.status().message(), "depth 1"));
}

// --- encoding ---------------------------------------------------------------

TEST(TensorRowToJsonTest, RowsAsNestedLists) {
  const Tensor t = Tensor::FromValues(DType::kFloat32, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(TensorRowToJson(t, 0), Json::parse("[[1.0, 2.0], [3.0, 4.0]]"));
  EXPECT_EQ(TensorRowToJson(t, 1), Json::parse("[[5.0, 6.0], [7.0, 8.0]]"));
  EXPECT_EQ(TensorToJson(t), Json::parse("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]"));
}

TEST(TensorRowToJsonTest, RowOfAVectorIsABareValue) {
  const Tensor t = Tensor::FromValues(DType::kFloat64, {3}, {0.5, -1.25, 7});
  EXPECT_EQ(TensorRowToJson(t, 1), Json(-1.25));
  EXPECT_EQ(TensorToJson(t), Json::parse("[0.5, -1.25, 7.0]"));
}

TEST(TensorRowToJsonTest, IntegersAndBoolsKeepTheirJsonTypes) {
  const Tensor ints = Tensor::FromValues(DType::kInt64, {1, 3}, {-5, 0, 9007199254740992.0});
  const Json row = TensorRowToJson(ints, 0);
  ASSERT_TRUE(row.is_array());
  for (const Json& v : row) EXPECT_TRUE(v.is_number_integer()) << v.dump();
  EXPECT_EQ(row.dump(), "[-5,0,9007199254740992]");
  const Tensor bools = Tensor::FromValues(DType::kBool, {1, 2}, {1, 0});
  EXPECT_EQ(TensorRowToJson(bools, 0).dump(), "[true,false]");
}

TEST(TensorRowToJsonTest, SixtyFourBitLimitsSaturateInsteadOfOverflowing) {
  // Found by fuzz/tensor_json_fuzzer.cc: uint64 values at or above 2^63 were
  // converted through int64 (undefined behaviour). As doubles, the int64 and
  // uint64 maxima round up to 2^63 and 2^64; they come back as the maxima.
  const Tensor u = Tensor::FromValues(DType::kUInt64, {1, 3}, {9672918043709550592.0, 0x1p64, 0});
  EXPECT_EQ(TensorRowToJson(u, 0).dump(), "[9672918043709550592,18446744073709551615,0]");
  const Tensor i = Tensor::FromValues(DType::kInt64, {1, 2}, {0x1p63, -0x1p63});
  EXPECT_EQ(TensorRowToJson(i, 0).dump(), "[9223372036854775807,-9223372036854775808]");
}

TEST(TensorRowToJsonTest, Float32ValuesAreRoundedToFloat32) {
  const Tensor t = Tensor::FromValues(DType::kFloat32, {1}, {0.1});
  EXPECT_EQ(TensorRowToJson(t, 0).get<double>(), static_cast<double>(0.1f));
}

TEST(TensorRowToJsonTest, NonUtf8StringsComeOutAsBase64) {
  Tensor t(DType::kString, {1, 4});
  t.strings = {"plain", "h\xc3\xa9llo", std::string("\xff\xfe", 2), "\xc3"};  // é is valid; \xc3 alone is not
  const Json row = TensorRowToJson(t, 0);
  ASSERT_EQ(row.size(), 4u);
  EXPECT_EQ(row[0], Json("plain"));
  EXPECT_EQ(row[1], Json("h\xc3\xa9llo"));
  EXPECT_EQ(row[2], Json::parse(R"({"b64": "//4="})"));
  EXPECT_EQ(row[3], Json::parse(R"({"b64": "ww=="})"));
}

TEST(TensorRowToJsonTest, BytesThatJsonCannotHoldComeOutAsBase64) {
  // Overlong encodings, UTF-16 surrogates and code points above U+10FFFF are
  // not valid UTF-8: nlohmann::json refuses to dump them (it throws), so they
  // must be sent as {"b64": ...} like any other binary string.
  const std::vector<std::string> invalid = {
      std::string("\xc0\x80", 2),          // overlong NUL
      std::string("\xe0\x80\xaf", 3),      // overlong '/'
      std::string("\xed\xa0\x80", 3),      // surrogate U+D800
      std::string("\xf4\x90\x80\x80", 4),  // U+110000
      std::string("\xf8\x88\x80\x80\x80", 5),
  };
  for (const std::string& bytes : invalid) {
    SCOPED_TRACE(Base64Encode(bytes));
    Tensor t(DType::kString, {1});
    t.strings = {bytes};
    const Json value = TensorRowToJson(t, 0);
    EXPECT_TRUE(value.is_object()) << "came out as a JSON string";
    EXPECT_NO_THROW(value.dump());
    if (value.is_object()) {
      EXPECT_EQ(value, Json({{"b64", Base64Encode(bytes)}}));
    }
  }
}

TEST(TensorJsonRoundTripTest, NumericRowsRoundTrip) {
  const Tensor batch = Tensor::FromValues(DType::kFloat32, {2, 3}, {0.5, -2, 1e-3, 4, 5.25, -6});
  for (int64_t row = 0; row < 2; ++row) {
    auto back = TensorRowFromJson(TensorRowToJson(batch, row), DType::kFloat32, Shape{3}, "row");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    const Tensor expected = SliceRows(batch, row, row + 1);
    EXPECT_EQ(back->shape, expected.shape);
    for (size_t i = 0; i < expected.values.size(); ++i) {
      EXPECT_EQ(back->values[i], static_cast<double>(static_cast<float>(expected.values[i]))) << i;
    }
  }
  const Tensor ints = Tensor::FromValues(DType::kInt8, {1, 2, 2}, {-128, 1, 2, 127});
  auto back = TensorRowFromJson(TensorRowToJson(ints, 0), DType::kInt8, Shape{2, 2}, "row");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->values, ints.values);
  EXPECT_EQ(back->shape, ints.shape);
}

TEST(TensorJsonRoundTripTest, BinaryStringsRoundTripThroughBase64) {
  Tensor t(DType::kString, {1, 3});
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  t.strings = {"text", all_bytes, std::string(1, '\0')};
  auto back = TensorRowFromJson(TensorRowToJson(t, 0), DType::kString, Shape{3}, "row");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->strings, t.strings);
}

}  // namespace
}  // namespace xai

namespace xai {
namespace {

TEST(CountTopLevelArrayElementsTest, CountsTheElementsOfTheNamedField) {
  EXPECT_EQ(CountTopLevelArrayElements(R"({"instances": [[1, 2], [3, 4], [5, 6]]})", "instances"), 3u);
  EXPECT_EQ(CountTopLevelArrayElements(R"({"instances": []})", "instances"), 0u);
  EXPECT_EQ(CountTopLevelArrayElements(R"({"instances": [ ]})", "instances"), 0u);
  EXPECT_EQ(CountTopLevelArrayElements(R"( {"instances":[7]} )", "instances"), 1u);
  // Elements of every kind, with commas and brackets inside strings and objects.
  EXPECT_EQ(CountTopLevelArrayElements(
                R"({"parameters": {"instances": [1, 2, 3, 4]}, "instances": ["a,b]", {"x": [1, 2], "y": "]["}, [[1], [2]], null]})",
                "instances"),
            4u);
  EXPECT_EQ(CountTopLevelArrayElements(R"({"k\"ey": 1, "instances": [{"b64": "AA=="}, {"b64": "\"]"}]})",
                                       "instances"),
            2u);
  // A key spelt with escapes is the key the parser reads.
  EXPECT_EQ(CountTopLevelArrayElements(R"({"instan\u0063es": [1, 2, 3]})", "instances"), 3u);
  EXPECT_EQ(CountTopLevelArrayElements(R"({"\u0069nstances": [1], "x\"": [1, 2]})", "instances"), 1u);
  // A key given twice: the larger, whichever the parser keeps.
  EXPECT_EQ(CountTopLevelArrayElements(R"({"instances": [1], "instances": [1, 2, 3]})", "instances"), 3u);
  EXPECT_EQ(CountTopLevelArrayElements(R"({"instances": [1, 2, 3], "instances": []})", "instances"), 3u);
}

TEST(CountTopLevelArrayElementsTest, AgreesWithTheParserOnRandomRequests) {
  std::mt19937 random(11);
  for (int trial = 0; trial < 200; ++trial) {
    Json instances = Json::array();
    const int count = static_cast<int>(random() % 20);
    for (int i = 0; i < count; ++i) {
      switch (random() % 4) {
        case 0: instances.push_back(Json::array({1.5, -2, Json::array({3})})); break;
        case 1: instances.push_back(Json{{"x", "a,]b\"["}, {"y", Json::array({1, 2})}}); break;
        case 2: instances.push_back("text, with [brackets]"); break;
        default: instances.push_back(static_cast<int>(random() % 100)); break;
      }
    }
    const Json body = {{"parameters", {{"instances", Json::array({1, 2})}}}, {"instances", instances}};
    EXPECT_EQ(CountTopLevelArrayElements(body.dump(), "instances"), static_cast<size_t>(count)) << body.dump();
    EXPECT_EQ(CountTopLevelArrayElements(body.dump(2), "instances"), static_cast<size_t>(count));
  }
}

TEST(CountTopLevelArrayElementsTest, NoSuchArrayIsNullopt) {
  EXPECT_EQ(CountTopLevelArrayElements(R"({"inputs": [1, 2]})", "instances"), std::nullopt);
  EXPECT_EQ(CountTopLevelArrayElements(R"({"instances": 3})", "instances"), std::nullopt);
  EXPECT_EQ(CountTopLevelArrayElements(R"({"parameters": {"instances": [1]}})", "instances"), std::nullopt);
  EXPECT_EQ(CountTopLevelArrayElements(R"([1, 2])", "instances"), std::nullopt);
  EXPECT_EQ(CountTopLevelArrayElements(R"({"instances": [1, 2)", "instances"), std::nullopt);  // cut short
  EXPECT_EQ(CountTopLevelArrayElements("", "instances"), std::nullopt);
}

}  // namespace
}  // namespace xai
