// LoadSavedModelRuntime for builds without TensorFlow: the sanitizer build
// (CMake option XAI_SANITIZE) links this instead of tf_saved_model.cc, since
// the TensorFlow wheel's libraries are not built with ASan/UBSan. Everything
// else (attribution, metadata, requests, registry, routes) is the same code;
// its tests use fake runtimes and never load a SavedModel.
#include "runtime/model_runtime.h"

namespace xai {

std::string TensorFlowVersion() { return "none"; }

StatusOr<std::unique_ptr<ModelRuntime>> LoadSavedModelRuntime(const std::string& dir, const RuntimeOptions&) {
  return Unimplemented("cannot load the SavedModel in '" + dir +
                       "': this is a build without TensorFlow (XAI_SANITIZE); use the regular build in build/");
}

}  // namespace xai
