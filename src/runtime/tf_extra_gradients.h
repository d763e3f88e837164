// Gradients that TensorFlow's Python API has and its C++ gradient registry
// (which AddSymbolicGradients uses) lacks, for ops that common Keras layers
// put on the path from a model's inputs to its outputs: Erfc (the exact GELU
// activation), IdentityN (tf.custom_gradient, as in the swish / SiLU
// activation), EnsureShape, Conv3D and Conv3DBackpropInputV2 (Conv3D and
// Conv3DTranspose layers). Each is the op's derivative, written here with the
// C++ ops API; they are registered in the process's global registry, once.
// Also "no gradient to any input" for Range, Bucketize and ResourceGather(Nd),
// as in Python, where an input reaches them only through its shape, or
// through integer ids, or through a bucketing that has no derivative.
// Private to the runtime module (includes no TensorFlow header itself, but
// only runtime/*.cc call it).
//
// IdentityN under tf.custom_gradient: the SavedModel registers the custom
// gradient's function (library.registered_gradients), which xaiserve does not
// apply; it takes the derivative of the forward computation the custom
// gradient wraps (ModelRuntime::saved_custom_gradients counts them, so users
// are told). For swish and SiLU they are the same
// function; a custom gradient that deliberately differs from the derivative
// (a straight-through estimator) is not reproduced.
#pragma once

namespace xai::tf_runtime {

// Adds the gradients above to TensorFlow's C++ gradient registry, skipping any
// op that already has one. Thread-safe; the first call does the work.
void RegisterExtraGradients();

}  // namespace xai::tf_runtime
