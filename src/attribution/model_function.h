// What an attribution method sees of a model (the only view it has): a batch
// of points for the attributed inputs goes in; for each row, the value of one
// chosen output element and, on request, its gradient with respect to each
// attributed input come out. Implemented over the TensorFlow runtime by the
// model layer, and by fakes with analytic gradients in tests.
// Implementations need not be thread-safe; a method calls one from one thread.
// The batch is lent for the call: an implementation may move its input
// tensors out (to hand them to a runtime without copying) but puts them back,
// values and dtypes unchanged, before it returns, whether or not it fails.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace xai {

struct ModelBatch {
  // One tensor per attributed input, batch-first, all with the same batch size.
  std::vector<Tensor> inputs;
  // Per row: the flat index, within that row's output, of the element whose
  // value (and gradient) is returned.
  std::vector<int64_t> output_element;
};

struct ModelBatchResult {
  std::vector<double> outputs;    // per row: the chosen output element's value.
  std::vector<Tensor> gradients;  // per input, shaped like it; empty if not requested.
  // Per row, the element evaluated, when the function chose it itself (the
  // batch asked for 0, "the chosen one"); empty when it is the batch's
  // output_element. Error messages name it.
  std::vector<int64_t> chosen_elements;
};

class ModelFunction {
 public:
  virtual ~ModelFunction() = default;
  virtual StatusOr<ModelBatchResult> Evaluate(ModelBatch& batch, bool with_gradients) = 0;
};

}  // namespace xai
