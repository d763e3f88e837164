// Standard base64 (RFC 4648, with padding) for {"b64": ...} values. Pure.
#pragma once

#include <string>

#include "core/status.h"

namespace xai {

std::string Base64Encode(const std::string& bytes);
// Accepts padded or unpadded input; rejects characters outside the alphabet.
StatusOr<std::string> Base64Decode(const std::string& text);

}  // namespace xai
