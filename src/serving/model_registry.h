// The server's model lifecycle, knowing nothing of HTTP (TensorFlow Serving's
// "core" in small): every served model is a name and a base directory; the
// registry loads the versions found there, hands the loaded models out per
// request, and (with polling on) notices versions appearing on or vanishing
// from disk and swaps them in or out.
//
//   - A base directory is a SavedModel (served as version 0) or a
//     TF-Serving-style directory of numeric version subdirectories
//     (model/model_dir.h). The versions its VersionPolicy wants are loaded
//     (every one by default); requests get the newest unless they name another.
//   - A version that fails to load is recorded with its error and does not
//     stop the others (nor other models); it is retried when its files change.
//   - A new version found by the poller is loaded once its files have stopped
//     changing between two polls (so a half-copied directory is not loaded),
//     then published by swapping the model's immutable snapshot. Models are
//     handed out as shared_ptr: a request that holds one keeps it alive, so a
//     swap or an unload never disturbs requests in flight.
//   - Loading goes through an injectable ModelLoader (tests fake it).
//
// Thread-safe: Get/Snapshot/names may be called from any thread at any time,
// also while Poll runs (loading happens outside the lock readers take).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "model/explainable_model.h"
#include "model/model_dir.h"
#include "serving/batching_runtime.h"

namespace xai {

// Which of a model's versions on disk are served: TensorFlow Serving's
// model_version_policy. kAll (xaiserve's default) serves every version,
// kLatest the `latest` highest, kSpecific those in `versions`. Whatever the
// policy, a model keeps serving its newest loaded version until a version
// the policy wants has loaded, so a new version that is still being copied,
// or fails to load, does not take the model down.
struct VersionPolicy {
  enum class Kind { kAll, kLatest, kSpecific };
  Kind kind = Kind::kAll;
  int64_t latest = 1;             // kLatest: how many of the highest versions, >= 1
  std::vector<int64_t> versions;  // kSpecific

  // "all", "latest 2", "specific 1, 3".
  std::string Describe() const;
};

// The versions of `on_disk` that `policy` wants, in the order given.
std::vector<int64_t> WantedVersions(const VersionPolicy& policy, const std::vector<int64_t>& on_disk);

// What to serve: a model name (used in URLs), its base directory, the
// explanation method used when a request names none, and which versions.
struct ModelSource {
  std::string name;
  std::string base_path;
  std::string default_method = "integrated-gradients";
  VersionPolicy version_policy = {};
};

// A SavedModel directory (saved_model.pb inside) -> the loaded model.
using ModelLoader = std::function<StatusOr<std::shared_ptr<ExplainableModel>>(const std::string& saved_model_dir)>;

// The production loader: ExplainableModel::Load, then a warm-up that builds
// the gradient graphs (so the first explain request does not pay for it).
StatusOr<std::shared_ptr<ExplainableModel>> LoadExplainableModel(const std::string& saved_model_dir,
                                                                  const LoadOptions& options = {});
// LoadExplainableModel with `options` (e.g. batch_concurrent_runs), as a ModelLoader.
ModelLoader ExplainableModelLoader(LoadOptions options);

struct LoadedVersion {
  int64_t version = 0;
  std::string path;  // the SavedModel directory
  std::shared_ptr<ExplainableModel> model;
};

struct FailedVersion {
  int64_t version = 0;
  std::string path;
  Status error;
};

// One model as it is at one moment. Immutable once published.
struct ModelSnapshot {
  ModelSource source;
  std::vector<LoadedVersion> versions;  // ascending by version
  std::vector<FailedVersion> failures;  // versions on disk that did not load, ascending
  Status error;                         // the base directory holds no SavedModel (NOT_FOUND), else OK
  std::optional<ModelVersion> loading;  // the version being loaded right now, if any
  // Versions the same load pass has loaded already: they serve (join
  // `versions`) once the pass ends, so that requests naming no version do
  // not go to an older version first. Ascending.
  std::vector<int64_t> loaded_waiting;
  // The cross-request batching counts of the models this model no longer
  // serves (unloaded versions), as they stood when each was unloaded: with
  // the loaded versions' own, they make counters that never go back (the
  // runs of requests still finishing on an unloaded version are not added).
  // `waiting` is left 0. Kept by ModelRegistry::Publish, whatever a new
  // snapshot says.
  BatchingStats unloaded_run_batching;

  // The newest loaded version, or null.
  const LoadedVersion* Newest() const;
  // "1, 2, 3" of the loaded versions, or "none".
  std::string VersionList() const;
};

class ModelRegistry {
 public:
  // `sources` must have distinct names.
  explicit ModelRegistry(std::vector<ModelSource> sources, ModelLoader loader = ExplainableModelLoader({}));
  ~ModelRegistry();  // stops polling
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // Loads every version now on disk, of every model, without waiting for
  // files to settle (for start-up). Errors are recorded, not returned.
  void LoadAll();
  // One scan of every base directory: loads versions that appeared (and whose
  // files did not change since the previous scan), retries failed versions
  // whose files changed, unloads versions that vanished or that the version
  // policy no longer wants, publishes.
  void Poll();
  // Poll() every `interval` on a background thread until StopPolling().
  void StartPolling(std::chrono::milliseconds interval);
  void StopPolling();
  // From now on no version is loaded (the server is stopping): a LoadAll or
  // Poll in progress ends after the load it is in. Any thread.
  void StopLoading() { stop_loading_ = true; }
  bool loading_stopped() const { return stop_loading_; }

  // Model names, in the order given.
  std::vector<std::string> names() const;
  // The model's current snapshot; null for a name not served.
  std::shared_ptr<const ModelSnapshot> Snapshot(const std::string& name) const;
  // The version to serve a request with: the newest, or `version`.
  // NOT_FOUND for an unknown model (listing the served ones) or version
  // (listing the loaded ones); UNAVAILABLE when nothing of the model loaded
  // (with the load error).
  StatusOr<LoadedVersion> Get(const std::string& name, std::optional<int64_t> version = std::nullopt) const;

 private:
  // What the poller remembers of a model between scans (poll_mutex_).
  struct DiskState {
    std::map<int64_t, std::string> seen;          // version -> files fingerprint at the last scan
    struct FailedLoad {
      std::string fingerprint;  // the version's files when its load failed
      Status error;             // why
    };
    std::map<int64_t, FailedLoad> failed;  // version -> its last failed load
    std::optional<int64_t> kept;                  // a version served only until a wanted one loads
    std::set<int64_t> unreadable;                 // loaded versions whose directory holds no readable SavedModel
  };

  void Scan(bool wait_for_settled_files);
  void PollLoop(std::chrono::milliseconds interval);
  // Makes `snapshot` the model's current one, with unloaded_run_batching
  // carried over from the current one and the counts of the models it drops.
  void Publish(const std::string& name, std::shared_ptr<ModelSnapshot> snapshot);

  const std::vector<ModelSource> sources_;
  const ModelLoader loader_;

  mutable std::mutex mutex_;  // guards snapshots_ (held only to copy or swap a pointer)
  std::map<std::string, std::shared_ptr<const ModelSnapshot>> snapshots_;

  std::mutex poll_mutex_;  // one scan at a time; guards disk_
  std::map<std::string, DiskState> disk_;

  std::mutex poller_mutex_;  // guards the poller's start/stop
  std::condition_variable poller_wake_;
  bool stop_polling_ = false;
  std::atomic<bool> stop_loading_{false};
  std::thread poller_;
};

}  // namespace xai
