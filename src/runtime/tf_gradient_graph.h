// Builds, for a loaded graph, the extra nodes that compute the gradient of
// one output element per row with respect to chosen tensors. Private to the
// runtime module (includes TensorFlow headers; only runtime/*.cc include it).
//
// How: TensorFlow's C++ gradient registry cannot differentiate through a
// function-call node (StatefulPartitionedCall), which is how TF2 SavedModels
// call their signatures. So the called function bodies on the path to the
// target are first inlined into one flat graph (TensorFlow's own
// InlineFunctionBody, repeated until no call is left on the path), then
// AddSymbolicGradients adds the backward pass (with the gradients that
// tf_extra_gradients.h adds to the registry). Variables stay where they are:
// the inlined bodies read the outer graph's resource handles, so the nodes
// can be added to the running session with Session::Extend and see the
// restored values.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "tensorflow/core/framework/graph.pb.h"

namespace xai::tf_runtime {

struct GradientGraph {
  tensorflow::GraphDef new_nodes;       // to add to the session with Extend.
  std::string target_tensor;            // the (flat) target, to fetch.
  std::string element_placeholder;      // int64 [batch]: element index per row, or -1 (see below).
  // int64 [batch]: the element each row's gradient was taken of: the fed
  // index, or for -1 the element with the largest value in the last row's target
  // (TensorFlow's ArgMax: the first of equal maxima), chosen in the same run.
  std::string chosen_element;
  std::vector<std::string> gradients;   // per wrt; empty when not connected.
  // Per wrt: whether the target depends on it at all. One it does not reach
  // has an empty gradient that is exactly zero; one it reaches only through
  // ops without a gradient (stop_gradient, argmax) has an empty gradient that
  // is not the derivative.
  std::vector<bool> reaches_target;
};

// `graph` is the session's current graph; `existing_nodes` the names already
// in the session (nodes with these names are never re-added). `prefix` makes
// the new nodes' names unique.
StatusOr<GradientGraph> BuildGradientGraph(const tensorflow::GraphDef& graph,
                                           const std::unordered_set<std::string>& existing_nodes,
                                           const std::string& target, const std::vector<std::string>& wrt,
                                           const std::string& prefix);

// absl::Status -> xai::Status, keeping the message.
Status FromTf(const absl::Status& status, const std::string& context);

}  // namespace xai::tf_runtime
