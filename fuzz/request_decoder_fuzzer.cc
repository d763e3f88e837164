// Fuzzes what the server does with an :explain / :predict request body before
// any model runs: bytes -> ParseJson -> DecodeInstances against fixed
// signatures (a float vector, a string, an int matrix, a float image that
// takes PNG / JPEG uploads, two inputs, an input of unknown rank) ->
// StackInstances, and ParseExplainParameters on the body's "parameters" and
// "explanationSpecOverride" parts. Decoded tensors are written back to JSON
// and serialized, as a response would be.
//
// Properties: nothing crashes, leaks or hits undefined behaviour; every
// decoded tensor has as many values as its shape says; every error has a
// message; CountTopLevelArrayElements (run first, on the raw bytes) gives
// at least the parsed "instances" array's size.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/explain_parameters.h"
#include "api/instances.h"
#include "core/tensor_json.h"
#include "fuzz_check.h"

namespace xai {
namespace {

TensorInfo Input(const std::string& key, DType dtype, Shape shape, bool rank_known = true) {
  TensorInfo t;
  t.key = key;
  t.tensor_name = "serving_default_" + key + ":0";
  t.dtype = dtype;
  t.rank_known = rank_known;
  t.shape = std::move(shape);
  return t;
}

// A SparseTensor input: taken dense or as {"values", "indices", "dense_shape"}.
TensorInfo SparseInput(const std::string& key, Shape shape) {
  TensorInfo t = Input(key, DType::kFloat32, std::move(shape));
  t.tensor_name = key + "/values:0";
  t.sparse_indices_tensor = key + "/indices:0";
  t.sparse_dense_shape_tensor = key + "/shape:0";
  return t;
}

SignatureInfo Signature(std::vector<TensorInfo> inputs) {
  SignatureInfo s;
  s.key = "serving_default";
  s.method_name = "tensorflow/serving/predict";
  s.inputs = std::move(inputs);
  s.outputs = {Input("probabilities", DType::kFloat32, {-1, 2})};
  return s;
}

const std::vector<SignatureInfo>& Signatures() {
  static const std::vector<SignatureInfo> signatures = {
      Signature({Input("features", DType::kFloat32, {-1, 4})}),                 // float vector
      Signature({Input("text", DType::kString, {-1})}),                         // string
      Signature({Input("ids", DType::kInt32, {-1, 2, 3})}),                     // int matrix
      Signature({Input("image", DType::kFloat32, {-1, -1, -1, 3})}),            // image, any size
      Signature({Input("photo", DType::kFloat32, {-1, 8, 8, 1}),                // two inputs: a gray
                 Input("scale", DType::kFloat64, {-1})}),                       // image resized to 8x8
      Signature({Input("anything", DType::kInt64, {}, /*rank_known=*/false)}),  // unknown rank
      Signature({SparseInput("words", {-1, -1})}),                              // sparse, any size
  };
  return signatures;
}

// Uploads for "photo" are scaled to [-1, 1] (a metadata domain), others to [0, 1].
const InstanceDecoding& Decoding() {
  static const InstanceDecoding decoding = {{{"photo", ValueRange{-1, 1}}}};
  return decoding;
}

void CheckError(const Status& status) {
  XAI_FUZZ_CHECK(!status.message().empty(), "an error without a message");
}

void CheckDecoded(const NamedTensors& tensors) {
  for (const auto& [key, tensor] : tensors) {
    const size_t held = tensor.dtype == DType::kString ? tensor.strings.size() : tensor.values.size();
    XAI_FUZZ_CHECK(static_cast<int64_t>(held) == tensor.num_elements(),
                   "input '" + key + "': shape " + ShapeToString(tensor.shape) + " but " +
                       std::to_string(held) + " values");
    for (int64_t row = 0; row < tensor.batch_size(); ++row) (void)TensorRowToJson(tensor, row).dump();
  }
}

void DecodeAgainstEverySignature(const Json& instances) {
  for (const SignatureInfo& signature : Signatures()) {
    StatusOr<std::vector<NamedTensors>> decoded = DecodeInstances(instances, signature, Decoding());
    if (!decoded.ok()) {
      CheckError(decoded.status());
      continue;
    }
    for (const NamedTensors& one : *decoded) CheckDecoded(one);
    for (const Json& instance : instances) (void)IsBareInstance(instance, signature);
    StatusOr<NamedTensors> batch = StackInstances(*decoded);
    if (!batch.ok()) {
      CheckError(batch.status());
      continue;
    }
    CheckDecoded(*batch);
  }
}

const Json* Member(const Json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

void ParseParameters(const Json& parameters, const Json& metadata_override) {
  StatusOr<ExplainOptions> options = ParseExplainParameters(parameters, metadata_override);
  if (!options.ok()) CheckError(options.status());
}

}  // namespace
}  // namespace xai

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xai;
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The server counts a large body's instances before parsing it: on any
  // text it must not crash, and on JSON it must agree with the parser.
  const std::optional<size_t> counted = CountTopLevelArrayElements(text, "instances");
  StatusOr<Json> body = ParseJson(text, "request body");
  if (!body.ok()) {
    CheckError(body.status());
    return 0;
  }
  // A body is {"instances": [...], ...}; anything else is taken as the
  // instances themselves, so the fuzzer reaches the decoder without the
  // wrapper too.
  const Json* instances = Member(*body, "instances");
  if (body->is_object() && instances != nullptr && instances->is_array()) {
    // At least the parsed size (more if the key comes twice with a larger array).
    XAI_FUZZ_CHECK(counted.has_value() && *counted >= instances->size(),
                   "CountTopLevelArrayElements gave " + (counted ? std::to_string(*counted) : std::string("none")) +
                       " for " + std::to_string(instances->size()) + " instances");
  }
  DecodeAgainstEverySignature(instances != nullptr ? *instances : *body);

  const Json* parameters = Member(*body, "parameters");
  ParseParameters(parameters != nullptr ? *parameters : Json(nullptr), Json(nullptr));
  if (const Json* spec_override = Member(*body, "explanationSpecOverride")) {
    const Json* override_parameters = Member(*spec_override, "parameters");
    const Json* override_metadata = Member(*spec_override, "metadata");
    ParseParameters(override_parameters != nullptr ? *override_parameters : Json(nullptr),
                    override_metadata != nullptr ? *override_metadata : Json(nullptr));
  }
  return 0;
}
