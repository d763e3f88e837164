#include "cli/instance_lines.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::Contains;

// The read end of a pipe that holds `text` and is closed for writing: a
// source that gives `text` and then its end.
class PipeOf {
 public:
  explicit PipeOf(const std::string& text) {
    EXPECT_EQ(pipe(fds_), 0);
    EXPECT_EQ(write(fds_[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fds_[1]);
  }
  ~PipeOf() { close(fds_[0]); }
  int fd() const { return fds_[0]; }

 private:
  int fds_[2];
};

TEST(InstanceLinesTest, ReadsOneInstancePerLineSkippingBlankOnes) {
  PipeOf in("[1, 2]\n\n  \t\r\n{\"x\": 3}\r\n7\n");
  InstanceLines lines(in.fd(), "in.jsonl");
  std::vector<Json> read;
  std::vector<std::string> where;
  while (true) {
    auto next = lines.Next();
    ASSERT_TRUE(next.ok()) << next.status().message();
    if (!*next) break;
    read.push_back(**next);
    where.push_back(lines.where());
  }
  EXPECT_EQ(read, (std::vector<Json>{Json::array({1, 2}), Json{{"x", 3}}, Json(7)}));
  EXPECT_EQ(where, (std::vector<std::string>{"in.jsonl:1", "in.jsonl:4", "in.jsonl:5"}));
  EXPECT_EQ(lines.count(), 3u);
  auto after_end = lines.Next();  // the end stays the end
  ASSERT_TRUE(after_end.ok());
  EXPECT_FALSE(*after_end);
}

TEST(InstanceLinesTest, ABadLineNamesTheFileAndLineAfterTheGoodOnes) {
  PipeOf in("[1]\n[2, \n[3]\n");
  InstanceLines lines(in.fd(), "in.jsonl");
  ASSERT_TRUE(lines.Next().ok());
  auto bad = lines.Next();
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "in.jsonl:2")) << bad.status().message();
  EXPECT_TRUE(Contains(bad.status().message(), "JSON Lines")) << bad.status().message();
}

TEST(InstanceLinesTest, ASourceWithoutInstancesIsAnError) {
  PipeOf in("\n \n");
  InstanceLines lines(in.fd(), "empty.jsonl");
  auto next = lines.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(Contains(next.status().message(), "empty.jsonl: no instances")) << next.status().message();
}

// A parent that set O_NONBLOCK on the pipe made read(2) answer EAGAIN
// whenever the writer was behind, which was taken as the end: 1 of 4 lines
// explained, exit 0.
TEST(InstanceLinesTest, ANonBlockingPipeIsWaitedForNotTakenAsEnded) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK), 0);
  InstanceLines lines(fds[0], "stdin");
  ASSERT_EQ(write(fds[1], "[1]\n", 4), 4);
  auto first = lines.Next();
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(*first);
  // The rest comes while (or before) the reader waits: either way it is read.
  std::thread writer([&] {
    EXPECT_EQ(write(fds[1], "[2]\n[3]", 7), 7);
    close(fds[1]);
  });
  std::vector<Json> rest;
  while (true) {
    auto next = lines.Next();
    ASSERT_TRUE(next.ok()) << next.status().message();
    if (!*next) break;
    rest.push_back(**next);
  }
  writer.join();
  close(fds[0]);
  EXPECT_EQ(rest, (std::vector<Json>{Json::array({2}), Json::array({3})}));
}

TEST(InstanceLinesTest, AFailingReadIsAnErrorNamingTheSourceAndTheReason) {
  // `--instances - < somedir`: read(2) fails with EISDIR.
  const int directory = open(std::filesystem::temp_directory_path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(directory, 0);
  InstanceLines lines(directory, "stdin", /*owns_fd=*/true);
  auto next = lines.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(Contains(next.status().message(), "reading stdin failed: Is a directory")) << next.status().message();
}

TEST(InstanceLinesTest, AClosedStdinIsRefusedAtOpen) {
  const int saved = dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  close(STDIN_FILENO);
  auto closed = InstanceLines::Open("-");
  ASSERT_EQ(dup2(saved, STDIN_FILENO), STDIN_FILENO);
  close(saved);
  ASSERT_FALSE(closed.ok());
  EXPECT_TRUE(Contains(closed.status().message(), "stdin: Bad file descriptor (standard input is closed"))
      << closed.status().message();
}

TEST(InstanceLinesTest, OpenSaysWhyAFileCannotBeRead) {
  auto missing = InstanceLines::Open("/nonexistent/xaiserve/instances.jsonl");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(missing.status().message(), "No such file")) << missing.status().message();
  auto directory = InstanceLines::Open(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(directory.ok());
  EXPECT_TRUE(Contains(directory.status().message(), "is a directory"));
}

TEST(InstanceLinesTest, CountsTheInstancesOfARegularFileOnly) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() / "xaiserve_instance_lines_test.jsonl";
  std::ofstream(path) << "[1]\n\n[2]\n  \n[3]";
  EXPECT_EQ(CountInstanceLines(path.string()), std::optional<size_t>(3));
  auto lines = InstanceLines::Open(path.string());
  ASSERT_TRUE(lines.ok());
  size_t read = 0;
  while (true) {
    auto next = (*lines)->Next();
    ASSERT_TRUE(next.ok());
    if (!*next) break;
    ++read;
  }
  EXPECT_EQ(read, 3u);
  std::filesystem::remove(path);
  EXPECT_EQ(CountInstanceLines("-"), std::nullopt);
  EXPECT_EQ(CountInstanceLines("/dev/null"), std::nullopt);  // not a regular file
}

}  // namespace
}  // namespace xai
