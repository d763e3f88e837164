#include "core/base64.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using testing::Contains;
using testing::ErrorMessage;

// RFC 4648 section 10 test vectors.
const std::vector<std::pair<std::string, std::string>> kRfc4648Vectors = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

// `length` bytes that include NUL, high bytes and every bit pattern near the
// ends of the range.
std::string BinaryBytes(size_t length) {
  const unsigned char pattern[] = {0x00, 0xff, 0x80, 0x7f, 0x01, 0xfe, 0x3e, 0x3f, 0xc3, 0x28, 0xfb};
  std::string bytes;
  for (size_t i = 0; i < length; ++i) bytes.push_back(static_cast<char>(pattern[i % sizeof(pattern)]));
  return bytes;
}

std::string DecodeError(const std::string& text) {
  return ErrorMessage(Base64Decode(text).status(), StatusCode::kInvalidArgument, {"invalid base64"},
                      "decoding '" + text + "'");
}

TEST(Base64Test, EncodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) EXPECT_EQ(Base64Encode(plain), encoded) << plain;
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, plain) << encoded;
  }
}

TEST(Base64Test, DecodesUnpaddedInput) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    const std::string unpadded = encoded.substr(0, encoded.find('='));
    auto decoded = Base64Decode(unpadded);
    ASSERT_TRUE(decoded.ok()) << unpadded << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, plain) << unpadded;
  }
}

TEST(Base64Test, UsesTheStandardAlphabetIncludingPlusAndSlash) {
  EXPECT_EQ(Base64Encode(std::string("\xfb\xff\xbf", 3)), "+/+/");
  EXPECT_EQ(Base64Encode(std::string("\x00\x00\x00", 3)), "AAAA");
  EXPECT_EQ(Base64Encode(std::string("\xff\xff\xff", 3)), "////");
  auto decoded = Base64Decode("+/+/");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, std::string("\xfb\xff\xbf", 3));
}

TEST(Base64Test, BinaryRoundTripsForLengthsZeroToTen) {
  for (size_t length = 0; length <= 10; ++length) {
    const std::string bytes = BinaryBytes(length);
    const std::string encoded = Base64Encode(bytes);
    EXPECT_EQ(encoded.size(), (length + 2) / 3 * 4) << "length " << length;
    EXPECT_EQ(encoded.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
              std::string::npos)
        << encoded;
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << "length " << length << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, bytes) << "length " << length;
  }
}

TEST(Base64Test, EveryByteValueRoundTrips) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  auto decoded = Base64Decode(Base64Encode(all));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, all);
}

TEST(Base64Test, RejectsCharactersOutsideTheAlphabetNamingTheOffset) {
  const std::string bang = DecodeError("Zm9v!mFy");
  EXPECT_TRUE(Contains(bang, "offset 4"));
  EXPECT_TRUE(Contains(bang, "A-Z a-z 0-9 + /"));  // says what to send instead
  EXPECT_TRUE(Contains(bang, "unexpected '!'"));
  // The URL-safe alphabet is not standard base64, and is named.
  EXPECT_TRUE(Contains(DecodeError("-_-_"), "unexpected '-' at offset 0"));
  EXPECT_TRUE(Contains(DecodeError("-_-_"), "URL-safe"));
  EXPECT_TRUE(Contains(DecodeError(std::string("Zm\xc3\xa9", 4)), "unexpected byte 195 at offset 2"));
  EXPECT_TRUE(Contains(DecodeError("data:image/png;base64,iVBO"), "send only the base64 after the comma"));
}

TEST(Base64Test, SkipsLineBreaksAndSpaces) {
  // GNU base64 wraps its output at 76 columns; MIME with CRLF.
  for (const char* wrapped : {"Zm9v\nYmFy\n", "Zm9v\r\nYmFy", " Zm 9v\tYmFy "}) {
    auto decoded = Base64Decode(wrapped);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, "foobar");
  }
}

TEST(Base64Test, RejectsDataAfterPadding) {
  EXPECT_TRUE(Contains(DecodeError("Zg==Zg=="), "offset 4"));
  EXPECT_TRUE(Contains(DecodeError("Z=g="), "offset 2"));
}

TEST(Base64Test, RejectsTruncatedInput) {
  EXPECT_TRUE(Contains(DecodeError("Z"), "truncated"));
  EXPECT_TRUE(Contains(DecodeError("Zm9vY"), "truncated"));
  // Too much padding is named as such; it was "truncated input".
  EXPECT_TRUE(Contains(DecodeError("Zm9vY==="), "3 '=' at the end, where at most 2 pad a value"));
  EXPECT_TRUE(Contains(DecodeError("aGVsbG8==="), "3 '='"));
  EXPECT_TRUE(Contains(DecodeError("="), "padding ('=') without data"));
  EXPECT_TRUE(Contains(DecodeError("===="), "4 '='"));
}

}  // namespace
}  // namespace xai
