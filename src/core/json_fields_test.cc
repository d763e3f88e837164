#include "core/json_fields.h"

#include <gtest/gtest.h>

namespace xai {
namespace {

const ProtoEnumValues kEncoding = {{0, "ENCODING_UNSPECIFIED"}, {1, "IDENTITY"}, {2, "BAG_OF_FEATURES"}};

std::optional<std::string> EnumOf(const Json& object, const ProtoEnumValues& values = kEncoding) {
  JsonFields f(object, "md");
  auto value = f.ProtoEnum({"encoding"}, values);
  EXPECT_TRUE(value.ok()) << object.dump() << ": " << value.status().ToString();
  return value.ok() ? *value : std::nullopt;
}

std::string EnumError(const Json& object, const ProtoEnumValues& values = kEncoding) {
  JsonFields f(object, "md");
  auto value = f.ProtoEnum({"encoding"}, values);
  EXPECT_FALSE(value.ok()) << object.dump();
  return value.ok() ? "" : value.status().message();
}

TEST(ProtoEnumTest, ANumberIsTheNameOfItsValue) {
  // proto3 JSON (the SDK's to_json()) writes enums as their numbers.
  EXPECT_EQ(EnumOf({{"encoding", 1}}), "IDENTITY");
  EXPECT_EQ(EnumOf({{"encoding", 2}}), "BAG_OF_FEATURES");
  EXPECT_EQ(EnumOf({{"encoding", 2.0}}), "BAG_OF_FEATURES");
  EXPECT_EQ(EnumOf({{"encoding", "bag_of_features"}}), "bag_of_features");  // a name as given
}

TEST(ProtoEnumTest, ZeroEmptyAndUnspecifiedAreUnset) {
  EXPECT_EQ(EnumOf(Json::object()), std::nullopt);
  EXPECT_EQ(EnumOf({{"encoding", 0}}), std::nullopt);
  EXPECT_EQ(EnumOf({{"encoding", ""}}), std::nullopt);
  for (const char* spelling : {"ENCODING_UNSPECIFIED", "encodingUnspecified", "encoding_unspecified"}) {
    EXPECT_EQ(EnumOf({{"encoding", spelling}}), std::nullopt) << spelling;
  }
  // Another enum's unspecified value is a name the caller refuses.
  EXPECT_EQ(EnumOf({{"encoding", "TYPE_UNSPECIFIED"}}), "TYPE_UNSPECIFIED");
}

TEST(ProtoEnumTest, AnUnknownNumberOrTypeNamesTheFieldAndTheNumbers) {
  for (const Json& bad : {Json(7), Json(-1), Json(1.5), Json(true), Json::array({1})}) {
    const std::string message = EnumError({{"encoding", bad}});
    EXPECT_NE(message.find("md.encoding is " + bad.dump()), std::string::npos) << message;
    EXPECT_NE(message.find("1 (IDENTITY), 2 (BAG_OF_FEATURES)"), std::string::npos) << message;
  }
}

TEST(ProtoEnumTest, AStringFieldReadLikeAnEnumRefusesNumbers) {
  EXPECT_EQ(EnumOf({{"encoding", ""}}, {}), std::nullopt);
  EXPECT_EQ(EnumOf({{"encoding", "image"}}, {}), "image");
  EXPECT_NE(EnumError({{"encoding", 1}}, {}).find("md.encoding must be a string, got 1"), std::string::npos);
}

TEST(NumberOrDefaultTest, ZeroIsUnset) {
  for (const Json& zero : {Json(0), Json(0.0), Json("0"), Json("0.0")}) {
    const Json object{{"sigma", zero}};
    JsonFields f(object, "p");
    auto value = f.NumberOrDefault({"sigma"});
    ASSERT_TRUE(value.ok()) << zero.dump();
    EXPECT_FALSE(value->has_value()) << zero.dump();
  }
  Json given{{"sigma", "0.25"}};
  JsonFields f(given, "p");
  EXPECT_DOUBLE_EQ(f.NumberOrDefault({"sigma"})->value(), 0.25);
  Json text{{"sigma", "wide"}};
  JsonFields g(text, "p");
  EXPECT_FALSE(g.NumberOrDefault({"sigma"}).ok());
}

TEST(FindListTest, AnEmptyListIsUnsetAndABareValueIsKept) {
  Json object{{"empty", Json::array()}, {"zero", 0}, {"list", Json::array({0})}};
  JsonFields f(object, "p");
  EXPECT_EQ(*f.FindList({"empty"}), nullptr);
  EXPECT_EQ(*f.FindList({"absent"}), nullptr);
  ASSERT_NE(*f.FindList({"zero"}), nullptr);  // one scalar baseline of 0, not an unset list
  ASSERT_NE(*f.FindList({"list"}), nullptr);
  EXPECT_TRUE(f.CheckNoUnknownFields().ok());
}

}  // namespace
}  // namespace xai
