// The one interface between xaiserve and TensorFlow. Implemented by
// tf_saved_model.cc, which (with tf_gradient_graph.cc) is the only code that
// includes TensorFlow headers; everything else sees this header and the
// project's own Tensor.
//
// A ModelRuntime is a loaded SavedModel (its `serve` MetaGraph): it lists the
// signatures, runs graph tensors forward, and runs forward plus the gradient
// of one chosen output element per row with respect to chosen tensors.
// Tensors are addressed by graph name ("serving_default_x:0", "dense_input:0").
//
// A SparseTensor input of a signature (a TF1 `coo_sparse` input: values,
// indices and dense_shape tensors) is seen through its dense view: it is
// named by its values tensor, fed as a dense batch of its dense shape
// (absent elements 0), and its gradient comes back dense (0 at the absent
// elements: an element not fed has no gradient). Only the runtime sees the
// COO form (core/sparse_tensor.h); sparse outputs are refused at load time.
// Thread-safe: Run and RunWithGradients may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace xai {

struct TensorInfo {
  std::string key;          // the signature's name for it ("features"); empty for graph tensors.
  std::string tensor_name;  // graph tensor name, "node:index".
  DType dtype = DType::kFloat32;
  bool rank_known = true;
  Shape shape;              // -1 for unknown dimensions; a sparse input's dense shape.
  // A SparseTensor input: tensor_name is its values tensor, and these its
  // indices and dense_shape tensors. Empty for a dense tensor.
  std::string sparse_indices_tensor;
  std::string sparse_dense_shape_tensor;

  bool is_sparse() const { return !sparse_indices_tensor.empty(); }
};

struct SignatureInfo {
  std::string key;          // "serving_default", "xai_model", ...
  std::string method_name;  // "tensorflow/serving/predict", ...
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
};

using Feed = std::pair<std::string, Tensor>;  // graph tensor name -> batch value.

// A target_element entry: the element with the largest value in row `row`'s
// target (the first of equal maxima), chosen within the same run. Lets a
// caller explain "the top output at the instance" by the row that holds the
// instance, without a forward run of its own first. Encoded as -1 - row.
inline constexpr int64_t ArgmaxOfRow(int64_t row) { return -1 - row; }

struct GradientRequest {
  std::vector<Feed> feeds;
  // The differentiated tensor (batch-first, floating point) and, per row of
  // the batch, the flat index of the element within that row whose gradient
  // is taken, or ArgmaxOfRow(r) for a row r of the batch. Rows are independent: the gradient of
  // their sum is taken once.
  std::string target;
  std::vector<int64_t> target_element;
  // Tensors to differentiate with respect to (floating point).
  std::vector<std::string> wrt;
};

struct GradientResult {
  Tensor target_value;                 // the full target tensor.
  std::vector<Tensor> gradients;       // one per `wrt`, each shaped like that tensor.
  std::vector<int64_t> chosen_element; // per row: target_element, with ArgmaxOfRow resolved.
};

class ModelRuntime {
 public:
  virtual ~ModelRuntime() = default;

  // The directory the model was loaded from.
  virtual const std::string& path() const = 0;
  // Signatures of the `serve` MetaGraph, sorted by key, without the internal
  // `__saved_model_init_op`.
  virtual const std::vector<SignatureInfo>& signatures() const = 0;
  // True for graphs with no function library calls (TensorFlow 1 exports).
  virtual bool is_tf1_graph() const = 0;
  // How many gradients the SavedModel registers for its own ops
  // (tf.custom_gradient, saved with experimental_custom_gradients). The
  // gradient graph does not apply them: it differentiates the forward ops.
  virtual int saved_custom_gradients() const { return 0; }
  // What loading left out, one sentence each: signature outputs of a dtype
  // xaiserve cannot hold (complex64, quint8, ...), so that the model's other
  // outputs still serve.
  virtual std::vector<std::string> load_notes() const { return {}; }
  // Looks up any graph tensor by name ("dense_input:0" or "dense_input").
  virtual StatusOr<TensorInfo> DescribeTensor(const std::string& name) const = 0;

  // Runs the graph: feeds by tensor name, returns the fetched tensors in order.
  // A feed of a sparse input's values tensor is its dense batch: each row's
  // nonzero elements are fed as the entries (batch row as first coordinate).
  virtual StatusOr<std::vector<Tensor>> Run(const std::vector<Feed>& feeds,
                                            const std::vector<std::string>& fetches) = 0;
  // One run computing the target and d target[row, target_element[row]] /
  // d wrt for every row. The gradient graph for (target, wrt) is built on
  // first use (function calls inlined, symbolic gradients added) and reused.
  // Fails with FAILED_PRECONDITION naming the op if an op on the path has no
  // registered gradient. For a sparse input in `wrt`, the gradient with
  // respect to its values is scattered back to the dense view.
  virtual StatusOr<GradientResult> RunWithGradients(const GradientRequest& request) = 0;
  // Builds (and caches) the gradient graph for (target, wrt) without running
  // it: tells early whether gradient methods can explain the model. Per wrt
  // tensor: whether its gradient is the derivative. False: the target depends
  // on it only through ops without a gradient (e.g. a bucketing or an integer
  // cast), so its gradient reads zero everywhere although it is not. True
  // also for a tensor the target does not depend on at all: its gradient is
  // zero, exactly.
  virtual StatusOr<std::vector<bool>> PrepareGradients(const std::string& target,
                                                       const std::vector<std::string>& wrt) = 0;
};

struct RuntimeOptions {
  // A short run (run_placement.h) does its ops' own work in the caller's
  // thread too, not only their scheduling. Off under cross-request batching
  // (serving/batching_runtime.h), whose merging needs runs in flight long
  // enough for concurrent calls to queue behind them.
  bool short_runs_entirely_in_caller_thread = true;
};

// The TensorFlow release this runtime is built on ("2.20.0"), or "none" in a
// build without TensorFlow (no_tensorflow_runtime.cc).
std::string TensorFlowVersion();

// Loads the SavedModel in `dir` (saved_model.pb + variables/) with tag `serve`.
StatusOr<std::unique_ptr<ModelRuntime>> LoadSavedModelRuntime(const std::string& dir,
                                                              const RuntimeOptions& options = {});

}  // namespace xai
