// ModelRuntime on TensorFlow's C++ SavedModel loader and DirectSession.
// See model_runtime.h for the contract, tf_gradient_graph.h for gradients.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <unordered_set>

#include "absl/log/globals.h"
#include "core/sparse_tensor.h"
#include "core/tensor_name.h"
#include "core/text.h"
#include "runtime/model_runtime.h"
#include "runtime/run_placement.h"
#include "runtime/tf_gradient_graph.h"
#include "runtime/tf_runnable_ops.h"
#include "tensorflow/c/c_api.h"
#include "tensorflow/cc/saved_model/loader.h"
#include "tensorflow/cc/saved_model/reader.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"
#include "tensorflow/core/graph/algorithm.h"
#include "tensorflow/core/graph/graph.h"
#include "tensorflow/core/common_runtime/graph_constructor.h"
#include "tensorflow/core/platform/env.h"
#include "tensorflow/core/public/session.h"

namespace xai {
namespace {

namespace tf = ::tensorflow;
using tf_runtime::FromTf;

constexpr char kInitOpKey[] = "__saved_model_init_op";

StatusOr<DType> FromTfDType(tf::DataType dtype) {
  switch (dtype) {
    case tf::DT_FLOAT: return DType::kFloat32;
    case tf::DT_DOUBLE: return DType::kFloat64;
    case tf::DT_HALF: return DType::kFloat16;
    case tf::DT_BFLOAT16: return DType::kBFloat16;
    case tf::DT_INT8: return DType::kInt8;
    case tf::DT_INT16: return DType::kInt16;
    case tf::DT_INT32: return DType::kInt32;
    case tf::DT_INT64: return DType::kInt64;
    case tf::DT_UINT8: return DType::kUInt8;
    case tf::DT_UINT16: return DType::kUInt16;
    case tf::DT_UINT32: return DType::kUInt32;
    case tf::DT_UINT64: return DType::kUInt64;
    case tf::DT_BOOL: return DType::kBool;
    case tf::DT_STRING: return DType::kString;
    default:
      return Unimplemented("tensor dtype " + tf::DataTypeString(dtype) + " is not supported by xaiserve");
  }
}

tf::DataType ToTfDType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return tf::DT_FLOAT;
    case DType::kFloat64: return tf::DT_DOUBLE;
    case DType::kFloat16: return tf::DT_HALF;
    case DType::kBFloat16: return tf::DT_BFLOAT16;
    case DType::kInt8: return tf::DT_INT8;
    case DType::kInt16: return tf::DT_INT16;
    case DType::kInt32: return tf::DT_INT32;
    case DType::kInt64: return tf::DT_INT64;
    case DType::kUInt8: return tf::DT_UINT8;
    case DType::kUInt16: return tf::DT_UINT16;
    case DType::kUInt32: return tf::DT_UINT32;
    case DType::kUInt64: return tf::DT_UINT64;
    case DType::kBool: return tf::DT_BOOL;
    case DType::kString: return tf::DT_STRING;
  }
  return tf::DT_INVALID;
}

template <typename T>
void CopyIn(const std::vector<double>& values, tf::Tensor* out) {
  T* data = out->flat<T>().data();
  for (size_t i = 0; i < values.size(); ++i) data[i] = static_cast<T>(values[i]);
}

template <typename T>
void CopyOut(const tf::Tensor& in, std::vector<double>* values) {
  const T* data = in.flat<T>().data();
  const int64_t size = in.NumElements();
  values->assign(data, data + size);  // one converting pass, no zero-filling first
}

// A 64-bit integer tensor's values as the doubles Tensor holds: a value
// beyond kLargestExactInteger (a hashed id, say) is refused rather than rounded.
template <typename T>
Status CopyOutExactIntegers(const tf::Tensor& in, std::vector<double>* values) {
  constexpr T kLargestExact = static_cast<T>(kLargestExactInteger);
  const T* data = in.flat<T>().data();
  for (int64_t i = 0; i < in.NumElements(); ++i) {
    if (data[i] > kLargestExact || (std::is_signed_v<T> && data[i] < -kLargestExact)) {
      return FailedPrecondition("it holds " + std::to_string(data[i]) + " (element " + std::to_string(i) +
                                "), beyond 2^53: xaiserve holds values as float64 and would round it; have the "
                                "model return such values as strings");
    }
  }
  CopyOut<T>(in, values);
  return OkStatus();
}

tf::Tensor ToTf(const Tensor& t) {
  tf::TensorShape shape;
  for (int64_t d : t.shape) shape.AddDim(d);
  tf::Tensor out(ToTfDType(t.dtype), shape);
  switch (t.dtype) {
    case DType::kFloat32: CopyIn<float>(t.values, &out); break;
    case DType::kFloat64: CopyIn<double>(t.values, &out); break;
    case DType::kFloat16: CopyIn<Eigen::half>(t.values, &out); break;
    case DType::kBFloat16: CopyIn<tf::bfloat16>(t.values, &out); break;
    case DType::kInt8: CopyIn<int8_t>(t.values, &out); break;
    case DType::kInt16: CopyIn<int16_t>(t.values, &out); break;
    case DType::kInt32: CopyIn<int32_t>(t.values, &out); break;
    case DType::kInt64: CopyIn<int64_t>(t.values, &out); break;
    case DType::kUInt8: CopyIn<uint8_t>(t.values, &out); break;
    case DType::kUInt16: CopyIn<uint16_t>(t.values, &out); break;
    case DType::kUInt32: CopyIn<uint32_t>(t.values, &out); break;
    case DType::kUInt64: CopyIn<uint64_t>(t.values, &out); break;
    case DType::kBool: CopyIn<bool>(t.values, &out); break;
    case DType::kString: {
      auto flat = out.flat<tf::tstring>();
      for (size_t i = 0; i < t.strings.size(); ++i) flat(i) = t.strings[i];
      break;
    }
  }
  return out;
}

StatusOr<Tensor> FromTf(const tf::Tensor& in) {
  Tensor out;
  XAI_ASSIGN_OR_RETURN(out.dtype, FromTfDType(in.dtype()));
  for (int i = 0; i < in.dims(); ++i) out.shape.push_back(in.dim_size(i));
  switch (out.dtype) {
    case DType::kFloat32: CopyOut<float>(in, &out.values); break;
    case DType::kFloat64: CopyOut<double>(in, &out.values); break;
    case DType::kFloat16: CopyOut<Eigen::half>(in, &out.values); break;
    case DType::kBFloat16: CopyOut<tf::bfloat16>(in, &out.values); break;
    case DType::kInt8: CopyOut<int8_t>(in, &out.values); break;
    case DType::kInt16: CopyOut<int16_t>(in, &out.values); break;
    case DType::kInt32: CopyOut<int32_t>(in, &out.values); break;
    case DType::kInt64: XAI_RETURN_IF_ERROR(CopyOutExactIntegers<int64_t>(in, &out.values)); break;
    case DType::kUInt8: CopyOut<uint8_t>(in, &out.values); break;
    case DType::kUInt16: CopyOut<uint16_t>(in, &out.values); break;
    case DType::kUInt32: CopyOut<uint32_t>(in, &out.values); break;
    case DType::kUInt64: XAI_RETURN_IF_ERROR(CopyOutExactIntegers<uint64_t>(in, &out.values)); break;
    case DType::kBool: CopyOut<bool>(in, &out.values); break;
    case DType::kString: {
      auto flat = in.flat<tf::tstring>();
      for (int64_t i = 0; i < flat.size(); ++i) out.strings.emplace_back(flat(i));
      break;
    }
  }
  return out;
}

// A signature tensor. A SparseTensor input (coo_sparse) is named by its
// values tensor and keeps its indices and dense_shape tensors (see
// model_runtime.h); sparse outputs and other composite tensors are refused.
StatusOr<TensorInfo> FromTfTensorInfo(const std::string& signature_key, const std::string& key,
                                      const tf::TensorInfo& info, bool is_input) {
  TensorInfo out;
  out.key = key;
  if (info.encoding_case() == tf::TensorInfo::kCooSparse && is_input) {
    out.tensor_name = info.coo_sparse().values_tensor_name();
    out.sparse_indices_tensor = info.coo_sparse().indices_tensor_name();
    out.sparse_dense_shape_tensor = info.coo_sparse().dense_shape_tensor_name();
  } else if (info.encoding_case() == tf::TensorInfo::kName) {
    out.tensor_name = info.name();
  } else {
    const std::string kind = info.encoding_case() == tf::TensorInfo::kCooSparse ? "a sparse" : "a composite";
    return Unimplemented("signature '" + signature_key + "' " + (is_input ? "input" : "output") + " '" + key +
                         "' is " + kind + " tensor; xaiserve takes dense and sparse (coo_sparse) inputs and " +
                         "returns dense outputs only" +
                         (is_input ? std::string(": export the input as a dense or sparse tensor")
                                   : std::string(": export the output as a dense tensor (tf.sparse.to_dense)")));
  }
  StatusOr<DType> dtype = FromTfDType(info.dtype());
  if (!dtype.ok()) {
    return dtype.status().WithContext("signature '" + signature_key + "' " + (is_input ? "input" : "output") + " '" +
                                      key + "'");
  }
  out.dtype = *dtype;
  out.rank_known = !info.tensor_shape().unknown_rank();
  for (const auto& dim : info.tensor_shape().dim()) out.shape.push_back(dim.size());
  return out;
}

// "x" and "x:0" -> "x:0".
std::string CanonicalName(const std::string& name) {
  const TensorName parsed = ParseTensorName(name);
  return std::string(parsed.node) + ":" + std::to_string(parsed.index);
}

// The entry for tensor `name` in a map keyed by CanonicalName, without
// copying the name when the map is empty (most models have no sparse input).
template <typename Map>
auto FindByTensorName(Map& map, const std::string& name) {
  return map.empty() ? map.end() : map.find(CanonicalName(name));
}

using TfFeeds = std::vector<std::pair<std::string, tf::Tensor>>;

// The intra-op "pool" of a short run: its one thread is the caller's, and
// work scheduled on it runs at once. Without it a short run's ops still split
// their work (matrix products, softmax) over TensorFlow's intra-op threads,
// and on a small model waking those threads costs more than the work: on this
// project's 2-core machine a tabular IG run (51 rows) takes 0.10-0.18 ms that
// way and 0.045 ms in the caller's thread alone.
class CallerThreadPool : public tf::thread::ThreadPoolInterface {
 public:
  void Schedule(std::function<void()> fn) override { fn(); }
  void Cancel() override {}
  int NumThreads() const override { return 1; }
  int CurrentThreadId() const override { return 0; }
};

// The kind of a run, for RunPlacement: its batch size and fetches.
std::string RunKind(const TfFeeds& feeds, const std::vector<std::string>& fetches) {
  std::string kind = feeds.empty() || feeds[0].second.dims() == 0 ? std::string("-")
                                                                  : std::to_string(feeds[0].second.dim_size(0));
  for (const std::string& f : fetches) kind += "|" + f;
  return kind;
}

// A sparse input's dense batch as the three SparseTensor feeds: the nonzero
// elements' values, their indices (batch row first) and the dense shape.
StatusOr<SparseCoo> AppendSparseFeeds(const TensorInfo& input, const Tensor& dense, TfFeeds* feeds) {
  if (dense.dtype == DType::kString || dense.shape.empty()) {
    return InvalidArgument("sparse input '" + input.key + "' must be fed a numeric batch of its dense shape " +
                           ShapeToString(input.shape) + ", got " + DTypeName(dense.dtype) + " " +
                           ShapeToString(dense.shape));
  }
  SparseCoo coo = DenseToSparse(dense);
  const int64_t nnz = coo.nnz(), rank = coo.rank();
  Tensor values = Tensor::FromValues(dense.dtype, {nnz}, coo.values);
  tf::Tensor indices(tf::DT_INT64, tf::TensorShape({nnz, rank}));
  auto indices_flat = indices.flat<int64_t>();
  for (int64_t i = 0; i < nnz * rank; ++i) indices_flat(i) = coo.indices[i];
  tf::Tensor dense_shape(tf::DT_INT64, tf::TensorShape({rank}));
  for (int64_t d = 0; d < rank; ++d) dense_shape.flat<int64_t>()(d) = coo.dense_shape[d];
  feeds->emplace_back(input.tensor_name, ToTf(values));
  feeds->emplace_back(input.sparse_indices_tensor, std::move(indices));
  feeds->emplace_back(input.sparse_dense_shape_tensor, std::move(dense_shape));
  return coo;
}

// Why a SavedModel that TensorFlow would not load for serving cannot be,
// in words that say what to do: it has no MetaGraph tagged 'serve' (naming
// the tag sets it has), or saved_model.pb is no SavedModel at all. "" when
// `error` is neither.
std::string NotServableAdvice(const std::string& dir, const std::string& error) {
  if (error.find("as binary proto") != std::string::npos) {
    return "saved_model.pb is not a SavedModel (a Git LFS pointer whose file was not fetched, a frozen GraphDef, "
           "or another file renamed?); export the model as a SavedModel (tf.saved_model.save, Keras "
           "model.export)";
  }
  if (error.find("Could not find meta graph def matching supplied tags") == std::string::npos) return "";
  tf::SavedModel saved_model;
  std::vector<std::string> tag_sets;
  if (tf::ReadSavedModel(dir, &saved_model).ok()) {
    for (const tf::MetaGraphDef& meta : saved_model.meta_graphs()) {
      std::vector<std::string> tags(meta.meta_info_def().tags().begin(), meta.meta_info_def().tags().end());
      tag_sets.push_back("{" + JoinWithCommas(tags) + "}");
    }
  }
  if (tag_sets.empty()) {
    return "saved_model.pb holds no MetaGraph at all (an empty file, or no SavedModel?); export the model as a "
           "SavedModel (tf.saved_model.save, Keras model.export)";
  }
  return "it holds no MetaGraph tagged 'serve', which xaiserve loads (as TF Serving does); its MetaGraphs are "
         "tagged " + JoinWithCommas(tag_sets) + ". Save it for serving: tf.saved_model.save tags it 'serve' (in "
         "TF1, builder.add_meta_graph_and_variables(sess, [tf.saved_model.SERVING], ...))";
}

// Why TensorFlow found no variables in a SavedModel whose path holds '[',
// ']' or '\': it reads the variables' path as a file-name pattern (a glob,
// where "[ab]" matches 'a' or 'b' and '\' escapes), which then matches no
// file (Python's TensorFlow fails the same way). "" when `error` is not that
// or the path holds none of them ('*' and '?' match themselves too).
std::string GlobPathAdvice(const std::string& dir, const std::string& error) {
  if (error.find("Failed to find any matching files") == std::string::npos) return "";
  std::vector<std::string> held;
  for (const char c : {'[', ']', '\\'}) {
    if (dir.find(c) != std::string::npos) held.push_back(std::string("'") + c + "'");
  }
  if (held.empty()) return "";
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(dir, ec);
  return "its path holds " + JoinWithCommas(held) + ", which TensorFlow reads as a file-name pattern (a glob) when "
         "it looks for the variables (variables/variables.index and its data files), and the pattern matches no "
         "file: rename the directory (or the parent that holds them) without '[', ']' and '\\', or load it "
         "through a symbolic link whose path has none of them (ln -s '" + (ec ? dir : absolute.string()) +
         "' /tmp/model)";
}

class TfSavedModel final : public ModelRuntime {
 public:
  static StatusOr<std::unique_ptr<ModelRuntime>> Load(const std::string& dir, const RuntimeOptions& options) {
    auto model = std::unique_ptr<TfSavedModel>(new TfSavedModel());
    model->path_ = dir;
    model->options_ = options;
    tf::SessionOptions session_options;
    // Gradient graphs are added to the live session (Session::Extend), which
    // TensorFlow allows only with this optimization off.
    session_options.config.mutable_experimental()->set_disable_optimize_for_static_graph(true);
    tf::RunOptions run_options;
    Status loaded = FromTf(tf::LoadSavedModel(session_options, run_options, dir, {"serve"}, &model->bundle_),
                           "loading SavedModel '" + dir + "' (tag 'serve')");
    if (!loaded.ok() && loaded.message().find("Op type not registered") != std::string::npos) {
      return Status(loaded.code(), loaded.message() + "\n" + tf_runtime::UnregisteredOpAdvice());
    }
    if (!loaded.ok()) {
      for (auto advice_for : {NotServableAdvice, GlobPathAdvice}) {
        if (std::string advice = advice_for(dir, loaded.message()); !advice.empty()) {
          return Status(loaded.code(), "loading SavedModel '" + dir + "': " + advice);
        }
      }
    }
    XAI_RETURN_IF_ERROR(loaded);
    XAI_RETURN_IF_ERROR(model->Index());
    const std::vector<const tf::Node*> outputs = model->SignatureOutputNodes();
    XAI_RETURN_IF_ERROR(tf_runtime::CheckOpsRunnable(*model->graph_, outputs, dir));
    XAI_RETURN_IF_ERROR(model->CheckVariablesRestored(outputs));
    return std::unique_ptr<ModelRuntime>(std::move(model));
  }

  const std::string& path() const override { return path_; }
  const std::vector<SignatureInfo>& signatures() const override { return signatures_; }
  bool is_tf1_graph() const override { return is_tf1_; }
  int saved_custom_gradients() const override { return saved_custom_gradients_; }
  std::vector<std::string> load_notes() const override { return load_notes_; }

  StatusOr<TensorInfo> DescribeTensor(const std::string& name) const override {
    const TensorName parsed = ParseTensorName(name);
    const std::string node_name(parsed.node);
    const int index = parsed.index;
    auto it = nodes_.find(node_name);
    if (it == nodes_.end()) {
      return NotFound("tensor '" + name + "' is not in the model's graph");
    }
    const tf::Node* node = it->second;
    if (index >= node->num_outputs()) {
      return NotFound("tensor '" + name + "': node '" + node_name + "' has only " +
                      std::to_string(node->num_outputs()) + " outputs");
    }
    TensorInfo info;
    info.tensor_name = node_name + ":" + std::to_string(index);
    XAI_ASSIGN_OR_RETURN(info.dtype, FromTfDType(tf::BaseType(node->output_type(index))));
    info.rank_known = false;
    std::vector<tf::PartialTensorShape> shapes;
    if (tf::GetNodeAttr(node->attrs(), "_output_shapes", &shapes).ok() && index < static_cast<int>(shapes.size()) &&
        shapes[index].dims() >= 0) {
      info.rank_known = true;
      for (int d = 0; d < shapes[index].dims(); ++d) info.shape.push_back(shapes[index].dim_size(d));
    } else {
      // Fall back to a signature that exposes the same tensor.
      for (const auto& sig : signatures_) {
        for (const auto* list : {&sig.inputs, &sig.outputs}) {
          for (const auto& t : *list) {
            if (SameTensor(t.tensor_name, info.tensor_name)) {
              info.rank_known = t.rank_known;
              info.shape = t.shape;
            }
          }
        }
      }
    }
    return info;
  }

  StatusOr<std::vector<Tensor>> Run(const std::vector<Feed>& feeds,
                                    const std::vector<std::string>& fetches) override {
    TfFeeds tf_feeds;
    XAI_RETURN_IF_ERROR(ToTfFeeds(feeds, &tf_feeds, nullptr));
    return RunTf(tf_feeds, fetches);
  }

  StatusOr<GradientResult> RunWithGradients(const GradientRequest& request) override {
    XAI_ASSIGN_OR_RETURN(const tf_runtime::GradientGraph* graph, GradientGraphFor(request.target, request.wrt));
    TfFeeds feeds;
    std::map<std::string, SparseCoo> fed_sparse;
    XAI_RETURN_IF_ERROR(ToTfFeeds(request.feeds, &feeds, &fed_sparse));
    Tensor element(DType::kInt64, {static_cast<int64_t>(request.target_element.size())});
    for (size_t i = 0; i < request.target_element.size(); ++i) {
      if (request.target_element[i] < ArgmaxOfRow(static_cast<int64_t>(request.target_element.size()) - 1)) {
        return InvalidArgument("target element " + std::to_string(request.target_element[i]) + " of row " +
                               std::to_string(i) + " names no row of the batch's " +
                               std::to_string(request.target_element.size()) +
                               "; give an index >= 0 or ArgmaxOfRow(r) for a row r of the batch");
      }
      element.values[i] = static_cast<double>(request.target_element[i]);
    }
    feeds.emplace_back(graph->element_placeholder, ToTf(element));
    std::vector<std::string> fetches = {graph->target_tensor, graph->chosen_element};
    for (const std::string& g : graph->gradients) {
      if (!g.empty()) fetches.push_back(g);
    }
    XAI_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, RunTf(feeds, fetches));
    GradientResult result;
    result.target_value = std::move(outputs[0]);
    result.chosen_element.assign(outputs[1].values.begin(), outputs[1].values.end());
    size_t next = 2;
    for (size_t i = 0; i < graph->gradients.size(); ++i) {
      if (!graph->gradients[i].empty()) {
        Tensor gradient = std::move(outputs[next++]);
        auto sparse = FindByTensorName(fed_sparse, request.wrt[i]);
        if (sparse != fed_sparse.end()) {
          // d/d values -> the dense view: each entry's gradient at its position.
          // The fed entries are this call's own; their values are no longer needed.
          SparseCoo& positions = sparse->second;
          positions.values = std::move(gradient.values);
          XAI_ASSIGN_OR_RETURN(gradient, SparseToDense(positions, gradient.dtype,
                                                       "the gradient of sparse input '" + request.wrt[i] + "'"));
        }
        result.gradients.push_back(std::move(gradient));
        continue;
      }
      // Not connected to the target: the gradient is zero, shaped like the input.
      const Tensor* fed = nullptr;
      for (const auto& f : request.feeds) {
        if (SameTensor(f.first, request.wrt[i])) fed = &f.second;
      }
      if (fed == nullptr) return InvalidArgument("gradient requested for '" + request.wrt[i] + "', which is not fed");
      result.gradients.push_back(Tensor(DType::kFloat32, fed->shape));
    }
    return result;
  }

  StatusOr<std::vector<bool>> PrepareGradients(const std::string& target, const std::vector<std::string>& wrt) override {
    XAI_ASSIGN_OR_RETURN(const tf_runtime::GradientGraph* graph, GradientGraphFor(target, wrt));
    std::vector<bool> exact;
    for (size_t i = 0; i < graph->gradients.size(); ++i) {
      exact.push_back(!graph->gradients[i].empty() || !graph->reaches_target[i]);
    }
    return exact;
  }

 private:
  TfSavedModel() = default;

  // TensorFlow feeds for `feeds`: dense tensors as they are, a sparse input's
  // dense batch as its three SparseTensor feeds (the entries fed go to
  // `fed_sparse`, by values tensor name, if given).
  Status ToTfFeeds(const std::vector<Feed>& feeds, TfFeeds* tf_feeds,
                   std::map<std::string, SparseCoo>* fed_sparse) const {
    tf_feeds->reserve(feeds.size());
    for (const auto& [name, value] : feeds) {
      auto sparse = FindByTensorName(sparse_inputs_, name);
      if (sparse == sparse_inputs_.end()) {
        tf_feeds->emplace_back(name, ToTf(value));
        continue;
      }
      XAI_ASSIGN_OR_RETURN(SparseCoo coo, AppendSparseFeeds(sparse->second, value, tf_feeds));
      if (fed_sparse != nullptr) (*fed_sparse)[sparse->first] = std::move(coo);
    }
    return OkStatus();
  }

  StatusOr<std::vector<Tensor>> RunTf(const TfFeeds& tf_feeds, const std::vector<std::string>& fetches) {
    std::vector<tf::Tensor> outputs;
    {
      // Short runs go in this thread, not TensorFlow's pool (run_placement.h).
      const std::string kind = RunKind(tf_feeds, fetches);
      tf::RunOptions options;
      tf::thread::ThreadPoolOptions pools;
      const bool in_caller_thread = placement_.InCallerThread(kind);
      if (in_caller_thread) {
        options.set_inter_op_thread_pool(-1);
        if (options_.short_runs_entirely_in_caller_thread) pools.intra_op_threadpool = &caller_thread_pool_;
      }
      std::shared_lock lock(session_mutex_);
      const auto start = std::chrono::steady_clock::now();
      XAI_RETURN_IF_ERROR(FromTf(bundle_.session->Run(options, tf_feeds, fetches, {}, &outputs, nullptr, pools),
                                 "running the model"));
      placement_.Record(kind, in_caller_thread,
                        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::vector<Tensor> result;
    for (size_t i = 0; i < outputs.size(); ++i) {
      StatusOr<Tensor> converted = FromTf(outputs[i]);
      if (!converted.ok()) return converted.status().WithContext("model output '" + fetches[i] + "'");
      result.push_back(std::move(converted).value());
    }
    return result;
  }

  Status Index() {
    const tf::MetaGraphDef& meta = bundle_.meta_graph_def;
    for (const auto& [key, def] : meta.signature_def()) {
      if (key == kInitOpKey) continue;
      SignatureInfo sig;
      sig.key = key;
      sig.method_name = def.method_name();
      for (const auto& [name, info] : def.inputs()) {
        XAI_ASSIGN_OR_RETURN(TensorInfo t, FromTfTensorInfo(key, name, info, /*is_input=*/true));
        if (t.is_sparse()) sparse_inputs_[CanonicalName(t.tensor_name)] = t;
        sig.inputs.push_back(std::move(t));
      }
      for (const auto& [name, info] : def.outputs()) {
        StatusOr<TensorInfo> t = FromTfTensorInfo(key, name, info, /*is_input=*/false);
        if (!t.ok() && t.status().code() == StatusCode::kUnimplemented && !FromTfDType(info.dtype()).ok()) {
          // One output xaiserve cannot hold need not take the others with it.
          load_notes_.push_back("signature '" + key + "' output '" + name + "' (" +
                                tf::DataTypeString(info.dtype()) + ") is left out: xaiserve holds real numbers, " +
                                "integers, booleans and strings only; its other outputs predict and explain");
          continue;
        }
        if (!t.ok()) return t.status();
        sig.outputs.push_back(std::move(t).value());
      }
      auto by_key = [](const TensorInfo& a, const TensorInfo& b) { return a.key < b.key; };
      std::sort(sig.inputs.begin(), sig.inputs.end(), by_key);
      std::sort(sig.outputs.begin(), sig.outputs.end(), by_key);
      signatures_.push_back(std::move(sig));
    }
    std::sort(signatures_.begin(), signatures_.end(),
              [](const SignatureInfo& a, const SignatureInfo& b) { return a.key < b.key; });

    graph_ = std::make_unique<tf::Graph>(tf::OpRegistry::Global());
    tf::GraphConstructorOptions options;
    options.allow_internal_ops = true;
    XAI_RETURN_IF_ERROR(FromTf(tf::ConvertGraphDefToGraph(options, meta.graph_def(), graph_.get()),
                               "reading the graph of '" + path_ + "'"));
    is_tf1_ = meta.graph_def().library().function_size() == 0;
    saved_custom_gradients_ = meta.graph_def().library().registered_gradients_size();
    int variables = 0;
    for (tf::Node* n : graph_->op_nodes()) {
      nodes_[n->name()] = n;
      variables += n->type_string() == "VarHandleOp" || n->type_string() == "VariableV2";
    }
    // TensorFlow loads a SavedModel whose variables/ is missing as one
    // without variables, and fails only when a run reads one.
    const std::string index = path_ + "/variables/variables.index";
    if (variables > 0 && !tf::Env::Default()->FileExists(index).ok()) {
      // TensorFlow says "not found" for a file it may not read, too.
      std::error_code unreadable;
      (void)std::filesystem::status(index, unreadable);  // only its error is wanted
      if (unreadable && unreadable != std::errc::no_such_file_or_directory && unreadable != std::errc::not_a_directory) {
        return FailedPrecondition("cannot read '" + index + "': " + unreadable.message() +
                                  "; make the SavedModel's files readable by the user xaiserve runs as");
      }
      return FailedPrecondition("'" + path_ + "' has " + std::to_string(variables) + " variables but no " + index +
                                ": copy the whole SavedModel directory, variables/ included");
    }
    for (const tf::NodeDef& n : meta.graph_def().node()) session_nodes_.insert(n.name());
    return OkStatus();
  }

  // The graph nodes of every signature's outputs.
  std::vector<const tf::Node*> SignatureOutputNodes() const {
    std::vector<const tf::Node*> outputs;
    for (const SignatureInfo& sig : signatures_) {
      for (const TensorInfo& t : sig.outputs) {
        auto it = nodes_.find(std::string(ParseTensorName(t.tensor_name).node));
        if (it != nodes_.end()) outputs.push_back(it->second);
      }
    }
    return outputs;
  }

  // Every resource variable that a signature reads must hold a value once
  // loaded. A Keras 3 model saved with tf.saved_model.save does not: its
  // functions read variables that its checkpoint does not restore (TensorFlow
  // restores copies), so every run would fail. Said here, at load time, once.
  // `outputs`: SignatureOutputNodes().
  Status CheckVariablesRestored(const std::vector<const tf::Node*>& outputs) {
    // The variable handles that the signatures' outputs depend on.
    std::vector<const tf::Node*> variables;
    tf::ReverseDFSFrom(*graph_, outputs, nullptr, [&](const tf::Node* n) {
      if (n->type_string() == "VarHandleOp") variables.push_back(n);
    });
    if (variables.empty()) return OkStatus();

    tf::GraphDef checks;
    std::vector<std::string> fetches;
    for (size_t i = 0; i < variables.size(); ++i) {
      tf::NodeDef* check = checks.add_node();
      check->set_name("xai_variable_check/" + std::to_string(i));
      check->set_op("VarIsInitializedOp");
      check->add_input(variables[i]->name());
      fetches.push_back(check->name() + ":0");
    }
    XAI_RETURN_IF_ERROR(FromTf(bundle_.session->Extend(checks), "checking the model's variables"));
    for (const tf::NodeDef& n : checks.node()) session_nodes_.insert(n.name());
    std::vector<tf::Tensor> initialized;
    XAI_RETURN_IF_ERROR(FromTf(bundle_.session->Run({}, fetches, {}, &initialized), "checking the model's variables"));
    std::vector<std::string> missing;
    for (size_t i = 0; i < variables.size(); ++i) {
      if (initialized[i].scalar<bool>()()) continue;
      std::string shared_name;
      const bool named = tf::TryGetNodeAttr(variables[i]->attrs(), "shared_name", &shared_name) && !shared_name.empty();
      missing.push_back(named ? shared_name : variables[i]->name());
    }
    if (missing.empty()) return OkStatus();
    const size_t count = missing.size();
    if (count > 3) missing.resize(3);
    return FailedPrecondition(
        "'" + path_ + "': its signatures read " + std::to_string(count) + " variable" + (count == 1 ? "" : "s") +
        " that loading the SavedModel does not restore (" + JoinWithCommas(missing) + (count > 3 ? ", ..." : "") +
        "), so every run would fail. A Keras 3 model saved with tf.saved_model.save is saved this way: export it "
        "with keras.export.ExportArchive (README: Exporting a Keras 3 model)");
  }

  StatusOr<const tf_runtime::GradientGraph*> GradientGraphFor(const std::string& target,
                                                             const std::vector<std::string>& wrt) {
    std::string key = target;
    for (const std::string& w : wrt) key += "|" + w;
    {
      // The common case, a graph built before: shared, so runs go on.
      std::shared_lock lock(session_mutex_);
      auto it = gradient_graphs_.find(key);
      if (it != gradient_graphs_.end()) return &it->second;
    }
    // Build it: exclusive, since it extends the session. Another thread may
    // have built it in between.
    std::unique_lock lock(session_mutex_);
    auto it = gradient_graphs_.find(key);
    if (it != gradient_graphs_.end()) return &it->second;
    const std::string prefix = "xai_gradients_" + std::to_string(gradient_graphs_.size());
    XAI_ASSIGN_OR_RETURN(tf_runtime::GradientGraph graph,
                         tf_runtime::BuildGradientGraph(bundle_.meta_graph_def.graph_def(), session_nodes_, target,
                                                        wrt, prefix));
    XAI_RETURN_IF_ERROR(FromTf(bundle_.session->Extend(graph.new_nodes), "adding the gradient graph to the session"));
    for (const tf::NodeDef& n : graph.new_nodes.node()) session_nodes_.insert(n.name());
    graph.new_nodes.Clear();
    return &gradient_graphs_.emplace(key, std::move(graph)).first->second;
  }

  std::string path_;
  tf::SavedModelBundle bundle_;
  std::vector<SignatureInfo> signatures_;
  bool is_tf1_ = false;
  int saved_custom_gradients_ = 0;
  std::vector<std::string> load_notes_;
  std::unique_ptr<tf::Graph> graph_;
  std::map<std::string, const tf::Node*> nodes_;
  // SparseTensor inputs of the signatures, by canonical values tensor name.
  std::map<std::string, TensorInfo> sparse_inputs_;
  // Runs share the session; extending it with a gradient graph is exclusive.
  std::shared_mutex session_mutex_;
  std::unordered_set<std::string> session_nodes_;
  std::map<std::string, tf_runtime::GradientGraph> gradient_graphs_;
  RuntimeOptions options_;
  RunPlacement placement_;
  CallerThreadPool caller_thread_pool_;  // stateless: shared by concurrent runs
};

}  // namespace

std::string TensorFlowVersion() { return TF_Version(); }  // the linked library's own

StatusOr<std::unique_ptr<ModelRuntime>> LoadSavedModelRuntime(const std::string& dir, const RuntimeOptions& options) {
  // TensorFlow's absl-logged INFO lines (graph passes) are noise for users;
  // warnings and errors still show. (TF_CPP_MIN_LOG_LEVEL governs the rest.)
  if (std::getenv("TF_CPP_MIN_LOG_LEVEL") == nullptr || std::string(std::getenv("TF_CPP_MIN_LOG_LEVEL")) != "0") {
    absl::SetMinLogLevel(absl::LogSeverityAtLeast::kWarning);
    absl::SetStderrThreshold(absl::LogSeverityAtLeast::kWarning);
  }
  return TfSavedModel::Load(dir, options);
}

}  // namespace xai
