// What the fuzz targets share: turning a broken property (a round trip that
// does not come back, an output that cannot be serialized) into a crash that
// libFuzzer records, with a message saying which property broke.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace xai::fuzz {

[[noreturn]] inline void PropertyFailed(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz property broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace xai::fuzz

// Aborts (a libFuzzer crash) when `condition` is false; `detail` says why.
#define XAI_FUZZ_CHECK(condition, detail) \
  do {                                    \
    if (!(condition)) ::xai::fuzz::PropertyFailed(#condition, (detail)); \
  } while (0)
