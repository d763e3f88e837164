// Where the tests find the SavedModels made by fixtures/generate_fixtures.py:
// the directory named by $XAI_FIXTURES (ctest sets it; run by hand with
// XAI_FIXTURES=build/fixtures). Tests that need a fixture skip when it is not
// there. Header-only; reads the environment only, so thread-safe.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/status.h"

namespace xai::testing {

// The directory of fixture `name` (one holding saved_model.pb), or NOT_FOUND
// saying why not, to skip with:
//   auto dir = FixtureDir("quadratic");
//   if (!dir.ok()) GTEST_SKIP() << dir.status().message();
inline StatusOr<std::string> FixtureDir(const std::string& name) {
  const char* root = std::getenv("XAI_FIXTURES");
  if (root == nullptr || *root == '\0') return NotFound("XAI_FIXTURES is not set");
  const std::string dir = (std::filesystem::path(root) / name).string();
  if (!std::filesystem::exists(std::filesystem::path(dir) / "saved_model.pb")) {
    return NotFound("fixture " + dir + " is missing; generate the fixtures first");
  }
  return dir;
}

}  // namespace xai::testing
