// Batching written once for every attribution method: evaluates N rows
// through a ModelFunction in runs of at most `batch_size` rows (never one run
// per row). Rows are produced by a fill callback and results handed to a
// consume callback, so memory holds one run's batch, not N rows. Checks what
// the model returns (one output per row; one gradient per input, shaped like
// that input) and counts runs and rows.
//
// A BatchedEvaluator refers to, but does not own, its ModelFunction, which
// must outlive it. Not thread-safe (nor is the ModelFunction): one per
// attribution call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attribution/model_function.h"
#include "core/status.h"
#include "core/tensor.h"

namespace xai {

// The dtype and per-row shape (without the batch dimension) of one attributed
// input of the model.
struct InputLayout {
  DType dtype = DType::kFloat32;
  Shape row_shape;
};

// The layout of batch-first tensors such as an instance (shape [1, ...]):
// each tensor's dtype and shape without dimension 0.
std::vector<InputLayout> LayoutOf(const std::vector<Tensor>& tensors);

// The rows per run when the caller names none (batch_size kAutoBatchSize).
// SPEC §3 asks for path points in as few runs as possible, and on a small
// model a run's cost is mostly per run: tabular_mlp's 154 SmoothGrad rows
// take 0.05 ms as one run and 0.10 ms as runs of 64. So a run takes as many
// rows as keep its input at most kAutoBatchElements values (64 rows of a
// 224x224 RGB image: MobileNetV2's runs of 64 rows peak at 2.5 GB), between
// 1 and kMaxAutoBatchRows (the cross-request batching's max_rows).
inline constexpr int kAutoBatchSize = 0;
inline constexpr int64_t kAutoBatchElements = int64_t{64} * 224 * 224 * 3;
inline constexpr int kMaxAutoBatchRows = 1024;
int AutoBatchSize(const std::vector<InputLayout>& inputs);

struct BatchedEvaluatorOptions {
  int batch_size = kAutoBatchSize;  // rows per model run, >= 1; kAutoBatchSize: AutoBatchSize.
  bool with_gradients = true;       // false: forward passes only.
  // What row r is, in words, for error messages (e.g. "the baseline (the
  // path's start, alpha = 0)"); empty: "row r of the evaluated batch".
  std::function<std::string(int64_t row)> describe_row;
};

// One row being written by a FillRowFn.
struct RowBuffer {
  // Per input: where this row's values go, NumElements(row_shape) doubles in
  // row-major order. The buffer is reused between rows and runs: the fill
  // callback must write every value.
  std::vector<double*> inputs;
  // The flat index, within this row's output, of the element to evaluate.
  // Reset to 0 before each fill.
  int64_t output_element = 0;
};

// What the model returned for one row. The pointers are valid only during the
// consume callback.
struct RowResult {
  double output = 0;  // the chosen output element's value.
  // Per input: d output / d input for this row, NumElements(row_shape)
  // doubles; empty when gradients were not requested.
  std::vector<const double*> gradients;
};

using FillRowFn = std::function<void(int64_t row, RowBuffer& buffer)>;
using ConsumeRowFn = std::function<void(int64_t row, const RowResult& result)>;

class BatchedEvaluator {
 public:
  BatchedEvaluator(ModelFunction& model, std::vector<InputLayout> inputs,
                   BatchedEvaluatorOptions options = {});

  // Evaluates rows 0..num_rows-1: for each run of at most batch_size rows
  // (AutoBatchSize of the inputs for kAutoBatchSize),
  // calls fill for every row of the run, runs the model once, checks its
  // result and calls consume for every row, in increasing row order. So
  // ceil(num_rows / batch_size) runs, and none for num_rows == 0.
  // Errors: INVALID_ARGUMENT for batch_size < 0 or num_rows < 0; the model's
  // own error as is; INTERNAL naming expected and actual counts or shapes if
  // the model returns a malformed result; FAILED_PRECONDITION if an output or
  // gradient is not finite. Rows consumed before an error stay consumed.
  Status Run(int64_t num_rows, const FillRowFn& fill, const ConsumeRowFn& consume);

  // Totals over every Run of this evaluator (for tests and metrics).
  int64_t runs() const { return runs_; }
  int64_t rows() const { return rows_; }

 private:
  std::string DescribeRow(int64_t row) const;
  // Checks what the model returned for `batch`, whose row 0 is row `first_row`.
  Status CheckResult(const ModelBatch& batch, const ModelBatchResult& result,
                     int64_t first_row) const;

  ModelFunction& model_;
  std::vector<InputLayout> inputs_;
  std::vector<int64_t> row_elements_;  // per input: NumElements(row_shape).
  BatchedEvaluatorOptions options_;
  int64_t runs_ = 0;
  int64_t rows_ = 0;
};

}  // namespace xai
