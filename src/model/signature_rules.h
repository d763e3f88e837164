// The rules that decide which signature predicts and which explains
// (SPEC §1.1), as pure functions over signature descriptions, so they are
// tested without TensorFlow:
//
//   one signature                      -> it predicts and explains
//   several, with xai_model            -> serving_default predicts, xai_model explains
//   several, without xai_model         -> serving_default predicts, nothing explains
//   xai_preprocess and xai_model       -> xai_preprocess feeds xai_model, which explains
//   xai_preprocess without xai_model   -> nothing explains
//
// The signature explaining (and xai_preprocess feeding it) must have a key
// for every input: an input whose key is "" is not explained (explain_error).
//
// Thread-safe (no state).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/model_runtime.h"

namespace xai {

inline constexpr char kServingDefault[] = "serving_default";
inline constexpr char kXaiModel[] = "xai_model";
inline constexpr char kXaiPreprocess[] = "xai_preprocess";

struct SignatureSelection {
  std::string predict_key;     // the default's key (may be "": a TF1 model's only signature can have that key).
  bool predicts_by_default = false;  // false: no default; a request must name one.
  std::string explain_key;     // empty: the model cannot be explained (see explain_error).
  std::string preprocess_key;  // xai_preprocess when it feeds explain_key, else empty.
  std::string predict_reason;  // why, in words, for `inspect` and GET /v1/models/{name}.
  std::string explain_reason;
  Status explain_error;        // FAILED_PRECONDITION with what to do, when explain_key is empty.
};

// `tf1_graph`: the model is a TensorFlow 1 graph (no function library), for
// which the advice names the TF1 way to add a signature.
SignatureSelection SelectSignatures(const std::vector<SignatureInfo>& signatures, bool tf1_graph = false);

// Every input of `model` must be produced by an output of `preprocess` with
// the same name, the same dtype and a compatible shape. The error names both
// sides.
Status CheckPreprocessFeedsModel(const SignatureInfo& preprocess, const SignatureInfo& model);

// Every input must have a batch dimension: instances are fed stacked along
// dimension 0, one row each. FAILED_PRECONDITION naming the first scalar
// (shape []) input and what to do otherwise; fed a batch, such an input made
// TensorFlow broadcast it, and a prediction lost values or failed deep inside
// the graph.
Status CheckInputsAreBatched(const SignatureInfo& signature);

// The signature with `key`, or NOT_FOUND listing the keys there are.
StatusOr<const SignatureInfo*> FindSignature(const std::vector<SignatureInfo>& signatures, const std::string& key);

// "a, b, c" of the tensors' keys.
std::string TensorKeyList(const std::vector<TensorInfo>& tensors);

// "a, b, c" of the signature keys.
std::string SignatureKeyList(const std::vector<SignatureInfo>& signatures);

}  // namespace xai
