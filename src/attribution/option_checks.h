// The range checks of the attribution methods' integer options (steps,
// path_count, batch_size, ...), written once so that every method refuses an
// out-of-range option with the same message, naming the option, its value and
// the valid range. Header-only pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace xai {

// OK if min <= value <= max; otherwise INVALID_ARGUMENT
// "<what> <value> is out of range; expected an integer in [<min>, <max>]".
// `what` names the option with its method ("Integrated Gradients steps"); a
// C string, so that a check that passes (every explanation's) builds no text.
inline Status CheckIntegerOptionInRange(const char* what, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return OkStatus();
  return InvalidArgument(std::string(what) + " " + std::to_string(value) +
                         " is out of range; expected an integer in [" + std::to_string(min) +
                         ", " + std::to_string(max) + "]");
}

// OK if value >= min; otherwise INVALID_ARGUMENT
// "<what> <value> is out of range; expected an integer >= <min>".
inline Status CheckIntegerOptionAtLeast(const char* what, int64_t value, int64_t min) {
  if (value >= min) return OkStatus();
  return InvalidArgument(std::string(what) + " " + std::to_string(value) +
                         " is out of range; expected an integer >= " + std::to_string(min));
}

}  // namespace xai
