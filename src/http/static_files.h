// The web page's static files (web/ in the source tree), embedded into the
// binary at build time: cmake/embed_files.cmake generates the table
// kEmbeddedWebFiles from web/, so a single xaiserve binary serves its page
// wherever it is installed. routes.cc serves them:
//
//   GET /             web/index.html
//   GET /static/REL   web/REL (e.g. /static/app.js), with its content type
//
// Lookup is by exact name in the table, so nothing outside web/ can be
// reached; paths with '.' or '..' segments, empty segments, backslashes or
// control characters are refused before the lookup all the same.
// Pure functions over constant data; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace xai {

struct EmbeddedFile {
  const char* path;  // relative to web/, '/'-separated; null ends the table
  const unsigned char* data;
  size_t size;
};
// Defined in the generated web_files.cc: kEmbeddedWebFileCount entries, then
// a terminating {nullptr, nullptr, 0}.
extern const EmbeddedFile kEmbeddedWebFiles[];
extern const size_t kEmbeddedWebFileCount;

inline constexpr char kStaticPrefix[] = "/static/";

struct StaticFile {
  std::string_view name;  // relative to web/
  std::string_view content;
  std::string content_type;
};

// "/" and every path under /static/ (whether or not such a file exists).
bool IsStaticPath(const std::string& request_path);

// The embedded file a request path names ("/" is index.html). NOT_FOUND for
// a path outside /static/, an unsafe one (see above) or a file not in web/,
// naming the path.
StatusOr<StaticFile> FindStaticFile(const std::string& request_path);

// The Content-Type for a file name, by its extension (html, js, css, json,
// svg, png, jpg/jpeg, ico, txt; application/octet-stream otherwise). Text
// types carry charset=utf-8.
std::string ContentTypeFor(std::string_view file_name);

}  // namespace xai
