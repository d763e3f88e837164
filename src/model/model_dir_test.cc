#include "model/model_dir.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace xai {
namespace {

namespace fs = std::filesystem;

using testing::Contains;
using testing::TempDir;

// Each test gets a fresh, empty directory (TempDir), removed afterwards. Only
// file names matter to model_dir, so a SavedModel is faked by an empty
// saved_model.pb.
class ModelDirTest : public ::testing::Test {
 protected:
  // Makes `relative` (under the root) a fake SavedModel; returns its path.
  // `file`: saved_model.pb, or the text form saved_model.pbtxt.
  std::string MakeSavedModel(const std::string& relative = "", const std::string& file = "saved_model.pb") {
    const fs::path dir = relative.empty() ? root_.path() : root_.path() / relative;
    fs::create_directories(dir / "variables");
    std::ofstream(dir / file);
    return dir.string();
  }

  std::string root() const { return root_.path().string(); }

  // The SavedModel versions under the root, as the registry finds them.
  std::vector<ModelVersion> Versions() const {
    auto directories = ListVersionDirectories(root());
    EXPECT_TRUE(directories.ok()) << directories.status().ToString();
    return directories.ok() ? SavedModelVersions(*directories) : std::vector<ModelVersion>{};
  }

  TempDir root_{"xai_model_dir_test"};
};

TEST_F(ModelDirTest, PlainSavedModelDirectoryIsVersionZero) {
  MakeSavedModel();
  auto resolved = ResolveModelDir(root());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->version, 0);
  EXPECT_EQ(resolved->path, root());
}

TEST_F(ModelDirTest, PlainSavedModelWinsOverVersionSubdirectories) {
  MakeSavedModel();
  MakeSavedModel("3");
  auto resolved = ResolveModelDir(root());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->version, 0);
  EXPECT_EQ(resolved->path, root());
}

TEST_F(ModelDirTest, HighestVersionIsNumericNotLexicographic) {
  const std::string v1 = MakeSavedModel("1");
  const std::string v2 = MakeSavedModel("2");
  const std::string v10 = MakeSavedModel("10");
  auto resolved = ResolveModelDir(root());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->version, 10);
  EXPECT_EQ(fs::path(resolved->path), fs::path(v10));

  const std::vector<ModelVersion> versions = Versions();
  ASSERT_EQ(versions.size(), 3u);
  EXPECT_EQ(versions[0].version, 1);
  EXPECT_EQ(versions[1].version, 2);
  EXPECT_EQ(versions[2].version, 10);
  EXPECT_EQ(fs::path(versions[0].path), fs::path(v1));
  EXPECT_EQ(fs::path(versions[1].path), fs::path(v2));
}

TEST_F(ModelDirTest, VersionsAreAnyInt64AsTfServingsAre) {
  // A 19-digit version (a nanosecond timestamp, INT64_MAX) used to be
  // skipped without a word: names were capped at 18 digits.
  MakeSavedModel("1");
  const std::string largest = MakeSavedModel("9223372036854775807");
  MakeSavedModel("9223372036854775808");  // beyond int64: not a version
  const std::vector<ModelVersion> versions = Versions();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[1].version, INT64_MAX);
  EXPECT_EQ(fs::path(versions[1].path), fs::path(largest));
  EXPECT_EQ(ParseVersionName("1700000000000000000"), 1700000000000000000);
  for (const char* name : {"", "-1", "+1", "1a", " 1", "18446744073709551616"}) {
    EXPECT_EQ(ParseVersionName(name), std::nullopt) << name;
  }
}

TEST_F(ModelDirTest, RequestedVersionIsServed) {
  MakeSavedModel("1");
  const std::string v2 = MakeSavedModel("2");
  MakeSavedModel("10");
  auto resolved = ResolveModelDir(root(), 2);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->version, 2);
  EXPECT_EQ(fs::path(resolved->path), fs::path(v2));
}

TEST_F(ModelDirTest, MissingVersionListsTheVersionsOnDisk) {
  MakeSavedModel("1");
  MakeSavedModel("2");
  MakeSavedModel("10");
  auto resolved = ResolveModelDir(root(), 7);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(resolved.status().message(), "version 7"));
  EXPECT_TRUE(Contains(resolved.status().message(), root()));
  EXPECT_TRUE(Contains(resolved.status().message(), "1, 2, 10"));
}

TEST_F(ModelDirTest, TwoDirectoriesOfOneVersionAreRefusedNamingBoth) {
  const std::string v1 = MakeSavedModel("1");
  const std::string v01 = MakeSavedModel("01");
  MakeSavedModel("2");
  for (std::optional<int64_t> version : {std::optional<int64_t>(), std::optional<int64_t>(1)}) {
    auto resolved = ResolveModelDir(root(), version);
    ASSERT_FALSE(resolved.ok());
    EXPECT_EQ(resolved.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(resolved.status().message(), "two directories for version 1"));
    EXPECT_TRUE(Contains(resolved.status().message(), v1));
    EXPECT_TRUE(Contains(resolved.status().message(), v01));
  }
  EXPECT_TRUE(CheckDistinctVersions(root(), {{1, v1}, {2, "x"}}).ok());
}

TEST_F(ModelDirTest, VersionOfAPlainSavedModelIsNotFound) {
  MakeSavedModel();
  auto resolved = ResolveModelDir(root(), 3);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(resolved.status().message(), "version 3"));
  EXPECT_TRUE(Contains(resolved.status().message(), "single SavedModel"));
}

TEST_F(ModelDirTest, NonNumericAndIncompleteSubdirectoriesAreIgnored) {
  MakeSavedModel("3");
  MakeSavedModel("latest");       // not a number
  MakeSavedModel("v12");          // not a number
  MakeSavedModel("12.5");         // not a number
  MakeSavedModel("-20");          // not a number
  fs::create_directories(root_.path() / "99" / "variables");  // no saved_model.pb
  std::ofstream(root_.path() / "50");                          // a file, not a directory
  auto resolved = ResolveModelDir(root());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->version, 3);
  const std::vector<ModelVersion> versions = Versions();
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].version, 3);

  auto missing = ResolveModelDir(root(), 99);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(missing.status().message(), "versions on disk: 3"));
}

TEST_F(ModelDirTest, DirectoryWithoutAModelSaysWhatWasExpected) {
  fs::create_directories(root_.path() / "variables");
  MakeSavedModel("not_a_version");
  auto resolved = ResolveModelDir(root());
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(resolved.status().message(), root()));
  EXPECT_TRUE(Contains(resolved.status().message(), "saved_model.pb"));
  EXPECT_TRUE(Contains(resolved.status().message(), "DIR/<version>/saved_model.pb"));
  EXPECT_TRUE(Versions().empty());
}

TEST_F(ModelDirTest, VersionDirectoriesWithoutASavedModelAreNamedWithTheLayoutExpected) {
  // A SavedModel one folder too deep (MODEL/1/my_model/saved_model.pb), or
  // still being copied in: "no numeric version subdirectories" was wrong.
  MakeSavedModel("1/my_model");
  fs::create_directories(root_.path() / "2" / "variables");
  auto resolved = ResolveModelDir(root());
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(resolved.status().message(), "has version directories (1, 2) but none holds saved_model.pb"));
  EXPECT_TRUE(Contains(resolved.status().message(), "DIR/<version>/saved_model.pb"));

  const auto directories = ListVersionDirectories(root());
  ASSERT_TRUE(directories.ok()) << directories.status().ToString();
  ASSERT_EQ(directories->size(), 2u);
  EXPECT_EQ((*directories)[0].version, 1);
  EXPECT_EQ((*directories)[1].version, 2);
  EXPECT_TRUE(Versions().empty());
}

TEST_F(ModelDirTest, ADirectoryThatCannotBeListedIsAFailedPrecondition) {
  const std::string loop = (root_.path() / "loop").string();
  fs::create_symlink(loop, loop);
  const auto directories = ListVersionDirectories(loop);
  ASSERT_FALSE(directories.ok());
  EXPECT_EQ(directories.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(directories.status().message(), "cannot read model directory '" + loop + "'"));
}

// TensorFlow's loader reads the text form when there is no saved_model.pb.
TEST_F(ModelDirTest, TextSavedModelIsASavedModelToo) {
  MakeSavedModel("", "saved_model.pbtxt");
  EXPECT_TRUE(IsSavedModelDir(root()));
  auto resolved = ResolveModelDir(root());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->version, 0);
  EXPECT_EQ(resolved->path, root());
}

TEST_F(ModelDirTest, TextSavedModelVersionsAreListed) {
  MakeSavedModel("1", "saved_model.pbtxt");
  const std::string two = MakeSavedModel("2", "saved_model.pbtxt");
  fs::create_directories(root_.path() / "3" / "variables");  // neither file: not a version
  auto resolved = ResolveModelDir(root());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->version, 2);
  EXPECT_EQ(resolved->path, two);
  EXPECT_EQ(Versions().size(), 2u);
}

TEST_F(ModelDirTest, NonexistentPathIsNotFound) {
  const std::string missing = (root_.path() / "does_not_exist").string();
  auto resolved = ResolveModelDir(missing);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(resolved.status().message(), missing));
  EXPECT_TRUE(Contains(resolved.status().message(), "does not exist"));
  EXPECT_FALSE(ListVersionDirectories(missing).ok());
}

TEST_F(ModelDirTest, AFileIsNotAModelDirectory) {
  const std::string file = (root_.path() / "saved_model.pb").string();
  std::ofstream(fs::path(file));
  auto resolved = ResolveModelDir(file);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(resolved.status().message(), "is the SavedModel's file; give the directory that holds it ('" +
                                                        root() + "')"));

  const std::string keras = (root_.path() / "model.keras").string(), other = (root_.path() / "notes.txt").string();
  std::ofstream(fs::path(keras));
  std::ofstream(fs::path(other));
  EXPECT_TRUE(Contains(ResolveModelDir(keras).status().message(), "is a Keras model file; xaiserve loads SavedModels: "
                                                                  "export one with keras.export.ExportArchive"));
  EXPECT_TRUE(Contains(ResolveModelDir(other).status().message(), "'" + other + "' is a file, not a model directory"));
}

}  // namespace
}  // namespace xai
