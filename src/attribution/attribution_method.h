// The common interface of the attribution methods (one per file:
// integrated_gradients.h, later sampled_shapley.h and xrai.h). A method takes
// one instance, its baselines and the output elements to explain, and returns
// one Attribution per output element. Methods are stateless apart from their
// options and may be shared between threads; the ModelFunction may not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attribution/model_function.h"
#include "core/status.h"
#include "core/tensor.h"

namespace xai {

// Most baselines one explanation may average over (SPEC §2).
inline constexpr int kMaxBaselines = 10;

struct AttributionInputs {
  // The instance: one tensor per attributed input, each with batch size 1.
  std::vector<Tensor> instance;
  // One or more baselines (at most 10), each shaped like `instance`. The
  // attributions of several baselines are averaged.
  std::vector<std::vector<Tensor>> baselines;
  // Flat indices (within one row of the explained output) to explain.
  std::vector<int64_t> output_elements;
  // Features for methods that switch features on and off (Sampled Shapley):
  // per input, per element of its row, the feature index (0..F-1) that the
  // element belongs to; elements sharing an index move together (a group).
  // Empty: every element of every input is a feature of its own.
  std::vector<std::vector<int>> feature_of_element;
};

struct Attribution {
  int64_t output_element = 0;
  // One per attributed input, shaped like the instance's tensor (batch 1).
  std::vector<Tensor> attributions;
  double instance_output = 0;  // f(x)
  double baseline_output = 0;  // f(baseline), averaged over baselines.
  // |sum(attributions) - (f(x) - f(baseline))| / max(|f(x) - f(baseline)|, eps)
  // for path methods; for sampling methods the relative standard error.
  double approximation_error = 0;
  int steps = 0;               // path steps (or paths) actually used.
  // Per feature (see AttributionInputs::feature_of_element), for methods that
  // attribute features rather than elements; empty otherwise. A feature's
  // attribution is then also spread evenly over its elements in
  // `attributions`, so sums over elements stay right.
  std::vector<double> feature_attributions;
};

class AttributionMethod {
 public:
  virtual ~AttributionMethod() = default;
  virtual const char* name() const = 0;  // "integrated-gradients", ...
  virtual StatusOr<std::vector<Attribution>> Attribute(ModelFunction& model,
                                                       const AttributionInputs& inputs) const = 0;
};

}  // namespace xai
