// xaiserve's own version, from CMake's project() (XAISERVE_VERSION), for
// `xaiserve --version` and the server's banner. Header-only constant.
#pragma once

namespace xai {

inline constexpr char kXaiserveVersion[] = XAISERVE_VERSION;

}  // namespace xai
