#include "cli/picture_file_names.h"

#include <cctype>
#include <cstdint>
#include <cstdio>

#include "core/text.h"

namespace xai {
namespace {

// 32-bit FNV-1a: short, and the same on every platform and run.
uint32_t Fnv1a(const std::string& text) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace

std::string PictureNamePart(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ? c : '_';
  if (out.empty()) return "_";
  if (out.size() <= kMaxPictureNamePartBytes) return out;
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", static_cast<unsigned>(Fnv1a(name)));
  return out.substr(0, kMaxPictureNamePartBytes - 1 - 8) + "-" + hash;
}

std::string PictureFileNames::Next(const std::string& prefix, const std::string& input, const std::string& extension) {
  const std::string stem = prefix + PictureNamePart(input);
  std::string name = stem + "." + extension;
  for (int n = 2; !used_.insert(AsciiLowercase(name)).second; ++n) name = stem + "-" + std::to_string(n) + "." + extension;
  return name;
}

}  // namespace xai
