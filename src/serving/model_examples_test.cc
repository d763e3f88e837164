#include "serving/model_examples.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace xai {
namespace {

namespace fs = std::filesystem;

class ModelExamplesTest : public ::testing::Test {
 protected:
  ModelExamplesTest() {
    dir_ = fs::path(::testing::TempDir()) /
           ("model_examples_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "empty");
    fs::create_directories(dir_ / "model");
  }
  ~ModelExamplesTest() override { fs::remove_all(dir_); }

  void Write(const std::string& text) { std::ofstream(dir_ / "model" / kExamplesFileName) << text; }

  fs::path dir_;
};

TEST_F(ModelExamplesTest, FirstDirectoryWithTheFileWins) {
  Write("[1, 2]\n\n  \n\"a sentence\"\n{\"x\": 3}\n");
  const ModelExamples examples = ReadModelExamples({(dir_ / "empty").string(), (dir_ / "model").string()});
  ASSERT_EQ(examples.instances.size(), 3u);
  EXPECT_EQ(examples.instances[0], Json::parse("[1, 2]"));
  EXPECT_EQ(examples.instances[1], "a sentence");
  EXPECT_EQ(examples.instances[2], Json::parse(R"({"x": 3})"));
  EXPECT_EQ(examples.source, (dir_ / "model" / kExamplesFileName).string());
  EXPECT_TRUE(examples.skipped.empty());
  const Json body = ModelExamplesJson(examples);
  EXPECT_EQ(body["examples"].size(), 3u);
  EXPECT_FALSE(body.contains("skipped"));
}

TEST_F(ModelExamplesTest, AtMostTheLimitAndBadLinesAreNamed) {
  Write("[1]\n[2\n[3]\n[4]\n");
  const ModelExamples examples = ReadModelExamples({(dir_ / "model").string()}, 2);
  ASSERT_EQ(examples.instances.size(), 2u);
  EXPECT_EQ(examples.instances[1], Json::parse("[3]"));
  ASSERT_EQ(examples.skipped.size(), 1u);
  EXPECT_NE(examples.skipped[0].find("line 2"), std::string::npos) << examples.skipped[0];
  EXPECT_EQ(ModelExamplesJson(examples)["skipped"].size(), 1u);
}

TEST_F(ModelExamplesTest, NoFileMeansNoExamples) {
  const ModelExamples examples = ReadModelExamples({(dir_ / "empty").string(), "", "/nonexistent/xaiserve"});
  EXPECT_TRUE(examples.instances.empty());
  EXPECT_EQ(examples.source, "");
  EXPECT_EQ(ModelExamplesJson(examples), Json::parse(R"({"examples": [], "source": ""})"));
}

}  // namespace
}  // namespace xai
