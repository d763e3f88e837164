#include "cli/line_output.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::Contains;

std::string ReadAll(int fd) {
  std::string text;
  char chunk[4096];
  for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;) text.append(chunk, static_cast<size_t>(n));
  return text;
}

TEST(LineOutputTest, WritesTheLinesKeptAndCountsThem) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    LineOutput out(fds[1]);
    out.Add("a");
    out.Add("{\"b\": 2}");
    EXPECT_EQ(out.buffered_bytes(), 11u);
    ASSERT_TRUE(out.Write().ok());
    EXPECT_EQ(out.lines_written(), 2u);
    EXPECT_EQ(out.buffered_bytes(), 0u);
    out.Add("c");
    out.Add("d");
    out.Add("e");
    // As many as make 4 in all: the rest wait for the next Write.
    ASSERT_TRUE(out.Write(4).ok());
    EXPECT_EQ(out.lines_written(), 4u);
    ASSERT_TRUE(out.Write().ok());
    EXPECT_EQ(out.lines_written(), 5u);
  }
  close(fds[1]);
  EXPECT_EQ(ReadAll(fds[0]), "a\n{\"b\": 2}\nc\nd\ne\n");
  close(fds[0]);
}

TEST(LineOutputTest, AFullDeviceIsAFailureWithItsReasonAndNoLineWritten) {
  const int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0) GTEST_SKIP() << "no /dev/full here";
  LineOutput out(full);
  out.Add("line");
  const Status written = out.Write();
  ASSERT_FALSE(written.ok());
  EXPECT_TRUE(Contains(written.message(), "No space left on device")) << written.message();
  EXPECT_EQ(out.lines_written(), 0u);
  out.Add("more");
  EXPECT_FALSE(out.Write().ok());  // nothing after a failure
  close(full);
}

// A file size limit (RLIMIT_FSIZE, `ulimit -f`) lets write(2) write up to
// it and then fail (EFBIG, with SIGXFSZ ignored): the part of a line written
// is cut away, so the file ends with a whole line. Run in a child, whose
// limit and signal disposition stay its own.
TEST(LineOutputTest, ALineCutOffInARegularFileIsCutAway) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("xaiserve_line_output_test_" + std::to_string(getpid()) + ".txt");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    const struct rlimit limit = {100, 100};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(10);
    auto out = LineOutput::Create(path.string());
    if (!out.ok()) _exit(11);
    for (int i = 0; i < 10; ++i) (*out)->Add(std::string(29, 'x'));  // 30 bytes each with its '\n'
    const Status written = (*out)->Write();
    if (written.ok()) _exit(12);
    if (written.message().find("File too large (past the file size limit, ulimit -f") == std::string::npos) _exit(13);
    if ((*out)->lines_written() != 3 || (*out)->cut_off_line_left()) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);  // see the _exit codes above
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  const std::string line = std::string(29, 'x') + "\n";
  EXPECT_EQ(text.str(), line + line + line);
  std::filesystem::remove(path);
}

// A parent that set O_NONBLOCK on the pipe made writes fail with EAGAIN
// whenever its reader was behind.
TEST(LineOutputTest, ANonBlockingPipeIsWaitedFor) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK), 0);
  std::string read;
  std::thread reader([&] { read = ReadAll(fds[0]); });
  {
    LineOutput out(fds[1]);
    const std::string line(999, 'y');
    for (int i = 0; i < 1000; ++i) out.Add(line);  // 1 MB, far more than a pipe holds
    const Status written = out.Write();
    EXPECT_TRUE(written.ok()) << written.message();
    EXPECT_EQ(out.lines_written(), 1000u);
  }
  close(fds[1]);
  reader.join();
  close(fds[0]);
  EXPECT_EQ(read.size(), 1000u * 1000u);
}

}  // namespace
}  // namespace xai
