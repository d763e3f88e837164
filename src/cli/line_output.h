// Whole lines out of `xaiserve predict` and `explain` (stdout, --timings):
// lines are kept in a buffer of their own and written with write(2) when the
// command says, so that after a failed write (a full disk, a file size limit,
// a reader gone) the command knows how many whole lines reached the output,
// and a line cut off in a regular file is cut away again. std::cout wrote
// whatever its buffer held when it filled, and said only that it failed: the
// message counted the lines handed to it ("after 200 instances") where 12
// whole lines and part of a 13th had reached the file.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace xai {

class LineOutput {
 public:
  // Writes to `fd`, which stays open after this.
  explicit LineOutput(int fd);
  // Creates (or empties) the file at `path` to write to, closed with this.
  // INVALID_ARGUMENT with the reason when it cannot be.
  static StatusOr<std::unique_ptr<LineOutput>> Create(const std::string& path);
  ~LineOutput();
  LineOutput(const LineOutput&) = delete;
  LineOutput& operator=(const LineOutput&) = delete;

  // Keeps `line` (without its '\n') until the next Write.
  void Add(std::string_view line);
  size_t buffered_bytes() const { return buffer_.size(); }

  // Writes the lines kept, or only as many as make `max_lines` written in all
  // (the rest stay kept). A descriptor that is not ready (O_NONBLOCK) is
  // waited for, and an interrupted write goes on. A failed write's error is
  // its reason (strerror, with what it usually means); after it, the output
  // holds lines_written() whole lines and, where it is a regular file,
  // nothing more (the part of a line that was written is cut away). Nothing
  // is written after a failure.
  Status Write(size_t max_lines = std::numeric_limits<size_t>::max());
  size_t lines_written() const { return lines_written_; }
  // After a failed Write: part of a line stays in the output (a pipe, or a
  // file that could not be cut back).
  bool cut_off_line_left() const { return cut_off_line_left_; }

 private:
  LineOutput(int fd, bool owns_fd);
  // After a failed write that left `written` bytes of a line in a regular
  // file: cuts them away. False when it cannot.
  bool CutBack(size_t written);

  int fd_;
  bool owns_fd_;
  std::string buffer_;              // the lines kept, each ending in '\n'
  std::vector<size_t> line_ends_;   // the offset in buffer_ just past each line
  size_t lines_written_ = 0;
  Status failure_;
  bool cut_off_line_left_ = false;
};

}  // namespace xai
