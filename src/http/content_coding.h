// Content codings of requests and responses (RFC 9110 §8.4, §12.5.3), read
// the way RFC 9110 says before cpp-httplib sees them. cpp-httplib decodes a
// request body whose Content-Encoding is exactly "gzip", "deflate" or "br"
// and passes any other body on undecoded; it compresses a response when
// Accept-Encoding merely contains "gzip" or "br", even with q=0 ("not
// acceptable"). These pure functions rewrite the two headers so that it does
// what the RFC asks, and name a coding it cannot decode. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/error_mapping.h"

namespace xai {

// The codings a request body may come in, for Accept-Encoding on a 415.
inline constexpr char kRequestCodings[] = "gzip, deflate, br";

// A request's Content-Encoding as cpp-httplib reads it: coding names are
// case-insensitive and "x-gzip" is gzip (RFC 9110 §8.4.1.3); surrounding
// spaces go; "identity" (no coding) becomes "". Anything else is lowercased
// and left for UnsupportedContentCoding to refuse.
std::string NormalizedContentEncoding(std::string_view header);

// 415 Unsupported Media Type naming the coding and the ones accepted, for a
// normalized Content-Encoding cpp-httplib does not decode ("zstd", or a list
// of codings such as "gzip, br"); nullopt for "", "gzip", "deflate" and "br".
std::optional<HttpError> UnsupportedContentCoding(const std::string& normalized);

// The request body did not decode as its Content-Encoding says (400).
HttpError UndecodableBodyError(const std::string& normalized);

// Accept-Encoding with the codings the client refuses (q=0) left out, so
// that a search for "gzip" or "br" finds only acceptable ones. "gzip;q=0,
// identity" -> "identity"; "br;q=0.5, gzip" -> "br, gzip" (preference
// between acceptable codings is left to the server).
std::string AcceptableEncodings(std::string_view header);

}  // namespace xai
