#include "http/content_coding.h"

#include <gtest/gtest.h>

namespace xai {
namespace {

TEST(ContentCodingTest, CodingNamesAreCaseInsensitiveAndXGzipIsGzip) {
  EXPECT_EQ(NormalizedContentEncoding("gzip"), "gzip");
  EXPECT_EQ(NormalizedContentEncoding(" GZip "), "gzip");
  EXPECT_EQ(NormalizedContentEncoding("x-gzip"), "gzip");
  EXPECT_EQ(NormalizedContentEncoding("BR"), "br");
  EXPECT_EQ(NormalizedContentEncoding("Identity"), "");
  EXPECT_EQ(NormalizedContentEncoding("ZSTD"), "zstd");
}

TEST(ContentCodingTest, CodingsTheServerCannotDecodeAre415NamingThemAndTheAcceptedOnes) {
  for (const char* decoded : {"", "gzip", "deflate", "br"}) {
    EXPECT_FALSE(UnsupportedContentCoding(decoded).has_value()) << decoded;
  }
  for (const char* refused : {"zstd", "compress", "gzip, br"}) {
    const std::optional<HttpError> error = UnsupportedContentCoding(refused);
    ASSERT_TRUE(error.has_value()) << refused;
    EXPECT_EQ(error->http_status, 415);
    EXPECT_NE(error->message.find(std::string("'") + refused + "'"), std::string::npos) << error->message;
    EXPECT_NE(error->message.find(kRequestCodings), std::string::npos) << error->message;
  }
}

TEST(ContentCodingTest, AnUndecodableBodyNamesItsCoding) {
  const HttpError error = UndecodableBodyError("gzip");
  EXPECT_EQ(error.http_status, 400);
  EXPECT_NE(error.message.find("not valid gzip data"), std::string::npos) << error.message;
}

TEST(ContentCodingTest, RefusedCodingsLeaveAcceptEncoding) {
  EXPECT_EQ(AcceptableEncodings("gzip;q=0, identity"), "identity");
  EXPECT_EQ(AcceptableEncodings("br;q=0, gzip;q=0, identity;q=1"), "identity");
  EXPECT_EQ(AcceptableEncodings("gzip; q=0.000"), "");
  EXPECT_EQ(AcceptableEncodings("GZIP;Q=0"), "");
  EXPECT_EQ(AcceptableEncodings("br;q=0.5, gzip"), "br, gzip");
  EXPECT_EQ(AcceptableEncodings("gzip, deflate, br"), "gzip, deflate, br");
  EXPECT_EQ(AcceptableEncodings("*;q=0, GZIP;level=1"), "gzip");
  EXPECT_EQ(AcceptableEncodings("gzip;q=x"), "");  // a weight that does not parse accepts nothing
  EXPECT_EQ(AcceptableEncodings(""), "");
  EXPECT_EQ(AcceptableEncodings(" , ,gzip"), "gzip");
}

}  // namespace
}  // namespace xai
