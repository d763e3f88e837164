// Small text helpers for messages. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace xai {

// "a, b, c"; empty for no items.
inline std::string JoinWithCommas(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace xai
