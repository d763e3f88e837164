#include "cli/line_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/write_all.h"

namespace xai {
namespace {

// strerror, and what the error usually means for a command's output.
std::string WriteErrorReason(int error) {
  std::string reason = std::strerror(error);
  switch (error) {
    case ENOSPC: return reason + " (the disk is full)";
    case EDQUOT: return reason + " (over the disk quota)";
    case EFBIG: return reason + " (past the file size limit, ulimit -f, or the largest file the filesystem holds)";
    case EPIPE: return reason + " (its reader went away, as `head` does)";
    default: return reason;
  }
}

}  // namespace

LineOutput::LineOutput(int fd) : LineOutput(fd, /*owns_fd=*/false) {}

LineOutput::LineOutput(int fd, bool owns_fd) : fd_(fd), owns_fd_(owns_fd) {}

StatusOr<std::unique_ptr<LineOutput>> LineOutput::Create(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return InvalidArgument("cannot write '" + path + "': " + std::strerror(errno));
  return std::unique_ptr<LineOutput>(new LineOutput(fd, /*owns_fd=*/true));
}

LineOutput::~LineOutput() {
  if (owns_fd_) close(fd_);
}

void LineOutput::Add(std::string_view line) {
  buffer_.append(line);
  buffer_.push_back('\n');
  line_ends_.push_back(buffer_.size());
}

Status LineOutput::Write(size_t max_lines) {
  if (!failure_.ok()) return failure_;
  const size_t lines = std::min(line_ends_.size(), max_lines - std::min(max_lines, lines_written_));
  const size_t end = lines == 0 ? 0 : line_ends_[lines - 1];
  const auto [written, error] = WriteAll(fd_, std::string_view(buffer_.data(), end));
  // The whole lines among the bytes written.
  const size_t whole = static_cast<size_t>(std::upper_bound(line_ends_.begin(), line_ends_.begin() + lines, written) -
                                           line_ends_.begin());
  const size_t whole_end = whole == 0 ? 0 : line_ends_[whole - 1];
  lines_written_ += whole;
  if (error != 0) {
    if (written > whole_end) cut_off_line_left_ = !CutBack(written - whole_end);
    failure_ = FailedPrecondition(WriteErrorReason(error));
    return failure_;
  }
  buffer_.erase(0, end);
  line_ends_.erase(line_ends_.begin(), line_ends_.begin() + lines);
  for (size_t& line_end : line_ends_) line_end -= end;
  return OkStatus();
}

bool LineOutput::CutBack(size_t written) {
  struct stat info;
  if (fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode)) return false;
  const off_t at = lseek(fd_, 0, SEEK_CUR);
  const off_t whole_end = at - static_cast<off_t>(written);
  if (at < 0 || whole_end < 0 || ftruncate(fd_, whole_end) != 0) return false;
  lseek(fd_, whole_end, SEEK_SET);
  return true;
}

}  // namespace xai
