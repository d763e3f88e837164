#include "runtime/tf_runnable_ops.h"

#include <deque>
#include <map>
#include <optional>
#include <set>

#include "tensorflow/core/framework/function.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/graph/algorithm.h"

namespace xai::tf_runtime {
namespace {

namespace tf = ::tensorflow;
using AttrMap = google::protobuf::Map<std::string, tf::AttrValue>;

enum class Problem { kCallsPython, kNotRegistered, kNoKernel };

struct Unrunnable {
  Problem problem;
  std::string where;  // "function '...'" or "node '...'": the first place met
};

bool IsXlaCompiled(const AttrMap& attrs) {
  auto it = attrs.find("_XlaMustCompile");
  return it != attrs.end() && it->second.b();
}

// The ops reachable from the outputs that cannot run, by op name.
class OpWalker {
 public:
  explicit OpWalker(const tf::FunctionLibraryDefinition& library) : library_(library) {}

  void Visit(const std::string& op, const AttrMap& attrs, const std::string& where) {
    if (IsXlaCompiled(attrs)) return;
    for (const auto& [name, value] : attrs) {
      if (value.has_func()) Call(value.func().name());
      for (const tf::NameAttrList& func : value.list().func()) Call(func.name());
    }
    if (library_.Find(op) != nullptr) {
      Call(op);
      return;
    }
    if (op.rfind("Xla", 0) == 0 || found_.count(op) || checked_.count(op)) return;
    if (std::optional<Problem> problem = ProblemOf(op)) {
      found_[op] = Unrunnable{*problem, where};
    } else {
      checked_.insert(op);
    }
  }

  // Visits the bodies of the functions called so far, and of those they call.
  void VisitCalledFunctions() {
    while (!pending_.empty()) {
      const std::string name = pending_.front();
      pending_.pop_front();
      const tf::FunctionDef* function = library_.Find(name);
      if (function == nullptr || IsXlaCompiled(function->attr())) continue;
      for (const tf::NodeDef& node : function->node_def()) Visit(node.op(), node.attr(), "function '" + name + "'");
    }
  }

  const std::map<std::string, Unrunnable>& found() const { return found_; }

 private:
  void Call(const std::string& function) {
    if (called_.insert(function).second) pending_.push_back(function);
  }

  static std::optional<Problem> ProblemOf(const std::string& op) {
    if (op == "PyFunc" || op == "PyFuncStateless" || op == "EagerPyFunc") return Problem::kCallsPython;
    const tf::OpDef* def = nullptr;
    if (!tf::OpRegistry::Global()->LookUpOpDef(op, &def).ok()) return Problem::kNotRegistered;
    if (tf::GetRegisteredKernelsForOp(op).kernel_size() == 0) return Problem::kNoKernel;
    return std::nullopt;
  }

  const tf::FunctionLibraryDefinition& library_;
  std::set<std::string> called_;
  std::deque<std::string> pending_;
  std::set<std::string> checked_;  // ops that can run
  std::map<std::string, Unrunnable> found_;
};

std::string WhatToDo(Problem problem) {
  switch (problem) {
    case Problem::kCallsPython:
      return "a call back into Python (tf.py_function or tf.numpy_function), which only the Python process that "
             "saved the model can make; TensorFlow Serving cannot run it either. Write that step with TensorFlow "
             "ops, or do it before the model and feed its result";
    case Problem::kNotRegistered:
      return "not one of TensorFlow's own ops. " + UnregisteredOpAdvice();
    case Problem::kNoKernel:
      return "TensorFlow's C++ libraries have no kernel for it (an op for another device, or one whose kernel "
             "lives in Python). Write that step with other TensorFlow ops";
  }
  return "";
}

}  // namespace

Status CheckOpsRunnable(const tf::Graph& graph, const std::vector<const tf::Node*>& outputs,
                        const std::string& model) {
  OpWalker walker(graph.flib_def());
  tf::ReverseDFSFrom(graph, outputs, nullptr, [&](const tf::Node* n) {
    if (n->IsOp()) walker.Visit(n->type_string(), n->def().attr(), "node '" + n->name() + "'");
  });
  walker.VisitCalledFunctions();
  if (walker.found().empty()) return OkStatus();
  // One line per op, at most three.
  constexpr size_t kShown = 3;
  const size_t count = walker.found().size();
  std::string text = "'" + model + "': its signatures use " + (count == 1 ? "an op" : std::to_string(count) + " ops") +
                     " that cannot run here, so every run would fail";
  size_t shown = 0;
  for (const auto& [op, unrunnable] : walker.found()) {
    if (shown++ == kShown) {
      text += "; and " + std::to_string(count - kShown) + " more";
      break;
    }
    text += "; '" + op + "' (in " + unrunnable.where + "): " + WhatToDo(unrunnable.problem);
  }
  return FailedPrecondition(text);
}

std::string UnregisteredOpAdvice() {
  return "xaiserve runs a SavedModel with the ops built into the tensorflow-cpu wheel's C++ libraries only: an op "
         "from TensorFlow Text, TensorFlow Addons or another library's .so is not loaded. Export the model without "
         "it: do that step before the model, or write it with TensorFlow's own ops";
}

}  // namespace xai::tf_runtime
