// The instances of `xaiserve predict` and `explain`: JSON Lines read one line
// at a time from a file or standard input, so a file of any size, or a pipe
// still being written, is worked through as it is read, holding one instance
// (or one --batch-size batch) at a time. Blank lines are skipped; a line that
// is not JSON is an error naming the file and line. Not thread-safe.
//
// Reads with read(2) rather than an istream, which took every failing read
// as the end of the input: a non-blocking pipe from a parent that set
// O_NONBLOCK (EAGAIN whenever the writer was behind), a closed stdin (EBADF)
// or a directory (EISDIR) ended the run as if the input were done, with
// exit 0 and instances left unexplained.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "core/tensor_json.h"

namespace xai {

class InstanceLines {
 public:
  // `path`, or standard input for "-". NOT_FOUND or INVALID_ARGUMENT (a
  // directory, a closed stdin) when it cannot be read, with the reason.
  static StatusOr<std::unique_ptr<InstanceLines>> Open(const std::string& path);
  // Reads the file descriptor `fd`, named `name` in messages; `fd` is closed
  // with this only when `owns_fd`.
  InstanceLines(int fd, std::string name, bool owns_fd = false);
  ~InstanceLines();
  InstanceLines(const InstanceLines&) = delete;
  InstanceLines& operator=(const InstanceLines&) = delete;

  // Called when a signal interrupts a wait for input: true ends the wait, and
  // Next() returns CANCELLED. Otherwise (and by default) the wait goes on.
  void StopWaitingWhen(std::function<bool()> stop) { stop_waiting_ = std::move(stop); }

  // The next instance; nullopt at the end. INVALID_ARGUMENT for a line that
  // is not JSON ("FILE:LINE: ..."), for a read that failed (its reason), and
  // at the end of a source that held no instance at all.
  StatusOr<std::optional<Json>> Next();

  size_t count() const { return count_; }  // instances read so far
  size_t bytes() const { return bytes_; }  // text read so far
  // "FILE:LINE" of the instance last read, for messages.
  std::string where() const { return name_ + ":" + std::to_string(line_); }

 private:
  // The next line, without its '\n', into `line`; false at the end.
  StatusOr<bool> NextLine(std::string* line);
  // Appends what one read(2) gives to buffer_, waiting for a non-blocking
  // descriptor to have some; 0 at the end.
  StatusOr<size_t> ReadMore();

  int fd_;
  bool owns_fd_;
  std::string name_;
  std::function<bool()> stop_waiting_;
  std::string buffer_;      // read and not yet taken as lines, from buffer_start_
  size_t buffer_start_ = 0;
  bool at_end_ = false;
  size_t line_ = 0;
  size_t count_ = 0;
  size_t bytes_ = 0;
};

// The instances a regular file holds (its non-blank lines), counted in a
// quick pass so that progress can say "N/TOTAL"; nullopt for standard input,
// a pipe, or a file that cannot be read.
std::optional<size_t> CountInstanceLines(const std::string& path);

}  // namespace xai
