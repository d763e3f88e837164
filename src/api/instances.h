// Decoding request instances (SPEC §4) against a signature's inputs: a bare
// value for a single-input signature, or an object keyed by input name;
// nested lists for tensors; {"b64": ...} for binary strings, and for a
// floating-point image input [H,W,C] (C 1 or 3) a base64 PNG or JPEG file,
// decoded, converted to C channels, resized to H x W and scaled from 0..255
// to the input's domain (see render/image_tensor.h); for a SparseTensor input
// either its dense value or {"values", "indices", "dense_shape"} of one
// instance (core/sparse_tensor.h), decoded to dense. Checks shapes, dtypes
// and finiteness and names the instance and input on error. Shared by the
// CLI and the server. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor_json.h"
#include "model/explainable_model.h"
#include "render/image_tensor.h"
#include "runtime/model_runtime.h"

namespace xai {

// What decoding needs beyond the signature: per input key, the range that
// an uploaded image's 0..255 maps to (the metadata's domain); inputs not
// listed use [0, 1]. And the image pixel budget: the most pixels (width x
// height, from each file's header, checked before its pixels are decoded)
// that the image uploads of one DecodeInstances (or DecodeInstance) call may
// decode to together, so that a request of small compressed files cannot
// decode to gigabytes; 0: no budget beyond kMaxDecodedPixels per image (the
// CLI's). Exceeding it is RESOURCE_EXHAUSTED naming the image's size, the
// budget and what earlier instances used.
struct InstanceDecoding {
  std::map<std::string, ValueRange> image_domains;
  int64_t image_pixel_budget = 0;
};

// The image domains of a model's metadata, keyed by the explaining entry
// signature's input keys (none when xai_preprocess comes first: its inputs
// are not the attributed ones). Also right for the predict signature, whose
// inputs usually carry the same keys.
InstanceDecoding InstanceDecodingFor(const ExplainableModel& model);

// One instance -> tensors of batch size 1 keyed by input key. `index` is the
// instance's position, for messages.
StatusOr<NamedTensors> DecodeInstance(const Json& instance, const SignatureInfo& signature, size_t index,
                                      const InstanceDecoding& decoding = {});

// Every instance of a JSON array.
StatusOr<std::vector<NamedTensors>> DecodeInstances(const Json& instances, const SignatureInfo& signature,
                                                    const InstanceDecoding& decoding = {});

// Stacks single-instance tensors into one batch per input; the instances must
// agree on each input's shape.
StatusOr<NamedTensors> StackInstances(const std::vector<NamedTensors>& instances);

// True if a single-input instance was given as a bare value (not keyed by name).
bool IsBareInstance(const Json& instance, const SignatureInfo& signature);

}  // namespace xai
