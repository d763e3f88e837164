// The instances of `xaiserve predict` and `explain`: JSON Lines read one line
// at a time from a file or standard input, so a file of any size, or a pipe
// still being written, is worked through as it is read, holding one instance
// (or one --batch-size batch) at a time. Blank lines are skipped; a line that
// is not JSON is an error naming the file and line. Not thread-safe.
#pragma once

#include <cstddef>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "core/tensor_json.h"

namespace xai {

class InstanceLines {
 public:
  // `path`, or standard input for "-". NOT_FOUND or INVALID_ARGUMENT (a
  // directory) when it cannot be read, with the reason.
  static StatusOr<std::unique_ptr<InstanceLines>> Open(const std::string& path);
  // Reads `in` (which must outlive this), named `name` in messages.
  InstanceLines(std::istream& in, std::string name);

  // The next instance; nullopt at the end. INVALID_ARGUMENT for a line that
  // is not JSON ("FILE:LINE: ..."), and at the end of a source that held no
  // instance at all.
  StatusOr<std::optional<Json>> Next();

  size_t count() const { return count_; }  // instances read so far
  size_t bytes() const { return bytes_; }  // text read so far
  // "FILE:LINE" of the instance last read, for messages.
  std::string where() const { return name_ + ":" + std::to_string(line_); }

 private:
  std::ifstream file_;
  std::istream* in_;
  std::string name_;
  size_t line_ = 0;
  size_t count_ = 0;
  size_t bytes_ = 0;
};

// The instances a regular file holds (its non-blank lines), counted in a
// quick pass so that progress can say "N/TOTAL"; nullopt for standard input,
// a pipe, or a file that cannot be read.
std::optional<size_t> CountInstanceLines(const std::string& path);

}  // namespace xai
