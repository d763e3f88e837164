#include "http/error_mapping.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "core/number_format.h"
#include "core/tensor_json.h"
#include "core/text.h"

namespace xai {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kFailedPrecondition: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kResourceExhausted: return 413;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kCancelled: return 499;  // nginx's "client closed request": only the log sees it
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

HttpError ToHttpError(const Status& status) {
  if (status.ok()) return {500, "INTERNAL", "an error was expected here but the status is OK (a bug in xaiserve)"};
  return {HttpStatusFor(status.code()), StatusCodeName(status.code()), status.message()};
}

HttpError BodyTooLargeError(size_t limit_bytes, const std::string& coding) {
  // The limit is on the body as decoded: a small gzip body can pass it.
  const std::string body = coding.empty() ? "the request body" : "the request body, decoded from " + coding + ",";
  return {413, "RESOURCE_EXHAUSTED",
          body + " is larger than the server's limit of " + std::to_string(limit_bytes) +
              " bytes (--max-body-bytes); send fewer instances per request, or start the server with a larger "
              "--max-body-bytes"};
}

BodyFraming FramingOfBody(const std::string* content_length, const std::string* transfer_encoding,
                          size_t max_body_bytes) {
  BodyFraming framing;
  if (transfer_encoding != nullptr) {
    if (AsciiLowercase(*transfer_encoding) == "chunked") {
      framing.kind = BodyFraming::kChunked;
      return framing;
    }
    framing.kind = BodyFraming::kRefused;
    framing.error = {400, "INVALID_ARGUMENT",
                     "Transfer-Encoding '" + transfer_encoding->substr(0, 100) +
                         "' is not supported; send the body with a Content-Length or as 'Transfer-Encoding: chunked'"};
    return framing;
  }
  if (content_length == nullptr) return framing;
  const std::string& text = *content_length;
  const bool digits = !text.empty() && text.size() <= 19 && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) {
    framing.kind = BodyFraming::kRefused;
    framing.error = {400, "INVALID_ARGUMENT",
                     "Content-Length '" + text.substr(0, 100) + "' is not a number of bytes; send the body's length "
                     "in bytes (curl -d and HTTP libraries do)"};
    return framing;
  }
  const uint64_t length = std::stoull(text);
  if (length > max_body_bytes) {
    framing.kind = BodyFraming::kRefused;
    framing.error = BodyTooLargeError(max_body_bytes);
    return framing;
  }
  framing.kind = BodyFraming::kLength;
  framing.length = length;
  return framing;
}

namespace {

// `text` (at most 100 bytes of it) for a message: printable ASCII as it is, other bytes as \xNN.
std::string Shown(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 100)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
      continue;
    }
    char hex[5];
    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
    out += hex;
  }
  return out;
}

}  // namespace

std::optional<HttpError> HeaderFault(const std::vector<std::pair<std::string, std::string>>& headers,
                                     const std::string& version) {
  // RFC 9110 §5.6.2's tchar.
  auto is_token = [](const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    });
  };
  int hosts = 0;
  for (const auto& [name, value] : headers) {
    if (!is_token(name)) {
      return HttpError{400, "INVALID_ARGUMENT",
                       "header name '" + Shown(name) + "' is not a token (RFC 9112 "
                       "§5.1: no space before the colon, letters, digits and !#$%&'*+-.^_`|~ only); send it as "
                       "'Name: value'"};
    }
    if (value.find_first_of(std::string("\0\r\n", 3)) != std::string::npos) {
      return HttpError{400, "INVALID_ARGUMENT",
                       "header '" + name + "' holds a NUL, CR or LF in its value (RFC 9110 §5.5); remove it"};
    }
    if (strcasecmp(name.c_str(), "Host") != 0) continue;
    ++hosts;
    // host [":" port]: a name, an IPv4 address or a bracketed IPv6 one.
    const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._~!$&'()*+,;=:[]%", c) != nullptr;
    });
    if (!plain) {
      return HttpError{400, "INVALID_ARGUMENT",
                       "Host '" + Shown(value) + "' is not host[:port] (RFC 9112 §3.2); "
                       "send the server's name or address, e.g. 'Host: localhost:8080'"};
    }
  }
  if (hosts > 1) {
    return HttpError{400, "INVALID_ARGUMENT", "the request has " + std::to_string(hosts) +
                                                  " Host headers (RFC 9112 §3.2: one); send one"};
  }
  if (hosts == 0 && version == "HTTP/1.1") {
    return HttpError{400, "INVALID_ARGUMENT",
                     "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2); send 'Host: NAME[:PORT]' (HTTP "
                     "libraries and curl do)"};
  }
  return std::nullopt;
}

HttpError UnauthenticatedError(bool token_given) {
  return {401, "UNAUTHENTICATED",
          token_given ? "the bearer token is wrong (or the Authorization header is not 'Bearer TOKEN'); send the "
                        "token the server was started with (--auth-token or XAISERVE_AUTH_TOKEN) as 'Authorization: Bearer TOKEN'"
                      : "this server requires a bearer token; send 'Authorization: Bearer TOKEN' with the token the "
                        "server was started with (--auth-token or XAISERVE_AUTH_TOKEN)"};
}

HttpError MethodNotAllowedError(const std::string& method, const std::string& path, const std::string& allowed) {
  return {405, "METHOD_NOT_ALLOWED", method + " is not allowed on " + path + "; use " + allowed};
}

HttpError RequestTimeoutError(double client_timeout_seconds, double pause_seconds) {
  return {408, "DEADLINE_EXCEEDED",
          "the request did not arrive in time: a whole request (line, headers and body) must arrive within " +
              FormatNumber(client_timeout_seconds) + " s of its first byte, with no pause longer than " +
              FormatNumber(pause_seconds) + " s; send it at once (the server's --client-timeout sets the first limit)"};
}

HttpError MethodNotImplementedError(const std::string& method) {
  return {501, "UNIMPLEMENTED",
          "HTTP method " + method + " is not implemented here; the API takes GET and POST (see GET /v1/models)"};
}

bool IsServedMethod(const std::string& method) {
  for (const char* served : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == served) return true;
  }
  return false;
}

HttpError HttpLevelError(int http_status) {
  switch (http_status) {
    case 416:
      return {416, "INVALID_ARGUMENT",
              "the Range header is malformed, and this server sends whole responses only; send the request "
              "without a Range header"};
    case 400: return {400, "INVALID_ARGUMENT", "malformed HTTP request (request line, headers or body framing)"};
    case 404: return {404, "NOT_FOUND", "no such route; see GET /v1/models"};
    case 414: return {414, "INVALID_ARGUMENT", "the request URI is too long"};
    case 431: return {431, "INVALID_ARGUMENT", "the request line and headers are longer than 64 KiB"};
    case 413: return {413, "RESOURCE_EXHAUSTED", "the request is too large"};
    default:
      break;
  }
  if (http_status >= 500) return {http_status, "INTERNAL", "the server failed to handle the request"};
  return {http_status, "INVALID_ARGUMENT", "the request could not be handled (HTTP " + std::to_string(http_status) + ")"};
}

std::string ErrorBody(const HttpError& error) {
  // A message quotes what was wrong, which may be a client's megabyte-long
  // key: the answer stays short (and the log line with it).
  const std::string message = ShortenedForMessage(error.message, kMaxErrorMessageBytes);
  Json body = {{"error", {{"code", error.http_status}, {"status", error.status_name}, {"message", message}}}};
  // Messages may quote client bytes that are not valid UTF-8: DumpJson
  // replaces them rather than fail to encode the error.
  return DumpJson(body);
}

}  // namespace xai
