// A loaded model, ready to predict and explain: the TensorFlow runtime
// (through the ModelRuntime interface), the signature selection of SPEC §1.1,
// and the explanation metadata bound to graph tensors. Adapts the runtime to
// the attribution methods' ModelFunction view.
//
// Loading fails for what makes the model unusable (no SavedModel, bad
// metadata). What only makes it unexplainable (signature rules, a mismatched
// xai_preprocess, no differentiable input) is kept in explain_status(), so
// the model still predicts and `inspect` can say why.
//
// Thread-safe: Predict and Explain may be called concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "attribution/attribution_method.h"
#include "attribution/batched_evaluator.h"
#include "core/status.h"
#include "core/tensor.h"
#include "model/explanation_metadata.h"
#include "model/signature_rules.h"
#include "runtime/model_runtime.h"

namespace xai {

// One instance or a batch of them: tensors keyed by signature input key.
using NamedTensors = std::map<std::string, Tensor>;

// SmoothGrad as a request asks for it (SPEC §3): absolute Gaussian noise on
// the instance, one sigma for all features or one per named input.
struct SmoothGradRequest {
  double noise_sigma = 0;
  std::map<std::string, double> feature_noise_sigma;  // metadata input name -> sigma
  int noisy_sample_count = 3;                        // [1, 50]
};

// Instances per Predict run, for `xaiserve predict` (its --batch-size default)
// and :predict alike, so both give the same numbers.
inline constexpr int kPredictBatchSize = 64;

// Beyond the cloud service, for the server: what bounds one request's work.
// Spend is called before every model run of the request's explanations (a
// run it refuses is not made), so a request stops within one run of its
// client going away or of its budget running out. One per request, used by
// one thread at a time.
struct WorkBudget {
  int64_t max_path_points = 0;        // rows of model runs the request may evaluate; 0: no bound.
  std::function<bool()> client_gone;  // true once no one waits for the answer; empty: never.
  int64_t path_points = 0;            // rows evaluated so far.

  // Takes `rows` more: CANCELLED if the client is gone, RESOURCE_EXHAUSTED
  // past max_path_points.
  Status Spend(int64_t rows);
};

// What one explain request asks for; defaults are the cloud service's.
// One output element named by a request: its coordinates, one per dimension
// of the output's row ([i] for a vector, [i, j] for a matrix, as a request's
// list [[i, j]] gives them), or, when `flat`, its row-major position (a bare
// number in the request, [k], which names element k of an output of any shape).
struct OutputIndex {
  std::vector<int64_t> coordinates;
  bool flat = false;

  bool operator==(const OutputIndex& other) const { return coordinates == other.coordinates && flat == other.flat; }
  bool operator<(const OutputIndex& other) const {
    return std::tie(flat, coordinates) < std::tie(other.flat, other.coordinates);
  }
};

struct ExplainOptions {
  std::string method = "integrated-gradients";  // or "sampled-shapley", "xrai"
  int step_count = 50;                          // IG and XRAI path steps, [1, 100]
  int path_count = 10;                          // Sampled Shapley permutations, [1, 50]
  std::optional<SmoothGradRequest> smooth_grad; // IG and XRAI
  std::optional<double> max_blur_sigma;         // IG and XRAI: blur baseline
  bool xrai_fast = false;                       // beyond the cloud service: XraiOptions::fast
  int batch_size = kAutoBatchSize;              // path points per model run; default: AutoBatchSize
  // Beyond the cloud service: raise step_count / path_count (doubling, up to
  // the maximum) until approximationError <= this target.
  std::optional<double> approximation_error_target;
  // Output elements to explain, each an index within one row of the output.
  // Empty: the top_k largest (default: the argmax).
  std::vector<OutputIndex> output_indices;
  int top_k = 1;            // -1: every element of the output.
  std::string output_name;  // metadata output to explain; empty: the only one.
  // Per metadata input name: baselines that replace the metadata's.
  std::map<std::string, std::vector<Json>> baseline_overrides;
  WorkBudget* budget = nullptr;  // not owned; null: unbounded.
};

// A metadata input bound to a graph tensor of the explaining signature.
struct BoundInput {
  InputMetadata metadata;
  // The graph tensor attributions are taken for: the input tensor, or for the
  // embedding encodings the encoded tensor (encoded_tensor_name).
  TensorInfo tensor;
  std::string signature_key;  // the explaining signature's input key, or empty for an internal tensor.
  // combined_embedding / concat_embedding: attributions on the encoded tensor
  // are summed over its last (embedding) dimension back onto the feature.
  bool folds_embedding = false;

  // The metadata's baselines for `tensor`, and the field that holds them.
  const std::vector<Json>& metadata_baselines() const {
    return folds_embedding ? metadata.encoded_baselines : metadata.input_baselines;
  }
  const char* metadata_baselines_field() const { return folds_embedding ? "encoded_baselines" : "input_baselines"; }
};

struct BoundOutput {
  OutputMetadata metadata;
  TensorInfo tensor;
};

struct OutputAttribution {
  std::string output_name;
  std::vector<int64_t> output_index;  // within one row; empty for a scalar output.
  std::string output_display_name;    // from index_name_mapping, if any.
  Attribution attribution;            // one tensor per bound input, in explained_inputs() order.
};

struct InstanceExplanation {
  std::vector<OutputAttribution> outputs;
  std::string method;            // the method used
  bool budget_reported = false;  // an approximation target was given: report steps/paths used.
  // Rows the attribution method ran through the model (path points of every
  // baseline, output and noisy sample; Shapley coalitions): for metrics.
  int64_t rows_evaluated = 0;
  // The predict signature's outputs for the instance, keyed by output key,
  // when the explaining signature is the predict signature (no
  // xai_preprocess, no xai_model): fetched in the run that reads the
  // explained output, so callers need no separate Predict run.
  std::optional<NamedTensors> predictions;
};

struct LoadOptions {
  std::optional<std::string> metadata_path;  // instead of DIR/explanation_metadata.json
  std::optional<int64_t> version;            // for a base directory of versions
  // Merge the model runs of concurrent explanations (their path points) into
  // shared runs (serving/batching_runtime.h). Predictions and the forward pass
  // at the instance are never merged. Off by default; `xaiserve serve
  // --cross-request-batching` turns it on.
  bool batch_concurrent_runs = false;
};

class BatchingRuntime;
struct BatchingStats;

class ExplainableModel {
 public:
  static StatusOr<std::shared_ptr<ExplainableModel>> Load(const std::string& dir, const LoadOptions& options = {});

  const std::string& path() const { return runtime_->path(); }
  int64_t version() const { return version_; }
  bool is_tf1_graph() const { return runtime_->is_tf1_graph(); }
  int saved_custom_gradients() const { return runtime_->saved_custom_gradients(); }
  // What loading left out or ignored, for the user (ModelRuntime::load_notes and the model's own).
  std::vector<std::string> load_notes() const;
  // For gradient methods, when the model saves custom gradients: what they
  // mean for its attributions (empty otherwise).
  std::string CustomGradientsNote() const;
  const std::vector<SignatureInfo>& signatures() const { return runtime_->signatures(); }
  const SignatureSelection& selection() const { return selection_; }
  const ExplanationMetadata& metadata() const { return metadata_; }
  const std::vector<BoundInput>& explained_inputs() const { return inputs_; }
  const std::vector<BoundOutput>& explained_outputs() const { return outputs_; }
  // The explained output of metadata name `name` (OutputAttribution::output_name), or nullptr.
  const BoundOutput* ExplainedOutput(const std::string& name) const;

  // Whether explanations' model runs are merged across concurrent requests
  // (LoadOptions::batch_concurrent_runs), and the merging so far.
  bool batches_concurrent_runs() const { return batching_ != nullptr; }
  BatchingStats run_batching_stats() const;

  // OK if Explain can work; otherwise why not and what to do.
  const Status& explain_status() const { return explain_status_; }
  // Whether gradients of every explained output with respect to the
  // attributed tensors can be built (the gradient graphs are built and kept):
  // the names of the attributed inputs whose gradient is zero everywhere (no
  // explained output depends on them through ops with gradients), usually
  // none. FAILED_PRECONDITION naming the op without a gradient otherwise.
  StatusOr<std::vector<std::string>> CheckGradients();
  // For gradient methods: what it means that `inputs` (from CheckGradients)
  // have no gradient; empty if there are none.
  static std::string NoGradientNote(const std::vector<std::string>& inputs);

  // The signature whose inputs an explain request gives (xai_preprocess if
  // present, else the explaining signature); null if explaining is impossible.
  const SignatureInfo* explain_entry_signature() const { return entry_; }
  // The signature the rules chose to explain with (xai_model, or the only
  // one), even when its metadata could not be bound; null if none.
  const SignatureInfo* explain_signature() const { return explain_signature_; }
  // True when no metadata file was given and the explaining signature has no
  // floating-point input to infer metadata for (explain_status says so).
  bool inferred_no_inputs() const { return inferred_no_inputs_; }

  // The signature to predict with: `key` if given, else the selected one.
  StatusOr<const SignatureInfo*> PredictSignature(const std::string& key = "") const;
  // Runs `signature` on a batch; returns its outputs keyed by output key.
  StatusOr<NamedTensors> Predict(const SignatureInfo& signature, const NamedTensors& batch);

  // Explains one instance (batch size 1, keyed by the entry signature's inputs).
  StatusOr<InstanceExplanation> Explain(const NamedTensors& instance, const ExplainOptions& options);

 private:
  // One instance, ready to attribute: the attributed tensors' values (as
  // float64 for floating dtypes), their graph tensors, the explained output's
  // value, and the other inputs held fixed.
  struct PreparedInstance {
    std::vector<Tensor> values;
    std::vector<TensorInfo> attributed;
    Tensor output_value;
    std::vector<Feed> fixed_feeds;
    std::optional<NamedTensors> predictions;  // see InstanceExplanation::predictions
  };

  ExplainableModel() = default;
  StatusOr<const BoundOutput*> ChooseOutput(const std::string& name) const;
  // The instance ready to attribute. With `forward`, one run reads the
  // output at the instance (and any internal attributed tensor); without,
  // every attributed tensor must be a signature input, and output_value and
  // predictions are left empty.
  StatusOr<PreparedInstance> Prepare(const NamedTensors& instance, const BoundOutput& output, bool forward);
  // No xai_preprocess, and the explaining signature is the one that predicts:
  // its outputs at the instance are the predictions (InstanceExplanation).
  bool ExplainingSignaturePredicts() const;
  StatusOr<std::vector<int64_t>> OutputElements(const BoundOutput& output, const Tensor& value,
                                                const ExplainOptions& options) const;
  // The baselines of `values` (the attributed inputs, held as float64 when
  // floating point), checked against the dtypes of the tensors `attributed`.
  StatusOr<std::vector<std::vector<Tensor>>> Baselines(const std::vector<Tensor>& values,
                                                       const std::vector<TensorInfo>& attributed,
                                                       const ExplainOptions& options) const;
  // Input `input`'s metadata baselines (or a zero one) for this dtype and row
  // shape, checked against the model's dtype, read from the metadata once and
  // reused (metadata_baselines_).
  StatusOr<std::vector<Tensor>> MetadataBaselineTensors(size_t input, DType dtype, DType model_dtype,
                                                        const Shape& row_shape) const;
  Status BindMetadata();
  // The tensor a metadata name refers to: a key or tensor of `candidates`
  // (the explaining signature's inputs or outputs), else any graph tensor.
  StatusOr<TensorInfo> ResolveTensor(const std::string& name, const std::vector<TensorInfo>& candidates,
                                     const std::string& field, const std::string& kind,
                                     const std::string& signature_key) const;
  // INVALID_ARGUMENT unless `values` has exactly the signature's input keys.
  Status CheckInputKeys(const SignatureInfo& signature, const NamedTensors& values) const;
  StatusOr<std::vector<Feed>> FeedsFor(const SignatureInfo& signature, const NamedTensors& values) const;

  std::shared_ptr<ModelRuntime> runtime_;
  std::shared_ptr<BatchingRuntime> batching_;  // over runtime_, for path points; null unless batch_concurrent_runs
  int64_t version_ = 0;
  SignatureSelection selection_;
  ExplanationMetadata metadata_;
  std::vector<std::string> notes_;  // load_notes beyond the runtime's
  Status explain_status_;
  const SignatureInfo* explain_signature_ = nullptr;
  bool inferred_no_inputs_ = false;
  const SignatureInfo* preprocess_signature_ = nullptr;
  const SignatureInfo* entry_ = nullptr;
  std::vector<BoundInput> inputs_;
  std::vector<BoundOutput> outputs_;

  // Per input, its metadata baselines as tensors for the dtype and row shape
  // they were last made for: Baselines reuses them instead of reading the
  // JSON again for every explanation (4 us of a 0.15 ms tabular one).
  struct MetadataBaselines {
    DType dtype = DType::kFloat32;
    Shape row_shape;
    std::vector<Tensor> tensors;
  };
  mutable std::mutex metadata_baselines_mutex_;
  mutable std::map<size_t, MetadataBaselines> metadata_baselines_;
};

}  // namespace xai
