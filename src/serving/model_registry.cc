#include "serving/model_registry.h"

#include <algorithm>
#include <filesystem>
#include <cstdio>
#include <set>

#include "api/visualizations.h"
#include "core/text.h"
#include "model/model_dir.h"
#include "serving/server_log.h"

namespace xai {
namespace {

namespace fs = std::filesystem;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Log(const std::string& line) { ServerLog("xaiserve: " + line); }

// What a version directory holds, as one string that changes whenever a file
// is added, removed, resized, rewritten or has its permissions changed: tells
// a copy still in progress and a fixed broken model (a chmod that makes its
// files readable included) apart from one already tried.
std::string Fingerprint(const std::string& dir) {
  std::vector<std::string> entries;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    std::string entry = it->path().string();
    entry += ":" + std::to_string(static_cast<unsigned>(it->status(entry_ec).permissions()));
    if (it->is_regular_file(entry_ec)) {
      entry += ":" + std::to_string(it->file_size(entry_ec));
      entry += ":" + std::to_string(it->last_write_time(entry_ec).time_since_epoch().count());
    }
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const std::string& e : entries) out += e + "\n";
  return out;
}

// The numeric subdirectories of a base directory, listed once per scan:
// none when it is itself a SavedModel, or is gone or a file (its versions are
// gone too); FAILED_PRECONDITION when it is there but cannot be listed
// (permissions, an I/O error on network storage), which says nothing of what
// versions it holds.
StatusOr<std::vector<ModelVersion>> VersionDirectories(const std::string& base) {
  if (IsSavedModelDir(base)) return std::vector<ModelVersion>{};
  std::error_code ec;
  if (!fs::exists(base, ec) && !ec) return std::vector<ModelVersion>{};
  if (ec) return FailedPrecondition("cannot read model directory '" + base + "': " + ec.message());
  if (!fs::is_directory(base, ec)) return std::vector<ModelVersion>{};
  return ListVersionDirectories(base);
}

// The SavedModels under a base directory (its `directories`), and why there
// are none if so.
std::vector<ModelVersion> VersionsOnDisk(const std::string& base, const std::vector<ModelVersion>& directories,
                                         Status* error) {
  if (IsSavedModelDir(base)) return {{0, base}};
  std::vector<ModelVersion> versions = SavedModelVersions(directories);
  if (versions.empty()) *error = ResolveModelDir(base).status();
  if (Status distinct = CheckDistinctVersions(base, versions); !distinct.ok()) {
    // Reported (the model's status and the log), and the version served from
    // its plain-numbered directory ("1", not "01"): a stray copy beside a
    // serving version must not take it down.
    *error = distinct;
    std::vector<ModelVersion> plain;
    for (const ModelVersion& v : versions) {
      const bool duplicated = std::count_if(versions.begin(), versions.end(), [&v](const ModelVersion& other) {
                                return other.version == v.version;
                              }) > 1;
      if (!duplicated || fs::path(v.path).filename() == std::to_string(v.version)) plain.push_back(v);
    }
    versions = std::move(plain);
  }
  return versions;
}

// Those of `directories` that are not among `on_disk`: versions still being
// copied in, or whose files cannot be read.
std::vector<ModelVersion> IncompleteVersions(const std::vector<ModelVersion>& directories,
                                             const std::vector<ModelVersion>& on_disk) {
  std::vector<ModelVersion> incomplete;
  for (const ModelVersion& v : directories) {
    const bool listed = std::any_of(on_disk.begin(), on_disk.end(),
                                    [&v](const ModelVersion& d) { return d.path == v.path; });
    if (!listed) incomplete.push_back(v);
  }
  return incomplete;
}

template <typename T>
const T* FindVersion(const std::vector<T>& list, int64_t version) {
  for (const T& item : list) {
    if (item.version == version) return &item;
  }
  return nullptr;
}

std::string Join(const std::vector<std::string>& items) {
  const std::string out = JoinWithCommas(items);
  return out.empty() ? "none" : out;
}

bool Holds(const std::vector<int64_t>& list, int64_t version) {
  return std::find(list.begin(), list.end(), version) != list.end();
}

// `current`'s unloaded_run_batching, plus the cross-request batching counts
// of the models it serves that `next` does not (matched by model, not by
// version number: a version reloaded from changed files is a new model).
BatchingStats RunBatchingUnloaded(const ModelSnapshot& current, const ModelSnapshot& next) {
  BatchingStats total = current.unloaded_run_batching;
  for (const LoadedVersion& v : current.versions) {
    if (v.model == nullptr || !v.model->batches_concurrent_runs()) continue;
    const bool kept = std::any_of(next.versions.begin(), next.versions.end(),
                                  [&v](const LoadedVersion& n) { return n.model == v.model; });
    if (kept) continue;
    const BatchingStats stats = v.model->run_batching_stats();
    total.calls += stats.calls;
    total.runs += stats.runs;
    total.merged_runs += stats.merged_runs;
    total.merged_calls += stats.merged_calls;
  }
  return total;
}

}  // namespace

std::string VersionPolicy::Describe() const {
  switch (kind) {
    case Kind::kAll: return "all";
    case Kind::kLatest: return "latest " + std::to_string(latest);
    case Kind::kSpecific: {
      std::vector<std::string> list;
      for (int64_t v : versions) list.push_back(std::to_string(v));
      return "specific " + Join(list);
    }
  }
  return "all";
}

std::vector<int64_t> WantedVersions(const VersionPolicy& policy, const std::vector<int64_t>& on_disk) {
  std::vector<int64_t> wanted;
  if (policy.kind == VersionPolicy::Kind::kLatest) {
    std::vector<int64_t> highest = on_disk;
    std::sort(highest.rbegin(), highest.rend());
    highest.resize(std::min<size_t>(highest.size(), static_cast<size_t>(std::max<int64_t>(policy.latest, 0))));
    for (int64_t v : on_disk) {
      if (Holds(highest, v)) wanted.push_back(v);
    }
    return wanted;
  }
  for (int64_t v : on_disk) {
    if (policy.kind == VersionPolicy::Kind::kAll || Holds(policy.versions, v)) wanted.push_back(v);
  }
  return wanted;
}

StatusOr<std::shared_ptr<ExplainableModel>> LoadExplainableModel(const std::string& saved_model_dir,
                                                                  const LoadOptions& options) {
  XAI_ASSIGN_OR_RETURN(std::shared_ptr<ExplainableModel> model, ExplainableModel::Load(saved_model_dir, options));
  std::vector<std::string> notes = model->load_notes();
  XAI_RETURN_IF_ERROR(CheckVisualizationMetadata(model->metadata(), &notes));
  for (const std::string& note : notes) Log("note: " + note);
  if (model->explain_status().ok()) {
    const StatusOr<std::vector<std::string>> gradients = model->CheckGradients();
    if (!gradients.ok()) {
      Log("note: '" + saved_model_dir + "' cannot be explained with gradient methods (" +
          gradients.status().message() + "); sampled-shapley still works");
    } else if (!gradients->empty()) {
      Log("note: '" + saved_model_dir + "': " + ExplainableModel::NoGradientNote(*gradients));
    }
  }
  return model;
}

ModelLoader ExplainableModelLoader(LoadOptions options) {
  return [options](const std::string& saved_model_dir) { return LoadExplainableModel(saved_model_dir, options); };
}

const LoadedVersion* ModelSnapshot::Newest() const { return versions.empty() ? nullptr : &versions.back(); }

std::string ModelSnapshot::VersionList() const {
  std::vector<std::string> list;
  for (const LoadedVersion& v : versions) list.push_back(std::to_string(v.version));
  return Join(list);
}

ModelRegistry::ModelRegistry(std::vector<ModelSource> sources, ModelLoader loader)
    : sources_(std::move(sources)), loader_(std::move(loader)) {
  for (const ModelSource& source : sources_) {
    auto empty = std::make_shared<ModelSnapshot>();
    empty->source = source;
    empty->error = Unavailable("its versions are still loading (the server has just started)");
    snapshots_[source.name] = std::move(empty);
  }
}

ModelRegistry::~ModelRegistry() { StopPolling(); }

void ModelRegistry::LoadAll() { Scan(/*wait_for_settled_files=*/false); }

void ModelRegistry::Poll() { Scan(/*wait_for_settled_files=*/true); }

void ModelRegistry::Scan(bool wait_for_settled_files) {
  std::lock_guard<std::mutex> poll_lock(poll_mutex_);
  for (const ModelSource& source : sources_) {
    const std::shared_ptr<const ModelSnapshot> current = Snapshot(source.name);
    DiskState& disk = disk_[source.name];
    const StatusOr<std::vector<ModelVersion>> directories = VersionDirectories(source.base_path);
    if (!directories.ok()) {
      // Nothing is known of its versions: what is loaded goes on serving.
      auto same = std::make_shared<ModelSnapshot>(*current);
      same->error = FailedPrecondition(
          directories.status().message() + (current->versions.empty()
                                      ? "; nothing is loaded: its versions load once it can be read"
                                      : "; the versions loaded (" + current->VersionList() +
                                            ") go on serving until it can be read again"));
      if (same->error.message() != current->error.message()) Log("model '" + source.name + "': " + same->error.message());
      Publish(source.name, std::move(same));
      continue;
    }
    auto next = std::make_shared<ModelSnapshot>();
    next->source = source;
    std::vector<ModelVersion> on_disk = VersionsOnDisk(source.base_path, *directories, &next->error);
    // A loaded version whose directory is still there but holds no readable
    // SavedModel (its files made unreadable, or being rewritten) is not gone:
    // it serves on from memory. Any other such directory is a version still
    // being copied in. A model whose directory is itself the SavedModel
    // (version 0) is such a directory too, once it no longer holds one.
    std::vector<ModelVersion> candidates = IncompleteVersions(*directories, on_disk);
    if (const LoadedVersion* plain = FindVersion(current->versions, 0);
        plain != nullptr && plain->path == source.base_path && FindVersion(on_disk, 0) == nullptr &&
        fs::is_directory(source.base_path)) {
      candidates.push_back({0, source.base_path});
    }
    std::vector<ModelVersion> incomplete;
    std::set<int64_t> unreadable;
    for (ModelVersion& v : candidates) {
      if (FindVersion(current->versions, v.version) != nullptr && FindVersion(on_disk, v.version) == nullptr) {
        if (disk.unreadable.count(v.version) == 0) {
          Log("model '" + source.name + "' version " + std::to_string(v.version) + ": " + v.path +
              " holds no saved_model.pb that can be read now; the version serves on from memory");
        }
        unreadable.insert(v.version);
        on_disk.push_back(std::move(v));
      } else {
        incomplete.push_back(std::move(v));
      }
    }
    if (!unreadable.empty() && next->error.code() == StatusCode::kNotFound && on_disk.size() == unreadable.size()) {
      // Only versions serving from memory: say that, not "holds no saved_model.pb".
      std::vector<std::string> list;
      for (int64_t v : unreadable) list.push_back(std::to_string(v));
      next->error = FailedPrecondition("the directory of version" + std::string(list.size() == 1 ? " " : "s ") +
                                       Join(list) + " holds no saved_model.pb that can be read now; " +
                                       (list.size() == 1 ? "it serves" : "they serve") +
                                       " on from memory until the files are back or the directory is gone");
    }
    disk.unreadable = std::move(unreadable);
    std::sort(on_disk.begin(), on_disk.end(),
              [](const ModelVersion& a, const ModelVersion& b) { return a.version < b.version; });
    if (!next->error.ok() && next->error.message() != current->error.message()) {
      Log("model '" + source.name + "': " + next->error.message());
    }

    std::vector<int64_t> disk_versions;
    for (const ModelVersion& v : on_disk) disk_versions.push_back(v.version);
    const std::vector<int64_t> wanted = WantedVersions(source.version_policy, disk_versions);
    if (wanted.empty() && !disk_versions.empty() && next->error.ok()) {
      std::vector<std::string> list;
      for (int64_t v : disk_versions) list.push_back(std::to_string(v));
      next->error = NotFound(source.base_path + " holds version" + (list.size() == 1 ? " " : "s ") + Join(list) +
                             ", none of which its version policy (" + source.version_policy.Describe() +
                             ") wants: add one or change the policy");
      if (next->error.message() != current->error.message()) Log("model '" + source.name + "': " + next->error.message());
    }

    std::map<int64_t, std::string> seen_now;
    // The highest wanted version on its way: on disk but not loaded yet (still
    // being copied in, or to load once its files settle), or failed to load
    // as it is (a copy read half done); none if there is no such version.
    std::optional<int64_t> newest_coming;
    auto coming = [&](int64_t version) { newest_coming = std::max(newest_coming.value_or(version), version); };
    for (const ModelVersion& v : incomplete) {
      std::vector<int64_t> with_it = disk_versions;
      with_it.push_back(v.version);
      if (Holds(WantedVersions(source.version_policy, with_it), v.version)) coming(v.version);  // being copied in
    }
    for (const ModelVersion& v : on_disk) {
      const std::string fingerprint = Fingerprint(v.path);
      seen_now[v.version] = fingerprint;
      // A loaded version stays available whatever the policy says: which of
      // them serve is decided below, among those loaded, so that an older
      // version goes only once a newer one serves.
      if (const LoadedVersion* loaded = FindVersion(current->versions, v.version)) {
        next->versions.push_back(*loaded);
        continue;
      }
      if (!Holds(wanted, v.version)) continue;
      auto failed = disk.failed.find(v.version);
      const bool retry = failed == disk.failed.end() || failed->second.fingerprint != fingerprint;
      auto seen = disk.seen.find(v.version);
      const bool settled = !wait_for_settled_files || (seen != disk.seen.end() && seen->second == fingerprint);
      if (!retry || !settled || stop_loading_) {
        // A failure stays shown until the version is retried (also when it
        // was out of the policy's wants for a while).
        if (failed != disk.failed.end()) next->failures.push_back({v.version, v.path, failed->second.error});
        coming(v.version);  // to be loaded once its files settle, or failed as it is
        continue;
      }
      {
        // Meanwhile the model's status and routes say this version is loading.
        auto loading = std::make_shared<ModelSnapshot>(*Snapshot(source.name));
        loading->loading = v;
        for (const LoadedVersion& loaded : next->versions) {
          if (FindVersion(loading->versions, loaded.version) == nullptr) loading->loaded_waiting.push_back(loaded.version);
        }
        Publish(source.name, std::move(loading));
      }
      const auto start = std::chrono::steady_clock::now();
      StatusOr<std::shared_ptr<ExplainableModel>> model = loader_(v.path);
      // Files renamed, replaced or deleted while they loaded: what loaded may
      // be a mix of two copies, or lack a file read after it went (without
      // explanation_metadata.json, its metadata is inferred: other baselines,
      // and attributions served with a 200 and nothing said). Not kept, nor
      // recorded as failed: loaded again once its files settle.
      if (const std::string after = Fingerprint(v.path); after != fingerprint) {
        seen_now[v.version] = after;
        coming(v.version);
        Log("model '" + source.name + "' version " + std::to_string(v.version) + " (" + v.path +
            ") changed while it loaded (files renamed, replaced or deleted); not served: it loads again once its files "
            "settle");
        continue;
      }
      if (model.ok()) {
        next->versions.push_back({v.version, v.path, std::move(model).value()});
        disk.failed.erase(v.version);
        char seconds[32];
        std::snprintf(seconds, sizeof(seconds), "%.2f", SecondsSince(start));
        Log("model '" + source.name + "' version " + std::to_string(v.version) + " loaded from " + v.path + " (" +
            seconds + " s)");
      } else {
        next->failures.push_back({v.version, v.path, model.status()});
        disk.failed[v.version] = {fingerprint, model.status()};
        coming(v.version);
        Log("model '" + source.name + "' version " + std::to_string(v.version) + " (" + v.path +
            ") failed to load: " + model.status().message());
      }
    }
    // What serves is the policy's choice among the versions loaded: with
    // latest 2, a new version 3 that has not loaded yet (or failed) leaves 1
    // and 2 serving.
    std::vector<int64_t> loaded_now;
    for (const LoadedVersion& v : next->versions) loaded_now.push_back(v.version);
    const std::vector<int64_t> serving = WantedVersions(source.version_policy, loaded_now);
    next->versions.erase(std::remove_if(next->versions.begin(), next->versions.end(),
                                        [&](const LoadedVersion& v) { return !Holds(serving, v.version); }),
                         next->versions.end());
    // Until a version the policy wants has loaded, the newest one that was
    // serving goes on serving: one still on disk, or one just gone (a rename
    // of 2 to 3, or a new version copied in and the old one deleted) while a
    // wanted version waits for its files to settle or failed to load as it
    // is (a copy that was read half done) -- its model is in memory.
    std::optional<int64_t> kept;
    if (next->versions.empty()) {
      for (auto v = current->versions.rbegin(); v != current->versions.rend(); ++v) {
        if (seen_now.count(v->version) == 0 && !newest_coming) continue;
        next->versions.push_back(*v);
        kept = v->version;
        break;
      }
    } else if (!current->versions.empty()) {
      // With older versions serving on (all, latest 2), the newest one gone
      // while a newer version comes serves on too: requests that name no
      // version would otherwise get an older model meanwhile. A newest
      // version deleted with nothing newer coming is a rollback: it goes.
      const LoadedVersion& newest = current->versions.back();
      if (seen_now.count(newest.version) == 0 && newest.version > next->versions.back().version &&
          newest_coming && *newest_coming > newest.version) {
        next->versions.push_back(newest);
        kept = newest.version;
      }
    }
    if (kept && kept != disk.kept) {
      Log("model '" + source.name + "' keeps serving version " + std::to_string(*kept) +
          " until a version its policy (" + source.version_policy.Describe() + ") wants has loaded");
    }
    if (kept && seen_now.count(*kept) == 0) {
      // Serving a version that is gone from disk is shown where operators look.
      const std::string note = "version " + std::to_string(*kept) + " is gone from disk and serves on from memory "
                               "until a version its policy (" + source.version_policy.Describe() +
                               ") wants has loaded (one is being copied in, or failed to load as it is)";
      next->error = FailedPrecondition(next->error.ok() ? note : next->error.message() + "; " + note);
    }
    disk.kept = kept;
    for (const LoadedVersion& v : current->versions) {
      if (FindVersion(next->versions, v.version) != nullptr) continue;
      const std::string why = seen_now.count(v.version) == 0
                                  ? v.path + " is gone"
                                  : "its version policy (" + source.version_policy.Describe() + ") no longer wants it";
      Log("model '" + source.name + "' version " + std::to_string(v.version) + " unloaded: " + why +
          " (requests in flight finish on it)");
    }
    for (auto it = disk.failed.begin(); it != disk.failed.end();) {
      it = seen_now.count(it->first) ? std::next(it) : disk.failed.erase(it);
    }
    disk.seen = std::move(seen_now);
    Publish(source.name, std::move(next));
  }
}

void ModelRegistry::Publish(const std::string& name, std::shared_ptr<ModelSnapshot> snapshot) {
  std::shared_ptr<const ModelSnapshot> old;  // released outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<const ModelSnapshot>& current = snapshots_[name];
  // Here, under the lock, so that every snapshot a reader sees counts each
  // model's runs once: in its versions, or in unloaded_run_batching.
  if (current != nullptr) snapshot->unloaded_run_batching = RunBatchingUnloaded(*current, *snapshot);
  old = std::exchange(current, std::move(snapshot));
}

void ModelRegistry::StartPolling(std::chrono::milliseconds interval) {
  std::lock_guard<std::mutex> lock(poller_mutex_);
  if (poller_.joinable()) return;
  stop_polling_ = false;
  poller_ = std::thread([this, interval] { PollLoop(interval); });
}

void ModelRegistry::StopPolling() {
  {
    std::lock_guard<std::mutex> lock(poller_mutex_);
    stop_polling_ = true;
  }
  poller_wake_.notify_all();
  if (poller_.joinable()) poller_.join();
}

void ModelRegistry::PollLoop(std::chrono::milliseconds interval) {
  std::unique_lock<std::mutex> lock(poller_mutex_);
  while (!poller_wake_.wait_for(lock, interval, [this] { return stop_polling_; })) {
    lock.unlock();
    Poll();
    lock.lock();
  }
}

std::vector<std::string> ModelRegistry::names() const {
  std::vector<std::string> out;
  for (const ModelSource& source : sources_) out.push_back(source.name);
  return out;
}

std::shared_ptr<const ModelSnapshot> ModelRegistry::Snapshot(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = snapshots_.find(name);
  return it == snapshots_.end() ? nullptr : it->second;
}

StatusOr<LoadedVersion> ModelRegistry::Get(const std::string& name, std::optional<int64_t> version) const {
  const std::shared_ptr<const ModelSnapshot> snapshot = Snapshot(name);
  if (snapshot == nullptr) {
    return NotFound("model '" + name + "' is not served here; served models: " + Join(names()) +
                    " (GET /v1/models lists them)");
  }
  if (!version) {
    if (const LoadedVersion* newest = snapshot->Newest()) return *newest;
    std::string why = snapshot->error.ok() ? "" : snapshot->error.message();
    if (snapshot->loading) {
      why += (why.empty() ? "" : "; ") + std::string("version ") + std::to_string(snapshot->loading->version) +
             " is loading now";
    }
    if (why.empty() && !snapshot->failures.empty()) {
      const FailedVersion& failed = snapshot->failures.back();
      why = "version " + std::to_string(failed.version) + " failed to load: " + failed.error.message();
    }
    if (why.empty()) why = "no version has been loaded yet";
    return Unavailable("model '" + name + "' has no loaded version: " + why + " (GET /v1/models/" + name +
                       " shows its state; a fixed model directory is loaded again when its files change)");
  }
  if (const LoadedVersion* loaded = FindVersion(snapshot->versions, *version)) return *loaded;
  if (snapshot->loading && snapshot->loading->version == *version) {
    return Unavailable("model '" + name + "' version " + std::to_string(*version) +
                       " is loading; send the request again in a moment");
  }
  if (snapshot->loading && Holds(snapshot->loaded_waiting, *version)) {
    return Unavailable("model '" + name + "' version " + std::to_string(*version) +
                       " has loaded and serves once version " + std::to_string(snapshot->loading->version) +
                       ", loading with it, has loaded too; send the request again in a moment");
  }
  std::string why;
  if (const FailedVersion* failed = FindVersion(snapshot->failures, *version)) {
    why = " (it failed to load: " + failed->error.message() + ")";
  }
  return NotFound("model '" + name + "' has no loaded version " + std::to_string(*version) + why +
                  "; loaded versions: " + snapshot->VersionList() +
                  " (leave the version out of the URL for the newest)");
}

}  // namespace xai
