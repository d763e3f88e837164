#include "cli/instance_lines.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace xai {
namespace {

// Bytes asked of each read(2): a pipe gives what it holds, so a line piped in
// is answered without waiting for more.
constexpr size_t kReadBytes = size_t{64} << 10;

}  // namespace

StatusOr<std::unique_ptr<InstanceLines>> InstanceLines::Open(const std::string& path) {
  if (path == "-") {
    // A stdin closed when the process started (`<&-`) is, by the time this
    // runs, a descriptor the libraries opened for themselves (an eventfd,
    // which blocked the read for ever, or failed it with EAGAIN): neither
    // it nor a closed one holds instances. Such an anonymous inode has no
    // file type.
    struct stat info;
    const bool closed = fstat(STDIN_FILENO, &info) != 0;
    const int error = errno;
    if (closed || (info.st_mode & S_IFMT) == 0) {
      return InvalidArgument(std::string("cannot read instances from stdin: ") +
                             (closed ? std::strerror(error) : "not a file, pipe or terminal") +
                             " (standard input is closed; pipe the instances in, or give --instances FILE)");
    }
    if (S_ISDIR(info.st_mode)) {
      return InvalidArgument(std::string("cannot read instances from stdin: ") + std::strerror(EISDIR) +
                             " (standard input is a directory; give a JSON Lines file)");
    }
    return std::make_unique<InstanceLines>(STDIN_FILENO, "stdin");
  }
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return InvalidArgument("instances file '" + path + "' is a directory; give a JSON Lines file");
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot read instances file '" + path + "': " + std::strerror(errno));
  return std::make_unique<InstanceLines>(fd, path, /*owns_fd=*/true);
}

InstanceLines::InstanceLines(int fd, std::string name, bool owns_fd)
    : fd_(fd), owns_fd_(owns_fd), name_(std::move(name)) {}

InstanceLines::~InstanceLines() {
  if (owns_fd_) close(fd_);
}

StatusOr<size_t> InstanceLines::ReadMore() {
  const size_t old_size = buffer_.size();
  buffer_.resize(old_size + kReadBytes);
  while (true) {
    const ssize_t n = read(fd_, &buffer_[old_size], kReadBytes);
    if (n >= 0) {
      buffer_.resize(old_size + static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      // A non-blocking descriptor (its O_NONBLOCK set by the parent that
      // made the pipe) with nothing in it yet: the writer is behind, which is
      // not the end. Wait as a blocking read would.
      struct pollfd readable = {fd_, POLLIN, 0};
      if (poll(&readable, 1, -1) >= 0) continue;
      error = errno;
    }
    if (error == EINTR) {
      if (stop_waiting_ && stop_waiting_()) {
        buffer_.resize(old_size);
        return Cancelled("reading " + name_ + " was interrupted by a stop request");
      }
      continue;
    }
    buffer_.resize(old_size);
    return InvalidArgument("reading " + name_ + " failed" +
                           (line_ == 0 ? std::string() : " after line " + std::to_string(line_)) + ": " +
                           std::strerror(error));
  }
}

StatusOr<bool> InstanceLines::NextLine(std::string* line) {
  size_t searched = buffer_start_;  // no '\n' in buffer_ between buffer_start_ and this
  while (true) {
    const size_t newline = buffer_.find('\n', searched);
    if (newline != std::string::npos) {
      line->assign(buffer_, buffer_start_, newline - buffer_start_);
      buffer_start_ = newline + 1;
      return true;
    }
    if (at_end_) {
      if (buffer_start_ == buffer_.size()) return false;
      line->assign(buffer_, buffer_start_, std::string::npos);  // a last line without its '\n'
      buffer_start_ = buffer_.size();
      return true;
    }
    // The lines already taken go before reading on: the buffer holds the
    // line being read and what came with it, whatever the file's size.
    buffer_.erase(0, buffer_start_);
    buffer_start_ = 0;
    searched = buffer_.size();
    XAI_ASSIGN_OR_RETURN(const size_t read, ReadMore());
    at_end_ = read == 0;
  }
}

StatusOr<std::optional<Json>> InstanceLines::Next() {
  std::string line;
  while (true) {
    XAI_ASSIGN_OR_RETURN(const bool got_line, NextLine(&line));
    if (!got_line) break;
    ++line_;
    bytes_ += line.size() + 1;
    if (IsBlankJsonText(line)) continue;
    StatusOr<Json> value = ParseJson(line, where());
    if (!value.ok()) {
      return InvalidArgument(value.status().message() + " (write one JSON instance per line: JSON Lines)");
    }
    ++count_;
    return std::optional<Json>(std::move(value).value());
  }
  if (count_ == 0) return InvalidArgument(name_ + ": no instances (expected one JSON instance per line)");
  return std::optional<Json>();
}

std::optional<size_t> CountInstanceLines(const std::string& path) {
  std::error_code error;
  if (path == "-" || !std::filesystem::is_regular_file(path, error)) return std::nullopt;
  std::ifstream file(path);
  if (!file) return std::nullopt;
  size_t count = 0;
  std::string line;
  while (std::getline(file, line)) count += !IsBlankJsonText(line);
  return count;
}

}  // namespace xai
