#include "model/signature_rules.h"

namespace xai {
namespace {

bool Has(const std::vector<SignatureInfo>& signatures, const std::string& key) {
  for (const auto& s : signatures) {
    if (s.key == key) return true;
  }
  return false;
}

std::string Describe(const TensorInfo& t) {
  return std::string(DTypeName(t.dtype)) + (t.rank_known ? ShapeToString(t.shape) : "[unknown rank]");
}

// Shapes are compatible when ranks agree (or one is unknown) and every pair of
// known dimensions agrees.
bool CompatibleShapes(const TensorInfo& a, const TensorInfo& b) {
  if (!a.rank_known || !b.rank_known) return true;
  if (a.shape.size() != b.shape.size()) return false;
  for (size_t i = 0; i < a.shape.size(); ++i) {
    if (a.shape[i] >= 0 && b.shape[i] >= 0 && a.shape[i] != b.shape[i]) return false;
  }
  return true;
}

// `sel` with no signature to explain when the one explaining, or
// xai_preprocess feeding it, has an input whose key is "" (a TF1 signature
// can have one): explanations tell the inputs fed through the signature
// from tensors inside the graph by their key.
SignatureSelection RefuseEmptyInputKeys(const std::vector<SignatureInfo>& signatures, SignatureSelection sel) {
  if (!sel.explain_error.ok()) return sel;  // nothing explains
  for (const SignatureInfo& s : signatures) {
    if (s.key != sel.explain_key && (sel.preprocess_key.empty() || s.key != sel.preprocess_key)) continue;
    for (const TensorInfo& t : s.inputs) {
      if (!t.key.empty()) continue;
      sel.explain_error = FailedPrecondition(
          "signature '" + s.key + "' has an input whose key is empty ('', tensor " + t.tensor_name + "), which "
          "xaiserve can feed for predictions but cannot explain: save the signature with a key for every input "
          "(in TF1, predict_signature_def(inputs={'x': ...}, ...))");
      sel.explain_reason = sel.explain_error.message();
      sel.explain_key.clear();
      sel.preprocess_key.clear();
      return sel;
    }
  }
  return sel;
}

}  // namespace

std::string TensorKeyList(const std::vector<TensorInfo>& tensors) {
  std::string keys;
  for (const auto& t : tensors) keys += (keys.empty() ? "" : ", ") + t.key;
  return keys;
}

std::string SignatureKeyList(const std::vector<SignatureInfo>& signatures) {
  std::string keys;
  for (const auto& s : signatures) keys += (keys.empty() ? "" : ", ") + s.key;
  return keys.empty() ? "(none)" : keys;
}

Status CheckInputsAreBatched(const SignatureInfo& signature) {
  for (const TensorInfo& t : signature.inputs) {
    if (!t.rank_known || !t.shape.empty() || t.is_sparse()) continue;
    return FailedPrecondition("signature '" + signature.key + "' input '" + t.key + "' is a scalar (shape []) with "
                              "no batch dimension, and xaiserve feeds instances stacked along the first dimension, "
                              "one row each: save the signature with shape [None] for '" + t.key +
                              "' (one value per instance), or fix its value inside the signature's function");
  }
  return OkStatus();
}

StatusOr<const SignatureInfo*> FindSignature(const std::vector<SignatureInfo>& signatures, const std::string& key) {
  for (const auto& s : signatures) {
    if (s.key == key) return &s;
  }
  return NotFound("signature '" + key + "' not found; the model's signatures are: " + SignatureKeyList(signatures));
}

SignatureSelection SelectSignatures(const std::vector<SignatureInfo>& signatures, bool tf1_graph) {
  SignatureSelection sel;
  const std::string keys = SignatureKeyList(signatures);
  if (signatures.empty()) {
    sel.predict_reason = "the model has no signatures";
    sel.explain_error = FailedPrecondition("the SavedModel has no signatures (tag 'serve'); save it with "
                                           "signatures={'serving_default': f}");
    return sel;
  }
  if (signatures.size() == 1) {
    const std::string& only = signatures[0].key;
    sel.predict_key = only;
    sel.predicts_by_default = true;
    sel.predict_reason = "'" + only + "' is the only signature";
    if (only == kXaiPreprocess) {
      sel.explain_error = FailedPrecondition("the model has the signature 'xai_preprocess' but no 'xai_model' for it "
                                             "to feed; save with signatures={'serving_default': f, 'xai_preprocess': "
                                             "p, 'xai_model': g}");
      return sel;
    }
    sel.explain_key = only;
    sel.explain_reason = "'" + only + "' is the only signature";
    return RefuseEmptyInputKeys(signatures, sel);
  }

  if (Has(signatures, kServingDefault)) {
    sel.predict_key = kServingDefault;
    sel.predicts_by_default = true;
    sel.predict_reason = "several signatures; 'serving_default' predicts";
  } else {
    sel.predict_reason = "several signatures and none is 'serving_default'; a request must name one (found: " +
                         keys + ")";
  }

  const bool has_model = Has(signatures, kXaiModel);
  const bool has_preprocess = Has(signatures, kXaiPreprocess);
  if (has_model && has_preprocess) {
    sel.explain_key = kXaiModel;
    sel.preprocess_key = kXaiPreprocess;
    sel.explain_reason = "'xai_preprocess' feeds 'xai_model'; attributions are for the inputs of 'xai_model'";
  } else if (has_model) {
    sel.explain_key = kXaiModel;
    sel.explain_reason = "several signatures; 'xai_model' explains";
  } else if (has_preprocess) {
    sel.explain_error = FailedPrecondition(
        "the model has the signature 'xai_preprocess' but no 'xai_model' for it to feed (found: " + keys +
        "); save with signatures={'serving_default': f, 'xai_preprocess': p, 'xai_model': g}");
  } else {
    // Keras 3's model.export() writes these two, with the same function.
    const bool keras_export = signatures.size() == 2 && Has(signatures, "serve") && Has(signatures, kServingDefault);
    sel.explain_error = FailedPrecondition(
        "the model has several signatures (" + keys + ") and none is 'xai_model', so xaiserve cannot tell which "
        "one to explain; save with signatures={'serving_default': f, 'xai_model': g}" +
        (keras_export ? std::string(". 'serve' and 'serving_default' are the two that Keras 3's model.export() "
                                    "writes; to add 'xai_model', export with keras.export.ExportArchive instead, "
                                    "calling add_endpoint('serving_default', ...) and add_endpoint('xai_model', ...) "
                                    "with the model's call")
                      : "") +
        (tf1_graph ? std::string(". In a TensorFlow 1 graph (tf.compat.v1.saved_model.Builder, an Estimator's "
                                 "export), add the signature to explain under the key 'xai_model' in "
                                 "add_meta_graph_and_variables(signature_def_map=...); the metadata's "
                                 "serving_sigdef_key does not choose it")
                   : ""));
  }
  if (!sel.explain_error.ok()) sel.explain_reason = sel.explain_error.message();
  return RefuseEmptyInputKeys(signatures, sel);
}

Status CheckPreprocessFeedsModel(const SignatureInfo& preprocess, const SignatureInfo& model) {
  for (const TensorInfo& in : model.inputs) {
    const TensorInfo* out = nullptr;
    for (const TensorInfo& candidate : preprocess.outputs) {
      if (candidate.key == in.key) out = &candidate;
    }
    if (out == nullptr) {
      const std::string outputs = TensorKeyList(preprocess.outputs);
      return FailedPrecondition("'xai_model' input '" + in.key + "' (" + Describe(in) +
                                ") is not produced by 'xai_preprocess', whose outputs are: " + outputs +
                                "; name a 'xai_preprocess' output '" + in.key + "'");
    }
    if (out->dtype != in.dtype) {
      return FailedPrecondition("'xai_preprocess' output '" + out->key + "' is " + Describe(*out) +
                                " but 'xai_model' input '" + in.key + "' is " + Describe(in) +
                                "; the dtypes must be the same");
    }
    if (!CompatibleShapes(*out, in)) {
      return FailedPrecondition("'xai_preprocess' output '" + out->key + "' has shape " + Describe(*out) +
                                " but 'xai_model' input '" + in.key + "' has shape " + Describe(in) +
                                "; the shapes must be compatible");
    }
  }
  return OkStatus();
}

}  // namespace xai
