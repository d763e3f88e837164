#include "http/error_mapping.h"

#include <gtest/gtest.h>

#include "core/tensor_json.h"
#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::Contains;

TEST(ErrorMappingTest, EachStatusCodeHasOneHttpStatus) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kFailedPrecondition), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), 413);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnimplemented), 501);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kCancelled), 499);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), 500);
}

TEST(ErrorMappingTest, AStatusKeepsItsNameAndMessage) {
  const HttpError error = ToHttpError(FailedPrecondition("model 'x' cannot be explained"));
  EXPECT_EQ(error.http_status, 400);
  EXPECT_EQ(error.status_name, "FAILED_PRECONDITION");
  EXPECT_EQ(error.message, "model 'x' cannot be explained");
}

TEST(ErrorMappingTest, TheBodyHasTheGoogleApiShape) {
  const Json body = Json::parse(ErrorBody(ToHttpError(NotFound("no model 'y'"))));
  EXPECT_EQ(body, Json::parse(R"({"error": {"code": 404, "status": "NOT_FOUND", "message": "no model 'y'"}})"));
}

TEST(ErrorMappingTest, HttpLevelErrorsNameWhatToDo) {
  const HttpError too_large = BodyTooLargeError(1024);
  EXPECT_EQ(too_large.http_status, 413);
  EXPECT_EQ(too_large.status_name, "RESOURCE_EXHAUSTED");
  EXPECT_NE(too_large.message.find("1024 bytes"), std::string::npos);
  EXPECT_NE(too_large.message.find("--max-body-bytes"), std::string::npos);
  EXPECT_NE(BodyTooLargeError(1024, "gzip").message.find("the request body, decoded from gzip, is larger than"),
            std::string::npos);

  const HttpError missing_token = UnauthenticatedError(false);
  EXPECT_EQ(missing_token.http_status, 401);
  EXPECT_EQ(missing_token.status_name, "UNAUTHENTICATED");
  EXPECT_NE(missing_token.message.find("Authorization: Bearer"), std::string::npos);
  EXPECT_NE(UnauthenticatedError(true).message.find("wrong"), std::string::npos);

  const HttpError wrong_method = MethodNotAllowedError("GET", "/v1/models/m:explain", "POST");
  EXPECT_EQ(wrong_method.http_status, 405);
  EXPECT_NE(wrong_method.message.find("use POST"), std::string::npos);

  const HttpError too_slow = RequestTimeoutError(2.5, 5);
  EXPECT_EQ(too_slow.http_status, 408);
  EXPECT_EQ(too_slow.status_name, "DEADLINE_EXCEEDED");
  EXPECT_NE(too_slow.message.find("within 2.5 s of its first byte"), std::string::npos);
  EXPECT_NE(too_slow.message.find("no pause longer than 5 s"), std::string::npos);
  EXPECT_NE(too_slow.message.find("--client-timeout"), std::string::npos);

  EXPECT_EQ(HttpLevelError(400).http_status, 400);
  EXPECT_EQ(HttpLevelError(400).status_name, "INVALID_ARGUMENT");
  EXPECT_NE(HttpLevelError(416).message.find("without a Range header"), std::string::npos);

  const HttpError trace = MethodNotImplementedError("TRACE");
  EXPECT_EQ(trace.http_status, 501);
  EXPECT_EQ(trace.status_name, "UNIMPLEMENTED");
  EXPECT_NE(trace.message.find("TRACE is not implemented"), std::string::npos);
}

TEST(ErrorMappingTest, MethodsRoutesAnswerAreServedAndOthersAreNot) {
  for (const char* served : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    EXPECT_TRUE(IsServedMethod(served)) << served;
  }
  for (const char* other : {"TRACE", "CONNECT", "PROPFIND", "get", ""}) EXPECT_FALSE(IsServedMethod(other)) << other;
}

// FramingOfBody with header values given as text, or nullptr when absent.
BodyFraming Framing(const char* content_length, const char* transfer_encoding, size_t max = 1000) {
  const std::string length = content_length ? content_length : "", encoding = transfer_encoding ? transfer_encoding : "";
  return FramingOfBody(content_length ? &length : nullptr, transfer_encoding ? &encoding : nullptr, max);
}

TEST(BodyFramingTest, TheHeadersSayHowTheBodyEnds) {
  EXPECT_EQ(Framing(nullptr, nullptr).kind, BodyFraming::kNone);  // no body: curl -X POST without -d
  EXPECT_EQ(Framing("0", nullptr).kind, BodyFraming::kLength);
  EXPECT_EQ(Framing("1000", nullptr).kind, BodyFraming::kLength);
  EXPECT_EQ(Framing("1000", nullptr).length, 1000u);
  EXPECT_EQ(Framing("0", nullptr).length, 0u);
  EXPECT_EQ(Framing(nullptr, "chunked").kind, BodyFraming::kChunked);
  EXPECT_EQ(Framing(nullptr, "Chunked").kind, BodyFraming::kChunked);
  EXPECT_EQ(Framing("5", "chunked").kind, BodyFraming::kChunked);  // RFC 9112: Transfer-Encoding wins
}

TEST(BodyFramingTest, ALengthAboveTheLimitIs413FromTheHeaderAlone) {
  const BodyFraming framing = Framing("1001", nullptr);
  EXPECT_EQ(framing.kind, BodyFraming::kRefused);
  EXPECT_EQ(framing.error.http_status, 413);
  EXPECT_NE(framing.error.message.find("1000 bytes"), std::string::npos);
  EXPECT_EQ(Framing("9999999999999999999", nullptr).error.http_status, 413);
}

TEST(BodyFramingTest, ALengthThatIsNotAByteCountOrAnUnknownEncodingIs400) {
  for (const char* length : {"abc", "-1", "", "1 000", "+5", "12a", "99999999999999999999"}) {
    const BodyFraming framing = Framing(length, nullptr);
    EXPECT_EQ(framing.kind, BodyFraming::kRefused) << length;
    EXPECT_EQ(framing.error.http_status, 400) << length;
    EXPECT_NE(framing.error.message.find("Content-Length '" + std::string(length) + "'"), std::string::npos);
  }
  for (const char* encoding : {"gzip, chunked", "gzip", "identity"}) {
    const BodyFraming framing = Framing("10", encoding);
    EXPECT_EQ(framing.kind, BodyFraming::kRefused) << encoding;
    EXPECT_EQ(framing.error.http_status, 400) << encoding;
    EXPECT_NE(framing.error.message.find("chunked"), std::string::npos);
  }
}

TEST(HeaderFaultTest, RefusesWhatRfc9112Refuses) {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  auto fault = [](const Headers& headers, const std::string& version = "HTTP/1.1") {
    const std::optional<HttpError> error = HeaderFault(headers, version);
    EXPECT_TRUE(!error || error->http_status == 400);
    return error ? error->message : std::string();
  };
  EXPECT_EQ(fault({{"Host", "localhost:8080"}, {"Content-Length", "5"}, {"X-My_Header.v2", "a, b"}}), "");
  EXPECT_EQ(fault({{"host", "[::1]:8080"}}), "");
  EXPECT_EQ(fault({{"Host", ""}}), "");  // allowed: a target without an authority
  EXPECT_EQ(fault({}, "HTTP/1.0"), "");  // HTTP/1.0 needs no Host
  EXPECT_TRUE(Contains(fault({}), "needs a Host header"));
  EXPECT_TRUE(Contains(fault({{"Host", "a"}, {"HOST", "b"}}), "2 Host headers"));
  EXPECT_TRUE(Contains(fault({{"Host", "a b/c"}}), "'a b/c' is not host[:port]"));
  EXPECT_TRUE(Contains(fault({{"Host", "x"}, {"Content-Length ", "5"}}), "'Content-Length ' is not a token"));
  EXPECT_TRUE(Contains(fault({{"Host", "x"}, {"Bad\x01Name", "5"}}), "'Bad\\x01Name' is not a token"));
  EXPECT_TRUE(Contains(fault({{"Host", "x"}, {"X-A", std::string("a\0b", 3)}}), "NUL, CR or LF"));
  EXPECT_TRUE(Contains(fault({{"Host", "x"}, {"X-A", "a\rb"}}), "NUL, CR or LF"));
}

TEST(ErrorMappingTest, AHugeMessageIsCut) {
  const std::string key(5'000'000, 'k');
  const Json body = Json::parse(ErrorBody(ToHttpError(InvalidArgument("unknown input '" + key + "'"))));
  const std::string message = body["error"]["message"];
  EXPECT_LT(message.size(), kMaxErrorMessageBytes + 100);
  EXPECT_EQ(message.substr(0, 15), "unknown input '");
  EXPECT_NE(message.find("(5000016 bytes in all)"), std::string::npos);
  EXPECT_EQ(ToHttpError(InvalidArgument("short")).message, "short");
}

TEST(ErrorMappingTest, AMessageIsCutBetweenCharactersNotInsideOne) {
  // 3000 euro signs (3 bytes each): the cut fell inside one, which came out as U+FFFD.
  std::string key;
  for (int i = 0; i < 3000; ++i) key += "\xE2\x82\xAC";
  const Json body = Json::parse(ErrorBody(ToHttpError(InvalidArgument("unknown input '" + key + "'"))));
  const std::string message = body["error"]["message"];
  EXPECT_EQ(message.find("\xEF\xBF\xBD"), std::string::npos) << "a replaced character where the message was cut";
  EXPECT_NE(message.find("\xE2\x82\xAC... ("), std::string::npos);
}

TEST(ErrorMappingTest, MessagesWithInvalidUtf8StillEncode) {
  const std::string body = ErrorBody(ToHttpError(InvalidArgument("unknown input '\xff\xfe'")));
  EXPECT_NO_THROW(Json::parse(body));
}

}  // namespace
}  // namespace xai
