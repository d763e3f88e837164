// Load-time check that the ops a SavedModel's signatures use can run in this
// process. TensorFlow's C++ loader reads a function's body only when the
// function first runs, so a model whose functions use an op with no kernel
// here loads without complaint and then fails every run: a tf.py_function
// (its op calls back into the Python process that saved the model), an op
// from TensorFlow Text, TensorFlow Addons or another library's .so. Private
// to the runtime module (includes TensorFlow headers). Pure functions of
// their arguments and TensorFlow's op and kernel registries: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "tensorflow/core/graph/graph.h"

namespace xai::tf_runtime {

// Walks what `outputs` (the signatures' output nodes) depend on in `graph`,
// and the bodies of the functions those nodes call, by attribute (`f`, a
// loop's `body`, a branch) or by op name, transitively. Every op met must be
// one of this TensorFlow's, have a kernel, and not call Python. Functions
// marked for XLA compilation (`_XlaMustCompile`) and XLA's own ops are left
// to XLA. FailedPrecondition names each op that cannot run, where it is, and
// what to do; `model` names the model in the message.
Status CheckOpsRunnable(const tensorflow::Graph& graph, const std::vector<const tensorflow::Node*>& outputs,
                        const std::string& model);

// What to do when TensorFlow reports "Op type not registered" (an op in the
// main graph, found while loading): its own text speaks of tf.contrib.
std::string UnregisteredOpAdvice();

}  // namespace xai::tf_runtime
