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

// `text` safe to print on a terminal or in a log line: each control
// character (C0, DEL, and C1 as UTF-8) written as \xNN (a newline as \n, a
// carriage return as \r), so that a name from a model or its metadata
// cannot recolour the terminal, move its cursor or start a line of its own.
// `keep_newlines`: newlines stay, for a report of several lines. Tabs and
// every other byte (UTF-8 text) as they are.
inline std::string ForTerminal(std::string_view text, bool keep_newlines = false) {
  auto is_control = [&](size_t i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\t' || (c == '\n' && keep_newlines)) return false;
    if (c < 0x20 || c == 0x7f) return true;
    // U+0080..U+009F: 0xC2 then 0x80..0x9F.
    return c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f &&
           static_cast<unsigned char>(text[i + 1]) >= 0x80;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (!is_control(i)) {
      out += text[i];
      continue;
    }
    const bool c1 = static_cast<unsigned char>(text[i]) == 0xc2;
    const unsigned char c = static_cast<unsigned char>(text[c1 ? ++i : i]);
    static constexpr char kHex[] = "0123456789abcdef";
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c1 ? "\\u00" : "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// `s` with A-Z as a-z (HTTP header names, codings); other bytes as they are.
inline std::string AsciiLowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `text` when it is at most `max_bytes` long; else its first `max_bytes` (back
// to the start of a UTF-8 character they would cut) and "... (N bytes in
// all)", so that a message quoting a megabyte-long value stays short.
inline std::string ShortenedForMessage(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "... (" + std::to_string(text.size()) + " bytes in all)";
}

}  // namespace xai
