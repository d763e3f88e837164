// Decoding request instances (SPEC §4) against a signature's inputs: a bare
// value for a single-input signature, or an object keyed by input name;
// nested lists for tensors; {"b64": ...} for binary strings. Checks shapes,
// dtypes and finiteness and names the instance and input on error. Shared by
// the CLI and the server. Pure; thread-safe.
#pragma once

#include <vector>

#include "core/status.h"
#include "core/tensor_json.h"
#include "model/explainable_model.h"
#include "runtime/model_runtime.h"

namespace xai {

// One instance -> tensors of batch size 1 keyed by input key. `index` is the
// instance's position, for messages.
StatusOr<NamedTensors> DecodeInstance(const Json& instance, const SignatureInfo& signature, size_t index);

// Every instance of a JSON array.
StatusOr<std::vector<NamedTensors>> DecodeInstances(const Json& instances, const SignatureInfo& signature);

// Stacks single-instance tensors into one batch per input; the instances must
// agree on each input's shape.
StatusOr<NamedTensors> StackInstances(const std::vector<NamedTensors>& instances);

// True if a single-input instance was given as a bare value (not keyed by name).
bool IsBareInstance(const Json& instance, const SignatureInfo& signature);

}  // namespace xai
