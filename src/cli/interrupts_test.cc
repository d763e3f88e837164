#include "cli/interrupts.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

namespace xai {
namespace {

// Runs `body` with this process's stderr (fd 2) the write end of a pipe;
// what was written to it.
template <typename Body>
std::string StderrOf(Body body) {
  int ends[2];
  EXPECT_EQ(pipe(ends), 0);
  const int saved = dup(STDERR_FILENO);
  dup2(ends[1], STDERR_FILENO);
  close(ends[1]);
  body();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string text;
  char buffer[1024];
  for (ssize_t n; (n = read(ends[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<size_t>(n));
  close(ends[0]);
  return text;
}

// The handler's write to stderr may fail; the code it interrupted, between a
// failed call and its look at errno, must still see its own errno.
TEST(StopRequestsTest, TheHandlerLeavesErrnoAsItFoundIt) {
  StopRequests stop_requests;
  const int saved = dup(STDERR_FILENO);
  close(STDERR_FILENO);  // the handler's write fails: EBADF
  errno = ENOTRECOVERABLE;
  std::raise(SIGTERM);  // handled before raise returns
  const int after = errno;
  dup2(saved, STDERR_FILENO);
  close(saved);
  EXPECT_EQ(after, ENOTRECOVERABLE);
  EXPECT_EQ(StopRequests::Requested(), SIGTERM);
}

TEST(StopRequestsTest, ASecondSignalAtOnceIsTheSameRequestSaidOnce) {
  StopRequests stop_requests;
  EXPECT_EQ(StopRequests::Requested(), 0);
  const std::string said = StderrOf([] {
    std::raise(SIGINT);
    std::raise(SIGTERM);  // within a second: not "asked again"
  });
  EXPECT_EQ(StopRequests::Requested(), SIGINT);
  EXPECT_EQ(said, "xaiserve: stopping after the current model run (the same signal again stops at once)\n");
}

}  // namespace
}  // namespace xai
