#include "runtime/tf_extra_gradients.h"

#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include "tensorflow/cc/framework/grad_op_registry.h"
#include "tensorflow/cc/framework/gradients.h"
#include "tensorflow/cc/ops/array_ops.h"
#include "tensorflow/cc/ops/math_ops.h"
#include "tensorflow/cc/ops/nn_ops.h"
#include "tensorflow/cc/ops/standard_ops.h"
#include "tensorflow/core/framework/node_def_util.h"
#include "tensorflow/core/framework/types.h"

namespace xai::tf_runtime {
namespace {

namespace tf = ::tensorflow;
namespace ops = ::tensorflow::ops;

using Outputs = std::vector<tf::Output>;

// d/dx erfc(x) = -2 / sqrt(pi) * exp(-x^2).
absl::Status ErfcGrad(const tf::Scope& scope, const tf::Operation& op, const Outputs& grad_inputs,
                      Outputs* grad_outputs) {
  const tf::Output x = op.input(0);
  auto scale = ops::Cast(scope, ops::Const(scope, -2.0 / std::sqrt(M_PI)), x.type());
  auto slope = ops::Mul(scope, scale, ops::Exp(scope, ops::Neg(scope, ops::Square(scope, x))));
  grad_outputs->push_back(ops::Mul(scope, grad_inputs[0], slope));
  return scope.status();
}

// Outputs that pass their inputs on unchanged pass gradients back unchanged;
// inputs that cannot have a gradient (resource handles, integers) get none.
absl::Status PassThroughGrad(const tf::Scope& scope, const tf::Operation& op, const Outputs& grad_inputs,
                             Outputs* grad_outputs) {
  for (int i = 0; i < op.num_inputs(); ++i) {
    const bool differentiable = tf::DataTypeIsFloating(op.input(i).type()) || tf::DataTypeIsComplex(op.input(i).type());
    grad_outputs->push_back(differentiable ? grad_inputs[i] : tf::NoGradient());
  }
  return scope.status();
}

// Ops that TensorFlow's Python API declares not differentiable
// (ops.NotDifferentiable) or that give no gradient to any input xaiserve can
// attribute: none of their inputs gets a gradient. The C++ registry has no
// entry for them, so AddSymbolicGradients refused every model where one sits
// between the inputs and the output, even where the input reaches it only
// through its shape, as in `tf.range(tf.shape(x)[1])` (a transformer's
// positions) or a positional-embedding lookup by those positions.
absl::Status NotDifferentiableGrad(const tf::Scope& scope, const tf::Operation& op, const Outputs&,
                                   Outputs* grad_outputs) {
  for (int i = 0; i < op.num_inputs(); ++i) grad_outputs->push_back(tf::NoGradient());
  return scope.status();
}

// The attributes a 3-D convolution and its input gradient share.
struct Conv3DAttrs {
  std::vector<int> strides;
  std::vector<int> dilations;
  std::string padding;
  std::string data_format;
};

absl::Status ReadConv3DAttrs(const tf::Operation& op, Conv3DAttrs* attrs) {
  const tf::AttrSlice node_attrs = op.node()->attrs();
  TF_RETURN_IF_ERROR(tf::GetNodeAttr(node_attrs, "strides", &attrs->strides));
  TF_RETURN_IF_ERROR(tf::GetNodeAttr(node_attrs, "dilations", &attrs->dilations));
  TF_RETURN_IF_ERROR(tf::GetNodeAttr(node_attrs, "padding", &attrs->padding));
  return tf::GetNodeAttr(node_attrs, "data_format", &attrs->data_format);
}

// y = conv3d(x, w): dx is the convolution's input gradient, dw its filter gradient.
absl::Status Conv3DGrad(const tf::Scope& scope, const tf::Operation& op, const Outputs& grad_inputs,
                        Outputs* grad_outputs) {
  Conv3DAttrs a;
  TF_RETURN_IF_ERROR(ReadConv3DAttrs(op, &a));
  const tf::Output x = op.input(0), w = op.input(1), dy = grad_inputs[0];
  grad_outputs->push_back(ops::Conv3DBackpropInputV2(
      scope, ops::Shape(scope, x), w, dy, a.strides, a.padding,
      ops::Conv3DBackpropInputV2::DataFormat(a.data_format).Dilations(a.dilations)));
  grad_outputs->push_back(ops::Conv3DBackpropFilterV2(
      scope, x, ops::Shape(scope, w), dy, a.strides, a.padding,
      ops::Conv3DBackpropFilterV2::DataFormat(a.data_format).Dilations(a.dilations)));
  return scope.status();
}

// y = conv3d_backprop_input(sizes, w, u), the transpose of u -> conv3d(u, w):
// du = conv3d(dy, w), and dw is the filter gradient of conv3d(dy, w) against u.
absl::Status Conv3DBackpropInputV2Grad(const tf::Scope& scope, const tf::Operation& op, const Outputs& grad_inputs,
                                       Outputs* grad_outputs) {
  Conv3DAttrs a;
  TF_RETURN_IF_ERROR(ReadConv3DAttrs(op, &a));
  const tf::Output w = op.input(1), u = op.input(2), dy = grad_inputs[0];
  grad_outputs->push_back(tf::NoGradient());  // input_sizes
  grad_outputs->push_back(ops::Conv3DBackpropFilterV2(
      scope, dy, ops::Shape(scope, w), u, a.strides, a.padding,
      ops::Conv3DBackpropFilterV2::DataFormat(a.data_format).Dilations(a.dilations)));
  grad_outputs->push_back(
      ops::Conv3D(scope, dy, w, a.strides, a.padding, ops::Conv3D::DataFormat(a.data_format).Dilations(a.dilations)));
  return scope.status();
}

void RegisterIfMissing(const std::string& op, tf::ops::GradFunc gradient) {
  tf::ops::GradOpRegistry* registry = tf::ops::GradOpRegistry::Global();
  tf::ops::GradFunc existing = nullptr;
  if (registry->Lookup(op, &existing).ok()) return;  // a later TensorFlow has its own
  registry->Register(op, gradient);
}

}  // namespace

void RegisterExtraGradients() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterIfMissing("Erfc", ErfcGrad);
    RegisterIfMissing("IdentityN", PassThroughGrad);
    RegisterIfMissing("EnsureShape", PassThroughGrad);
    RegisterIfMissing("Conv3D", Conv3DGrad);
    RegisterIfMissing("Conv3DBackpropInputV2", Conv3DBackpropInputV2Grad);
    // Python: ops.NotDifferentiable("Range"), ("Bucketize") (Keras Discretization).
    RegisterIfMissing("Range", NotDifferentiableGrad);
    RegisterIfMissing("Bucketize", NotDifferentiableGrad);
    // Python's gradient of a variable lookup goes to the variable (an
    // IndexedSlices for training), never to the integer indices; xaiserve
    // attributes inputs, not variables.
    RegisterIfMissing("ResourceGather", NotDifferentiableGrad);
    RegisterIfMissing("ResourceGatherNd", NotDifferentiableGrad);
  });
}

}  // namespace xai::tf_runtime
