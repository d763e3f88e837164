#include "model/explainable_model.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "model/model_dir.h"

namespace xai {
namespace {

constexpr char kMetadataFileName[] = "explanation_metadata.json";

// "x" and "x:0" name the same tensor.
std::string CanonicalTensorName(const std::string& name) {
  const size_t colon = name.rfind(':');
  if (colon != std::string::npos && colon + 1 < name.size() &&
      name.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    return name;
  }
  return name + ":0";
}

// The attributed model as the attribution methods see it: the attributed
// tensors are fed from the batch, every other input is held at the
// instance's value, and one element of the target per row is returned.
class RuntimeModelFunction final : public ModelFunction {
 public:
  RuntimeModelFunction(ModelRuntime* runtime, std::vector<Feed> fixed_feeds, std::vector<TensorInfo> attributed,
                       std::string target)
      : runtime_(runtime), fixed_feeds_(std::move(fixed_feeds)), attributed_(std::move(attributed)),
        target_(std::move(target)) {}

  StatusOr<ModelBatchResult> Evaluate(const ModelBatch& batch, bool with_gradients) override {
    const int64_t rows = static_cast<int64_t>(batch.output_element.size());
    if (batch.inputs.size() != attributed_.size()) {
      return Internal("model function: expected " + std::to_string(attributed_.size()) + " inputs, got " +
                      std::to_string(batch.inputs.size()));
    }
    std::vector<Feed> feeds;
    for (const auto& [name, value] : fixed_feeds_) feeds.emplace_back(name, RepeatRow(value, rows));
    std::vector<std::string> names;
    for (size_t i = 0; i < attributed_.size(); ++i) {
      Tensor t = batch.inputs[i];
      t.dtype = attributed_[i].dtype;  // attribution math is in double; feed the model's dtype.
      feeds.emplace_back(attributed_[i].tensor_name, std::move(t));
      names.push_back(attributed_[i].tensor_name);
    }
    ModelBatchResult result;
    Tensor target_value;
    if (with_gradients) {
      GradientRequest request{std::move(feeds), target_, batch.output_element, names};
      XAI_ASSIGN_OR_RETURN(GradientResult run, runtime_->RunWithGradients(request));
      target_value = std::move(run.target_value);
      result.gradients = std::move(run.gradients);
      for (Tensor& g : result.gradients) g.dtype = DType::kFloat64;
    } else {
      XAI_ASSIGN_OR_RETURN(std::vector<Tensor> run, runtime_->Run(feeds, {target_}));
      target_value = std::move(run[0]);
    }
    if (target_value.batch_size() != rows || target_value.shape.empty()) {
      return Internal("output '" + target_ + "' has shape " + ShapeToString(target_value.shape) + " for a batch of " +
                      std::to_string(rows) + " rows; explained outputs must be batch-first");
    }
    const int64_t row_elements = target_value.row_elements();
    result.outputs.resize(rows);
    for (int64_t r = 0; r < rows; ++r) {
      result.outputs[r] = target_value.values[r * row_elements + batch.output_element[r]];
    }
    return result;
  }

 private:
  ModelRuntime* runtime_;
  std::vector<Feed> fixed_feeds_;
  std::vector<TensorInfo> attributed_;
  std::string target_;
};

// A baseline given in metadata or a request, as a tensor shaped like one
// instance ([1, ...row_shape]); a scalar broadcasts.
StatusOr<Tensor> BaselineTensor(const Json& value, const Shape& row_shape, const std::string& where) {
  if (value.is_number()) {
    Tensor t(DType::kFloat64, row_shape);
    t.shape.insert(t.shape.begin(), 1);
    std::fill(t.values.begin(), t.values.end(), value.get<double>());
    return t;
  }
  XAI_ASSIGN_OR_RETURN(Shape shape, JsonArrayShape(value, where));
  if (shape != row_shape) {
    return InvalidArgument(where + ": baseline has shape " + ShapeToString(shape) + " but the input has shape " +
                           ShapeToString(row_shape) + " per instance; give a scalar or a value of that shape");
  }
  return TensorRowFromJson(value, DType::kFloat64, row_shape, where);
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

StatusOr<int64_t> Ravel(const std::vector<int64_t>& index, const Shape& row_shape, const std::string& output) {
  auto describe = [&] {
    std::string s = "[";
    for (size_t i = 0; i < index.size(); ++i) s += (i ? "," : "") + std::to_string(index[i]);
    return s + "]";
  };
  if (index.size() != row_shape.size()) {
    return InvalidArgument("outputIndices entry " + describe() + " has " + std::to_string(index.size()) +
                           " coordinates but output '" + output + "' has shape " + ShapeToString(row_shape) +
                           " per instance");
  }
  int64_t flat = 0;
  for (size_t i = 0; i < index.size(); ++i) {
    if (index[i] < 0 || index[i] >= row_shape[i]) {
      return InvalidArgument("outputIndices entry " + describe() + " is out of range for output '" + output +
                             "' of shape " + ShapeToString(row_shape) + " per instance");
    }
    flat = flat * row_shape[i] + index[i];
  }
  return flat;
}

}  // namespace

StatusOr<std::shared_ptr<ExplainableModel>> ExplainableModel::Load(const std::string& dir, const LoadOptions& options) {
  XAI_ASSIGN_OR_RETURN(ModelVersion version, ResolveModelDir(dir, options.version));
  auto model = std::shared_ptr<ExplainableModel>(new ExplainableModel());
  model->version_ = version.version;
  XAI_ASSIGN_OR_RETURN(model->runtime_, LoadSavedModelRuntime(version.path));
  model->selection_ = SelectSignatures(model->signatures());
  model->explain_status_ = model->selection_.explain_error;

  // Metadata from --metadata, else beside saved_model.pb, else inferred.
  std::optional<std::string> metadata_path = options.metadata_path;
  const std::string beside = (std::filesystem::path(version.path) / kMetadataFileName).string();
  std::error_code ec;
  if (!metadata_path && std::filesystem::exists(beside, ec)) metadata_path = beside;
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
  if (!metadata_path) model->metadata_ = InferExplanationMetadata(*model->explain_signature_);
  const Status bound = model->BindMetadata();
  if (!bound.ok()) {
    if (metadata_path) return bound;  // bad metadata is refused at load time.
    model->explain_status_ = bound;
    model->entry_ = nullptr;
  }
  return model;
}

Status ExplainableModel::BindMetadata() {
  const SignatureInfo& sig = *explain_signature_;
  const std::string& source = metadata_.source;
  if (metadata_.inputs.empty()) {
    std::string inputs;
    for (const auto& t : sig.inputs) inputs += (inputs.empty() ? "" : ", ") + t.key + ": " + DTypeName(t.dtype);
    return FailedPrecondition("signature '" + sig.key + "' has no floating-point input to attribute (" + inputs +
                              "); integer and string inputs are not differentiable: give explanation metadata that "
                              "names a floating-point tensor, or save an 'xai_preprocess' signature that turns them "
                              "into floating-point features for 'xai_model'");
  }
  for (const InputMetadata& md : metadata_.inputs) {
    BoundInput bound;
    bound.metadata = md;
    XAI_ASSIGN_OR_RETURN(bound.tensor, ResolveTensor(md.input_tensor_name, sig.inputs, "inputs." + md.name +
                                                     ".input_tensor_name", "an input", sig.key));
    if (!bound.tensor.key.empty()) bound.signature_key = bound.tensor.key;
    if (md.encoding != "identity") {
      return Unimplemented(source + ": inputs." + md.name + ".encoding '" + md.encoding +
                           "' is not supported yet; supported: identity");
    }
    inputs_.push_back(std::move(bound));
  }
  for (const OutputMetadata& md : metadata_.outputs) {
    BoundOutput bound;
    bound.metadata = md;
    XAI_ASSIGN_OR_RETURN(bound.tensor, ResolveTensor(md.output_tensor_name, sig.outputs, "outputs." + md.name +
                                                     ".output_tensor_name", "an output", sig.key));
    outputs_.push_back(std::move(bound));
  }
  return OkStatus();
}

StatusOr<TensorInfo> ExplainableModel::ResolveTensor(const std::string& name, const std::vector<TensorInfo>& candidates,
                                                     const std::string& field, const std::string& kind,
                                                     const std::string& signature_key) const {
  const std::string wanted = CanonicalTensorName(name);
  for (const TensorInfo& t : candidates) {
    if (t.key == name || CanonicalTensorName(t.tensor_name) == wanted) return t;
  }
  auto info = runtime_->DescribeTensor(name);
  if (!info.ok()) {
    return NotFound(metadata_.source + ": " + field + " '" + name + "' is neither " + kind + " of signature '" +
                    signature_key + "' (" + TensorKeyList(candidates) + ") nor a tensor in the model's graph");
  }
  return *info;  // an internal graph tensor: its key stays empty.
}

Status ExplainableModel::CheckGradients() {
  if (!explain_status_.ok()) return explain_status_;
  std::vector<std::string> wrt;
  for (const BoundInput& in : inputs_) {
    if (!IsFloating(in.tensor.dtype)) {
      return FailedPrecondition("input '" + in.metadata.name + "' (tensor '" + in.tensor.tensor_name + "') is " +
                                DTypeName(in.tensor.dtype) + ", which is not differentiable");
    }
    wrt.push_back(in.tensor.tensor_name);
  }
  for (const BoundOutput& out : outputs_) {
    XAI_RETURN_IF_ERROR(runtime_->PrepareGradients(out.tensor.tensor_name, wrt));
  }
  return OkStatus();
}

StatusOr<const SignatureInfo*> ExplainableModel::PredictSignature(const std::string& key) const {
  if (!key.empty()) return FindSignature(signatures(), key);
  if (selection_.predict_key.empty()) {
    return InvalidArgument("the model has no 'serving_default' signature; name one with \"signature_name\" (found: " +
                           SignatureKeyList(signatures()) + ")");
  }
  return FindSignature(signatures(), selection_.predict_key);
}

StatusOr<std::vector<Feed>> ExplainableModel::FeedsFor(const SignatureInfo& signature,
                                                       const NamedTensors& values) const {
  std::vector<Feed> feeds;
  for (const TensorInfo& t : signature.inputs) {
    auto it = values.find(t.key);
    if (it == values.end()) {
      return InvalidArgument("missing input '" + t.key + "'; signature '" + signature.key + "' takes: " +
                             TensorKeyList(signature.inputs));
    }
    feeds.emplace_back(t.tensor_name, it->second);
  }
  for (const auto& [key, value] : values) {
    bool known = std::any_of(signature.inputs.begin(), signature.inputs.end(),
                             [&](const TensorInfo& t) { return t.key == key; });
    if (!known) {
      return InvalidArgument("unknown input '" + key + "'; signature '" + signature.key + "' takes: " +
                             TensorKeyList(signature.inputs));
    }
  }
  return feeds;
}

StatusOr<NamedTensors> ExplainableModel::Predict(const SignatureInfo& signature, const NamedTensors& batch) {
  XAI_ASSIGN_OR_RETURN(std::vector<Feed> feeds, FeedsFor(signature, batch));
  std::vector<std::string> fetches;
  for (const TensorInfo& t : signature.outputs) fetches.push_back(t.tensor_name);
  XAI_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, runtime_->Run(feeds, fetches));
  NamedTensors result;
  for (size_t i = 0; i < outputs.size(); ++i) result[signature.outputs[i].key] = std::move(outputs[i]);
  return result;
}

StatusOr<InstanceExplanation> ExplainableModel::Explain(const NamedTensors& instance, const ExplainOptions& options) {
  if (!explain_status_.ok()) return explain_status_;
  if (options.method != "integrated-gradients") {
    return InvalidArgument("unknown explanation method '" + options.method + "'; available: integrated-gradients");
  }
  // 1. The explaining signature's inputs: the instance, or what xai_preprocess makes of it.
  NamedTensors model_inputs;
  if (preprocess_signature_ != nullptr) {
    XAI_ASSIGN_OR_RETURN(NamedTensors preprocessed, Predict(*preprocess_signature_, instance));
    for (const TensorInfo& t : explain_signature_->inputs) model_inputs[t.key] = preprocessed.at(t.key);
  } else {
    model_inputs = instance;
  }
  XAI_ASSIGN_OR_RETURN(std::vector<Feed> model_feeds, FeedsFor(*explain_signature_, model_inputs));

  // 2. The explained output.
  const BoundOutput* output = nullptr;
  if (options.output_name.empty()) {
    if (outputs_.size() != 1) {
      std::string names;
      for (const auto& o : outputs_) names += (names.empty() ? "" : ", ") + o.metadata.name;
      return InvalidArgument("the model has several outputs (" + names +
                             "); choose one with explanation metadata or the request");
    }
    output = &outputs_[0];
  } else {
    for (const auto& o : outputs_) {
      if (o.metadata.name == options.output_name) output = &o;
    }
    if (output == nullptr) return NotFound("no output named '" + options.output_name + "' in the explanation metadata");
  }

  // 3. The values of the attributed tensors and of the output at the instance.
  std::vector<std::string> fetches;
  for (const BoundInput& in : inputs_) {
    if (in.signature_key.empty()) fetches.push_back(in.tensor.tensor_name);
  }
  fetches.push_back(output->tensor.tensor_name);
  XAI_ASSIGN_OR_RETURN(std::vector<Tensor> fetched, runtime_->Run(model_feeds, fetches));
  const Tensor& target_value = fetched.back();
  if (target_value.shape.empty() || target_value.batch_size() != 1) {
    return FailedPrecondition("output '" + output->metadata.name + "' has shape " + ShapeToString(target_value.shape) +
                              " for one instance; explained outputs must be batch-first");
  }
  AttributionInputs attribution_inputs;
  std::vector<TensorInfo> attributed;
  size_t next_fetched = 0;
  for (const BoundInput& in : inputs_) {
    Tensor value = in.signature_key.empty() ? fetched[next_fetched++] : model_inputs.at(in.signature_key);
    if (!IsFloating(value.dtype)) {
      return FailedPrecondition("input '" + in.metadata.name + "' (tensor '" + in.tensor.tensor_name + "') is " +
                                DTypeName(value.dtype) + ", which is not differentiable; name a floating-point "
                                "tensor in the metadata, or save an 'xai_preprocess' signature that produces one");
    }
    if (value.shape.empty() || value.batch_size() != 1) {
      return FailedPrecondition("input tensor '" + in.tensor.tensor_name + "' has shape " + ShapeToString(value.shape) +
                                " for one instance; attributed tensors must be batch-first");
    }
    TensorInfo info = in.tensor;
    info.dtype = value.dtype;
    attributed.push_back(info);
    value.dtype = DType::kFloat64;
    attribution_inputs.instance.push_back(std::move(value));
  }

  // 4. Output elements: as requested, else the top_k largest (the argmax).
  const Shape row_shape = target_value.row_shape();
  const int64_t row_elements = target_value.row_elements();
  std::vector<int64_t>& elements = attribution_inputs.output_elements;
  if (!options.output_indices.empty()) {
    for (const auto& index : options.output_indices) {
      if (row_shape.size() == 1 && index.size() == 1 && row_shape[0] == 1 && index[0] == 0) {
        elements.push_back(0);
        continue;
      }
      XAI_ASSIGN_OR_RETURN(int64_t flat, Ravel(index, row_shape, output->metadata.name));
      elements.push_back(flat);
    }
  } else {
    std::vector<int64_t> order(row_elements);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return target_value.values[a] > target_value.values[b]; });
    const int64_t k = options.top_k < 0 ? row_elements : std::min<int64_t>(options.top_k, row_elements);
    elements.assign(order.begin(), order.begin() + k);
  }

  // 5. Baselines: the request's, else the metadata's, else zero; an input
  //    with one baseline pairs with every baseline of the others.
  std::vector<std::vector<Tensor>> per_input;
  size_t baseline_count = 1;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const InputMetadata& md = inputs_[i].metadata;
    auto override_it = options.baseline_overrides.find(md.name);
    std::vector<Json> given = override_it != options.baseline_overrides.end() ? override_it->second
                                                                              : md.input_baselines;
    if (given.empty()) given = {Json(0.0)};
    std::vector<Tensor> tensors;
    for (size_t b = 0; b < given.size(); ++b) {
      XAI_ASSIGN_OR_RETURN(Tensor t, BaselineTensor(given[b], attribution_inputs.instance[i].row_shape(),
                                                    "input '" + md.name + "' baseline " + std::to_string(b)));
      tensors.push_back(std::move(t));
    }
    if (tensors.size() != 1 && baseline_count != 1 && tensors.size() != baseline_count) {
      return InvalidArgument("inputs have different numbers of baselines (" + std::to_string(baseline_count) +
                             " and " + std::to_string(tensors.size()) + " for '" + md.name +
                             "'); give every input the same number of baselines, or one");
    }
    baseline_count = std::max(baseline_count, tensors.size());
    per_input.push_back(std::move(tensors));
  }
  for (size_t b = 0; b < baseline_count; ++b) {
    std::vector<Tensor> baseline;
    for (const auto& tensors : per_input) baseline.push_back(tensors.size() == 1 ? tensors[0] : tensors[b]);
    attribution_inputs.baselines.push_back(std::move(baseline));
  }

  // 6. Attribute, holding every other input at the instance's value.
  std::vector<Feed> fixed;
  for (const Feed& feed : model_feeds) {
    bool is_attributed = std::any_of(attributed.begin(), attributed.end(), [&](const TensorInfo& t) {
      return CanonicalTensorName(t.tensor_name) == CanonicalTensorName(feed.first);
    });
    if (!is_attributed) fixed.push_back(feed);
  }
  RuntimeModelFunction function(runtime_.get(), std::move(fixed), attributed, output->tensor.tensor_name);
  IntegratedGradients method(options.integrated_gradients);
  XAI_ASSIGN_OR_RETURN(std::vector<Attribution> attributions, method.Attribute(function, attribution_inputs));

  InstanceExplanation explanation;
  for (Attribution& a : attributions) {
    OutputAttribution out;
    out.output_name = output->metadata.name;
    if (!row_shape.empty()) out.output_index = Unravel(a.output_element, row_shape);
    const auto& mapping = output->metadata.index_name_mapping;
    if (a.output_element < static_cast<int64_t>(mapping.size())) out.output_display_name = mapping[a.output_element];
    out.attribution = std::move(a);
    explanation.outputs.push_back(std::move(out));
  }
  return explanation;
}

}  // namespace xai
