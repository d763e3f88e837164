#include "cli/instance_lines.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::Contains;

TEST(InstanceLinesTest, ReadsOneInstancePerLineSkippingBlankOnes) {
  std::istringstream in("[1, 2]\n\n  \t\r\n{\"x\": 3}\r\n7\n");
  InstanceLines lines(in, "in.jsonl");
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
  std::istringstream in("[1]\n[2, \n[3]\n");
  InstanceLines lines(in, "in.jsonl");
  ASSERT_TRUE(lines.Next().ok());
  auto bad = lines.Next();
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "in.jsonl:2")) << bad.status().message();
  EXPECT_TRUE(Contains(bad.status().message(), "JSON Lines")) << bad.status().message();
}

TEST(InstanceLinesTest, ASourceWithoutInstancesIsAnError) {
  std::istringstream in("\n \n");
  InstanceLines lines(in, "empty.jsonl");
  auto next = lines.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(Contains(next.status().message(), "empty.jsonl: no instances")) << next.status().message();
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
