#include "http/content_coding.h"

#include <cstdlib>

#include "core/text.h"

namespace xai {

namespace {

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The q value of one Accept-Encoding element's parameters ("q=0.5"); 1 when
// none is given, 0 when it does not parse (a malformed weight accepts nothing).
double Weight(std::string_view parameters) {
  while (!parameters.empty()) {
    const size_t semicolon = parameters.find(';');
    const std::string parameter = AsciiLowercase(Trimmed(parameters.substr(0, semicolon)));
    parameters = semicolon == std::string_view::npos ? std::string_view() : parameters.substr(semicolon + 1);
    if (parameter.rfind("q=", 0) != 0) continue;
    const std::string value(Trimmed(std::string_view(parameter).substr(2)));
    char* end = nullptr;
    const double q = std::strtod(value.c_str(), &end);
    return end != value.c_str() && *end == '\0' ? q : 0;
  }
  return 1;
}

}  // namespace

std::string NormalizedContentEncoding(std::string_view header) {
  std::string coding = AsciiLowercase(Trimmed(header));
  if (coding == "x-gzip") return "gzip";
  if (coding == "identity") return "";
  return coding;
}

std::optional<HttpError> UnsupportedContentCoding(const std::string& normalized) {
  if (normalized.empty() || normalized == "gzip" || normalized == "deflate" || normalized == "br") return std::nullopt;
  return HttpError{415, "INVALID_ARGUMENT",
                   "request body in Content-Encoding '" + normalized + "', which this server does not decode; send "
                   "it uncompressed (no Content-Encoding) or in one of: " + kRequestCodings};
}

HttpError UndecodableBodyError(const std::string& normalized) {
  return {400, "INVALID_ARGUMENT",
          "the request body is not valid " + normalized + " data, as its Content-Encoding says it is; compress it "
          "with " + normalized + ", or send it uncompressed without a Content-Encoding header"};
}

std::string AcceptableEncodings(std::string_view header) {
  std::string out;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    const std::string_view element = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const size_t semicolon = element.find(';');
    const std::string_view coding = Trimmed(element.substr(0, semicolon));
    if (coding.empty()) continue;
    if (semicolon != std::string_view::npos && Weight(element.substr(semicolon + 1)) <= 0) continue;
    if (!out.empty()) out += ", ";
    out += AsciiLowercase(coding);
  }
  return out;
}

}  // namespace xai
