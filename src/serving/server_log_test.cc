#include "serving/server_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace xai {
namespace {

using std::chrono::milliseconds;

// Long enough for any test here; a drain that does not end fails the test.
constexpr milliseconds kDrain{30000};

// This process's stderr (fd 2, which the log thread writes) replaced by the
// write end of a pipe for the test's duration. The pipe's capacity is 64 KiB.
class StderrPipe {
 public:
  explicit StderrPipe(bool non_blocking) : saved_stderr_(dup(STDERR_FILENO)) {
    int ends[2];
    EXPECT_EQ(pipe(ends), 0);
    read_end_ = ends[0];
    if (non_blocking) fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK);
    dup2(ends[1], STDERR_FILENO);
    close(ends[1]);  // fd 2 holds it alone: restoring stderr ends the pipe for its reader
    previous_sigpipe_ = std::signal(SIGPIPE, SIG_IGN);  // as serve: a closed pipe is an error, not the end
  }
  ~StderrPipe() {
    RestoreStderr();
    if (read_end_ >= 0) close(read_end_);
    std::signal(SIGPIPE, previous_sigpipe_);
  }

  void RestoreStderr() {
    if (saved_stderr_ < 0) return;
    dup2(saved_stderr_, STDERR_FILENO);
    close(saved_stderr_);
    saved_stderr_ = -1;
  }
  void CloseReadEnd() {
    close(read_end_);
    read_end_ = -1;
  }
  int read_end() const { return read_end_; }

  // Bytes in the pipe, not yet read.
  int Unread() const {
    int bytes = 0;
    ioctl(read_end_, FIONREAD, &bytes);
    return bytes;
  }

  // Everything until the pipe ends (RestoreStderr), `pause` after each read of 4 KiB.
  std::string ReadAll(milliseconds pause) const {
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = read(read_end_, buffer, sizeof buffer)) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      text.append(buffer, static_cast<size_t>(n));
      std::this_thread::sleep_for(pause);
    }
    return text;
  }

 private:
  int saved_stderr_;
  int read_end_ = -1;
  void (*previous_sigpipe_)(int) = SIG_DFL;
};

// "line 0000042 " and dots: 100 bytes with its newline.
std::string NumberedLine(int i) {
  char number[16];
  std::snprintf(number, sizeof number, "line %07d ", i);
  return number + std::string(99 - 13, '.');
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Node, and some CI runners, give a child a non-blocking stderr pipe: once
// it was full, write(2) said EAGAIN and the rest of the batch (up to 4 MiB)
// was thrown away, neither written nor counted as dropped, and the line
// being written was cut and glued to the next.
TEST(ServerLogTest, ANonBlockingStderrReadSlowlyGetsEveryLineWhole) {
  constexpr int kLines = 3000;  // 300 KB: the pipe fills again and again, the queue never does
  const int64_t dropped_before = ServerLogLinesDropped();
  StderrPipe stderr_pipe(/*non_blocking=*/true);
  std::string received;
  std::thread reader([&] { received = stderr_pipe.ReadAll(milliseconds(1)); });
  for (int i = 0; i < kLines; ++i) ServerLog(NumberedLine(i));
  EXPECT_TRUE(DrainServerLog(kDrain));
  stderr_pipe.RestoreStderr();
  reader.join();

  EXPECT_EQ(ServerLogLinesDropped(), dropped_before);
  int next = 0;
  for (const std::string& line : Lines(received)) {
    if (line.rfind("xaiserve: ", 0) == 0) continue;  // an earlier test's drop notice
    ASSERT_LT(next, kLines) << "an extra line: " << line;
    ASSERT_EQ(line, NumberedLine(next)) << "line " << next << " is cut, glued or missing";
    ++next;
  }
  EXPECT_EQ(next, kLines);
}

TEST(ServerLogTest, LinesThatStderrRefusesAreCountedAsDropped) {
  const int64_t dropped_before = ServerLogLinesDropped();
  StderrPipe stderr_pipe(/*non_blocking=*/false);
  stderr_pipe.CloseReadEnd();  // every write fails: EPIPE
  for (int i = 0; i < 10; ++i) ServerLog(NumberedLine(i));
  EXPECT_TRUE(DrainServerLog(kDrain));
  EXPECT_EQ(ServerLogLinesDropped() - dropped_before, 10);
}

// A pipe full in the middle of a line, whose reader then goes: the rest of
// that line is lost, and the next line to get out must not continue it.
TEST(ServerLogTest, TheLineAfterOneCutShortByAnErrorStartsALineOfItsOwn) {
  // An earlier test's drop notice goes out first, to the real stderr, so that
  // the pipe holds 100-byte lines only.
  ServerLog("server_log_test: a line cut short next");
  ASSERT_TRUE(DrainServerLog(kDrain));
  const int64_t dropped_before = ServerLogLinesDropped();
  int unread = 0;
  {
    StderrPipe stderr_pipe(/*non_blocking=*/true);
    const int capacity = fcntl(stderr_pipe.read_end(), F_GETPIPE_SZ);
    for (int i = 0; i < 1000; ++i) ServerLog(NumberedLine(i));  // 100 KB
    // The writer stops once the pipe cannot take its next write: at capacity
    // (65536: 655 lines and 36 bytes of the next), or short of it when the
    // room left in the pipe's last page is less than a write of at most
    // PIPE_BUF bytes, which a pipe takes whole or not at all. Where it stops
    // depends on how the writer's writes fell, so the test waits for the
    // pipe to stop filling (1 s without a byte more).
    pollfd full{stderr_pipe.read_end(), 0, 0};
    for (int still = 0, waited = 0; still < 100 && waited < 6000; ++waited) {
      poll(&full, 1, 10);
      const int now = stderr_pipe.Unread();
      still = now == unread ? still + 1 : 0;
      unread = now;
    }
    ASSERT_GT(unread, capacity - PIPE_BUF);
    stderr_pipe.CloseReadEnd();  // the lines in the pipe were written; the rest are refused
    EXPECT_TRUE(DrainServerLog(kDrain));
  }
  // A line cut short counts as dropped, as do the lines after it.
  EXPECT_EQ(ServerLogLinesDropped() - dropped_before, 1000 - unread / 100);
  const bool cut = unread % 100 != 0;

  StderrPipe next_stderr(/*non_blocking=*/false);
  ServerLog("after");
  EXPECT_TRUE(DrainServerLog(kDrain));
  next_stderr.RestoreStderr();
  const std::string text = next_stderr.ReadAll(milliseconds(0));
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.front() == '\n', cut) << text;  // ends a cut line first, and only then
  EXPECT_EQ(text.substr(text.size() - 6), "after\n") << text;
  EXPECT_NE(text.find("log lines were dropped"), std::string::npos) << text;
}

}  // namespace
}  // namespace xai
