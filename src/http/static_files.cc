#include "http/static_files.h"

#include <algorithm>
#include <cstring>

namespace xai {
namespace {

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A relative file name the page may ask for: '/'-separated segments, none
// empty, "." or "..", and no backslash or control character.
bool IsSafeRelativeName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '\\') return false;
  }
  size_t start = 0;
  while (start <= name.size()) {
    const size_t end = std::min(name.find('/', start), name.size());
    const std::string_view segment = name.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

bool IsStaticPath(const std::string& request_path) {
  return request_path == "/" || request_path.compare(0, std::strlen(kStaticPrefix), kStaticPrefix) == 0;
}

StatusOr<StaticFile> FindStaticFile(const std::string& request_path) {
  std::string_view name;
  if (request_path == "/") {
    name = "index.html";
  } else if (IsStaticPath(request_path)) {
    name = std::string_view(request_path).substr(std::strlen(kStaticPrefix));
  } else {
    return NotFound("'" + request_path + "' is not a path of the web page (it is at / and under /static/)");
  }
  if (IsSafeRelativeName(name)) {
    for (size_t i = 0; i < kEmbeddedWebFileCount; ++i) {
      const EmbeddedFile& file = kEmbeddedWebFiles[i];
      if (name == file.path) {
        return StaticFile{file.path, std::string_view(reinterpret_cast<const char*>(file.data), file.size),
                          ContentTypeFor(file.path)};
      }
    }
  }
  return NotFound("no file '" + std::string(name) +
                  "' among the web page's files; the page is at / and its files under /static/");
}

std::string ContentTypeFor(std::string_view file_name) {
  struct Type {
    const char* extension;
    const char* content_type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const Type& type : kTypes) {
    if (EndsWith(file_name, type.extension)) return type.content_type;
  }
  return "application/octet-stream";
}

}  // namespace xai
