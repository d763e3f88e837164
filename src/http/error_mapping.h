// The one place where errors become HTTP: the project's StatusCode -> HTTP
// status and the Google-API status name, and the JSON error body of SPEC §4:
//   {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "..."}}
//
//   INVALID_ARGUMENT, FAILED_PRECONDITION -> 400   NOT_FOUND      -> 404
//   RESOURCE_EXHAUSTED                    -> 413   UNIMPLEMENTED  -> 501
//   UNAVAILABLE                           -> 503   INTERNAL       -> 500
//
// RESOURCE_EXHAUSTED is 413 (Payload Too Large), not Google's usual 429: in
// xaiserve the code means "a size limit was exceeded" (core/status.h) and
// every producer is a limit on what one request holds (body bytes, instances
// per request, image size for XRAI). Retrying the same request never helps,
// which a 429 would suggest; xaiserve does no rate limiting. HTTP-level
// errors without a StatusCode (401, 405, a malformed HTTP request) are built
// here too, so every error body has one shape. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace xai {

struct HttpError {
  int http_status = 500;
  std::string status_name;  // Google-API name, e.g. "INVALID_ARGUMENT".
  std::string message;
};

// The HTTP status for a (non-OK) status code.
int HttpStatusFor(StatusCode code);

// A non-OK Status as an HTTP error.
HttpError ToHttpError(const Status& status);

// The request body is larger than --max-body-bytes (413).
HttpError BodyTooLargeError(size_t limit_bytes, const std::string& coding = "");  // coding: the body's, decoded
// No or a wrong bearer token (401, UNAUTHENTICATED).
HttpError UnauthenticatedError(bool token_given);
// The route exists but not for this HTTP method (405).
HttpError MethodNotAllowedError(const std::string& method, const std::string& path, const std::string& allowed);
// An HTTP method the server has no route for at all, e.g. TRACE (501).
HttpError MethodNotImplementedError(const std::string& method);
// Whether routes.h answers `method` (GET, HEAD, POST, PUT, PATCH, DELETE,
// OPTIONS: 404 or 405 where it does not apply) rather than 501.
bool IsServedMethod(const std::string& method);
// A client that did not send its whole request within the client timeout of
// its first byte, or paused longer than `pause_seconds` while sending it (408).
HttpError RequestTimeoutError(double client_timeout_seconds, double pause_seconds);
// Any other status that the HTTP library produced itself (e.g. 400 for a
// malformed request line), with a message for it.
HttpError HttpLevelError(int http_status);

// How a request gives its body's length (RFC 9112 §6.3): Transfer-Encoding
// chunked, a Content-Length, or neither (no body). A length above the
// server's limit is refused from the header (413), before any byte of the
// body is read; so are a Content-Length that is not a byte count and a
// Transfer-Encoding other than chunked (400), whose body's end cannot be found.
struct BodyFraming {
  enum Kind { kNone, kLength, kChunked, kRefused };
  Kind kind = kNone;
  HttpError error;      // for kRefused.
  uint64_t length = 0;  // for kLength: the Content-Length.
};
// The header values, or nullptr for a header the request lacks.
BodyFraming FramingOfBody(const std::string* content_length, const std::string* transfer_encoding,
                          size_t max_body_bytes);

// A request's header fields that RFC 9112 says must be refused with 400
// (§3.2: an HTTP/1.1 request without exactly one Host, or with a Host that is
// not host[:port]; §5.1: a field name that is not a token, such as
// "Content-Length " with a space before the colon, which another server
// would read differently and so take the body for a request of its own;
// RFC 9110 §5.5: a field value holding NUL, CR or LF). `version` is the
// request line's ("HTTP/1.1"). Nothing wrong: nullopt.
std::optional<HttpError> HeaderFault(const std::vector<std::pair<std::string, std::string>>& headers,
                                     const std::string& version);

// {"error": {"code": ..., "status": ..., "message": ...}} as JSON text, the
// message cut at kMaxErrorMessageBytes.
inline constexpr size_t kMaxErrorMessageBytes = 4096;
std::string ErrorBody(const HttpError& error);

}  // namespace xai
