// Small text helpers for messages. Pure; thread-safe.
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace xai {

// "a, b, c"; empty for no items.
inline std::string JoinWithCommas(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// `s` with A-Z as a-z (HTTP header names, codings); other bytes as they are.
inline std::string AsciiLowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace xai
