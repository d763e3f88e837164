#include "attribution/batched_evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "attribution/option_checks.h"
#include "core/number_format.h"
#include "core/wide_loops.h"

namespace xai {

namespace {

// [rows, row_shape...].
Shape BatchShape(int64_t rows, const Shape& row_shape) {
  Shape shape;
  shape.reserve(row_shape.size() + 1);
  shape.push_back(rows);
  shape.insert(shape.end(), row_shape.begin(), row_shape.end());
  return shape;
}

// True if no value is inf or nan: one pass of integer operations without an
// early exit, which the compiler vectorizes (a gradient is checked every run;
// on tabular_mlp a loop that stopped at the first non-finite value took 11,000
// instructions an explanation). A value's exponent bits are all ones exactly
// when it is inf or nan, and then adding 1 to them carries into the sign bit.
XAI_WIDE_LOOPS bool AllFinite(const std::vector<double>& values) {
  constexpr uint64_t kExponent = 0x7ff0000000000000;
  constexpr uint64_t kExponentOne = 0x0010000000000000;
  uint64_t carries = 0;
  for (double v : values) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    carries |= (bits & kExponent) + kExponentOne;
  }
  return (carries >> 63) == 0;
}

}  // namespace

std::vector<InputLayout> LayoutOf(const std::vector<Tensor>& tensors) {
  std::vector<InputLayout> layout;
  layout.reserve(tensors.size());
  for (const Tensor& tensor : tensors) layout.push_back({tensor.dtype, tensor.row_shape()});
  return layout;
}

int AutoBatchSize(const std::vector<InputLayout>& inputs) {
  int64_t row_elements = 0;
  for (const InputLayout& input : inputs) row_elements += NumElements(input.row_shape);
  const int64_t rows = kAutoBatchElements / std::max<int64_t>(row_elements, 1);
  return static_cast<int>(std::clamp<int64_t>(rows, 1, kMaxAutoBatchRows));
}

BatchedEvaluator::BatchedEvaluator(ModelFunction& model, std::vector<InputLayout> inputs,
                                   BatchedEvaluatorOptions options)
    : model_(model), inputs_(std::move(inputs)), options_(options) {
  row_elements_.reserve(inputs_.size());
  for (const InputLayout& input : inputs_) row_elements_.push_back(NumElements(input.row_shape));
}

Status BatchedEvaluator::Run(int64_t num_rows, const FillRowFn& fill, const ConsumeRowFn& consume) {
  XAI_RETURN_IF_ERROR(CheckIntegerOptionAtLeast("batch_size", options_.batch_size, kAutoBatchSize));
  if (num_rows < 0) {
    return InvalidArgument("number of rows to evaluate is " + std::to_string(num_rows) +
                           "; expected >= 0");
  }
  if (inputs_.empty()) return InvalidArgument("no model inputs to evaluate; expected at least one");
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (inputs_[i].dtype == DType::kString) {
      return InvalidArgument("input " + std::to_string(i) +
                             " has dtype string; batched evaluation fills numeric inputs only");
    }
  }
  if (num_rows == 0) return OkStatus();

  // One batch, sized for the largest run and reused by every run.
  const int batch_size = options_.batch_size == kAutoBatchSize ? AutoBatchSize(inputs_) : options_.batch_size;
  const int64_t capacity = std::min<int64_t>(batch_size, num_rows);
  const size_t num_inputs = inputs_.size();
  ModelBatch batch;
  batch.inputs.reserve(num_inputs);
  for (const InputLayout& input : inputs_) {
    batch.inputs.emplace_back(input.dtype, BatchShape(capacity, input.row_shape));
  }
  RowBuffer buffer;
  buffer.inputs.resize(num_inputs);
  RowResult row_result;
  row_result.gradients.resize(options_.with_gradients ? num_inputs : 0);

  for (int64_t first = 0; first < num_rows; first += capacity) {
    const int64_t run_rows = std::min(capacity, num_rows - first);
    for (size_t i = 0; i < num_inputs; ++i) {
      batch.inputs[i].shape[0] = run_rows;
      batch.inputs[i].values.resize(run_rows * row_elements_[i]);
    }
    batch.output_element.resize(run_rows);
    for (int64_t r = 0; r < run_rows; ++r) {
      for (size_t i = 0; i < num_inputs; ++i) {
        buffer.inputs[i] = batch.inputs[i].values.data() + r * row_elements_[i];
      }
      buffer.output_element = 0;
      fill(first + r, buffer);
      batch.output_element[r] = buffer.output_element;
    }

    ++runs_;
    rows_ += run_rows;
    XAI_ASSIGN_OR_RETURN(ModelBatchResult result, model_.Evaluate(batch, options_.with_gradients));
    XAI_RETURN_IF_ERROR(CheckResult(batch, result, first));

    for (int64_t r = 0; r < run_rows; ++r) {
      row_result.output = result.outputs[r];
      for (size_t i = 0; i < row_result.gradients.size(); ++i) {
        row_result.gradients[i] = result.gradients[i].values.data() + r * row_elements_[i];
      }
      consume(first + r, row_result);
    }
  }
  return OkStatus();
}

std::string BatchedEvaluator::DescribeRow(int64_t row) const {
  if (options_.describe_row) return options_.describe_row(row);
  return "row " + std::to_string(row) + " of the evaluated batch";
}

Status BatchedEvaluator::CheckResult(const ModelBatch& batch, const ModelBatchResult& result,
                                     int64_t first_row) const {
  const int64_t run_rows = batch.inputs[0].shape[0];
  if (static_cast<int64_t>(result.outputs.size()) != run_rows) {
    return Internal("model returned " + std::to_string(result.outputs.size()) +
                    " outputs for a batch of " + std::to_string(run_rows) +
                    " rows; expected one output per row");
  }
  // The element a row evaluated: the function's choice, if it made one.
  auto element = [&](int64_t r) {
    return std::to_string(static_cast<size_t>(r) < result.chosen_elements.size() ? result.chosen_elements[r]
                                                                                 : batch.output_element[r]);
  };
  for (int64_t r = 0; r < run_rows; ++r) {
    if (!std::isfinite(result.outputs[r])) {
      return FailedPrecondition("model output element " + element(r) +
                                " is " + NonFiniteName(result.outputs[r]) + " at " + DescribeRow(first_row + r) +
                                "; attributions of a non-finite output are undefined (the model overflowed there, "
                                "or met a value outside an op's domain, such as the log of a negative number), so "
                                "check that the instance, its baselines and any SmoothGrad noise (noiseSigma) stay "
                                "within the range the model works in");
    }
  }
  if (!options_.with_gradients) return OkStatus();

  if (result.gradients.size() != batch.inputs.size()) {
    return Internal("model returned " + std::to_string(result.gradients.size()) +
                    " gradient tensors; expected " + std::to_string(batch.inputs.size()) +
                    ", one per attributed input");
  }
  for (size_t i = 0; i < batch.inputs.size(); ++i) {
    const Tensor& gradient = result.gradients[i];
    const Shape& expected = batch.inputs[i].shape;
    if (gradient.shape != expected) {
      return Internal("gradient of input " + std::to_string(i) + ": expected shape " +
                      ShapeToString(expected) + ", actual " + ShapeToString(gradient.shape));
    }
    if (static_cast<int64_t>(gradient.values.size()) != NumElements(expected)) {
      return Internal("gradient of input " + std::to_string(i) + " holds " +
                      std::to_string(gradient.values.size()) + " values; expected " +
                      std::to_string(NumElements(expected)) + " for shape " +
                      ShapeToString(expected));
    }
    if (AllFinite(gradient.values)) continue;
    for (size_t e = 0; e < gradient.values.size(); ++e) {
      if (!std::isfinite(gradient.values[e])) {
        const int64_t r = static_cast<int64_t>(e) / std::max<int64_t>(row_elements_[i], 1);
        return FailedPrecondition("gradient of input " + std::to_string(i) + " is " +
                                  NonFiniteName(gradient.values[e]) + " at " + DescribeRow(first_row + r) +
                                  ", for output element " + element(r) +
                                  "; attributions of a non-finite gradient are undefined (e.g. sqrt or log at 0): "
                                  "check that the instance, its baselines and any SmoothGrad noise (noiseSigma) "
                                  "stay within the range the model works in");
      }
    }
  }
  return OkStatus();
}

}  // namespace xai
