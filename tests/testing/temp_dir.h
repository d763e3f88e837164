// A fresh, empty directory under the system temp dir for one test, removed
// with everything in it when the TempDir is destroyed. Names are unique per
// process and object ("<prefix>_<pid>_<n>"), so tests may run in parallel
// processes. Header-only. Not thread-safe: one TempDir belongs to one test.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include <unistd.h>

#include <gtest/gtest.h>

namespace xai::testing {

class TempDir {
 public:
  // `prefix` names the test that owns the directory ("xai_model_dir_test").
  explicit TempDir(const std::string& prefix = "xai_test") {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // left over by an earlier process of this pid.
    EXPECT_TRUE(std::filesystem::create_directories(path_)) << path_;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `text` to `relative` (under the directory, whose missing parent
  // directories are made); returns the file's path.
  std::string Write(const std::string& relative, const std::string& text) const {
    const std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace xai::testing
