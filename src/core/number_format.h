// Numbers in messages and text formats: the shortest decimal form that reads
// back as the same double ("0.005", "120", "1e+300"). Header-only pure
// function: thread-safe.
#pragma once

#include <charconv>
#include <string>

namespace xai {

inline std::string FormatNumber(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

}  // namespace xai
