#include "model/explainable_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <optional>
#include <utility>

#include "core/tensor_name.h"
#include "model/attribution_setup.h"
#include "model/model_dir.h"
#include "serving/batching_runtime.h"

namespace xai {
namespace {

constexpr char kMetadataFileName[] = "explanation_metadata.json";

// Whether output value a ranks above b when the top outputs are chosen: the
// larger, with NaN below every number (as TensorFlow's ArgMax, which the
// runtime uses to choose in the run, never picks a NaN beside a number).
bool RanksAbove(double a, double b) { return !std::isnan(a) && (std::isnan(b) || a > b); }

// index_name_mapping against the output it names, when the output's row shape
// is known: one name per element (a list one short of the classes left the
// last class unnamed, silently), and a nested list shaped like the row.
Status CheckDisplayNames(const OutputMetadata& md, const TensorInfo& output, const std::string& source) {
  if (md.index_name_mapping.empty() || !output.rank_known || output.shape.empty()) return OkStatus();
  const Shape row(output.shape.begin() + 1, output.shape.end());
  if (std::any_of(row.begin(), row.end(), [](int64_t d) { return d < 0; })) return OkStatus();
  const int64_t elements = NumElements(row);
  const size_t names = md.index_name_mapping.size();
  const std::string field = source + ": outputs." + md.name + ".index_name_mapping";
  const std::string output_text = "output '" + (output.key.empty() ? output.tensor_name : output.key) + "' has " +
                                  std::to_string(elements) + (elements == 1 ? " element" : " elements") +
                                  " per instance (shape " + ShapeToString(output.shape) + ")";
  if (static_cast<int64_t>(names) != elements) {
    return InvalidArgument(field + " gives " + std::to_string(names) + (names == 1 ? " name" : " names") + ", but " +
                           output_text + ": give one display name per element, in row-major order");
  }
  if (md.index_name_mapping_shape.size() > 1 && md.index_name_mapping_shape != row) {
    return InvalidArgument(field + " is nested as " + ShapeToString(md.index_name_mapping_shape) + ", but " +
                           output_text + ": nest it as " + ShapeToString(row) + ", or give a flat list in row-major "
                           "order");
  }
  return OkStatus();
}

// A batch-first tensor without its last row.
void DropLastRow(Tensor* batch) {
  batch->values.resize(batch->values.size() - batch->row_elements());
  batch->shape[0] -= 1;
}

// The attributed model as the attribution methods see it: the attributed
// tensors are fed from the batch, every other input is held at the
// instance's value, and one element of the target per row is returned.
//
// With ChooseOutputAtInstance, the explained element is not known up front:
// it is the largest output at the instance. Then the methods ask for element
// 0, meaning "the chosen one"; the first Evaluate lets the runtime pick the
// argmax of the row that holds the instance in the same run (ArgmaxOfRow),
// which saves a separate forward run per explanation. That row is one of the
// batch's own when one equals the instance (Integrated Gradients' alpha = 1
// point, SmoothGrad's noiseless probe), else the instance is fed as an extra
// last row. The instance's output row comes from that run too.
class RuntimeModelFunction final : public ModelFunction {
 public:
  RuntimeModelFunction(ModelRuntime* runtime, std::vector<Feed> fixed_feeds, std::vector<TensorInfo> attributed,
                       std::string target, WorkBudget* budget)
      : runtime_(runtime), fixed_feeds_(std::move(fixed_feeds)), attributed_(std::move(attributed)), budget_(budget) {
    // What every gradient run asks for; only its feeds and elements change.
    request_.target = std::move(target);
    for (const TensorInfo& t : attributed_) request_.wrt.push_back(t.tensor_name);
  }

  // `instance`: per attributed tensor, its value at the instance ([1, ...],
  // float64 like the methods' batches); it must outlive this function.
  void ChooseOutputAtInstance(const std::vector<Tensor>* instance) { instance_ = instance; }
  bool chooses_output() const { return instance_ != nullptr; }
  int64_t chosen_element() const { return chosen_element_; }
  const Tensor& instance_output() const { return instance_output_; }  // [1, ...]: the target at the instance.

  StatusOr<ModelBatchResult> Evaluate(ModelBatch& batch, bool with_gradients) override {
    const int64_t rows = static_cast<int64_t>(batch.output_element.size());
    rows_evaluated_ += rows;
    if (batch.inputs.size() != attributed_.size()) {
      return Internal("model function: expected " + std::to_string(attributed_.size()) + " inputs, got " +
                      std::to_string(batch.inputs.size()));
    }
    std::vector<int64_t> elements = batch.output_element;
    const bool choose_now = chooses_output() && chosen_element_ < 0;
    // Choosing now: the row that holds the instance, and whether it is appended.
    int64_t instance_row = choose_now ? RowEqualToInstance(batch) : -1;
    const bool append_instance = choose_now && instance_row < 0;
    if (append_instance) instance_row = rows;
    if (chooses_output()) {
      for (int64_t e : elements) {
        if (e != 0) return Internal("model function: element " + std::to_string(e) + " asked for; only 0 (the chosen)");
      }
      std::fill(elements.begin(), elements.end(), choose_now ? ArgmaxOfRow(instance_row) : chosen_element_);
      if (append_instance) elements.push_back(ArgmaxOfRow(instance_row));
    }
    const int64_t run_rows = static_cast<int64_t>(elements.size());
    if (budget_ != nullptr) XAI_RETURN_IF_ERROR(budget_->Spend(run_rows));
    std::vector<Feed> feeds;
    for (const auto& [name, value] : fixed_feeds_) feeds.emplace_back(name, RepeatRow(value, run_rows));
    // The batch's tensors are fed as they are, lent (model_function.h), not
    // copied: on MobileNetV2 a copy is 62 MB per run. With the instance
    // appended, the feeds are new tensors.
    const size_t first_attributed_feed = feeds.size();
    std::vector<DType> lent_dtypes;
    for (size_t i = 0; i < attributed_.size(); ++i) {
      Tensor t;
      if (append_instance) {
        XAI_ASSIGN_OR_RETURN(t, ConcatRows(batch.inputs[i], (*instance_)[i]));
      } else {
        lent_dtypes.push_back(batch.inputs[i].dtype);
        t = std::move(batch.inputs[i]);
      }
      t.dtype = attributed_[i].dtype;  // attribution math is in double; feed the model's dtype.
      feeds.emplace_back(attributed_[i].tensor_name, std::move(t));
    }
    auto give_back = [&](std::vector<Feed>& fed) {
      for (size_t i = 0; i < lent_dtypes.size(); ++i) {
        batch.inputs[i] = std::move(fed[first_attributed_feed + i].second);
        batch.inputs[i].dtype = lent_dtypes[i];
      }
    };
    ModelBatchResult result;
    Tensor target_value;
    if (with_gradients) {
      request_.feeds = std::move(feeds);
      request_.target_element = std::move(elements);
      StatusOr<GradientResult> run = runtime_->RunWithGradients(request_);
      give_back(request_.feeds);
      request_.feeds.clear();
      elements = std::move(request_.target_element);
      XAI_RETURN_IF_ERROR(run.status());
      target_value = std::move(run->target_value);
      result.gradients = std::move(run->gradients);
      for (Tensor& g : result.gradients) g.dtype = DType::kFloat64;
      if (choose_now && !run->chosen_element.empty()) chosen_element_ = run->chosen_element.back();
    } else {
      StatusOr<std::vector<Tensor>> run = runtime_->Run(feeds, {request_.target});
      give_back(feeds);
      XAI_RETURN_IF_ERROR(run.status());
      target_value = std::move((*run)[0]);
    }
    if (target_value.batch_size() != run_rows || target_value.shape.empty()) {
      return FailedPrecondition("output '" + request_.target + "' has shape " + ShapeToString(target_value.shape) +
                                " for a batch of " + std::to_string(run_rows) +
                                " rows; explained outputs must be batch-first");
    }
    const int64_t row_elements = target_value.row_elements();
    if (choose_now) {
      instance_output_ = SliceRows(target_value, instance_row, instance_row + 1);
      if (!with_gradients) {  // the same choice as the runtime's: the first of equal maxima.
        const auto& v = instance_output_.values;
        chosen_element_ = std::max_element(v.begin(), v.end(), [](double a, double b) { return RanksAbove(b, a); }) -
                          v.begin();
      }
      if (append_instance) {
        DropLastRow(&target_value);
        for (Tensor& g : result.gradients) DropLastRow(&g);
        elements.pop_back();
      }
      std::fill(elements.begin(), elements.end(), chosen_element_);
    }
    if (chooses_output() && (chosen_element_ < 0 || chosen_element_ >= row_elements)) {
      return Internal("model function: chose element " + std::to_string(chosen_element_) + " of " +
                      std::to_string(row_elements));
    }
    if (chooses_output()) result.chosen_elements = elements;
    result.outputs.resize(rows);
    for (int64_t r = 0; r < rows; ++r) {
      result.outputs[r] = target_value.values[r * row_elements + elements[r]];
    }
    return result;
  }

  int64_t rows_evaluated() const { return rows_evaluated_; }

 private:
  // The last row of `batch` whose every input equals the instance's (bit for
  // bit), or -1.
  int64_t RowEqualToInstance(const ModelBatch& batch) const {
    const int64_t rows = static_cast<int64_t>(batch.output_element.size());
    for (int64_t r = rows - 1; r >= 0; --r) {
      bool equal = true;
      for (size_t i = 0; i < instance_->size() && equal; ++i) {
        const std::vector<double>& x = (*instance_)[i].values;
        equal = batch.inputs[i].values.size() == static_cast<size_t>(rows) * x.size() &&
                std::memcmp(batch.inputs[i].values.data() + r * x.size(), x.data(), x.size() * sizeof(double)) == 0;
      }
      if (equal) return r;
    }
    return -1;
  }

  ModelRuntime* runtime_;
  std::vector<Feed> fixed_feeds_;
  std::vector<TensorInfo> attributed_;
  WorkBudget* budget_;  // null: unbounded
  GradientRequest request_;  // target and wrt set once; feeds and elements lent for each run.
  int64_t rows_evaluated_ = 0;
  const std::vector<Tensor>* instance_ = nullptr;  // set: choose the output at the instance.
  int64_t chosen_element_ = -1;
  Tensor instance_output_;
};

// A baseline given in metadata or a request, as a tensor of `dtype` shaped
// like one instance ([1, ...row_shape]); a scalar broadcasts. Values are
// checked against the dtype (integral for integer inputs).
StatusOr<Tensor> BaselineTensor(const Json& value, DType dtype, const Shape& row_shape, const std::string& where) {
  if (value.is_number()) {
    XAI_ASSIGN_OR_RETURN(Tensor scalar, TensorRowFromJson(value, dtype, Shape{}, where));
    Tensor t(dtype, row_shape);
    t.shape.insert(t.shape.begin(), 1);
    std::fill(t.values.begin(), t.values.end(), scalar.values[0]);
    return t;
  }
  if (!value.is_array()) {
    return InvalidArgument(where + ": a baseline is a number or a list of numbers shaped like one instance, got " +
                           std::string(value.type_name()) + " " + value.dump().substr(0, 100));
  }
  XAI_ASSIGN_OR_RETURN(Shape shape, JsonArrayShape(value, where));
  if (shape != row_shape) {
    return InvalidArgument(where + ": baseline has shape " + ShapeToString(shape) + " but the input has shape " +
                           ShapeToString(row_shape) + " per instance; give a scalar or a value of that shape");
  }
  return TensorRowFromJson(value, dtype, row_shape, where);
}

// One tensor per baseline given for input `name` (none given: a zero
// baseline), of `dtype`. Values are checked against the model's own dtype
// (a float32 input's baseline of 1e39 overflows), which attribution holds
// as float64.
StatusOr<std::vector<Tensor>> BaselineTensors(const std::vector<Json>& given, DType dtype, DType model_dtype,
                                              const Shape& row_shape, const std::string& name) {
  if (given.empty()) return BaselineTensors({Json(0.0)}, dtype, model_dtype, row_shape, name);
  std::vector<Tensor> tensors;
  tensors.reserve(given.size());
  for (size_t b = 0; b < given.size(); ++b) {
    XAI_ASSIGN_OR_RETURN(Tensor t, BaselineTensor(given[b], model_dtype, row_shape,
                                                  "input '" + name + "' baseline " + std::to_string(b)));
    t.dtype = dtype;
    tensors.push_back(std::move(t));
  }
  return tensors;
}

// The shape of one instance of `tensor` (its shape without the batch
// dimension), if the signature fixes every dimension of it.
std::optional<Shape> FixedRowShape(const TensorInfo& tensor) {
  if (!tensor.rank_known || tensor.shape.empty()) return std::nullopt;
  Shape row_shape(tensor.shape.begin() + 1, tensor.shape.end());
  if (std::any_of(row_shape.begin(), row_shape.end(), [](int64_t d) { return d < 0; })) return std::nullopt;
  return row_shape;
}

// Whether the signature gives `tensor` no elements per instance: a dimension
// of 0 beside the batch one, whatever the others.
bool NoElementsPerRow(const TensorInfo& tensor) {
  return tensor.rank_known && tensor.shape.size() > 1 &&
         std::any_of(tensor.shape.begin() + 1, tensor.shape.end(), [](int64_t d) { return d == 0; });
}

// The metadata's baselines for a numeric input whose shape per instance the
// signature fixes, checked when the model loads: one that cannot fit the
// tensor would otherwise fail every explanation as if the request were wrong.
// (A dynamic shape is checked at each explanation, MetadataBaselineTensors.)
Status CheckMetadataBaselines(const std::string& where, const BoundInput& in) {
  const std::optional<Shape> row_shape = FixedRowShape(in.tensor);
  if (in.metadata_baselines().empty() || !row_shape || in.tensor.dtype == DType::kString) return OkStatus();
  const DType held = IsFloating(in.tensor.dtype) ? DType::kFloat64 : in.tensor.dtype;
  const Status checked =
      BaselineTensors(in.metadata_baselines(), held, in.tensor.dtype, *row_shape, in.metadata.name).status();
  if (checked.ok()) return OkStatus();
  return InvalidArgument(where + "." + in.metadata_baselines_field() + ": " + checked.message());
}

// When an input's metadata baselines are as many scalars as it has values
// per instance ([1, 2, 3, 4] for a [4] input), a note that they are read as
// that many scalar baselines, not one baseline of those values: the cloud's
// format reads them so, and the other reading was likely meant. Else "".
std::string FlatBaselinesNote(const std::string& field, const BoundInput& in) {
  const std::vector<Json>& baselines = in.metadata_baselines();
  const std::optional<Shape> row_shape = FixedRowShape(in.tensor);
  if (!row_shape || baselines.size() < 2 || static_cast<int64_t>(baselines.size()) != NumElements(*row_shape) ||
      !std::all_of(baselines.begin(), baselines.end(), [](const Json& b) { return b.is_number(); })) {
    return "";
  }
  const std::string n = std::to_string(baselines.size());
  return field + "." + in.metadata_baselines_field() + " lists " + n + " numbers for an input of " + n +
         " values per instance: each is read as a scalar baseline (" + n + " baselines, their attributions "
         "averaged), not as one baseline of those values; for that, wrap the list in another: [[...]]";
}

// indices_tensor_name and dense_shape_tensor_name, when given, name the parts
// of the SparseTensor input whose values input_tensor_name names.
Status CheckSparseTensorNames(const std::string& where, const InputMetadata& md, const TensorInfo& tensor) {
  if (md.indices_tensor_name.empty()) return OkStatus();
  if (!tensor.is_sparse()) {
    return InvalidArgument(where + ".indices_tensor_name '" + md.indices_tensor_name + "' is given, but '" +
                           md.input_tensor_name + "' (tensor '" + tensor.tensor_name +
                           "') is a dense tensor; indices_tensor_name and dense_shape_tensor_name describe a "
                           "SparseTensor input of the signature: drop them for a dense input (bag_of_features_sparse "
                           "works on dense inputs too), or name the sparse input's values tensor in input_tensor_name");
  }
  const std::pair<const std::string*, const std::string*> parts[] = {
      {&md.indices_tensor_name, &tensor.sparse_indices_tensor},
      {&md.dense_shape_tensor_name, &tensor.sparse_dense_shape_tensor}};
  const char* fields[] = {"indices_tensor_name", "dense_shape_tensor_name"};
  for (int i = 0; i < 2; ++i) {
    const std::string& given = *parts[i].first;
    const std::string& actual = *parts[i].second;
    if (!given.empty() && !SameTensor(given, actual)) {
      return InvalidArgument(where + "." + fields[i] + " is '" + given + "', but sparse input '" + tensor.key +
                             "' (values '" + tensor.tensor_name + "') has '" + actual + "'");
    }
  }
  return OkStatus();
}

// Unravels a flat element index of a row of `row_shape`.
std::vector<int64_t> Unravel(int64_t flat, const Shape& row_shape) {
  std::vector<int64_t> index(row_shape.size());
  for (int i = static_cast<int>(row_shape.size()) - 1; i >= 0; --i) {
    index[i] = flat % row_shape[i];
    flat /= row_shape[i];
  }
  return index;
}

// bag_of_features and indicator name each element of a vector input: as
// many names as elements, when the tensor's shape says how many. An identity
// input's names label its values (in the bar chart): as many as the
// signature fixes per instance, or none (they used to be dropped silently).
Status CheckFeatureNamesCount(const std::string& where, const InputMetadata& md, const TensorInfo& tensor) {
  const std::optional<Shape> row_shape = FixedRowShape(tensor);
  if (md.encoding == "identity" && !md.index_feature_mapping.empty() && row_shape &&
      NumElements(*row_shape) != static_cast<int64_t>(md.index_feature_mapping.size())) {
    return InvalidArgument(where + ".index_feature_mapping has " + std::to_string(md.index_feature_mapping.size()) +
                           " names; tensor '" + tensor.tensor_name + "' has " + std::to_string(NumElements(*row_shape)) +
                           " values per instance: give one name per value, or none");
  }
  if (!md.names_each_feature() || !tensor.rank_known) return OkStatus();
  if (tensor.shape.size() != 2) {
    return InvalidArgument(where + ": encoding '" + md.encoding + "' needs a vector input [batch, features]; tensor '" +
                           tensor.tensor_name + "' has shape " + ShapeToString(tensor.shape));
  }
  const int64_t features = tensor.shape[1];
  if (features < 0 || features == static_cast<int64_t>(md.index_feature_mapping.size())) return OkStatus();
  return InvalidArgument(where + ".index_feature_mapping has " + std::to_string(md.index_feature_mapping.size()) +
                         " names; tensor '" + tensor.tensor_name + "' has " + std::to_string(features) +
                         " features: give one name per feature");
}

// The flat element of a row of `row_shape` that an outputIndices entry names:
// by one coordinate per dimension, or by one flat index.
StatusOr<int64_t> Ravel(const OutputIndex& index, const Shape& row_shape, const std::string& output) {
  const std::vector<int64_t>& coordinates = index.coordinates;
  auto describe = [&] {
    std::string s = "[";
    for (size_t i = 0; i < coordinates.size(); ++i) s += (i ? "," : "") + std::to_string(coordinates[i]);
    return s + "]";
  };
  if (index.flat && row_shape.size() > 1) {
    // One number for an output of several dimensions: its flat (row-major)
    // position, as the CLI's --output-indices takes it.
    const int64_t elements = NumElements(row_shape);
    if (coordinates[0] < elements) return coordinates[0];
    return InvalidArgument("outputIndices entry " + describe() + " is out of range for output '" + output +
                           "' of shape " + ShapeToString(row_shape) + " per instance: a flat index is below " +
                           std::to_string(elements));
  }
  if (coordinates.size() != row_shape.size()) {
    // A list shorter than the output's rank ([[1]] for a [2,3] output) names
    // no one element: it was read as a flat index before.
    return InvalidArgument("outputIndices entry " + describe() + " has " + std::to_string(coordinates.size()) +
                           " coordinates but output '" + output + "' has shape " + ShapeToString(row_shape) +
                           " per instance" +
                           (row_shape.empty() ? ": a scalar output has the one element [0], so leave outputIndices out"
                                              : ": give one coordinate per dimension, or one flat index (a number, "
                                                "not a list)"));
  }
  int64_t flat = 0;
  for (size_t i = 0; i < coordinates.size(); ++i) {
    if (coordinates[i] < 0 || coordinates[i] >= row_shape[i]) {
      return InvalidArgument("outputIndices entry " + describe() + " is out of range for output '" + output +
                             "' of shape " + ShapeToString(row_shape) + " per instance");
    }
    flat = flat * row_shape[i] + coordinates[i];
  }
  return flat;
}

}  // namespace

StatusOr<std::shared_ptr<ExplainableModel>> ExplainableModel::Load(const std::string& dir, const LoadOptions& options) {
  XAI_ASSIGN_OR_RETURN(ModelVersion version, ResolveModelDir(dir, options.version));
  auto model = std::shared_ptr<ExplainableModel>(new ExplainableModel());
  model->version_ = version.version;
  RuntimeOptions runtime_options;
  runtime_options.short_runs_entirely_in_caller_thread = !options.batch_concurrent_runs;
  XAI_ASSIGN_OR_RETURN(model->runtime_, LoadSavedModelRuntime(version.path, runtime_options));
  if (options.batch_concurrent_runs) model->batching_ = std::make_shared<BatchingRuntime>(model->runtime_);
  model->selection_ = SelectSignatures(model->signatures(), model->runtime_->is_tf1_graph());
  model->explain_status_ = model->selection_.explain_error;

  // Metadata from --metadata, else beside saved_model.pb, else inferred.
  std::optional<std::string> metadata_path = options.metadata_path;
  const std::string beside = (std::filesystem::path(version.path) / kMetadataFileName).string();
  std::error_code ec;
  if (!metadata_path && std::filesystem::exists(beside, ec)) {
    if (std::filesystem::is_regular_file(beside, ec) && std::filesystem::file_size(beside, ec) == 0 && !ec) {
      // Most likely `xaiserve metadata DIR > DIR/explanation_metadata.json`:
      // the shell empties the file before xaiserve reads it.
      model->notes_.push_back(beside + " is empty (0 bytes), so it is ignored and the metadata inferred; if "
                              "`xaiserve metadata` was redirected into it, the shell emptied it first: write it "
                              "with `xaiserve metadata DIR --output FILE` instead");
    } else {
      metadata_path = beside;
    }
  }
  if (metadata_path) {
    XAI_ASSIGN_OR_RETURN(model->metadata_, LoadExplanationMetadataFile(*metadata_path));
  }
  if (!model->explain_status_.ok()) return model;

  XAI_ASSIGN_OR_RETURN(model->explain_signature_, FindSignature(model->signatures(), model->selection_.explain_key));
  model->entry_ = model->explain_signature_;
  if (!model->selection_.preprocess_key.empty()) {
    XAI_ASSIGN_OR_RETURN(model->preprocess_signature_,
                         FindSignature(model->signatures(), model->selection_.preprocess_key));
    model->entry_ = model->preprocess_signature_;
    model->explain_status_ = CheckPreprocessFeedsModel(*model->preprocess_signature_, *model->explain_signature_);
    if (!model->explain_status_.ok()) {
      model->entry_ = nullptr;
      return model;
    }
  }
  for (const SignatureInfo* signature : {model->entry_, model->explain_signature_}) {
    model->explain_status_ = CheckInputsAreBatched(*signature);
    if (!model->explain_status_.ok()) {
      model->entry_ = nullptr;
      return model;
    }
  }
  if (!metadata_path) {
    model->metadata_ = InferExplanationMetadata(*model->explain_signature_);
    model->inferred_no_inputs_ = model->metadata_.inputs.empty();
  }
  const Status bound = model->BindMetadata();
  if (!bound.ok()) {
    if (metadata_path) return bound;  // bad metadata is refused at load time.
    model->explain_status_ = bound;
    model->entry_ = nullptr;
  }
  return model;
}

std::string ExplainableModel::CustomGradientsNote() const {
  const int count = saved_custom_gradients();
  if (count == 0) return "";
  return "the SavedModel registers " + std::to_string(count) + " custom gradient" + (count == 1 ? "" : "s") +
         " (tf.custom_gradient), which gradient methods do not apply: they differentiate the forward computation. "
         "Attributions agree with TensorFlow's where a custom gradient is the true derivative (as swish's is), and "
         "differ where it is not (a straight-through estimator, a clipped gradient); use sampled-shapley there";
}

BatchingStats ExplainableModel::run_batching_stats() const { return batching_ ? batching_->stats() : BatchingStats{}; }

Status ExplainableModel::BindMetadata() {
  const SignatureInfo& sig = *explain_signature_;
  const std::string& source = metadata_.source;
  if (metadata_.inputs.empty()) {
    std::string inputs;
    for (const auto& t : sig.inputs) inputs += (inputs.empty() ? "" : ", ") + t.key + ": " + DTypeName(t.dtype);
    return FailedPrecondition("signature '" + sig.key + "' has no floating-point input to attribute (" + inputs +
                              "); integer and string inputs are not differentiable: give explanation metadata that "
                              "names a floating-point tensor (or names the integer input and use Sampled Shapley), or "
                              "save an 'xai_preprocess' signature that turns them into floating-point features for "
                              "'xai_model'");
  }
  if (const std::string& key = metadata_.serving_sigdef_key; !key.empty() && key != sig.key) {
    auto predicting = PredictSignature();
    if (!predicting.ok() || key != (*predicting)->key) {
      return InvalidArgument(source + ": serving_sigdef_key is '" + key + "', but xaiserve explains with signature '" +
                             sig.key + "'" + (predicting.ok() ? " and predicts with '" + (*predicting)->key + "'" : "") +
                             " (its signature rules); describe that signature's tensors and leave serving_sigdef_key "
                             "out, or save the model with signatures={'serving_default': ..., 'xai_model': ...}");
    }
  }
  for (const InputMetadata& md : metadata_.inputs) {
    BoundInput bound;
    bound.metadata = md;
    const std::string field = "inputs." + md.name;
    bound.folds_embedding = md.encoding == "combined_embedding" || md.encoding == "concat_embedding";
    if (bound.folds_embedding) {
      // input_tensor_name names the feature (e.g. token ids, which are not
      // differentiable); attributions are taken on the encoded tensor.
      if (!md.input_baselines.empty()) {
        return InvalidArgument(source + ": " + field + ".input_baselines cannot be used with encoding '" +
                               md.encoding + "'; give encoded_baselines for the encoded tensor '" +
                               md.encoded_tensor_name + "'");
      }
      XAI_ASSIGN_OR_RETURN(bound.tensor, ResolveTensor(md.encoded_tensor_name, sig.inputs,
                                                       field + ".encoded_tensor_name", "an input", sig.key));
      if (!md.index_feature_mapping.empty()) {
        // Vertex names features by index only in the encodings that have one
        // feature per index; the mapping here would be silently unused.
        notes_.push_back(source + ": " + field + ".index_feature_mapping is not used with encoding '" + md.encoding +
                         "': " +
                         (md.encoding == "combined_embedding"
                              ? "the input's attribution is one number, summed over its encoded tensor '"
                              : "its attributions are a list, one per position of the input, each summed over "
                                "the embedding of its encoded tensor '") +
                         md.encoded_tensor_name +
                         "' (features are named only with encodings identity, bag_of_features, "
                         "bag_of_features_sparse and indicator)");
      }
    } else {
      XAI_ASSIGN_OR_RETURN(bound.tensor, ResolveTensor(md.input_tensor_name, sig.inputs,
                                                       field + ".input_tensor_name", "an input", sig.key));
      XAI_RETURN_IF_ERROR(CheckSparseTensorNames(source + ": " + field, md, bound.tensor));
    }
    if (bound.tensor.dtype == DType::kString) {
      // Neither method can move a string along a path or switch it to a baseline.
      return FailedPrecondition(source + ": " + field + " names tensor '" + bound.tensor.tensor_name +
                                "', a string, which no method can attribute: name the numeric tensor it becomes "
                                "(in a TensorFlow 1 graph, e.g. a ParseExample output such as 'dense_input:0'), or "
                                "save an 'xai_preprocess' signature that turns it into floating-point features for "
                                "'xai_model'");
    }
    if (!bound.tensor.key.empty()) bound.signature_key = bound.tensor.key;
    XAI_RETURN_IF_ERROR(CheckFeatureNamesCount(source + ": " + field, md, bound.tensor));
    XAI_RETURN_IF_ERROR(CheckMetadataBaselines(source + ": " + field, bound));
    if (std::string note = FlatBaselinesNote(field, bound); !note.empty()) notes_.push_back(source + ": " + note);
    // TensorFlow feeds a tensor once: two inputs cannot both be it.
    for (const BoundInput& other : inputs_) {
      if (!SameTensor(other.tensor.tensor_name, bound.tensor.tensor_name)) continue;
      return InvalidArgument(source + ": inputs." + other.metadata.name + " and " + field + " both name tensor '" +
                             bound.tensor.tensor_name + "'; give each input its own tensor (one input per tensor; "
                             "group_name joins inputs into one feature)");
    }
    inputs_.push_back(std::move(bound));
  }
  if (metadata_.outputs.empty()) {
    std::string outputs;
    for (const auto& t : sig.outputs) outputs += (outputs.empty() ? "" : ", ") + t.key + ": " + DTypeName(t.dtype);
    return FailedPrecondition("signature '" + sig.key + "' has no floating-point output to explain (" + outputs +
                              "); give explanation metadata whose outputs name the numeric tensor to explain, such "
                              "as the scores an ArgMax picks from");
  }
  for (const OutputMetadata& md : metadata_.outputs) {
    BoundOutput bound;
    bound.metadata = md;
    const std::string field = "outputs." + md.name + ".output_tensor_name";
    XAI_ASSIGN_OR_RETURN(bound.tensor, ResolveTensor(md.output_tensor_name, sig.outputs, field, "an output", sig.key));
    if (bound.tensor.dtype == DType::kString) {
      return FailedPrecondition(source + ": " + field + " names tensor '" + bound.tensor.tensor_name +
                                "', a string, which no method can explain: name the numeric output it comes from "
                                "(the scores of which it names the best)");
    }
    if (bound.tensor.rank_known && bound.tensor.shape.empty()) {
      return FailedPrecondition("signature '" + sig.key + "' output '" + bound.tensor.key + "' (tensor '" +
                                bound.tensor.tensor_name + "') is a scalar (shape []), one value for the whole batch, "
                                "and explained outputs must be batch-first, a row per instance: return one value per "
                                "instance (shape [None] or [None, k]) from the signature's function");
    }
    // A fed tensor is not computed: it cannot be the output explained.
    for (const BoundInput& in : inputs_) {
      if (!SameTensor(in.tensor.tensor_name, bound.tensor.tensor_name)) continue;
      return InvalidArgument(source + ": " + field + " names tensor '" + bound.tensor.tensor_name +
                             "', which inputs." + in.metadata.name + " attributes; name a tensor the model computes "
                             "from its inputs");
    }
    // One display name per element of the output's row, where its shape is known.
    XAI_RETURN_IF_ERROR(CheckDisplayNames(md, bound.tensor, source));
    // Display names read from the prediction: the key must be one of its outputs.
    if (const std::string& key = md.index_name_mapping_key; !key.empty()) {
      auto predicting = PredictSignature();
      const std::string where = source + ": outputs." + md.name + ".index_name_mapping_key";
      if (!predicting.ok()) {
        return InvalidArgument(where + " is '" + key + "', but the model has no predict signature to read it from (" +
                               predicting.status().message() + ")");
      }
      const std::vector<TensorInfo>& outputs = (*predicting)->outputs;
      if (std::none_of(outputs.begin(), outputs.end(), [&](const TensorInfo& t) { return t.key == key; })) {
        return InvalidArgument(where + " is '" + key + "', which is not an output of the predict signature '" +
                               (*predicting)->key + "' (its outputs: " + TensorKeyList(outputs) +
                               "); name the prediction field that holds the display names, or give "
                               "index_name_mapping");
      }
    }
    outputs_.push_back(std::move(bound));
  }
  return OkStatus();
}

Status WorkBudget::Spend(int64_t rows) {
  if (client_gone && client_gone()) {
    return Cancelled("the client went away; the explanation stopped after " + std::to_string(path_points) +
                     " path points");
  }
  if (max_path_points > 0 && path_points + rows > max_path_points) {  // the refused run is not counted
    return ResourceExhausted("the request needs more than " + std::to_string(max_path_points) +
                             " path points (model rows; the server's --max-path-points): ask for fewer instances, "
                             "steps, noisy samples, baselines or outputs (topK), or raise the limit");
  }
  path_points += rows;
  return OkStatus();
}

StatusOr<TensorInfo> ExplainableModel::ResolveTensor(const std::string& name, const std::vector<TensorInfo>& candidates,
                                                     const std::string& field, const std::string& kind,
                                                     const std::string& signature_key) const {
  // A signature key first: in a TensorFlow 1 signature a key may read like
  // a graph tensor name ("x:0") and name another tensor than x:0.
  for (const TensorInfo& t : candidates) {
    if (t.key == name) return t;
  }
  for (const TensorInfo& t : candidates) {
    if (SameTensor(t.tensor_name, name)) return t;
  }
  auto info = runtime_->DescribeTensor(name);
  if (!info.ok()) {
    // Metadata written for another signature (the SDK's builder defaults to
    // serving_default): the same kind of key there.
    const bool output = kind == "an output";
    std::string elsewhere;
    for (const SignatureInfo& sig : runtime_->signatures()) {
      if (sig.key == signature_key) continue;
      for (const TensorInfo& t : output ? sig.outputs : sig.inputs) {
        if (t.key == name && (elsewhere.empty() || sig.key == "serving_default")) elsewhere = sig.key;
      }
    }
    const std::string hint =
        elsewhere.empty() ? ""
                          : "; it is " + kind + " of signature '" + elsewhere + "', but xaiserve explains with '" +
                                signature_key + "' (with the Explainable AI SDK, build the metadata with "
                                "SavedModelMetadataBuilder(path, signature_name='" + signature_key + "'))";
    return NotFound(metadata_.source + ": " + field + " '" + name + "' is neither " + kind + " of signature '" +
                    signature_key + "' (" + TensorKeyList(candidates) + ") nor a tensor in the model's graph" + hint);
  }
  return *info;  // an internal graph tensor: its key stays empty.
}

StatusOr<std::vector<std::string>> ExplainableModel::CheckGradients() {
  if (!explain_status_.ok()) return explain_status_;
  std::vector<std::string> wrt;
  for (const BoundInput& in : inputs_) {
    if (!IsFloating(in.tensor.dtype)) {
      return FailedPrecondition("input '" + in.metadata.name + "' (tensor '" + in.tensor.tensor_name + "') is " +
                                DTypeName(in.tensor.dtype) + ", which is not differentiable");
    }
    wrt.push_back(in.tensor.tensor_name);
  }
  std::vector<bool> any_gradient(wrt.size(), false);
  for (const BoundOutput& out : outputs_) {
    XAI_ASSIGN_OR_RETURN(std::vector<bool> connected, runtime_->PrepareGradients(out.tensor.tensor_name, wrt));
    for (size_t i = 0; i < connected.size() && i < any_gradient.size(); ++i) {
      any_gradient[i] = any_gradient[i] || connected[i];
    }
  }
  std::vector<std::string> without;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (!any_gradient[i]) without.push_back(inputs_[i].metadata.name);
  }
  return without;
}

std::vector<std::string> ExplainableModel::load_notes() const {
  std::vector<std::string> notes = runtime_->load_notes();
  notes.insert(notes.end(), notes_.begin(), notes_.end());
  return notes;
}

std::string ExplainableModel::NoGradientNote(const std::vector<std::string>& inputs) {
  if (inputs.empty()) return "";
  std::string names;
  for (const std::string& name : inputs) names += (names.empty() ? "'" : ", '") + name + "'";
  return "input" + std::string(inputs.size() == 1 ? " " : "s ") + names + " reach" +
         (inputs.size() == 1 ? "es" : "") + " the explained output only through ops without a gradient (a "
         "bucketing such as Keras Discretization, a rounding, a cast to integers, an argmax), so gradient methods "
         "give " + (inputs.size() == 1 ? "it" : "them") + " zero attributions, whatever the steps; explain with "
         "sampled-shapley, which needs forward passes only";
}

StatusOr<const SignatureInfo*> ExplainableModel::PredictSignature(const std::string& key) const {
  if (!key.empty()) return FindSignature(signatures(), key);
  if (!selection_.predicts_by_default) {
    if (signatures().empty()) return FailedPrecondition("the SavedModel has no signatures, so it cannot predict");
    return InvalidArgument("the model has no 'serving_default' signature; name one (REST: \"signature_name\", "
                           "xaiserve predict: --signature) of: " + SignatureKeyList(signatures()));
  }
  return FindSignature(signatures(), selection_.predict_key);
}

Status ExplainableModel::CheckInputKeys(const SignatureInfo& signature, const NamedTensors& values) const {
  for (const TensorInfo& t : signature.inputs) {
    if (values.count(t.key) == 0) {
      return InvalidArgument("missing input '" + t.key + "'; signature '" + signature.key + "' takes: " +
                             TensorKeyList(signature.inputs));
    }
  }
  for (const auto& [key, value] : values) {
    bool known = std::any_of(signature.inputs.begin(), signature.inputs.end(),
                             [&](const TensorInfo& t) { return t.key == key; });
    if (!known) {
      return InvalidArgument("unknown input '" + key + "'; signature '" + signature.key + "' takes: " +
                             TensorKeyList(signature.inputs));
    }
  }
  return OkStatus();
}

StatusOr<std::vector<Feed>> ExplainableModel::FeedsFor(const SignatureInfo& signature,
                                                       const NamedTensors& values) const {
  XAI_RETURN_IF_ERROR(CheckInputKeys(signature, values));
  std::vector<Feed> feeds;
  for (const TensorInfo& t : signature.inputs) feeds.emplace_back(t.tensor_name, values.at(t.key));
  return feeds;
}

StatusOr<NamedTensors> ExplainableModel::Predict(const SignatureInfo& signature, const NamedTensors& batch) {
  XAI_ASSIGN_OR_RETURN(std::vector<Feed> feeds, FeedsFor(signature, batch));
  std::vector<std::string> fetches;
  for (const TensorInfo& t : signature.outputs) fetches.push_back(t.tensor_name);
  XAI_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, runtime_->Run(feeds, fetches));
  // Predictions are read row by row, one per instance: an output that is not
  // batch-first (a constant list of labels, a shape) has no row to read for
  // each instance (TF Serving: "inconsistent batch size").
  const Tensor* fed = batch.empty() ? nullptr : &batch.begin()->second;
  if (fed != nullptr && !fed->shape.empty()) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (!outputs[i].shape.empty() && outputs[i].shape[0] == fed->shape[0]) continue;
      return FailedPrecondition("signature '" + signature.key + "' output '" + signature.outputs[i].key +
                                "' has shape " + ShapeToString(outputs[i].shape) + " for a batch of " +
                                std::to_string(fed->shape[0]) + " instances; every output must have one row per "
                                "instance (batch-first), as TF Serving also requires: return it for each instance "
                                "(e.g. tf.repeat or tf.broadcast_to it to the batch), or leave it out of the "
                                "signature");
    }
  }
  NamedTensors result;
  for (size_t i = 0; i < outputs.size(); ++i) result[signature.outputs[i].key] = std::move(outputs[i]);
  return result;
}

StatusOr<const BoundOutput*> ExplainableModel::ChooseOutput(const std::string& name) const {
  auto names = [this] {
    std::string list;
    for (const auto& o : outputs_) list += (list.empty() ? "" : ", ") + o.metadata.name;
    return list;
  };
  if (name.empty()) {
    if (outputs_.size() == 1) return &outputs_[0];
    return InvalidArgument("the model has several outputs (" + names() +
                           "); choose one in the explanation metadata, with the request's outputName or "
                           "with explain --output-name");
  }
  if (const BoundOutput* output = ExplainedOutput(name)) return output;
  return InvalidArgument("no output named '" + name + "' in the explanation metadata; its outputs: " + names());
}

const BoundOutput* ExplainableModel::ExplainedOutput(const std::string& name) const {
  for (const BoundOutput& o : outputs_) {
    if (o.metadata.name == name) return &o;
  }
  return nullptr;
}

StatusOr<ExplainableModel::PreparedInstance> ExplainableModel::Prepare(const NamedTensors& instance,
                                                                       const BoundOutput& output, bool forward) {
  PreparedInstance prepared;
  // The explaining signature's inputs: the instance, or what xai_preprocess makes of it.
  NamedTensors preprocessed_inputs;
  if (preprocess_signature_ != nullptr) {
    XAI_ASSIGN_OR_RETURN(NamedTensors preprocessed, Predict(*preprocess_signature_, instance));
    for (const TensorInfo& t : explain_signature_->inputs) preprocessed_inputs[t.key] = preprocessed.at(t.key);
  }
  const NamedTensors& model_inputs = preprocess_signature_ != nullptr ? preprocessed_inputs : instance;
  XAI_RETURN_IF_ERROR(CheckInputKeys(*explain_signature_, model_inputs));

  // The attributed tensors' values and the output's, at the instance.
  std::vector<Tensor> fetched;
  if (forward) {
    std::vector<std::string> fetches;
    for (const BoundInput& in : inputs_) {
      if (in.signature_key.empty()) fetches.push_back(in.tensor.tensor_name);
    }
    fetches.push_back(output.tensor.tensor_name);
    const size_t output_fetch = fetches.size() - 1;
    // When the explaining signature also predicts, its outputs come from this
    // same run (InstanceExplanation::predictions).
    const bool predicts = ExplainingSignaturePredicts();
    if (predicts) {
      for (const TensorInfo& t : explain_signature_->outputs) fetches.push_back(t.tensor_name);
    }
    XAI_ASSIGN_OR_RETURN(std::vector<Feed> model_feeds, FeedsFor(*explain_signature_, model_inputs));
    XAI_ASSIGN_OR_RETURN(fetched, runtime_->Run(model_feeds, fetches));
    if (predicts) {
      NamedTensors predictions;
      for (size_t i = 0; i < explain_signature_->outputs.size(); ++i) {
        predictions[explain_signature_->outputs[i].key] = std::move(fetched[output_fetch + 1 + i]);
      }
      prepared.predictions = std::move(predictions);
    }
    prepared.output_value = fetched[output_fetch];
    if (prepared.output_value.shape.empty() || prepared.output_value.batch_size() != 1) {
      return FailedPrecondition("output '" + output.metadata.name + "' has shape " +
                                ShapeToString(prepared.output_value.shape) +
                                " for one instance; explained outputs must be batch-first");
    }
  }
  size_t next_fetched = 0;
  for (const BoundInput& in : inputs_) {
    if (in.signature_key.empty() && !forward) {
      return Internal("input '" + in.metadata.name + "' needs a forward run to be read");
    }
    Tensor value = in.signature_key.empty() ? std::move(fetched[next_fetched++]) : model_inputs.at(in.signature_key);
    if (value.shape.empty() || value.batch_size() != 1) {
      return FailedPrecondition("input tensor '" + in.tensor.tensor_name + "' has shape " + ShapeToString(value.shape) +
                                " for one instance; attributed tensors must be batch-first");
    }
    TensorInfo info = in.tensor;
    info.dtype = value.dtype;
    prepared.attributed.push_back(std::move(info));
    value.dtype = IsFloating(value.dtype) ? DType::kFloat64 : value.dtype;
    prepared.values.push_back(std::move(value));
  }
  // Every other input of the explaining signature is held at the instance's value.
  for (const TensorInfo& input : explain_signature_->inputs) {
    bool is_attributed = std::any_of(prepared.attributed.begin(), prepared.attributed.end(), [&](const TensorInfo& t) {
      return SameTensor(t.tensor_name, input.tensor_name);
    });
    if (!is_attributed) prepared.fixed_feeds.emplace_back(input.tensor_name, model_inputs.at(input.key));
  }
  return prepared;
}

bool ExplainableModel::ExplainingSignaturePredicts() const {
  return preprocess_signature_ == nullptr && selection_.predict_key == explain_signature_->key;
}

StatusOr<std::vector<int64_t>> ExplainableModel::OutputElements(const BoundOutput& output, const Tensor& value,
                                                                const ExplainOptions& options) const {
  const Shape row_shape = value.row_shape();
  std::vector<int64_t> elements;
  if (!options.output_indices.empty()) {
    for (const auto& index : options.output_indices) {
      if (value.row_elements() == 1 && index.coordinates.size() == 1 && index.coordinates[0] == 0) {
        elements.push_back(0);  // [0] of a scalar or single-element output.
        continue;
      }
      XAI_ASSIGN_OR_RETURN(int64_t flat, Ravel(index, row_shape, output.metadata.name));
      elements.push_back(flat);
    }
    return elements;
  }
  std::vector<int64_t> order(value.row_elements());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return RanksAbove(value.values[a], value.values[b]); });
  const int64_t k = options.top_k < 0 ? value.row_elements() : std::min<int64_t>(options.top_k, value.row_elements());
  elements.assign(order.begin(), order.begin() + k);
  return elements;
}

StatusOr<std::vector<Tensor>> ExplainableModel::MetadataBaselineTensors(size_t input, DType dtype, DType model_dtype,
                                                                        const Shape& row_shape) const {
  {
    std::lock_guard<std::mutex> lock(metadata_baselines_mutex_);
    auto it = metadata_baselines_.find(input);
    if (it != metadata_baselines_.end() && it->second.dtype == dtype && it->second.row_shape == row_shape) {
      return it->second.tensors;
    }
  }
  const BoundInput& in = inputs_[input];
  auto made = BaselineTensors(in.metadata_baselines(), dtype, model_dtype, row_shape, in.metadata.name);
  if (!made.ok()) {
    // Only a dynamic shape gets here (fixed ones are checked at load): the
    // metadata is at fault, not the request.
    return FailedPrecondition(metadata_.source + ": inputs." + in.metadata.name + "." +
                              in.metadata_baselines_field() + " of the model's "
                              "explanation metadata do not fit this instance: " + made.status().message() +
                              "; fix the metadata, or give inputBaselines for '" + in.metadata.name +
                              "' in the request's explanationSpecOverride");
  }
  std::vector<Tensor> tensors = std::move(*made);
  std::lock_guard<std::mutex> lock(metadata_baselines_mutex_);
  metadata_baselines_[input] = MetadataBaselines{dtype, row_shape, tensors};
  return tensors;
}

StatusOr<std::vector<std::vector<Tensor>>> ExplainableModel::Baselines(const std::vector<Tensor>& values,
                                                                       const std::vector<TensorInfo>& attributed,
                                                                       const ExplainOptions& options) const {
  // The request's, else the metadata's, else zero; an input with one baseline
  // pairs with every baseline of the others.
  for (const auto& [name, unused] : options.baseline_overrides) {
    XAI_RETURN_IF_ERROR(CheckAttributedInputName(inputs_, name, "explanationSpecOverride.metadata.inputs"));
  }
  std::vector<std::vector<Tensor>> per_input;
  size_t count = 1;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const InputMetadata& md = inputs_[i].metadata;
    auto override_it = options.baseline_overrides.find(md.name);
    std::vector<Tensor> tensors;
    if (override_it != options.baseline_overrides.end()) {
      if (inputs_[i].folds_embedding) {
        // As in the metadata file: an embedded input's baselines are of its
        // encoded tensor, and a request's inputBaselines are of the input.
        return InvalidArgument("explanationSpecOverride.metadata.inputs." + md.name +
                               ".inputBaselines cannot be used with encoding '" + md.encoding +
                               "': the baselines of an embedded input are of its encoded tensor '" +
                               md.encoded_tensor_name + "', not of the input; give them as encoded_baselines in the "
                               "explanation metadata file (a request cannot override them)");
      }
      XAI_ASSIGN_OR_RETURN(tensors, BaselineTensors(override_it->second, values[i].dtype, attributed[i].dtype,
                                                    values[i].row_shape(), md.name));
    } else {
      XAI_ASSIGN_OR_RETURN(tensors, MetadataBaselineTensors(i, values[i].dtype, attributed[i].dtype,
                                                            values[i].row_shape()));
    }
    if (md.encoding == "bag_of_features_sparse") {
      // A feature absent from the instance (0) stays absent on the whole
      // path, so its attribution is exactly 0 whatever the baseline.
      for (Tensor& t : tensors) {
        for (size_t e = 0; e < t.values.size(); ++e) {
          if (values[i].values[e] == 0) t.values[e] = 0;
        }
      }
    }
    if (tensors.size() != 1 && count != 1 && tensors.size() != count) {
      return InvalidArgument("inputs have different numbers of baselines (" + std::to_string(count) + " and " +
                             std::to_string(tensors.size()) + " for '" + md.name +
                             "'); give every input the same number of baselines, or one");
    }
    count = std::max(count, tensors.size());
    per_input.push_back(std::move(tensors));
  }
  // Each tensor is moved into its last use (an input's only baseline is used by every one).
  std::vector<std::vector<Tensor>> baselines(count);
  for (size_t b = 0; b < count; ++b) {
    baselines[b].reserve(per_input.size());
    for (std::vector<Tensor>& tensors : per_input) {
      Tensor& tensor = tensors.size() == 1 ? tensors[0] : tensors[b];
      if (tensors.size() == 1 && b + 1 < count) {
        baselines[b].push_back(tensor);
      } else {
        baselines[b].push_back(std::move(tensor));
      }
    }
  }
  return baselines;
}

StatusOr<InstanceExplanation> ExplainableModel::Explain(const NamedTensors& instance, const ExplainOptions& options) {
  if (!explain_status_.ok()) return explain_status_;
  XAI_ASSIGN_OR_RETURN(const BoundOutput* output, ChooseOutput(options.output_name));
  const bool gradients = options.method != "sampled-shapley";
  // The default, explaining the top output, needs no forward run of its own
  // when the attributed values are the instance's: the first path run picks
  // the output (RuntimeModelFunction::ChooseOutputAtInstance).
  // When the explaining signature also predicts, its one output must be the
  // explained one, which that run reads at the instance. An output with no
  // elements per instance has no argmax for that run to take (TensorFlow's
  // error names a node of ours): the forward run finds nothing to explain
  // and says so, as for every other method.
  const bool predicts = ExplainingSignaturePredicts();
  const bool choose_in_path_run =
      gradients && !NoElementsPerRow(output->tensor) && options.output_indices.empty() && options.top_k == 1 &&
      preprocess_signature_ == nullptr &&
      std::all_of(inputs_.begin(), inputs_.end(), [](const BoundInput& in) { return !in.signature_key.empty(); }) &&
      (!predicts || (explain_signature_->outputs.size() == 1 &&
                     SameTensor(explain_signature_->outputs[0].tensor_name, output->tensor.tensor_name)));
  XAI_ASSIGN_OR_RETURN(PreparedInstance prepared, Prepare(instance, *output, /*forward=*/!choose_in_path_run));
  for (size_t i = 0; i < inputs_.size() && gradients; ++i) {
    if (!IsFloating(prepared.attributed[i].dtype)) {
      return FailedPrecondition("input '" + inputs_[i].metadata.name + "' (tensor '" + inputs_[i].tensor.tensor_name +
                                "') is " + DTypeName(prepared.attributed[i].dtype) +
                                ", which is not differentiable; use --method sampled-shapley (sampledShapleyAttribution), " +
                                (is_tf1_graph() ? "name a floating-point graph tensor in the metadata, " : "") +
                                "or save an 'xai_preprocess' signature that produces floating-point features for "
                                "'xai_model'");
    }
  }

  AttributionInputs attribution_inputs;
  attribution_inputs.instance = std::move(prepared.values);
  const std::vector<Tensor>& values = attribution_inputs.instance;
  if (choose_in_path_run) {
    attribution_inputs.output_elements = {0};  // the chosen one (RuntimeModelFunction)
  } else {
    XAI_ASSIGN_OR_RETURN(attribution_inputs.output_elements, OutputElements(*output, prepared.output_value, options));
  }
  XAI_ASSIGN_OR_RETURN(attribution_inputs.baselines, Baselines(values, prepared.attributed, options));
  attribution_inputs.feature_of_element = FeaturesOfElements(inputs_, values);

  // Path points go through the batching runtime when there is one: they are
  // batch-first by construction (checked in Evaluate), unlike predictions.
  ModelRuntime* path_runtime = batching_ ? static_cast<ModelRuntime*>(batching_.get()) : runtime_.get();
  RuntimeModelFunction function(path_runtime, std::move(prepared.fixed_feeds), std::move(prepared.attributed),
                                output->tensor.tensor_name, options.budget);
  if (choose_in_path_run) function.ChooseOutputAtInstance(&values);
  // Attribute; with an approximation target, double the steps (or paths)
  // until every requested output meets it or the maximum is reached.
  int steps = options.step_count, paths = options.path_count;
  std::vector<Attribution> attributions;
  while (true) {
    XAI_ASSIGN_OR_RETURN(auto method, MakeAttributionMethod(options, inputs_, values, steps, paths));
    XAI_ASSIGN_OR_RETURN(attributions, method->Attribute(function, attribution_inputs));
    if (!options.approximation_error_target) break;
    double worst = 0;
    for (const Attribution& a : attributions) worst = std::max(worst, a.approximation_error);
    int& budget = options.method == "sampled-shapley" ? paths : steps;
    if (worst <= *options.approximation_error_target || budget >= MaxBudget(options.method)) break;
    budget = std::min(2 * budget, MaxBudget(options.method));
  }

  InstanceExplanation explanation;
  explanation.predictions = std::move(prepared.predictions);
  if (choose_in_path_run) {
    prepared.output_value = function.instance_output();
    for (Attribution& a : attributions) a.output_element = function.chosen_element();
    if (predicts) explanation.predictions = NamedTensors{{explain_signature_->outputs[0].key, prepared.output_value}};
  }
  const Shape row_shape = prepared.output_value.row_shape();
  for (Attribution& a : attributions) {
    OutputAttribution out;
    out.output_name = output->metadata.name;
    if (!row_shape.empty()) out.output_index = Unravel(a.output_element, row_shape);
    const auto& mapping = output->metadata.index_name_mapping;
    if (a.output_element < static_cast<int64_t>(mapping.size())) out.output_display_name = mapping[a.output_element];
    for (size_t i = 0; i < a.attributions.size(); ++i) {
      a.attributions[i] = FoldOntoFeature(inputs_[i], std::move(a.attributions[i]));
    }
    out.attribution = std::move(a);
    explanation.outputs.push_back(std::move(out));
  }
  explanation.method = options.method;
  explanation.budget_reported = options.approximation_error_target.has_value();
  explanation.rows_evaluated = function.rows_evaluated();
  return explanation;
}

}  // namespace xai
