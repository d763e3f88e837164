// Numbers in messages and text formats: the shortest decimal form that reads
// back as the same double ("0.005", "120", "1e+300"). Header-only pure
// function: thread-safe.
#pragma once

#include <charconv>
#include <cmath>
#include <string>

namespace xai {

inline std::string FormatNumber(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// "nan", "inf" or "-inf" for a non-finite value (std::to_string may print
// "-nan"; JSON has none of them).
inline const char* NonFiniteName(double value) {
  if (std::isnan(value)) return "nan";
  return value > 0 ? "inf" : "-inf";
}

}  // namespace xai
