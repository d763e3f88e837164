// What every attribution method checks about its AttributionInputs before it
// runs the model (the instance, the baselines, the output elements), and the
// features of an instance (AttributionInputs::feature_of_element resolved into
// lists of elements) for the methods that switch features on and off.
// Written once here so that every method accepts and refuses the same inputs
// with the same messages. Pure functions: no state, thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "attribution/attribution_method.h"
#include "core/status.h"

namespace xai {

// Which dtypes a method accepts for the attributed inputs.
enum class InputDTypes {
  kFloatingPoint,  // float32, float64, float16, bfloat16 (path methods: they interpolate).
  kNumeric,        // any dtype but string (methods that only copy instance or baseline values).
};

// Checks, in this order, returning the first problem found:
//  - the instance has >= 1 tensors, each of an accepted dtype, of shape
//    [1, ...] with no negative dimension, holding NumElements(shape) finite
//    values;
//  - there are min_baselines to kMaxBaselines baselines, each with as many
//    tensors as the instance, each with the instance tensor's dtype and shape,
//    and valid as above;
//  - there is >= 1 output element and none is negative.
// INVALID_ARGUMENT naming the offending tensor ("instance input 0",
// "baseline 2, input 1"), its value and what is expected. `method_name`
// ("Integrated Gradients") names the method in the dtype message.
// `min_baselines` is 1, or 0 for a method that can start from baselines of its
// own (Integrated Gradients with a blur baseline). Does not look at
// feature_of_element (see ResolveFeatures).
Status ValidateAttributionInputs(const AttributionInputs& inputs, InputDTypes dtypes,
                                 const char* method_name, int min_baselines = 1);

// One element of the instance: which input tensor, and the flat row-major
// index within that tensor's row.
struct ElementIndex {
  int input = 0;
  int64_t element = 0;
};

// The features of an instance, stored compactly: feature f owns
// elements[offsets[f]] .. elements[offsets[f + 1] - 1], in input order then
// row-major order. Every feature owns at least one element.
struct FeatureSet {
  std::vector<ElementIndex> elements;
  std::vector<int64_t> offsets{0};  // num_features() + 1 entries.

  int64_t num_features() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t num_elements(int64_t feature) const {
    return offsets[feature + 1] - offsets[feature];
  }
};

// Resolves AttributionInputs::feature_of_element against the instance (which
// ValidateAttributionInputs must have accepted). Empty: every element of every
// input is a feature of its own, numbered in input order then row-major order.
// Otherwise it must hold one vector per instance input, each with one entry
// per element of that input's row, and its indices must be exactly 0..F-1 for
// some F, every index used at least once (so F <= the number of elements).
// INVALID_ARGUMENT naming the bad entry and what is expected otherwise.
StatusOr<FeatureSet> ResolveFeatures(const AttributionInputs& inputs);

}  // namespace xai
