#include "core/base64.h"

#include <array>

namespace xai {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::array<int, 256> DecodeTable() {
  std::array<int, 256> table;
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  return table;
}

}  // namespace

std::string Base64Encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (rest == 2) v |= uint8_t(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

StatusOr<std::string> Base64Decode(const std::string& text) {
  static const std::array<int, 256> table = DecodeTable();
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  if (text.rfind("data:", 0) == 0) {
    return InvalidArgument("invalid base64: it starts with a data: URL's header ('" + text.substr(0, text.find(',') + 1).substr(0, 40) +
                           "'); send only the base64 after the comma");
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = text[i];
    // Line breaks and spaces, as `base64` (76 columns) and MIME write them.
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') { ++padding; continue; }
    if (padding > 0 || table[c] < 0) {
      const std::string shown = c >= 0x21 && c < 0x7f ? "'" + std::string(1, static_cast<char>(c)) + "'"
                                                       : "byte " + std::to_string(c);
      return InvalidArgument("invalid base64: unexpected " + shown + " at offset " + std::to_string(i) +
                             "; encode binary values with standard base64 (A-Z a-z 0-9 + /" +
                             (c == '-' || c == '_' ? "; '-' and '_' are the URL-safe alphabet's" : "") + ")");
    }
    acc = (acc << 6) | table[c];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (padding > 2) {
    return InvalidArgument("invalid base64: " + std::to_string(padding) + " '=' at the end, where at most 2 pad a value");
  }
  if (padding > 0 && out.empty() && bits == 0) return InvalidArgument("invalid base64: padding ('=') without data");
  if (bits >= 6) {
    return InvalidArgument("invalid base64: truncated input (one character left over: a value has 2, 3 or 4 "
                           "characters in its last group)");
  }
  return out;
}

}  // namespace xai
