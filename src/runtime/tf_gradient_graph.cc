#include "runtime/tf_gradient_graph.h"

#include "core/tensor_name.h"
#include "runtime/tf_extra_gradients.h"

#include <map>
#include <memory>

#include "tensorflow/cc/framework/gradients.h"
#include "tensorflow/cc/framework/scope_internal.h"
#include "tensorflow/cc/ops/array_ops.h"
#include "tensorflow/cc/ops/math_ops.h"
#include "tensorflow/cc/ops/standard_ops.h"
#include "tensorflow/core/common_runtime/function_body.h"
#include "tensorflow/core/common_runtime/function_def_utils.h"
#include "tensorflow/core/common_runtime/graph_constructor.h"
#include "tensorflow/core/common_runtime/inline_function_utils.h"
#include "tensorflow/core/common_runtime/shape_refiner.h"
#include "tensorflow/core/graph/algorithm.h"
#include "tensorflow/core/graph/graph.h"
#include "tensorflow/core/graph/node_builder.h"

namespace xai::tf_runtime {
namespace {

namespace tf = ::tensorflow;

// Inlining rounds before giving up (nesting depth of function calls).
constexpr int kMaxInlineRounds = 64;

StatusCode CodeFromTf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return StatusCode::kInvalidArgument;
    case absl::StatusCode::kNotFound: return StatusCode::kNotFound;
    case absl::StatusCode::kFailedPrecondition: return StatusCode::kFailedPrecondition;
    case absl::StatusCode::kResourceExhausted: return StatusCode::kResourceExhausted;
    case absl::StatusCode::kUnimplemented: return StatusCode::kUnimplemented;
    case absl::StatusCode::kUnavailable: return StatusCode::kUnavailable;
    default: return StatusCode::kInternal;
  }
}

std::map<std::string, tf::Node*> NodesByName(tf::Graph* graph) {
  std::map<std::string, tf::Node*> nodes;
  for (tf::Node* n : graph->op_nodes()) nodes[n->name()] = n;
  return nodes;
}

StatusOr<tf::Output> FindOutput(const std::map<std::string, tf::Node*>& nodes, const std::string& name) {
  const TensorName parsed = ParseTensorName(name);
  const std::string node_name(parsed.node);
  const int index = parsed.index;
  auto it = nodes.find(node_name);
  if (it == nodes.end()) return NotFound("tensor '" + name + "' is not in the graph");
  if (index < 0 || index >= it->second->num_outputs()) {
    return NotFound("tensor '" + name + "': node '" + node_name + "' has " +
                    std::to_string(it->second->num_outputs()) + " outputs");
  }
  return tf::Output(it->second, index);
}

// The function a node calls, if it is a function call: either a
// (Stateful)PartitionedCall with attr `f`, or a node whose op is a library
// function.
bool CalledFunction(const tf::FunctionLibraryDefinition& flib, const tf::Node& node,
                    const tf::FunctionDef** fdef, tf::AttrSlice* attrs) {
  if (node.IsPartitionedCall()) {
    const tf::NameAttrList* func = nullptr;
    if (!tf::TryGetNodeAttr(node.attrs(), "f", &func) || func == nullptr) return false;
    *fdef = flib.Find(func->name());
    *attrs = tf::AttrSlice(&func->attr());
    return *fdef != nullptr;
  }
  *fdef = flib.Find(node.type_string());
  *attrs = node.attrs();
  return *fdef != nullptr;
}

// Inlines every function call that the target depends on, repeatedly, until
// the path from the inputs to `target_node` has no call left.
Status InlineCallsFeeding(tf::Graph* graph, tf::Node* target_node) {
  const tf::FunctionLibraryDefinition& flib = graph->flib_def();
  for (int round = 0; round < kMaxInlineRounds; ++round) {
    std::vector<tf::Node*> calls;
    tf::ReverseDFSFrom(*graph, {target_node}, nullptr, [&](tf::Node* n) {
      const tf::FunctionDef* fdef;
      tf::AttrSlice attrs;
      if (CalledFunction(flib, *n, &fdef, &attrs)) calls.push_back(n);
    });
    if (calls.empty()) return OkStatus();
    for (tf::Node* call : calls) {
      const tf::FunctionDef* fdef = nullptr;
      tf::AttrSlice attrs;
      CalledFunction(flib, *call, &fdef, &attrs);
      std::unique_ptr<tf::FunctionBody> body;
      XAI_RETURN_IF_ERROR(FromTf(tf::FunctionDefToBodyHelper(*fdef, attrs, &flib, &body),
                                 "instantiating function '" + fdef->signature().name() + "'"));
      tf::InlineFunctionBodyOptions options;
      options.ignore_noinline = true;  // Keras marks some functions _noinline.
      const std::string call_name = call->name();
      XAI_RETURN_IF_ERROR(FromTf(tf::InlineFunctionBody(flib, graph, call, body.get(), options),
                                 "inlining the function called by node '" + call_name + "'"));
    }
  }
  return FailedPrecondition("function calls nested more than " + std::to_string(kMaxInlineRounds) +
                            " deep; cannot build a gradient graph");
}

// "No gradient defined for op: Cumsum. ..." -> "Cumsum".
std::string OpWithoutGradient(const std::string& message) {
  const std::string marker = "No gradient defined for op: ";
  size_t start = message.find(marker);
  if (start == std::string::npos) return "";
  start += marker.size();
  size_t end = message.find_first_of(". \n", start);
  return message.substr(start, end - start);
}

// Per tensor of `wrt`: whether `target` depends on it through data edges
// (control edges carry no gradient).
std::vector<bool> ReachesTarget(const tf::Graph& graph, const tf::Output& target,
                                const std::vector<tf::Output>& wrt) {
  std::vector<bool> seen(graph.num_node_ids(), false);
  std::vector<const tf::Node*> pending = {target.node()};
  seen[target.node()->id()] = true;
  while (!pending.empty()) {
    const tf::Node* node = pending.back();
    pending.pop_back();
    for (const tf::Edge* edge : node->in_edges()) {
      if (edge->IsControlEdge() || seen[edge->src()->id()]) continue;
      seen[edge->src()->id()] = true;
      pending.push_back(edge->src());
    }
  }
  std::vector<bool> reached;
  reached.reserve(wrt.size());
  for (const tf::Output& out : wrt) reached.push_back(seen[out.node()->id()]);
  return reached;
}

}  // namespace

Status FromTf(const absl::Status& status, const std::string& context) {
  if (status.ok()) return OkStatus();
  return Status(CodeFromTf(status.code()), context + ": " + std::string(status.message()));
}

StatusOr<GradientGraph> BuildGradientGraph(const tf::GraphDef& graph_def,
                                           const std::unordered_set<std::string>& existing_nodes,
                                           const std::string& target, const std::vector<std::string>& wrt,
                                           const std::string& prefix) {
  // 1. The session graph as a tf::Graph, with a named handle on the target.
  tf::Graph flat(tf::OpRegistry::Global());
  tf::GraphConstructorOptions construct_options;
  construct_options.allow_internal_ops = true;
  XAI_RETURN_IF_ERROR(FromTf(tf::ConvertGraphDefToGraph(construct_options, graph_def, &flat),
                             "reading the model graph"));
  std::string target_name = prefix + "/target";
  {
    auto nodes = NodesByName(&flat);
    XAI_ASSIGN_OR_RETURN(tf::Output target_out, FindOutput(nodes, target));
    tf::Node* target_node = nullptr;
    XAI_RETURN_IF_ERROR(FromTf(tf::NodeBuilder(target_name, "Identity")
                                   .Input(target_out.node(), target_out.index())
                                   .Finalize(&flat, &target_node),
                               "adding the target node"));
    // 2. Inline the function calls the target depends on.
    XAI_RETURN_IF_ERROR(InlineCallsFeeding(&flat, target_node));
  }

  // 3. Re-import the flat graph with a shape refiner so that the C++ ops
  //    API (and the gradient functions) can add nodes to it.
  tf::GraphDef flat_def;
  flat.ToGraphDef(&flat_def);
  tf::Graph graph(tf::OpRegistry::Global());
  tf::ShapeRefiner refiner(graph.versions(), graph.op_registry());
  tf::ImportGraphDefOptions import_options;
  XAI_RETURN_IF_ERROR(FromTf(tf::ImportGraphDef(import_options, flat_def, &graph, &refiner),
                             "importing the inlined graph"));
  auto nodes = NodesByName(&graph);
  XAI_ASSIGN_OR_RETURN(tf::Output target_out, FindOutput(nodes, target_name));
  std::vector<tf::Output> wrt_outputs;
  for (const std::string& name : wrt) {
    XAI_ASSIGN_OR_RETURN(tf::Output out, FindOutput(nodes, name));
    wrt_outputs.push_back(out);
  }

  // 4. The seed d(loss)/d(target): one-hot over each row's elements at the
  //    chosen element, shaped like the target. A row fed element -1 - r
  //    (ArgmaxOfRow(r)) takes the argmax of row r's target, so the output to
  //    explain can be chosen at the instance (row r) in the very run that
  //    differentiates it.
  absl::Status scope_status;
  tf::Scope root = tf::NewInternalScope(&graph, &scope_status, &refiner).NewSubScope(prefix);
  namespace ops = tf::ops;
  const tf::DataType target_dtype = target_out.type();
  auto element = ops::Placeholder(root.WithOpName("element"), tf::DT_INT64,
                                  ops::Placeholder::Shape(tf::PartialTensorShape({-1})));
  auto target_shape = ops::Shape(root.WithOpName("target_shape"), target_out, ops::Shape::OutType(tf::DT_INT64));
  auto row_shape = ops::Slice(root.WithOpName("row_shape"), target_shape, ops::Const<int64_t>(root, {1}),
                              ops::Const<int64_t>(root, {-1}));
  auto row_elements = ops::Prod(root.WithOpName("row_elements"), row_shape, ops::Const<int>(root, 0));
  auto batch_size = ops::Slice(root.WithOpName("batch_size"), target_shape, ops::Const<int64_t>(root, {0}),
                               ops::Const<int64_t>(root, {1}));
  auto rows_shape = ops::Concat(root.WithOpName("rows_shape"),
                                std::vector<tf::Output>{batch_size, ops::Reshape(root, row_elements, {1})}, 0);
  auto rows = ops::Reshape(root.WithOpName("rows"), target_out, rows_shape);
  auto row_argmax = ops::ArgMax(root.WithOpName("row_argmax"), rows, ops::Const<int>(root, 1),
                                ops::ArgMax::OutputType(tf::DT_INT64));
  // Row r = -1 - element for negative elements (0, unused, for the others).
  auto argmax_row = ops::Maximum(root.WithOpName("argmax_row"),
                                 ops::Sub(root, ops::Const<int64_t>(root, -1), element), ops::Const<int64_t>(root, 0));
  auto row_argmax_wanted = ops::GatherV2(root.WithOpName("row_argmax_wanted"), row_argmax, argmax_row,
                                         ops::Const<int>(root, 0));
  auto chosen = ops::SelectV2(root.WithOpName("chosen_element"),
                              ops::Less(root, element, ops::Const<int64_t>(root, 0)), row_argmax_wanted, element);
  auto one = ops::Cast(root, ops::Const(root, 1.0f), target_dtype);
  auto zero = ops::Cast(root, ops::Const(root, 0.0f), target_dtype);
  auto one_hot = ops::OneHot(root.WithOpName("one_hot"), chosen, ops::Cast(root, row_elements, tf::DT_INT32),
                             one, zero);
  auto seed = ops::Reshape(root.WithOpName("seed"), one_hot, target_shape);
  XAI_RETURN_IF_ERROR(FromTf(scope_status, "building the gradient seed"));

  // 5. The backward pass (with the gradients the C++ registry lacks), for the
  //    tensors the target depends on. AddSymbolicGradients refuses a tensor
  //    that does not reach the target (a key column passed through to
  //    another output, one head's inputs in a two-headed model), whose
  //    gradient is exactly zero: it stays out, and reads as zero.
  RegisterExtraGradients();
  const std::vector<bool> reached = ReachesTarget(graph, target_out, wrt_outputs);
  std::vector<tf::Output> reached_outputs;
  for (size_t i = 0; i < wrt_outputs.size(); ++i) {
    if (reached[i]) reached_outputs.push_back(wrt_outputs[i]);
  }
  std::vector<tf::Output> grads;
  absl::Status grad_status =
      reached_outputs.empty() ? absl::OkStatus()
                              : tf::AddSymbolicGradients(root, {target_out}, reached_outputs, {seed}, &grads);
  if (!grad_status.ok()) {
    const std::string op = OpWithoutGradient(std::string(grad_status.message()));
    if (!op.empty()) {
      // Keras recurrent layers run a While loop over TensorLists.
      const bool loop = op == "While" || op == "StatelessWhile" || op.rfind("TensorList", 0) == 0;
      return FailedPrecondition("the model uses the op '" + op + "'" +
                                (loop ? " (a loop, as in Keras LSTM, GRU and SimpleRNN layers: for gradient methods, rebuild "
                                        "them with unroll=True for a fixed sequence length, copy the weights and "
                                        "export again)"
                                      : "") +
                                ", which has no gradient in TensorFlow's C++ gradient registry, so gradient "
                                "methods (Integrated Gradients, XRAI) cannot explain it; use Sampled Shapley "
                                "(--method sampled-shapley), which needs forward passes only");
    }
    return FromTf(grad_status, "building the gradient graph");
  }

  GradientGraph result;
  result.target_tensor = target_name + ":0";
  result.element_placeholder = element.node()->name() + ":0";
  result.chosen_element = chosen.node()->name() + ":0";
  size_t next = 0;
  for (size_t i = 0; i < wrt_outputs.size(); ++i) {
    result.reaches_target.push_back(reached[i]);
    if (!reached[i]) {
      result.gradients.emplace_back();
      continue;
    }
    const tf::Output& g = grads[next++];
    result.gradients.push_back(g.node() == nullptr ? "" : g.node()->name() + ":" + std::to_string(g.index()));
  }
  tf::GraphDef full;
  graph.ToGraphDef(&full);
  for (const tf::NodeDef& node : full.node()) {
    if (!existing_nodes.count(node.name())) *result.new_nodes.add_node() = node;
  }
  return result;
}

}  // namespace xai::tf_runtime
