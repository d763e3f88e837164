// Assertions on error messages and Status values, shared by the C++ unit
// tests: Contains (a message holds a piece), FailsWith (a Status failed with a
// code and a message holding every piece) and ErrorMessage (the message of a
// call that must fail, for tests that check more of it). Each failure shows
// the whole message. Header-only; stateless, so thread-safe.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/status.h"

namespace xai::testing {

// Passes if `text` contains `piece`; otherwise shows both.
inline ::testing::AssertionResult Contains(const std::string& text, const std::string& piece) {
  if (text.find(piece) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << piece << "'";
}

// Passes if `status` failed with `code` and its message holds every piece.
inline ::testing::AssertionResult FailsWith(const Status& status, StatusCode code,
                                            const std::vector<std::string>& pieces = {}) {
  if (status.ok()) return ::testing::AssertionFailure() << "expected an error, got OK";
  if (status.code() != code) {
    return ::testing::AssertionFailure() << "expected code " << StatusCodeName(code) << ", got "
                                         << status.ToString();
  }
  for (const std::string& piece : pieces) {
    ::testing::AssertionResult contains = Contains(status.message(), piece);
    if (!contains) return contains;
  }
  return ::testing::AssertionSuccess();
}

// The message of `status`, which must have failed with `code` and hold every
// piece; otherwise a test failure naming `what` (the call, e.g. "parsing
// {...}") and an empty string if the call succeeded.
inline std::string ErrorMessage(const Status& status, StatusCode code,
                                const std::vector<std::string>& pieces, const std::string& what) {
  EXPECT_TRUE(FailsWith(status, code, pieces)) << what;
  return status.message();
}

}  // namespace xai::testing
