// Finding a model on disk: a SavedModel directory (saved_model.pb, or the text
// form saved_model.pbtxt, inside), or a TF-Serving-style base directory whose
// numeric subdirectories are versions (the highest serves unless another is
// asked for). Knows nothing of TensorFlow. Pure functions over the file
// system; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace xai {

struct ModelVersion {
  int64_t version = 0;  // 0 when the directory is itself a SavedModel.
  std::string path;     // the SavedModel directory.
};

// Whether `dir` is a SavedModel: it holds saved_model.pb or saved_model.pbtxt
// (TensorFlow's loader reads either, the binary one first).
bool IsSavedModelDir(const std::string& dir);

// The version a directory or route name says: decimal digits only, of a
// number that fits int64 as TF Serving's versions do (19-digit nanosecond
// timestamps included). nullopt for anything else.
std::optional<int64_t> ParseVersionName(const std::string& name);

// Every numeric subdirectory of `base`, whether or not it holds a SavedModel
// (one still being copied in, or whose files cannot be read), ascending.
// FAILED_PRECONDITION naming the error when `base` cannot be listed.
StatusOr<std::vector<ModelVersion>> ListVersionDirectories(const std::string& base);

// Those of `directories` (from ListVersionDirectories) that hold a SavedModel.
std::vector<ModelVersion> SavedModelVersions(const std::vector<ModelVersion>& directories);

// OK unless two of `versions` (SavedModelVersions of `base`'s directories) are the same
// number under different names ("1" and "01"): INVALID_ARGUMENT naming both.
Status CheckDistinctVersions(const std::string& base, const std::vector<ModelVersion>& versions);

// `dir` itself if it is a SavedModel, else its highest (or the requested)
// version. NOT_FOUND names the directory and what was expected in it;
// INVALID_ARGUMENT for two directories of one version (CheckDistinctVersions).
StatusOr<ModelVersion> ResolveModelDir(const std::string& dir, std::optional<int64_t> version = std::nullopt);

}  // namespace xai
