#include "model/model_dir.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

namespace xai {

namespace fs = std::filesystem;

bool IsSavedModelDir(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "saved_model.pb", ec) ||
         fs::is_regular_file(fs::path(dir) / "saved_model.pbtxt", ec);
}

std::optional<int64_t> ParseVersionName(const std::string& name) {
  if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  int64_t version = 0;
  const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), version);
  if (error != std::errc() || end != name.data() + name.size()) return std::nullopt;  // beyond int64
  return version;
}

StatusOr<std::vector<ModelVersion>> ListVersionDirectories(const std::string& base) {
  std::vector<ModelVersion> versions;
  std::error_code ec;
  fs::directory_iterator it(base, ec);
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    const std::optional<int64_t> version = ParseVersionName(it->path().filename().string());
    std::error_code type_ec;
    if (version && it->is_directory(type_ec)) versions.push_back({*version, it->path().string()});
  }
  if (ec) return FailedPrecondition("cannot read model directory '" + base + "': " + ec.message());
  std::sort(versions.begin(), versions.end(),
            [](const ModelVersion& a, const ModelVersion& b) { return a.version < b.version; });
  return versions;
}

std::vector<ModelVersion> SavedModelVersions(const std::vector<ModelVersion>& directories) {
  std::vector<ModelVersion> versions;
  for (const ModelVersion& v : directories) {
    if (IsSavedModelDir(v.path)) versions.push_back(v);
  }
  return versions;
}

Status CheckDistinctVersions(const std::string& base, const std::vector<ModelVersion>& versions) {
  for (size_t i = 1; i < versions.size(); ++i) {
    if (versions[i].version != versions[i - 1].version) continue;
    return InvalidArgument("'" + base + "' has two directories for version " + std::to_string(versions[i].version) +
                           " ('" + versions[i - 1].path + "' and '" + versions[i].path +
                           "'); remove or rename one, so that each version has one directory");
  }
  return OkStatus();
}

StatusOr<ModelVersion> ResolveModelDir(const std::string& dir, std::optional<int64_t> version) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (!fs::exists(dir, ec)) return NotFound("model directory '" + dir + "' does not exist");
    const fs::path file(dir);
    const std::string name = file.filename().string(), extension = file.extension().string();
    if (name == "saved_model.pb" || name == "saved_model.pbtxt") {
      return NotFound("'" + dir + "' is the SavedModel's file; give the directory that holds it ('" +
                             (file.has_parent_path() ? file.parent_path().string() : ".") + "')");
    }
    if (extension == ".keras" || extension == ".h5" || extension == ".hdf5") {
      return NotFound("'" + dir + "' is a Keras model file; xaiserve loads SavedModels: export one with "
                      "keras.export.ExportArchive, adding the endpoints 'serving_default' and 'xai_model' (Keras 3; "
                      "model.export(DIR) gives a model that predicts but cannot be explained), or with "
                      "tf.saved_model.save(model, DIR) (Keras 2), then give DIR");
    }
    return NotFound("'" + dir + "' is a file, not a model directory; give the directory that holds "
                           "saved_model.pb (or its numeric version subdirectories)");
  }
  // E.g. no permission: "cannot read", not "holds no saved_model.pb".
  XAI_ASSIGN_OR_RETURN(const std::vector<ModelVersion> directories, ListVersionDirectories(dir));
  if (IsSavedModelDir(dir)) {
    if (version && *version != 0) {
      return NotFound("version " + std::to_string(*version) + " requested, but '" + dir +
                      "' is a single SavedModel without numeric version subdirectories");
    }
    return ModelVersion{0, dir};
  }
  const std::vector<ModelVersion> versions = SavedModelVersions(directories);
  if (versions.empty()) {
    if (!directories.empty()) {
      std::string list;
      for (const ModelVersion& v : directories) list += (list.empty() ? "" : ", ") + fs::path(v.path).filename().string();
      return NotFound("'" + dir + "' has version directories (" + list + ") but none holds saved_model.pb (or "
                      ".pbtxt) that xaiserve can read: the SavedModel's files go directly inside a version's "
                      "directory (DIR/<version>/saved_model.pb, not in a folder of their own within it), readable by "
                      "the user xaiserve runs as; a version still being copied in is loaded once its files are there");
    }
    return NotFound("'" + dir + "' holds no saved_model.pb (or .pbtxt) and no numeric version subdirectories "
                    "(expected DIR/saved_model.pb or DIR/<version>/saved_model.pb)");
  }
  XAI_RETURN_IF_ERROR(CheckDistinctVersions(dir, versions));
  if (!version) return versions.back();
  for (const ModelVersion& v : versions) {
    if (v.version == *version) return v;
  }
  std::string found;
  for (const ModelVersion& v : versions) found += (found.empty() ? "" : ", ") + std::to_string(v.version);
  return NotFound("version " + std::to_string(*version) + " of '" + dir + "' not found; versions on disk: " + found);
}

}  // namespace xai
