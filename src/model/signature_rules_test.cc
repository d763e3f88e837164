#include "model/signature_rules.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/signature_tensors.h"
#include "testing/status_matchers.h"

namespace xai {
namespace {

using testing::Contains;
using testing::SignatureTensor;

TensorInfo UnknownRank(const std::string& key, DType dtype) {
  TensorInfo t = SignatureTensor(key, dtype, {});
  t.rank_known = false;
  return t;
}

SignatureInfo Signature(const std::string& key, std::vector<TensorInfo> inputs = {SignatureTensor("features", DType::kFloat32, {-1, 30})},
                        std::vector<TensorInfo> outputs = {SignatureTensor("probabilities", DType::kFloat32, {-1, 2})}) {
  SignatureInfo s;
  s.key = key;
  s.method_name = "tensorflow/serving/predict";
  s.inputs = std::move(inputs);
  s.outputs = std::move(outputs);
  return s;
}

std::vector<SignatureInfo> Signatures(const std::vector<std::string>& keys) {
  std::vector<SignatureInfo> out;
  for (const std::string& key : keys) out.push_back(Signature(key));
  return out;
}

// --- SPEC §1.1 table ---------------------------------------------------------

TEST(SelectSignaturesTest, OnlySignaturePredictsAndExplains) {
  const SignatureSelection sel = SelectSignatures(Signatures({"serving_default"}));
  EXPECT_EQ(sel.predict_key, "serving_default");
  EXPECT_EQ(sel.explain_key, "serving_default");
  EXPECT_EQ(sel.preprocess_key, "");
  EXPECT_TRUE(sel.explain_error.ok()) << sel.explain_error.ToString();
  EXPECT_TRUE(Contains(sel.explain_reason, "only signature"));
}

TEST(SelectSignaturesTest, OnlySignatureWithAnyKeyPredictsAndExplains) {
  const SignatureSelection sel = SelectSignatures(Signatures({"my_custom_key"}));
  EXPECT_EQ(sel.predict_key, "my_custom_key");
  EXPECT_EQ(sel.explain_key, "my_custom_key");
  EXPECT_TRUE(sel.explain_error.ok());
}

// tf.compat.v1.saved_model.Builder takes "" as a key: predictions said the
// model had no default signature and named none ("of: (none)").
TEST(SelectSignaturesTest, OnlySignatureWithAnEmptyKeyPredictsAndExplains) {
  const SignatureSelection sel = SelectSignatures(Signatures({""}));
  EXPECT_TRUE(sel.predicts_by_default);
  EXPECT_EQ(sel.predict_key, "");
  EXPECT_EQ(sel.explain_key, "");
  EXPECT_TRUE(sel.explain_error.ok()) << sel.explain_error.ToString();
}

TEST(SelectSignaturesTest, WithoutServingDefaultNoSignaturePredictsByDefault) {
  EXPECT_FALSE(SelectSignatures(Signatures({"a", "b"})).predicts_by_default);
  EXPECT_FALSE(SelectSignatures({}).predicts_by_default);
  EXPECT_TRUE(SelectSignatures(Signatures({"a", "serving_default"})).predicts_by_default);
}

// An input keyed "" was taken for a tensor inside the graph: fetched as well
// as fed ("x1:0 is both fed and fetched").
TEST(SelectSignaturesTest, AnEmptyInputKeyInTheExplainingSignatureIsNotExplained) {
  std::vector<SignatureInfo> signatures = {
      Signature("", {SignatureTensor("", DType::kFloat32, {-1, 3}, "x1:0"),
                     SignatureTensor("_2", DType::kFloat32, {-1, 2}, "x2:0")})};
  const SignatureSelection sel = SelectSignatures(signatures);
  EXPECT_TRUE(sel.predicts_by_default);
  EXPECT_EQ(sel.explain_error.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(sel.explain_error.message(), "signature '' has an input whose key is empty ('', tensor x1:0)"))
      << sel.explain_error.message();
  EXPECT_TRUE(Contains(sel.explain_error.message(), "save the signature with a key for every input"));
  EXPECT_EQ(sel.explain_reason, sel.explain_error.message());

  // Only the signatures that explain count.
  signatures.push_back(Signature("serving_default"));
  signatures.push_back(Signature("xai_model"));
  EXPECT_TRUE(SelectSignatures(signatures).explain_error.ok());
  signatures[0].key = "xai_preprocess";
  signatures[2].inputs = signatures[0].outputs;
  const SignatureSelection fed = SelectSignatures(signatures);
  EXPECT_TRUE(Contains(fed.explain_error.message(), "signature 'xai_preprocess' has an input whose key is empty"))
      << fed.explain_error.message();
  EXPECT_EQ(fed.preprocess_key, "");
}

TEST(SelectSignaturesTest, SeveralWithXaiModelExplainWithXaiModel) {
  const SignatureSelection sel = SelectSignatures(Signatures({"other", "serving_default", "xai_model"}));
  EXPECT_EQ(sel.predict_key, "serving_default");
  EXPECT_EQ(sel.explain_key, "xai_model");
  EXPECT_EQ(sel.preprocess_key, "");
  EXPECT_TRUE(sel.explain_error.ok()) << sel.explain_error.ToString();
  EXPECT_TRUE(Contains(sel.explain_reason, "xai_model"));
}

TEST(SelectSignaturesTest, SeveralWithoutXaiModelCannotExplain) {
  const SignatureSelection sel = SelectSignatures(Signatures({"logits_only", "serving_default"}));
  EXPECT_EQ(sel.predict_key, "serving_default");
  EXPECT_EQ(sel.explain_key, "");
  EXPECT_EQ(sel.preprocess_key, "");
  ASSERT_FALSE(sel.explain_error.ok());
  EXPECT_EQ(sel.explain_error.code(), StatusCode::kFailedPrecondition);
  const std::string& message = sel.explain_error.message();
  EXPECT_TRUE(Contains(message, "logits_only, serving_default"));  // the keys found
  EXPECT_TRUE(Contains(message, "xai_model"));
  EXPECT_TRUE(Contains(message, "signatures={'serving_default': f, 'xai_model': g}"));
  EXPECT_EQ(sel.explain_reason, message);
  EXPECT_FALSE(Contains(message, "TensorFlow 1"));
}

TEST(SelectSignaturesTest, ATensorFlow1GraphGetsTheTf1WayToAddXaiModel) {
  // An Estimator export: a classify signature as serving_default, and predict.
  const SignatureSelection sel = SelectSignatures(Signatures({"predict", "serving_default"}), /*tf1_graph=*/true);
  ASSERT_FALSE(sel.explain_error.ok());
  const std::string& message = sel.explain_error.message();
  EXPECT_TRUE(Contains(message, "predict, serving_default"));
  EXPECT_TRUE(Contains(message, "signatures={'serving_default': f, 'xai_model': g}"));  // SPEC 1.1's words
  EXPECT_TRUE(Contains(message, "add_meta_graph_and_variables(signature_def_map=...)")) << message;
  EXPECT_TRUE(Contains(message, "serving_sigdef_key does not choose it"));
}

TEST(SelectSignaturesTest, KerasExportsPairOfSignaturesGetsTheKerasWayToAddXaiModel) {
  const SignatureSelection keras = SelectSignatures(Signatures({"serve", "serving_default"}));
  EXPECT_EQ(keras.predict_key, "serving_default");
  ASSERT_FALSE(keras.explain_error.ok());
  EXPECT_TRUE(Contains(keras.explain_error.message(), "Keras 3's model.export()"));
  EXPECT_TRUE(Contains(keras.explain_error.message(), "keras.export.ExportArchive instead, calling add_endpoint('serving_default', ...) and add_endpoint('xai_model', ...)"));
  EXPECT_TRUE(Contains(keras.explain_error.message(), "signatures={'serving_default': f, 'xai_model': g}"));

  const SignatureSelection other = SelectSignatures(Signatures({"serve", "serving_default", "other"}));
  ASSERT_FALSE(other.explain_error.ok());
  EXPECT_FALSE(Contains(other.explain_error.message(), "Keras"));
}

TEST(SelectSignaturesTest, PreprocessAndModelExplainTogether) {
  const SignatureSelection sel = SelectSignatures(Signatures({"serving_default", "xai_model", "xai_preprocess"}));
  EXPECT_EQ(sel.predict_key, "serving_default");
  EXPECT_EQ(sel.explain_key, "xai_model");
  EXPECT_EQ(sel.preprocess_key, "xai_preprocess");
  EXPECT_TRUE(sel.explain_error.ok()) << sel.explain_error.ToString();
  EXPECT_TRUE(Contains(sel.explain_reason, "xai_preprocess"));
}

TEST(SelectSignaturesTest, PreprocessWithoutModelNamesTheMissingXaiModel) {
  const SignatureSelection sel = SelectSignatures(Signatures({"serving_default", "xai_preprocess"}));
  EXPECT_EQ(sel.predict_key, "serving_default");
  EXPECT_EQ(sel.explain_key, "");
  EXPECT_EQ(sel.preprocess_key, "");
  ASSERT_FALSE(sel.explain_error.ok());
  EXPECT_EQ(sel.explain_error.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(sel.explain_error.message(), "no 'xai_model'"));
  EXPECT_TRUE(Contains(sel.explain_error.message(), "serving_default, xai_preprocess"));
  EXPECT_TRUE(Contains(sel.explain_error.message(), "'xai_model': g"));
}

TEST(SelectSignaturesTest, SingleXaiPreprocessSignatureCannotExplain) {
  const SignatureSelection sel = SelectSignatures(Signatures({"xai_preprocess"}));
  EXPECT_EQ(sel.predict_key, "xai_preprocess");
  EXPECT_EQ(sel.explain_key, "");
  EXPECT_EQ(sel.preprocess_key, "");
  ASSERT_FALSE(sel.explain_error.ok());
  EXPECT_EQ(sel.explain_error.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(sel.explain_error.message(), "no 'xai_model'"));
}

TEST(SelectSignaturesTest, SeveralWithoutServingDefaultHaveNoPredictKey) {
  const SignatureSelection sel = SelectSignatures(Signatures({"a", "b", "xai_model"}));
  EXPECT_EQ(sel.predict_key, "");
  EXPECT_TRUE(Contains(sel.predict_reason, "a, b, xai_model"));
  EXPECT_TRUE(Contains(sel.predict_reason, "serving_default"));
  EXPECT_EQ(sel.explain_key, "xai_model");  // explaining still works
  EXPECT_TRUE(sel.explain_error.ok());

  const SignatureSelection neither = SelectSignatures(Signatures({"a", "b"}));
  EXPECT_EQ(neither.predict_key, "");
  EXPECT_EQ(neither.explain_key, "");
  EXPECT_FALSE(neither.explain_error.ok());
}

TEST(SelectSignaturesTest, NoSignaturesCannotPredictOrExplain) {
  const SignatureSelection sel = SelectSignatures({});
  EXPECT_EQ(sel.predict_key, "");
  EXPECT_EQ(sel.explain_key, "");
  ASSERT_FALSE(sel.explain_error.ok());
  EXPECT_EQ(sel.explain_error.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(sel.explain_error.message(), "no signatures"));
}

TEST(SelectSignaturesTest, KeysAreMatchedExactly) {
  // Near misses of the reserved keys are ordinary signatures.
  const SignatureSelection sel = SelectSignatures(Signatures({"XAI_MODEL", "serving_default", "xai-model"}));
  EXPECT_EQ(sel.explain_key, "");
  EXPECT_FALSE(sel.explain_error.ok());
}

// --- CheckPreprocessFeedsModel ------------------------------------------------

TEST(CheckInputsAreBatchedTest, AScalarInputIsRefusedNamingItAndTheFix) {
  EXPECT_TRUE(CheckInputsAreBatched(Signature("serving_default")).ok());
  EXPECT_TRUE(CheckInputsAreBatched(Signature("s", {SignatureTensor("ids", DType::kInt64, {-1})})).ok());
  EXPECT_TRUE(CheckInputsAreBatched(Signature("s", {UnknownRank("any", DType::kFloat32)})).ok());

  const Status scalar = CheckInputsAreBatched(Signature(
      "serving_default", {SignatureTensor("x", DType::kFloat32, {-1, 3}), SignatureTensor("temp", DType::kFloat32, {})}));
  EXPECT_EQ(scalar.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(scalar.message().find("input 'temp' is a scalar (shape [])"), std::string::npos) << scalar.message();
  EXPECT_NE(scalar.message().find("shape [None] for 'temp'"), std::string::npos) << scalar.message();
}

TEST(CheckPreprocessFeedsModelTest, MatchingOutputsAndInputsAreAccepted) {
  const SignatureInfo preprocess = Signature("xai_preprocess", {SignatureTensor("raw", DType::kFloat32, {-1, 30})},
                                             {SignatureTensor("features", DType::kFloat32, {-1, 30}),
                                              SignatureTensor("extra", DType::kInt64, {-1})});
  const SignatureInfo model = Signature("xai_model", {SignatureTensor("features", DType::kFloat32, {-1, 30})});
  EXPECT_TRUE(CheckPreprocessFeedsModel(preprocess, model).ok());
}

TEST(CheckPreprocessFeedsModelTest, KnownAndUnknownDimensionsAreCompatible) {
  const SignatureInfo preprocess = Signature("xai_preprocess", {}, {SignatureTensor("features", DType::kFloat32, {8, -1})});
  const SignatureInfo model = Signature("xai_model", {SignatureTensor("features", DType::kFloat32, {-1, 30})});
  EXPECT_TRUE(CheckPreprocessFeedsModel(preprocess, model).ok());
}

TEST(CheckPreprocessFeedsModelTest, UnknownRankIsCompatibleWithAnyShape) {
  const SignatureInfo unknown_out = Signature("xai_preprocess", {}, {UnknownRank("features", DType::kFloat32)});
  const SignatureInfo model = Signature("xai_model", {SignatureTensor("features", DType::kFloat32, {-1, 30})});
  EXPECT_TRUE(CheckPreprocessFeedsModel(unknown_out, model).ok());

  const SignatureInfo known_out = Signature("xai_preprocess", {}, {SignatureTensor("features", DType::kFloat32, {-1, 4, 4})});
  const SignatureInfo unknown_in = Signature("xai_model", {UnknownRank("features", DType::kFloat32)});
  EXPECT_TRUE(CheckPreprocessFeedsModel(known_out, unknown_in).ok());
}

TEST(CheckPreprocessFeedsModelTest, MissingNameNamesBothSides) {
  const SignatureInfo preprocess = Signature("xai_preprocess", {}, {SignatureTensor("feats", DType::kFloat32, {-1, 30}),
                                                                    SignatureTensor("ids", DType::kInt64, {-1})});
  const SignatureInfo model = Signature("xai_model", {SignatureTensor("features", DType::kFloat32, {-1, 30})});
  const Status status = CheckPreprocessFeedsModel(preprocess, model);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(status.message(), "'xai_model' input 'features' (float32[?,30])"));
  EXPECT_TRUE(Contains(status.message(), "feats, ids"));  // the outputs there are
  EXPECT_TRUE(Contains(status.message(), "xai_preprocess"));
}

TEST(CheckPreprocessFeedsModelTest, DTypeMismatchNamesBothSides) {
  const SignatureInfo preprocess = Signature("xai_preprocess", {}, {SignatureTensor("features", DType::kFloat64, {-1, 30})});
  const SignatureInfo model = Signature("xai_model", {SignatureTensor("features", DType::kFloat32, {-1, 30})});
  const Status status = CheckPreprocessFeedsModel(preprocess, model);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(status.message(), "'xai_preprocess' output 'features' is float64[?,30]"));
  EXPECT_TRUE(Contains(status.message(), "'xai_model' input 'features' is float32[?,30]"));
  EXPECT_TRUE(Contains(status.message(), "dtype"));
}

TEST(CheckPreprocessFeedsModelTest, ShapeMismatchNamesBothSides) {
  const SignatureInfo preprocess = Signature("xai_preprocess", {}, {SignatureTensor("features", DType::kFloat32, {-1, 29})});
  const SignatureInfo model = Signature("xai_model", {SignatureTensor("features", DType::kFloat32, {-1, 30})});
  const Status status = CheckPreprocessFeedsModel(preprocess, model);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(status.message(), "'xai_preprocess' output 'features'"));
  EXPECT_TRUE(Contains(status.message(), "[?,29]"));
  EXPECT_TRUE(Contains(status.message(), "'xai_model' input 'features'"));
  EXPECT_TRUE(Contains(status.message(), "[?,30]"));
}

TEST(CheckPreprocessFeedsModelTest, RankMismatchIsAShapeMismatch) {
  const SignatureInfo preprocess = Signature("xai_preprocess", {}, {SignatureTensor("features", DType::kFloat32, {-1})});
  const SignatureInfo model = Signature("xai_model", {SignatureTensor("features", DType::kFloat32, {-1, 30})});
  const Status status = CheckPreprocessFeedsModel(preprocess, model);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), "[?]"));
  EXPECT_TRUE(Contains(status.message(), "[?,30]"));
}

TEST(CheckPreprocessFeedsModelTest, EveryModelInputIsChecked) {
  const SignatureInfo preprocess = Signature("xai_preprocess", {}, {SignatureTensor("a", DType::kFloat32, {-1, 2})});
  const SignatureInfo model = Signature("xai_model", {SignatureTensor("a", DType::kFloat32, {-1, 2}),
                                                      SignatureTensor("b", DType::kFloat32, {-1, 3})});
  const Status status = CheckPreprocessFeedsModel(preprocess, model);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), "input 'b'"));
}

// --- FindSignature / SignatureKeyList --------------------------------------------

TEST(FindSignatureTest, FindsByKey) {
  const std::vector<SignatureInfo> signatures = Signatures({"serving_default", "xai_model"});
  auto found = FindSignature(signatures, "xai_model");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, &signatures[1]);
}

TEST(FindSignatureTest, NotFoundListsTheKeys) {
  const std::vector<SignatureInfo> signatures = Signatures({"serving_default", "xai_model"});
  auto found = FindSignature(signatures, "predict");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(found.status().message(), "'predict'"));
  EXPECT_TRUE(Contains(found.status().message(), "serving_default, xai_model"));
}

TEST(SignatureKeyListTest, JoinsKeysOrSaysNone) {
  EXPECT_EQ(SignatureKeyList(Signatures({"a", "b", "c"})), "a, b, c");
  EXPECT_EQ(SignatureKeyList({}), "(none)");
}

}  // namespace
}  // namespace xai
