#include "serving/model_registry.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace xai {
namespace {

namespace fs = std::filesystem;

using ::xai::testing::Contains;

// A loader that loads nothing real: each "model" is a null ExplainableModel
// pointer sharing ownership with a token (the directory's path), so tests can
// see which directory a handed-out model came from and whether it is still
// alive. Directories whose path contains "broken" fail to load.
class FakeLoader {
 public:
  ModelLoader loader() {
    return [this](const std::string& dir) -> StatusOr<std::shared_ptr<ExplainableModel>> {
      ++loads_[dir];
      if (dir.find("broken") != std::string::npos || failing_.count(dir)) {
        return InvalidArgument("bad metadata in " + dir);
      }
      auto token = std::make_shared<std::string>(dir);
      tokens_[dir] = token;
      return std::shared_ptr<ExplainableModel>(token, nullptr);
    };
  }
  void Fail(const std::string& dir) { failing_.insert(dir); }
  int loads(const std::string& dir) { return loads_[dir]; }
  bool alive(const std::string& dir) { return !tokens_[dir].expired(); }

 private:
  std::set<std::string> failing_;
  std::map<std::string, int> loads_;
  std::map<std::string, std::weak_ptr<std::string>> tokens_;
};

class ModelRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    root_ = fs::temp_directory_path() /
            ("xai_model_registry_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(root_);
    ASSERT_TRUE(fs::create_directories(root_));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Makes `relative` a fake SavedModel (only file names matter to the registry).
  std::string SavedModel(const std::string& relative, const std::string& content = "") {
    const fs::path dir = root_ / relative;
    fs::create_directories(dir / "variables");
    std::ofstream(dir / "saved_model.pb") << content;
    return dir.string();
  }
  std::string Path(const std::string& relative) const { return (root_ / relative).string(); }

  fs::path root_;
  FakeLoader fake_;
};

TEST_F(ModelRegistryTest, ServesTheNewestVersionAndAnyLoadedOne) {
  SavedModel("m/1");
  const std::string v2 = SavedModel("m/2");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();

  auto newest = registry.Get("m");
  ASSERT_TRUE(newest.ok()) << newest.status().ToString();
  EXPECT_EQ(newest->version, 2);
  EXPECT_EQ(newest->path, v2);
  auto first = registry.Get("m", 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1, 2");
}

TEST_F(ModelRegistryTest, UnknownVersionIsNotFoundListingTheLoadedOnes) {
  SavedModel("m/1");
  SavedModel("m/3");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();

  auto missing = registry.Get("m", 2);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), "no loaded version 2"));
  EXPECT_TRUE(Contains(missing.status().message(), "1, 3"));
}

TEST_F(ModelRegistryTest, UnknownModelIsNotFoundListingTheServedOnes) {
  SavedModel("a");
  ModelRegistry registry({{"a", Path("a")}, {"b", Path("b")}}, fake_.loader());
  registry.LoadAll();

  auto missing = registry.Get("zebra");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), "'zebra'"));
  EXPECT_TRUE(Contains(missing.status().message(), "a, b"));
  EXPECT_EQ(registry.Snapshot("zebra"), nullptr);
}

TEST_F(ModelRegistryTest, APlainSavedModelIsVersionZero) {
  const std::string dir = SavedModel("plain");
  ModelRegistry registry({{"plain", dir}}, fake_.loader());
  registry.LoadAll();

  auto loaded = registry.Get("plain");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->version, 0);
  EXPECT_EQ(loaded->path, dir);
}

TEST_F(ModelRegistryTest, AFailedModelIsRecordedAndDoesNotStopTheOthers) {
  SavedModel("good");
  const std::string broken = SavedModel("broken");
  ModelRegistry registry({{"broken", broken}, {"good", Path("good")}}, fake_.loader());
  registry.LoadAll();

  EXPECT_TRUE(registry.Get("good").ok());
  auto failed = registry.Get("broken");
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(failed.status().message(), "bad metadata"));
  auto snapshot = registry.Snapshot("broken");
  ASSERT_EQ(snapshot->failures.size(), 1u);
  EXPECT_EQ(snapshot->failures[0].path, broken);
  EXPECT_EQ(snapshot->failures[0].error.code(), StatusCode::kInvalidArgument);
}

TEST_F(ModelRegistryTest, AFailedVersionLeavesTheOtherVersionsServing) {
  SavedModel("m/1");
  fake_.Fail(SavedModel("m/2"));
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();

  EXPECT_EQ(registry.Get("m")->version, 1);
  auto failed = registry.Get("m", 2);
  EXPECT_EQ(failed.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(failed.status().message(), "failed to load: bad metadata"));
  EXPECT_TRUE(Contains(failed.status().message(), "loaded versions: 1"));
}

TEST_F(ModelRegistryTest, AMissingBaseDirectoryIsReportedAndUnavailable) {
  ModelRegistry registry({{"ghost", Path("nowhere")}}, fake_.loader());
  registry.LoadAll();

  auto snapshot = registry.Snapshot("ghost");
  EXPECT_EQ(snapshot->error.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(snapshot->error.message(), "nowhere"));
  auto get = registry.Get("ghost");
  EXPECT_EQ(get.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(get.status().message(), "nowhere"));
}

TEST_F(ModelRegistryTest, PollLoadsANewVersionOnceItsFilesHaveSettled) {
  SavedModel("m/1");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();
  const std::string v2 = SavedModel("m/2");

  registry.Poll();  // seen for the first time: may still be being copied
  EXPECT_EQ(registry.Get("m")->version, 1);
  EXPECT_EQ(fake_.loads(v2), 0);
  registry.Poll();  // unchanged since: load and swap in
  EXPECT_EQ(registry.Get("m")->version, 2);
  EXPECT_EQ(fake_.loads(v2), 1);
  registry.Poll();
  EXPECT_EQ(fake_.loads(v2), 1);  // loaded once
}

TEST_F(ModelRegistryTest, PollWaitsWhileANewVersionIsStillChanging) {
  SavedModel("m/1");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();
  const std::string v2 = SavedModel("m/2", "x");
  registry.Poll();
  std::ofstream(fs::path(v2) / "variables" / "variables.index") << "still copying";
  registry.Poll();  // changed since the last poll: not yet
  EXPECT_EQ(fake_.loads(v2), 0);
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 2);
}

TEST_F(ModelRegistryTest, ARequestKeepsItsModelAcrossASwapAndAnUnload) {
  const std::string v1 = SavedModel("m/1");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();
  LoadedVersion in_flight = *registry.Get("m");  // a request holds version 1

  fs::remove_all(v1);
  SavedModel("m/2");
  registry.Poll();
  registry.Poll();

  EXPECT_EQ(registry.Get("m")->version, 2);
  EXPECT_EQ(registry.Get("m", 1).status().code(), StatusCode::kNotFound);  // unloaded
  EXPECT_TRUE(fake_.alive(v1));  // but alive while the request holds it
  in_flight = LoadedVersion{};
  EXPECT_FALSE(fake_.alive(v1));
}

TEST_F(ModelRegistryTest, AFailedVersionIsRetriedOnlyWhenItsFilesChange) {
  const std::string broken = SavedModel("broken/1");
  ModelRegistry registry({{"m", Path("broken")}}, fake_.loader());
  registry.LoadAll();
  EXPECT_EQ(fake_.loads(broken), 1);
  registry.Poll();
  registry.Poll();
  EXPECT_EQ(fake_.loads(broken), 1);  // same files: not tried again
  ASSERT_EQ(registry.Snapshot("m")->failures.size(), 1u);  // and still reported

  std::ofstream(fs::path(broken) / "explanation_metadata.json") << "{}";
  registry.Poll();  // changed: wait for it to settle
  registry.Poll();
  EXPECT_EQ(fake_.loads(broken), 2);
}

TEST_F(ModelRegistryTest, AFailedVersionIsRetriedWhenItsFilesBecomeReadable) {
  // A file the server could not read (chmod 000) and then could: the fix
  // changes neither size nor mtime, and the version stayed failed for good.
  const std::string broken = SavedModel("broken_unreadable/1");
  const fs::path pb = fs::path(broken) / "saved_model.pb";
  fs::permissions(pb, fs::perms::none);
  ModelRegistry registry({{"m", Path("broken_unreadable")}}, fake_.loader());
  registry.LoadAll();
  registry.Poll();
  EXPECT_EQ(fake_.loads(broken), 1);

  fs::permissions(pb, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  registry.Poll();  // changed: wait for it to settle
  registry.Poll();
  EXPECT_EQ(fake_.loads(broken), 2);
}

TEST_F(ModelRegistryTest, ThePollerPicksUpANewVersionInTheBackground) {
  SavedModel("m/1");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();
  registry.StartPolling(std::chrono::milliseconds(1));
  SavedModel("m/2");
  for (int i = 0; i < 10000 && registry.Get("m")->version != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  registry.StopPolling();
  EXPECT_EQ(registry.Get("m")->version, 2);
}

ModelSource Source(const std::string& name, const std::string& base, VersionPolicy policy) {
  ModelSource source{name, base};
  source.version_policy = std::move(policy);
  return source;
}

VersionPolicy Latest(int64_t n) {
  VersionPolicy policy;
  policy.kind = VersionPolicy::Kind::kLatest;
  policy.latest = n;
  return policy;
}

VersionPolicy Specific(std::vector<int64_t> versions) {
  VersionPolicy policy;
  policy.kind = VersionPolicy::Kind::kSpecific;
  policy.versions = std::move(versions);
  return policy;
}

TEST(VersionPolicyTest, WantsTheHighestTheListedOrEvery) {
  const std::vector<int64_t> on_disk = {1, 5, 20, 300};
  EXPECT_EQ(WantedVersions(VersionPolicy{}, on_disk), on_disk);
  EXPECT_EQ(WantedVersions(Latest(1), on_disk), (std::vector<int64_t>{300}));
  EXPECT_EQ(WantedVersions(Latest(2), on_disk), (std::vector<int64_t>{20, 300}));  // by number, not by name
  EXPECT_EQ(WantedVersions(Latest(9), on_disk), on_disk);
  EXPECT_EQ(WantedVersions(Specific({5, 7, 1}), on_disk), (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(Latest(2).Describe(), "latest 2");
  EXPECT_EQ(Specific({5, 7}).Describe(), "specific 5, 7");
  EXPECT_EQ(VersionPolicy{}.Describe(), "all");
}

TEST_F(ModelRegistryTest, LatestPolicyLoadsOnlyTheNewestVersions) {
  const std::string v1 = SavedModel("m/1");
  SavedModel("m/2");
  SavedModel("m/3");
  ModelRegistry registry({Source("m", Path("m"), Latest(2))}, fake_.loader());
  registry.LoadAll();

  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "2, 3");
  EXPECT_EQ(fake_.loads(v1), 0);  // never loaded, so it takes no memory
  EXPECT_EQ(registry.Get("m", 1).status().code(), StatusCode::kNotFound);
}

TEST_F(ModelRegistryTest, LatestPolicyUnloadsTheOldVersionOnlyOnceTheNewOneServes) {
  const std::string v1 = SavedModel("m/1");
  ModelRegistry registry({Source("m", Path("m"), Latest(1))}, fake_.loader());
  registry.LoadAll();
  LoadedVersion in_flight = *registry.Get("m");
  in_flight = LoadedVersion{};
  const std::string v2 = SavedModel("m/2");

  registry.Poll();  // version 2 seen once, not loaded yet: version 1 serves on
  EXPECT_EQ(registry.Get("m")->version, 1);
  EXPECT_TRUE(fake_.alive(v1));
  registry.Poll();  // version 2 loads and replaces it
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "2");
  EXPECT_FALSE(fake_.alive(v1));  // its memory is given back
  EXPECT_EQ(registry.Get("m")->path, v2);
}

TEST_F(ModelRegistryTest, ANewVersionThatFailsDoesNotTakeTheModelDown) {
  SavedModel("m/1");
  ModelRegistry registry({Source("m", Path("m"), Latest(1))}, fake_.loader());
  registry.LoadAll();
  fake_.Fail(SavedModel("m/2"));
  registry.Poll();
  registry.Poll();

  auto snapshot = registry.Snapshot("m");
  EXPECT_EQ(snapshot->VersionList(), "1");  // kept until a version it wants loads
  ASSERT_EQ(snapshot->failures.size(), 1u);
  EXPECT_EQ(snapshot->failures[0].version, 2);
  EXPECT_EQ(registry.Get("m")->version, 1);
}

TEST_F(ModelRegistryTest, SpecificPolicyServesTheListedVersionsAndSaysWhenNoneIsOnDisk) {
  SavedModel("m/1");
  SavedModel("m/2");
  SavedModel("m/3");
  ModelRegistry registry({Source("m", Path("m"), Specific({1, 3})), Source("n", Path("m"), Specific({7}))},
                         fake_.loader());
  registry.LoadAll();

  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1, 3");
  auto none = registry.Get("n");
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(none.status().message(), "holds versions 1, 2, 3, none of which its version policy "
                                                "(specific 7) wants"));
}

TEST_F(ModelRegistryTest, AVersionRenamedServesOnUntilItsNewNumberHasLoaded) {
  // `mv m/2 m/3` (or copying in 3 and deleting 2) left the model without a
  // version for a poll: 503s until 3's files had settled and it loaded.
  SavedModel("m/2");
  ModelRegistry registry({Source("m", Path("m"), Latest(1))}, fake_.loader());
  registry.LoadAll();
  fs::rename(Path("m/2"), Path("m/3"));

  registry.Poll();  // 3 seen once: 2, gone from disk, still serves from memory
  EXPECT_EQ(registry.Get("m")->version, 2);
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 3);
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "3");

  fs::remove_all(Path("m/3"));  // nothing left on disk, nothing coming: unloaded
  registry.Poll();
  EXPECT_EQ(registry.Get("m").status().code(), StatusCode::kUnavailable);
}

TEST_F(ModelRegistryTest, TheNewestVersionRenamedServesOnBesideTheOlderOnesUntilItsNewNumberHasLoaded) {
  // Serving every version (or latest 2), `mv m/2 m/3` handed requests that
  // name no version to version 1 until 3 had loaded.
  SavedModel("m/1");
  SavedModel("m/2");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();
  fs::rename(Path("m/2"), Path("m/3"));

  registry.Poll();  // 3 seen once, not settled: 2 serves on from memory
  EXPECT_EQ(registry.Get("m")->version, 2);
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1, 2");
  EXPECT_TRUE(Contains(registry.Snapshot("m")->error.message(), "version 2 is gone from disk and serves on from memory"));
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 3);
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1, 3");
  EXPECT_TRUE(registry.Snapshot("m")->error.ok()) << registry.Snapshot("m")->error.message();
}

TEST_F(ModelRegistryTest, TheNewestVersionReplacedByOneStillBeingCopiedServesOnBesideTheOlderOnes) {
  SavedModel("m/1");
  SavedModel("m/2");
  ModelRegistry registry({Source("m", Path("m"), Latest(2))}, fake_.loader());
  registry.LoadAll();
  fs::create_directories(Path("m/3/variables"));  // saved_model.pb not written yet
  fs::remove_all(Path("m/2"));

  registry.Poll();
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 2);
  SavedModel("m/3");
  registry.Poll();
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 3);
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1, 3");
}

TEST_F(ModelRegistryTest, TheNewestVersionDeletedWithNothingNewerComingIsARollback) {
  // Even beside an older version that fails to load as it is: only a newer
  // version on its way keeps a deleted one serving.
  SavedModel("m/1");
  SavedModel("m/2");
  SavedModel("m/3");
  fake_.Fail(Path("m/1"));
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();
  ASSERT_EQ(registry.Snapshot("m")->VersionList(), "2, 3");
  fs::remove_all(Path("m/3"));

  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 2);
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "2");
}

TEST_F(ModelRegistryTest, TheOldVersionDeletedWhileTheNewOneIsStillBeingCopiedServesOn) {
  // cp -r writes variables/ before saved_model.pb: with 2 not yet a
  // SavedModel, deleting 1 left nothing serving (503s) until 2 loaded.
  SavedModel("m/1");
  ModelRegistry registry({Source("m", Path("m"), Latest(1))}, fake_.loader());
  registry.LoadAll();
  fs::create_directories(Path("m/2/variables"));
  fs::remove_all(Path("m/1"));

  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 1);  // from memory
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 1);
  EXPECT_TRUE(Contains(registry.Snapshot("m")->error.message(), "version 1 is gone from disk and serves on from memory"));

  SavedModel("m/2");  // the copy completes
  registry.Poll();
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 2);
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "2");
  EXPECT_TRUE(registry.Snapshot("m")->error.ok()) << registry.Snapshot("m")->error.message();
}

TEST_F(ModelRegistryTest, ALoadedVersionWhoseDirectoryNoLongerHoldsAReadableSavedModelServesOn) {
  // As when its files are made unreadable (chmod, or an I/O error), which
  // used to unload it as "gone"; here saved_model.pb is removed, as root
  // reads every file. Once the directory itself is gone, so is the version.
  SavedModel("m/1");
  SavedModel("m/2");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();
  fs::remove(Path("m/2/saved_model.pb"));
  registry.Poll();
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1, 2");
  EXPECT_EQ(registry.Get("m")->version, 2);

  fs::remove_all(Path("m/2"));
  registry.Poll();
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1");
}

TEST_F(ModelRegistryTest, ABaseDirectoryThatCannotBeReadKeepsItsVersionsServing) {
  // A base that exists but cannot be listed (here a symlink loop; in life,
  // permissions or network storage) used to unload every version as gone.
  SavedModel("real/1");
  fs::create_directory_symlink(Path("real"), Path("m"));
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();
  fs::remove(Path("m"));
  fs::create_symlink(Path("m"), Path("m"));  // m -> m: ELOOP

  registry.Poll();
  const auto snapshot = registry.Snapshot("m");
  EXPECT_EQ(snapshot->VersionList(), "1");
  EXPECT_EQ(registry.Get("m")->version, 1);
  EXPECT_TRUE(Contains(snapshot->error.message(), "cannot read model directory"));
  EXPECT_TRUE(Contains(snapshot->error.message(), "go on serving until it can be read again"));

  fs::remove(Path("m"));  // gone for good: so are its versions
  registry.Poll();
  EXPECT_EQ(registry.Get("m").status().code(), StatusCode::kUnavailable);
}

TEST_F(ModelRegistryTest, AVersionRenamedWhileItLoadsIsNotServedFromWhatLoaded) {
  // `mv m/2 m/3` while 2 loaded: the load read a directory that went away
  // midway (explanation_metadata.json no longer there, so its metadata was
  // inferred) and served it as version 2 with a 200, until 3 had loaded.
  SavedModel("m/1");
  ModelLoader base = fake_.loader();
  bool rename_while_loading = false;
  ModelRegistry registry({{"m", Path("m")}}, [&](const std::string& dir) {
    auto loaded = base(dir);
    if (rename_while_loading && dir == Path("m/2")) fs::rename(Path("m/2"), Path("m/3"));
    return loaded;
  });
  registry.LoadAll();
  SavedModel("m/2");
  rename_while_loading = true;
  registry.Poll();  // 2 seen once
  registry.Poll();  // 2 loads, and is renamed meanwhile

  EXPECT_EQ(fake_.loads(Path("m/2")), 1);
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1");
  EXPECT_EQ(registry.Get("m", 2).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(registry.Snapshot("m")->failures.empty()) << "not a failure: it loads again once settled";
  rename_while_loading = false;
  registry.Poll();
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 3);
}

TEST_F(ModelRegistryTest, AVersionReplacedWhileItLoadsLoadsAgainOnceItsFilesSettle) {
  SavedModel("m/1");
  ModelLoader base = fake_.loader();
  int replace_on_load = 0;
  ModelRegistry registry({{"m", Path("m")}}, [&](const std::string& dir) {
    auto loaded = base(dir);
    if (replace_on_load > 0 && dir == Path("m/2")) {
      --replace_on_load;
      std::ofstream(Path("m/2/explanation_metadata.json")) << "{\"replaced\": " << replace_on_load << "}";
    }
    return loaded;
  });
  registry.LoadAll();
  SavedModel("m/2");
  replace_on_load = 1;
  registry.Poll();
  registry.Poll();  // loads while a file of it is written
  EXPECT_EQ(registry.Get("m")->version, 1);
  registry.Poll();  // the files as they are now, seen settled: loaded again
  EXPECT_EQ(fake_.loads(Path("m/2")), 2);
  EXPECT_EQ(registry.Get("m")->version, 2);
}

TEST_F(ModelRegistryTest, AVersionBeingLoadedIsShownAsLoading) {
  // It was invisible: its route said "no loaded version 2" (404) while it loaded.
  SavedModel("m/1");
  ModelRegistry* registry_seen = nullptr;
  std::optional<int64_t> loading_seen;
  Status route_seen;
  ModelLoader base = fake_.loader();
  ModelRegistry registry({{"m", Path("m")}}, [&](const std::string& dir) {
    if (registry_seen != nullptr) {  // loading version 2
      loading_seen = registry_seen->Snapshot("m")->loading->version;
      route_seen = registry_seen->Get("m", 2).status();
    }
    return base(dir);
  });
  registry.LoadAll();
  registry_seen = &registry;
  SavedModel("m/2");
  registry.Poll();
  registry.Poll();

  EXPECT_EQ(loading_seen, 2);
  EXPECT_EQ(route_seen.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(route_seen.message(), "version 2 is loading; send the request again"));
  EXPECT_FALSE(registry.Snapshot("m")->loading.has_value());  // loaded: no longer loading
  EXPECT_EQ(registry.Get("m")->version, 2);
}

TEST_F(ModelRegistryTest, AVersionLoadedWhileAnotherLoadsWithItIsShownAsWaitingNotMissing) {
  // At start-up with versions 1 and 2, while 2 loaded, version 1 (loaded
  // already) got 404 "has no loaded version 1; loaded versions: none".
  SavedModel("m/1");
  SavedModel("m/2");
  ModelRegistry* registry_seen = nullptr;
  std::vector<int64_t> waiting_seen;
  Status route_seen, newest_seen;
  ModelLoader base = fake_.loader();
  ModelRegistry registry({{"m", Path("m")}}, [&](const std::string& dir) {
    if (registry_seen != nullptr && dir == Path("m/2")) {
      waiting_seen = registry_seen->Snapshot("m")->loaded_waiting;
      route_seen = registry_seen->Get("m", 1).status();
      newest_seen = registry_seen->Get("m").status();
    }
    return base(dir);
  });
  registry_seen = &registry;
  registry.LoadAll();

  EXPECT_EQ(waiting_seen, (std::vector<int64_t>{1}));
  EXPECT_EQ(route_seen.code(), StatusCode::kUnavailable) << route_seen.message();
  EXPECT_TRUE(Contains(route_seen.message(), "version 1 has loaded and serves once version 2, loading with it, has loaded"))
      << route_seen.message();
  EXPECT_EQ(newest_seen.code(), StatusCode::kUnavailable);  // not version 1 first, then 2
  EXPECT_TRUE(registry.Snapshot("m")->loaded_waiting.empty());
  EXPECT_EQ(registry.Get("m")->version, 2);
  EXPECT_EQ(registry.Get("m", 1)->version, 1);
}

TEST_F(ModelRegistryTest, LatestTwoKeepsBothOldVersionsUntilANewOneServes) {
  // A new version 3 unloaded 1 at once: before 3 had loaded (a 0.3 s gap),
  // and for good when 3 failed to load.
  SavedModel("m/1");
  SavedModel("m/2");
  ModelRegistry registry({Source("m", Path("m"), Latest(2))}, fake_.loader());
  registry.LoadAll();
  fake_.Fail(SavedModel("m/3"));
  registry.Poll();  // 3 seen once: not settled
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1, 2");
  registry.Poll();  // 3 fails
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1, 2");
  ASSERT_EQ(registry.Snapshot("m")->failures.size(), 1u);

  SavedModel("m/4");
  registry.Poll();
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "1, 2");
  registry.Poll();  // 4 serves: the policy's two newest loaded are 2 and 4
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "2, 4");
}

TEST_F(ModelRegistryTest, TheOldVersionDeletedWhileItsReplacementFailsAsReadHalfCopiedServesOn) {
  // saved_model.pb copied first, variables/ still to come: 2 fails to load,
  // and 1, deleted meanwhile, was unloaded (503s until the copy finished).
  SavedModel("m/1");
  ModelRegistry registry({Source("m", Path("m"), Latest(1))}, fake_.loader());
  registry.LoadAll();
  fake_.Fail(SavedModel("m/2"));
  fs::remove_all(Path("m/1"));
  registry.Poll();
  registry.Poll();  // 2 fails
  EXPECT_EQ(registry.Get("m")->version, 1);
  ASSERT_EQ(registry.Snapshot("m")->failures.size(), 1u);
}

TEST_F(ModelRegistryTest, APlainSavedModelWhoseFileIsMovedAwayServesOn) {
  // The model directory itself the SavedModel (version 0): its saved_model.pb
  // moved away made it "gone" while the directory was there.
  SavedModel("m");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.LoadAll();
  fs::rename(Path("m/saved_model.pb"), Path("saved_model.pb.away"));
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 0);
  EXPECT_TRUE(Contains(registry.Snapshot("m")->error.message(), "serves on from memory"));
  fs::rename(Path("saved_model.pb.away"), Path("m/saved_model.pb"));
  registry.Poll();
  EXPECT_EQ(registry.Get("m")->version, 0);
  EXPECT_TRUE(registry.Snapshot("m")->error.ok()) << registry.Snapshot("m")->error.message();
}

TEST_F(ModelRegistryTest, AFailedVersionWantedAgainShowsItsFailure) {
  // 6 failed; 7 loaded (6 out of the policy); 7 removed: 6 is wanted again,
  // not retried (same files), and its failure was no longer shown anywhere.
  // 7 serves on from memory meanwhile, as when a copy read half done failed.
  SavedModel("m/5");
  fake_.Fail(SavedModel("m/6"));
  ModelRegistry registry({Source("m", Path("m"), Latest(1))}, fake_.loader());
  registry.LoadAll();
  ASSERT_EQ(registry.Snapshot("m")->failures.size(), 1u);
  SavedModel("m/7");
  registry.Poll();
  registry.Poll();
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "7");
  EXPECT_TRUE(registry.Snapshot("m")->failures.empty());  // 6 is not wanted now

  fs::remove_all(Path("m/7"));
  registry.Poll();
  const auto snapshot = registry.Snapshot("m");
  ASSERT_EQ(snapshot->failures.size(), 1u);
  EXPECT_EQ(snapshot->failures[0].version, 6);
  EXPECT_TRUE(Contains(snapshot->failures[0].error.message(), "bad metadata"));
  EXPECT_EQ(registry.Get("m")->version, 7);
  EXPECT_EQ(fake_.loads(Path("m/6")), 1);  // same files: not tried again

  fs::remove_all(Path("m/6"));  // the broken one gone too: the policy's newest on disk loads
  registry.Poll();
  registry.Poll();
  EXPECT_EQ(registry.Snapshot("m")->VersionList(), "5");
  EXPECT_TRUE(registry.Snapshot("m")->failures.empty());
}

TEST_F(ModelRegistryTest, NothingLoadsOnceLoadingIsStopped) {
  const std::string v1 = SavedModel("m/1");
  ModelRegistry registry({{"m", Path("m")}}, fake_.loader());
  registry.StopLoading();
  registry.LoadAll();
  EXPECT_EQ(fake_.loads(v1), 0);
  EXPECT_EQ(registry.Get("m").status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace xai
