#include "model/explanation_metadata.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/signature_tensors.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace xai {
namespace {

using testing::Contains;
using testing::ErrorMessage;
using testing::SignatureTensor;
using testing::SparseSignatureTensor;
using testing::TempDir;

constexpr char kSource[] = "md.json";

StatusOr<ExplanationMetadata> Parse(const std::string& text) {
  return ParseExplanationMetadata(Json::parse(text), kSource);
}

// The message of parsing `text`, which must fail with INVALID_ARGUMENT and
// name where the metadata came from.
std::string ParseError(const std::string& text) {
  return ErrorMessage(Parse(text).status(), StatusCode::kInvalidArgument, {kSource},
                      "parsing " + text);
}

// Metadata with one input `x` described by `input_fields` (a JSON object body).
std::string WithInput(const std::string& input_fields) {
  return R"({"inputs": {"x": {)" + input_fields + R"(}}, "outputs": {"y": {}}})";
}

// Metadata with one output `y` described by `output_fields`.
std::string WithOutput(const std::string& output_fields) {
  return R"({"inputs": {"x": {}}, "outputs": {"y": {)" + output_fields + R"(}}})";
}

// The same metadata in both formats. Keys sort the same way in both.
constexpr char kAiPlatform[] = R"({
  "framework": "tensorflow",
  "tags": ["explainable_ai_sdk"],
  "inputs": {
    "age": {"input_tensor_name": "age:0", "input_baselines": [0.5, 30],
            "domain": {"min": 0, "max": 100, "original_mean": 40, "original_stddev": 12},
            "group_name": "demographics"},
    "embedding": {"input_tensor_name": "ids:0", "encoding": "combined_embedding",
                  "encoded_tensor_name": "embedding:0", "encoded_baselines": [[0, 0]]},
    "image": {"input_tensor_name": "image:0", "modality": "image",
              "visualization": {"type": "outlines", "polarity": "positive"}},
    "sparse": {"input_tensor_name": "values:0", "encoding": "bag_of_features_sparse",
               "index_feature_mapping": ["u", "v"], "indices_tensor_name": "indices:0",
               "dense_shape_tensor_name": "dense_shape:0"},
    "words": {"input_tensor_name": "words:0", "encoding": "bag_of_features", "modality": "categorical",
              "index_feature_mapping": ["a", "b", "c"]}
  },
  "outputs": {
    "logits": {"output_tensor_name": "logits:0", "index_name_mapping_key": "class_names"},
    "probabilities": {"output_tensor_name": "probabilities:0", "index_name_mapping": ["no", "yes"]}
  }
})";

constexpr char kVertex[] = R"({
  "inputs": {
    "age": {"inputTensorName": "age:0", "inputBaselines": [0.5, 30],
            "featureValueDomain": {"minValue": 0, "maxValue": 100, "originalMean": 40, "originalStddev": 12},
            "groupName": "demographics"},
    "embedding": {"inputTensorName": "ids:0", "encoding": "COMBINED_EMBEDDING",
                  "encodedTensorName": "embedding:0", "encodedBaselines": [[0, 0]]},
    "image": {"inputTensorName": "image:0", "modality": "image",
              "visualization": {"type": "outlines", "polarity": "positive"}},
    "sparse": {"inputTensorName": "values:0", "encoding": "BAG_OF_FEATURES_SPARSE",
               "indexFeatureMapping": ["u", "v"], "indicesTensorName": "indices:0",
               "denseShapeTensorName": "dense_shape:0"},
    "words": {"inputTensorName": "words:0", "encoding": "BAG_OF_FEATURES", "modality": "categorical",
              "indexFeatureMapping": ["a", "b", "c"]}
  },
  "outputs": {
    "logits": {"outputTensorName": "logits:0", "displayNameMappingKey": "class_names"},
    "probabilities": {"outputTensorName": "probabilities:0", "indexDisplayNameMapping": ["no", "yes"]}
  },
  "featureAttributionsSchemaUri": "gs://google-cloud-aiplatform/schema/predict/explanation/x.yaml"
})";

void ExpectSameInputsAndOutputs(const ExplanationMetadata& a, const ExplanationMetadata& b) {
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const InputMetadata& x = a.inputs[i];
    const InputMetadata& y = b.inputs[i];
    SCOPED_TRACE("input " + x.name);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.input_tensor_name, y.input_tensor_name);
    EXPECT_EQ(x.encoding, y.encoding);
    EXPECT_EQ(x.modality, y.modality);
    EXPECT_EQ(Json(x.input_baselines), Json(y.input_baselines));
    EXPECT_EQ(x.index_feature_mapping, y.index_feature_mapping);
    EXPECT_EQ(x.encoded_tensor_name, y.encoded_tensor_name);
    EXPECT_EQ(Json(x.encoded_baselines), Json(y.encoded_baselines));
    EXPECT_EQ(x.indices_tensor_name, y.indices_tensor_name);
    EXPECT_EQ(x.dense_shape_tensor_name, y.dense_shape_tensor_name);
    ASSERT_EQ(x.domain.has_value(), y.domain.has_value());
    if (x.domain) {
      EXPECT_EQ(x.domain->min, y.domain->min);
      EXPECT_EQ(x.domain->max, y.domain->max);
      EXPECT_EQ(x.domain->original_mean, y.domain->original_mean);
      EXPECT_EQ(x.domain->original_stddev, y.domain->original_stddev);
    }
    EXPECT_EQ(x.group_name, y.group_name);
    EXPECT_EQ(x.visualization, y.visualization);
  }
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    SCOPED_TRACE("output " + a.outputs[i].name);
    EXPECT_EQ(a.outputs[i].name, b.outputs[i].name);
    EXPECT_EQ(a.outputs[i].output_tensor_name, b.outputs[i].output_tensor_name);
    EXPECT_EQ(a.outputs[i].index_name_mapping, b.outputs[i].index_name_mapping);
    EXPECT_EQ(a.outputs[i].index_name_mapping_key, b.outputs[i].index_name_mapping_key);
  }
}

const InputMetadata* FindInput(const ExplanationMetadata& md, const std::string& name) {
  for (const InputMetadata& in : md.inputs) {
    if (in.name == name) return &in;
  }
  return nullptr;
}

// --- the two formats --------------------------------------------------------------

TEST(ParseExplanationMetadataTest, AiPlatformSnakeCase) {
  auto md = Parse(kAiPlatform);
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->source, kSource);
  EXPECT_EQ(md->framework, "tensorflow");
  EXPECT_EQ(md->tags, std::vector<std::string>{"explainable_ai_sdk"});
  ASSERT_EQ(md->inputs.size(), 5u);

  const InputMetadata* age = FindInput(*md, "age");
  ASSERT_NE(age, nullptr);
  EXPECT_EQ(age->input_tensor_name, "age:0");
  EXPECT_EQ(age->encoding, "identity");
  EXPECT_EQ(age->modality, "numeric");
  ASSERT_EQ(age->input_baselines.size(), 2u);  // each list entry is one baseline
  EXPECT_EQ(age->input_baselines[0], Json(0.5));
  EXPECT_EQ(age->input_baselines[1], Json(30));
  ASSERT_TRUE(age->domain.has_value());
  EXPECT_EQ(age->domain->min, 0);
  EXPECT_EQ(age->domain->max, 100);
  EXPECT_EQ(age->domain->original_mean, 40);
  EXPECT_EQ(age->domain->original_stddev, 12);
  EXPECT_EQ(age->group_name, "demographics");

  const InputMetadata* embedding = FindInput(*md, "embedding");
  ASSERT_NE(embedding, nullptr);
  EXPECT_EQ(embedding->encoding, "combined_embedding");
  EXPECT_EQ(embedding->encoded_tensor_name, "embedding:0");
  ASSERT_EQ(embedding->encoded_baselines.size(), 1u);
  EXPECT_EQ(embedding->encoded_baselines[0], Json::parse("[0, 0]"));
  EXPECT_TRUE(embedding->input_baselines.empty());

  const InputMetadata* image = FindInput(*md, "image");
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(image->modality, "image");
  EXPECT_EQ(image->visualization, Json::parse(R"({"type": "outlines", "polarity": "positive"})"));

  const InputMetadata* sparse = FindInput(*md, "sparse");
  ASSERT_NE(sparse, nullptr);
  EXPECT_EQ(sparse->encoding, "bag_of_features_sparse");
  EXPECT_EQ(sparse->indices_tensor_name, "indices:0");
  EXPECT_EQ(sparse->dense_shape_tensor_name, "dense_shape:0");

  const InputMetadata* words = FindInput(*md, "words");
  ASSERT_NE(words, nullptr);
  EXPECT_EQ(words->encoding, "bag_of_features");
  EXPECT_EQ(words->modality, "categorical");
  EXPECT_EQ(words->index_feature_mapping, (std::vector<std::string>{"a", "b", "c"}));

  ASSERT_EQ(md->outputs.size(), 2u);
  EXPECT_EQ(md->outputs[0].name, "logits");
  EXPECT_EQ(md->outputs[0].output_tensor_name, "logits:0");
  EXPECT_EQ(md->outputs[0].index_name_mapping_key, "class_names");
  EXPECT_EQ(md->outputs[1].name, "probabilities");
  EXPECT_EQ(md->outputs[1].index_name_mapping, (std::vector<std::string>{"no", "yes"}));
}

TEST(ParseExplanationMetadataTest, VertexCamelCaseParsesToTheSameStructure) {
  auto ai_platform = Parse(kAiPlatform);
  auto vertex = Parse(kVertex);
  ASSERT_TRUE(ai_platform.ok()) << ai_platform.status().ToString();
  ASSERT_TRUE(vertex.ok()) << vertex.status().ToString();
  ExpectSameInputsAndOutputs(*ai_platform, *vertex);
  EXPECT_EQ(vertex->framework, "tensorflow");
  EXPECT_TRUE(vertex->tags.empty());
}

TEST(ParseExplanationMetadataTest, UpperCaseAndCamelCaseEnumValues) {
  for (const std::string spelling : {"IDENTITY", "identity"}) {
    auto md = Parse(WithInput(R"("encoding": ")" + spelling + "\""));
    ASSERT_TRUE(md.ok()) << spelling << ": " << md.status().ToString();
    EXPECT_EQ(md->inputs[0].encoding, "identity");
  }
  for (const std::string spelling : {"INDICATOR", "indicator"}) {
    auto md = Parse(WithInput(R"("encoding": ")" + spelling + R"(", "index_feature_mapping": ["a"])"));
    ASSERT_TRUE(md.ok()) << spelling << ": " << md.status().ToString();
    EXPECT_EQ(md->inputs[0].encoding, "indicator");
  }
  for (const std::string spelling : {"CONCAT_EMBEDDING", "concatEmbedding", "concat_embedding"}) {
    auto md = Parse(WithInput(R"("encoding": ")" + spelling + R"(", "encoded_tensor_name": "e:0")"));
    ASSERT_TRUE(md.ok()) << spelling << ": " << md.status().ToString();
    EXPECT_EQ(md->inputs[0].encoding, "concat_embedding");
  }
  auto text = Parse(WithInput(R"("modality": "TEXT")"));
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(text->inputs[0].modality, "text");
}

TEST(ParseExplanationMetadataTest, VertexsUnspecifiedEncodingIsIdentity) {
  for (const std::string spelling : {"ENCODING_UNSPECIFIED", "encodingUnspecified"}) {
    auto md = Parse(WithInput(R"("encoding": ")" + spelling + "\""));
    ASSERT_TRUE(md.ok()) << spelling << ": " << md.status().ToString();
    EXPECT_EQ(md->inputs[0].encoding, "identity");
  }
  // Another enum's default is no encoding.
  EXPECT_FALSE(Parse(WithInput(R"("encoding": "MODALITY_UNSPECIFIED")")).ok());
}

TEST(ParseExplanationMetadataTest, EncodingsMayBeTheirProtoNumbers) {
  // google.cloud.aiplatform.v1 ExplanationMetadata.InputMetadata.Encoding.
  struct Case {
    int number;
    std::string encoding, fields;
  };
  const std::string mapping = R"(, "indexFeatureMapping": ["a"])";
  const std::string embedding = R"(, "encodedTensorName": "e:0")";
  for (const Case& c : {Case{0, "identity", ""}, Case{1, "identity", ""}, Case{2, "bag_of_features", mapping},
                        Case{3, "bag_of_features_sparse", mapping}, Case{4, "indicator", mapping},
                        Case{5, "combined_embedding", embedding}, Case{6, "concat_embedding", embedding}}) {
    auto md = Parse(WithInput(R"("encoding": )" + std::to_string(c.number) + c.fields));
    ASSERT_TRUE(md.ok()) << c.number << ": " << md.status().ToString();
    EXPECT_EQ(md->inputs[0].encoding, c.encoding) << c.number;
  }
  const std::string unknown = ParseError(WithInput(R"("encoding": 7)"));
  EXPECT_TRUE(Contains(unknown, "md.json.inputs.x.encoding is 7"));
  EXPECT_TRUE(Contains(unknown, "1 (IDENTITY)"));
  EXPECT_TRUE(Contains(unknown, "6 (CONCAT_EMBEDDING)"));
}

TEST(ParseExplanationMetadataTest, AnEmptyModalityIsTheDefault) {
  // Vertex's modality is a string: to_json() writes "" for one left unset.
  auto md = Parse(WithInput(R"("modality": "")"));
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->inputs[0].modality, "numeric");
  EXPECT_TRUE(Contains(ParseError(WithInput(R"("modality": 1)")), "md.json.inputs.x.modality must be a string"));
}

// What google-cloud-aiplatform 2.7.0's ExplanationMetadata.to_json() writes
// (enums as numbers, every field at its default written out).
constexpr char kSdkToJson[] = R"({
  "inputs": {
    "image": {
      "inputTensorName": "image",
      "modality": "image",
      "visualization": {"type": 2, "polarity": 0, "colorMap": 0, "clipPercentUpperbound": 0.0,
                        "clipPercentLowerbound": 0.0, "overlayType": 0},
      "inputBaselines": [], "encoding": 0, "indicesTensorName": "", "denseShapeTensorName": "",
      "indexFeatureMapping": [], "encodedTensorName": "", "encodedBaselines": [], "groupName": ""
    },
    "features": {
      "inputTensorName": "features", "encoding": 1, "inputBaselines": [], "modality": "", "indicesTensorName": "",
      "denseShapeTensorName": "", "indexFeatureMapping": [], "encodedTensorName": "", "encodedBaselines": [],
      "groupName": ""
    }
  },
  "outputs": {"probabilities": {"outputTensorName": "probabilities"}},
  "featureAttributionsSchemaUri": "",
  "latentSpaceSource": ""
})";

TEST(ParseExplanationMetadataTest, TheCloudSdksToJsonIsRead) {
  auto md = Parse(kSdkToJson);
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  const InputMetadata* features = FindInput(*md, "features");
  const InputMetadata* image = FindInput(*md, "image");
  ASSERT_TRUE(features != nullptr && image != nullptr);
  EXPECT_EQ(features->encoding, "identity");
  EXPECT_EQ(features->modality, "numeric");
  EXPECT_TRUE(features->input_baselines.empty());
  EXPECT_TRUE(features->group_name.empty());
  EXPECT_EQ(image->encoding, "identity");
  EXPECT_EQ(image->modality, "image");
  EXPECT_EQ(image->visualization["type"], Json(2));  // kept as given; render/visualization reads it
}

TEST(ParseExplanationMetadataTest, VertexsLatentSpaceSourceIsAcceptedAsAString) {
  auto md = Parse(R"({"inputs": {"features": {}}, "outputs": {"probabilities": {}}, "latentSpaceSource": ""})");
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  auto wrong = Parse(R"({"inputs": {"features": {}}, "outputs": {"probabilities": {}}, "latent_space_source": 3})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("latent_space_source"), std::string::npos) << wrong.status().message();
}

TEST(ParseExplanationMetadataTest, Defaults) {
  auto md = Parse(R"({"inputs": {"features": {}}, "outputs": {"probabilities": {}}})");
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->framework, "tensorflow");
  EXPECT_TRUE(md->tags.empty());
  ASSERT_EQ(md->inputs.size(), 1u);
  const InputMetadata& in = md->inputs[0];
  EXPECT_EQ(in.name, "features");
  EXPECT_EQ(in.input_tensor_name, "features");  // defaults to the key
  EXPECT_EQ(in.encoding, "identity");
  EXPECT_EQ(in.modality, "numeric");
  EXPECT_TRUE(in.input_baselines.empty());
  EXPECT_TRUE(in.encoded_baselines.empty());
  EXPECT_TRUE(in.index_feature_mapping.empty());
  EXPECT_FALSE(in.domain.has_value());
  EXPECT_TRUE(in.visualization.is_null());
  ASSERT_EQ(md->outputs.size(), 1u);
  EXPECT_EQ(md->outputs[0].name, "probabilities");
  EXPECT_EQ(md->outputs[0].output_tensor_name, "probabilities");
}

TEST(ParseExplanationMetadataTest, BaselineForms) {
  auto scalar = Parse(WithInput(R"("input_baselines": 0.25)"));
  ASSERT_TRUE(scalar.ok()) << scalar.status().ToString();
  ASSERT_EQ(scalar->inputs[0].input_baselines.size(), 1u);
  EXPECT_EQ(scalar->inputs[0].input_baselines[0], Json(0.25));

  auto one_shaped = Parse(WithInput(R"("input_baselines": [[1, 2, 3]])"));
  ASSERT_TRUE(one_shaped.ok()) << one_shaped.status().ToString();
  ASSERT_EQ(one_shaped->inputs[0].input_baselines.size(), 1u);
  EXPECT_EQ(one_shaped->inputs[0].input_baselines[0], Json::parse("[1, 2, 3]"));

  auto ten = Parse(WithInput(R"("input_baselines": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"));
  ASSERT_TRUE(ten.ok()) << ten.status().ToString();
  EXPECT_EQ(ten->inputs[0].input_baselines.size(), 10u);
}

TEST(ParseExplanationMetadataTest, CloudSdkFieldsAreAccepted) {
  auto md = Parse(R"({"inputs": {"x": {}}, "outputs": {"y": {}}, "framework": "Tensorflow",
                      "tags": ["explainable_ai_sdk"], "preparer_version": "0.2.4"})");
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->tags, std::vector<std::string>{"explainable_ai_sdk"});
}

TEST(ParseExplanationMetadataTest, TheSdksTensorFlow2FrameworkIsAccepted) {
  // explainable_ai_sdk.metadata.tf.v2.SavedModelMetadataBuilder writes it.
  auto md = Parse(R"({"inputs": {"x": {}}, "outputs": {"y": {}}, "framework": "tensorflow2"})");
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->framework, "tensorflow2");
}

// --- validation: baselines ----------------------------------------------------------

TEST(ParseExplanationMetadataTest, MoreThanTenBaselinesAreRefused) {
  const std::string message = ParseError(WithInput(R"("input_baselines": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])"));
  EXPECT_TRUE(Contains(message, "md.json.inputs.x.input_baselines"));
  EXPECT_TRUE(Contains(message, "11 baselines"));
  EXPECT_TRUE(Contains(message, "at most 10"));
  EXPECT_TRUE(Contains(message, "[[...]]"));  // how to give one shaped baseline
}

TEST(ParseExplanationMetadataTest, AnEmptyBaselineListIsNoBaselines) {
  // proto3 JSON's unset list: the SDK's to_json() writes both for every input.
  auto md = Parse(WithInput(R"("input_baselines": [], "encodedBaselines": [])"));
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_TRUE(md->inputs[0].input_baselines.empty());
  EXPECT_TRUE(md->inputs[0].encoded_baselines.empty());
  auto encoded = Parse(WithInput(R"("encoding": "combined_embedding", "encoded_tensor_name": "e:0",
                                    "encoded_baselines": [], "input_baselines": [])"));
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  EXPECT_TRUE(encoded->inputs[0].encoded_baselines.empty());
}

TEST(ParseExplanationMetadataTest, BothInputAndEncodedBaselinesAreRefused) {
  const std::string message = ParseError(WithInput(
      R"("encoding": "combined_embedding", "encoded_tensor_name": "e:0", "input_baselines": [0], "encoded_baselines": [0])"));
  EXPECT_TRUE(Contains(message, "md.json.inputs.x"));
  EXPECT_TRUE(Contains(message, "input_baselines"));
  EXPECT_TRUE(Contains(message, "encoded_baselines"));
  EXPECT_TRUE(Contains(message, "only one"));
}

TEST(ParseExplanationMetadataTest, BadBaselineValuesAreRefused) {
  const std::string object = ParseError(WithInput(R"("input_baselines": [{"a": 1}])"));
  EXPECT_TRUE(Contains(object, "input_baselines[0]"));
  EXPECT_TRUE(Contains(object, "number or a nested list"));
  const std::string ragged = ParseError(WithInput(R"("input_baselines": [0, [[1, 2], [3]]])"));
  EXPECT_TRUE(Contains(ragged, "input_baselines[1]"));
  EXPECT_TRUE(Contains(ragged, "ragged"));
  const std::string null_value = ParseError(WithInput(R"("input_baselines": null)"));
  EXPECT_TRUE(Contains(null_value, "input_baselines"));
}

TEST(ParseExplanationMetadataTest, EncodedBaselinesOfAnIdentityInputNameTheEncodingsTheyApplyTo) {
  // It said "encoded_baselines needs encoded_tensor_name", which, added, was refused in turn.
  const std::string message = ParseError(WithInput(R"("encoded_baselines": [0])"));
  EXPECT_TRUE(Contains(message, "md.json.inputs.x.encoded_baselines applies to encoding 'combined_embedding'")) << message;
  EXPECT_TRUE(Contains(message, "input_baselines")) << message;
}

TEST(ParseExplanationMetadataTest, AnEncodedTensorOutsideTheEmbeddingEncodingsIsRefused) {
  // Accepted and ignored before: the baselines went unused, the input was explained from zero.
  for (const std::string encoding : {"", R"("encoding": "identity", )", R"("encoding": "indicator", "index_feature_mapping": ["a", "b"], )"}) {
    const std::string message =
        ParseError(WithInput(encoding + R"("encoded_tensor_name": "x:0", "encoded_baselines": [[1, 1]])"));
    EXPECT_TRUE(Contains(message, "md.json.inputs.x.encoded_tensor_name")) << message;
    EXPECT_TRUE(Contains(message, "combined_embedding")) << message;
    EXPECT_TRUE(Contains(message, "input_baselines")) << message;
  }
}

// --- validation: encodings -------------------------------------------------------------

TEST(ParseExplanationMetadataTest, MappingIsRequiredForBagOfFeaturesAndIndicator) {
  for (const std::string encoding : {"bag_of_features", "bag_of_features_sparse", "indicator"}) {
    SCOPED_TRACE(encoding);
    const std::string message =
        ParseError(WithInput(R"("encoding": ")" + encoding + R"(", "indices_tensor_name": "i:0")"));
    EXPECT_TRUE(Contains(message, "md.json.inputs.x.index_feature_mapping"));
    EXPECT_TRUE(Contains(message, "required"));
    EXPECT_TRUE(Contains(message, "'" + encoding + "'"));
  }
}

TEST(ParseExplanationMetadataTest, FeatureNamesMustBeUniqueAndNonEmpty) {
  // They become the keys of the attributions object.
  const std::string twice = ParseError(WithInput(R"("encoding": "bag_of_features", "index_feature_mapping": ["a", "b", "a"])"));
  EXPECT_TRUE(Contains(twice, "md.json.inputs.x.index_feature_mapping names 'a' twice"));
  const std::string empty = ParseError(WithInput(R"("encoding": "indicator", "index_feature_mapping": ["a", ""])"));
  EXPECT_TRUE(Contains(empty, "md.json.inputs.x.index_feature_mapping has an empty name"));
  // Other encodings use the names as labels only: repeats are allowed.
  EXPECT_TRUE(Parse(WithInput(R"("index_feature_mapping": ["a", "a"])")).ok());
}

TEST(ParseExplanationMetadataTest, AGroupNamedLikeAnInputOutsideItIsRefused) {
  const std::string message = ParseError(R"({"inputs": {"g": {}, "h": {"group_name": "g"}}, "outputs": {"y": {}}})");
  EXPECT_TRUE(Contains(message, "md.json.inputs.h.group_name 'g' is also the name of input 'g'"));
  // An input in the group that bears its name is fine.
  EXPECT_TRUE(Parse(R"({"inputs": {"g": {"group_name": "g"}, "h": {"group_name": "g"}}, "outputs": {"y": {}}})").ok());
}

TEST(ParseExplanationMetadataTest, EncodedTensorIsRequiredForEmbeddings) {
  for (const std::string encoding : {"combined_embedding", "concat_embedding"}) {
    SCOPED_TRACE(encoding);
    const std::string message = ParseError(WithInput(R"("encoding": ")" + encoding + "\""));
    EXPECT_TRUE(Contains(message, "md.json.inputs.x.encoded_tensor_name"));
    EXPECT_TRUE(Contains(message, "required"));
    EXPECT_TRUE(Contains(message, "'" + encoding + "'"));
  }
}

TEST(ParseExplanationMetadataTest, SparseBagOfFeaturesOnADenseTensorNeedsNoIndicesTensor) {
  // The cloud's example: a dense [2, 0, 5, 0, 1] where zeros are absent features.
  auto md = Parse(WithInput(R"("encoding": "bag_of_features_sparse", "index_feature_mapping": ["a", "b"])"));
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->inputs[0].encoding, "bag_of_features_sparse");
  EXPECT_TRUE(md->inputs[0].indices_tensor_name.empty());
}

TEST(ParseExplanationMetadataTest, DenseShapeTensorNeedsTheIndicesTensor) {
  const std::string message = ParseError(WithInput(R"("dense_shape_tensor_name": "shape:0")"));
  EXPECT_TRUE(Contains(message, "md.json.inputs.x.dense_shape_tensor_name needs indices_tensor_name"));
}

TEST(ParseExplanationMetadataTest, UnknownEncodingAndModalityListTheChoices) {
  const std::string encoding = ParseError(WithInput(R"("encoding": "one_hot")"));
  EXPECT_TRUE(Contains(encoding, "md.json.inputs.x.encoding"));
  EXPECT_TRUE(Contains(encoding, "'one_hot'"));
  EXPECT_TRUE(Contains(encoding, "identity, bag_of_features, bag_of_features_sparse, indicator, "
                                 "combined_embedding, concat_embedding"));
  const std::string modality = ParseError(WithInput(R"("modality": "audio")"));
  EXPECT_TRUE(Contains(modality, "md.json.inputs.x.modality"));
  EXPECT_TRUE(Contains(modality, "'audio'"));
  EXPECT_TRUE(Contains(modality, "numeric, image, text, categorical"));
}

// --- validation: domain -------------------------------------------------------------

TEST(ParseExplanationMetadataTest, DomainNeedsMinAndMax) {
  // AI Platform's `domain` is not proto3: both bounds are required.
  const std::string no_max = ParseError(WithInput(R"("domain": {"min": 0})"));
  EXPECT_TRUE(Contains(no_max, "md.json.inputs.x.domain"));
  EXPECT_TRUE(Contains(no_max, "'min' and 'max'"));
  const std::string no_min = ParseError(WithInput(R"("domain": {"max": 1})"));
  EXPECT_TRUE(Contains(no_min, "'min' and 'max'"));
}

TEST(ParseExplanationMetadataTest, AVertexDomainBoundLeftOutIsZero) {
  // Google's printer leaves out minValue 0.0: [0, 1] is written {"maxValue": 1.0}.
  for (const char* field :
       {R"("featureValueDomain": {"maxValue": 1.0})", R"("feature_value_domain": {"max_value": 1})"}) {
    auto md = Parse(WithInput(field));
    ASSERT_TRUE(md.ok()) << field << ": " << md.status().ToString();
    ASSERT_TRUE(md->inputs[0].domain.has_value());
    EXPECT_EQ(md->inputs[0].domain->min, 0);
    EXPECT_EQ(md->inputs[0].domain->max, 1);
  }
  // to_json() writes every bound, 0.0 for those unset: [0, 1] with no statistics.
  auto printed = Parse(WithInput(
      R"("featureValueDomain": {"maxValue": 1.0, "minValue": 0.0, "originalMean": 0.0, "originalStddev": 0.0})"));
  ASSERT_TRUE(printed.ok()) << printed.status().ToString();
  EXPECT_EQ(printed->inputs[0].domain->max, 1);
  EXPECT_FALSE(printed->inputs[0].domain->original_mean.has_value());
  EXPECT_FALSE(printed->inputs[0].domain->original_stddev.has_value());
  auto negative = Parse(WithInput(R"("featureValueDomain": {"minValue": -1})"));
  ASSERT_TRUE(negative.ok()) << negative.status().ToString();
  EXPECT_EQ(negative->inputs[0].domain->min, -1);
  EXPECT_EQ(negative->inputs[0].domain->max, 0);
  // Both left out is [0, 0], which is empty: the message says the bounds were left out.
  const std::string empty = ParseError(WithInput(R"("featureValueDomain": {})"));
  EXPECT_TRUE(Contains(empty, "md.json.inputs.x.featureValueDomain: min (0.0, left out) must be less than max "
                              "(0.0, left out)"));
  const std::string below = ParseError(WithInput(R"("featureValueDomain": {"maxValue": -1})"));
  EXPECT_TRUE(Contains(below, "min (0.0, left out) must be less than max (-1.0)"));
}

TEST(ParseExplanationMetadataTest, DomainMinMustBeBelowMax) {
  const std::string equal = ParseError(WithInput(R"("domain": {"min": 5, "max": 5})"));
  EXPECT_TRUE(Contains(equal, "md.json.inputs.x.domain"));
  EXPECT_TRUE(Contains(equal, "less than"));
  const std::string reversed = ParseError(WithInput(R"("domain": {"min": 10, "max": -10})"));
  EXPECT_TRUE(Contains(reversed, "10"));
  EXPECT_TRUE(Contains(reversed, "-10"));
}

TEST(ParseExplanationMetadataTest, DomainFieldsMustBeNumbers) {
  const std::string message = ParseError(WithInput(R"("domain": {"min": "zero", "max": 1})"));
  EXPECT_TRUE(Contains(message, "domain.min"));
  EXPECT_TRUE(Contains(message, "must be a number"));
  const std::string not_object = ParseError(WithInput(R"("domain": [0, 1])"));
  EXPECT_TRUE(Contains(not_object, "domain"));
  EXPECT_TRUE(Contains(not_object, "object"));
}

// --- validation: unknown fields and aliases ------------------------------------------

TEST(ParseExplanationMetadataTest, UnknownInputFieldIsNamedWithTheKnownOnes) {
  const std::string message = ParseError(WithInput(R"("input_baseline": [0])"));
  EXPECT_TRUE(Contains(message, "md.json.inputs.x"));
  EXPECT_TRUE(Contains(message, "unknown field 'input_baseline'"));
  EXPECT_TRUE(Contains(message, "input_baselines"));
  EXPECT_TRUE(Contains(message, "index_feature_mapping"));
}

TEST(ParseExplanationMetadataTest, UnknownFieldsElsewhereAreNamed) {
  const std::string top = ParseError(R"({"input": {"x": {}}, "inputs": {"x": {}}, "outputs": {"y": {}}})");
  EXPECT_TRUE(Contains(top, "unknown field 'input'"));
  EXPECT_TRUE(Contains(top, "inputs"));
  const std::string output = ParseError(WithOutput(R"("output_tensor": "y:0")"));
  EXPECT_TRUE(Contains(output, "md.json.outputs.y"));
  EXPECT_TRUE(Contains(output, "unknown field 'output_tensor'"));
  EXPECT_TRUE(Contains(output, "output_tensor_name"));
  const std::string domain = ParseError(WithInput(R"("domain": {"min": 0, "max": 1, "mean": 0.5})"));
  EXPECT_TRUE(Contains(domain, "unknown field 'mean'"));
  EXPECT_TRUE(Contains(domain, "original_mean"));
}

TEST(ParseExplanationMetadataTest, SnakeAndCamelAliasBothGivenIsRefused) {
  const std::string input = ParseError(WithInput(R"("input_tensor_name": "a:0", "inputTensorName": "a:0")"));
  EXPECT_TRUE(Contains(input, "md.json.inputs.x"));
  EXPECT_TRUE(Contains(input, "'input_tensor_name'"));
  EXPECT_TRUE(Contains(input, "'inputTensorName'"));
  EXPECT_TRUE(Contains(input, "use one"));
  const std::string output =
      ParseError(WithOutput(R"("index_name_mapping": ["a"], "indexDisplayNameMapping": ["a"])"));
  EXPECT_TRUE(Contains(output, "'index_name_mapping'"));
  EXPECT_TRUE(Contains(output, "'indexDisplayNameMapping'"));
}

TEST(ParseExplanationMetadataTest, OutputMappingAndMappingKeyAreExclusive) {
  const std::string message = ParseError(WithOutput(R"("index_name_mapping": ["a"], "index_name_mapping_key": "k")"));
  EXPECT_TRUE(Contains(message, "md.json.outputs.y"));
  EXPECT_TRUE(Contains(message, "only one"));
}

// --- validation: types and structure ------------------------------------------------

TEST(ParseExplanationMetadataTest, WrongTypesNameTheField) {
  const std::string name = ParseError(WithInput(R"("input_tensor_name": 5)"));
  EXPECT_TRUE(Contains(name, "md.json.inputs.x.input_tensor_name must be a string"));
  EXPECT_TRUE(Contains(name, "5"));
  const std::string mapping = ParseError(WithInput(R"("encoding": "indicator", "index_feature_mapping": "a,b")"));
  EXPECT_TRUE(Contains(mapping, "index_feature_mapping must be a list of strings"));
  const std::string mapping_item = ParseError(WithInput(R"("encoding": "indicator", "index_feature_mapping": ["a", 1])"));
  EXPECT_TRUE(Contains(mapping_item, "index_feature_mapping must be a list of strings"));
  const std::string encoding = ParseError(WithInput(R"("encoding": true)"));
  EXPECT_TRUE(Contains(encoding, "md.json.inputs.x.encoding is true; give the value's name or its number"));
  const std::string visualization = ParseError(WithInput(R"("visualization": "pixels")"));
  EXPECT_TRUE(Contains(visualization, "visualization must be an object"));
  const std::string tags = ParseError(R"({"inputs": {"x": {}}, "outputs": {"y": {}}, "tags": "serve"})");
  EXPECT_TRUE(Contains(tags, "tags must be a list of strings"));
  const std::string input = ParseError(R"({"inputs": {"x": 3}, "outputs": {"y": {}}})");
  EXPECT_TRUE(Contains(input, "md.json.inputs.x must be an object"));
  const std::string output = ParseError(R"({"inputs": {"x": {}}, "outputs": {"y": "y:0"}})");
  EXPECT_TRUE(Contains(output, "md.json.outputs.y must be an object"));
  const std::string output_mapping = ParseError(WithOutput(R"("index_name_mapping": "no,yes")"));
  EXPECT_TRUE(Contains(output_mapping, "index_name_mapping must be a list"));
  const std::string top = ParseError(R"([{"inputs": {}}])");
  EXPECT_TRUE(Contains(top, "JSON object"));
}

TEST(ParseExplanationMetadataTest, DisplayNamesMayBeNestedOneListPerDimension) {
  // Vertex's indexDisplayNameMapping is "an n-dimensional array of strings" for an output of several dimensions.
  auto md = Parse(WithOutput(R"("indexDisplayNameMapping": [["a", "b", "c"], ["d", "e", 7]])"));
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->outputs[0].index_name_mapping, (std::vector<std::string>{"a", "b", "c", "d", "e", "7"}));
  EXPECT_EQ(md->outputs[0].index_name_mapping_shape, (Shape{2, 3}));
  EXPECT_EQ(ExplanationMetadataToJson(*md)["outputs"]["y"]["index_name_mapping"],
            Json::parse(R"([["a", "b", "c"], ["d", "e", "7"]])"));
  auto flat = Parse(WithOutput(R"("index_name_mapping": ["no", "yes"])"));
  ASSERT_TRUE(flat.ok()) << flat.status().ToString();
  EXPECT_EQ(flat->outputs[0].index_name_mapping_shape, (Shape{2}));

  EXPECT_TRUE(Contains(ParseError(WithOutput(R"("index_name_mapping": [["a", "b"], ["c"]])")), "ragged"));
  EXPECT_TRUE(Contains(ParseError(WithOutput(R"("index_name_mapping": [["a", {"b": 1}]])")),
                       "one nested list per dimension of the output"));
}

TEST(ParseExplanationMetadataTest, AnEmptyInputTensorNameIsTheInputsOwnName) {
  // The SDK's TF1 builder writes "" for a SparseTensor input.
  auto md = Parse(WithInput(R"("input_tensor_name": "")"));
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->inputs[0].input_tensor_name, "x");
}

TEST(ParseExplanationMetadataTest, AnEmptyOutputTensorNameIsRefused) {
  EXPECT_TRUE(Contains(ParseError(WithOutput(R"("output_tensor_name": "")")), "output_tensor_name must not be empty"));
}

TEST(ParseExplanationMetadataTest, TheSdksDescriptiveFieldsAreAccepted) {
  // Fields of explainable_ai_sdk's ExplainMetadata that the cloud fills in or
  // that describe the tensors; the signature's own dtypes are used.
  auto md = Parse(R"({"inputs": {"x": {"input_tensor_dtype": "float32", "encoded_tensor_dtype": "float32",
                                       "indices_tensor_dtype": "int64", "dense_shape_tensor_dtype": "int64",
                                       "input_tensor_type": "float32", "is_sequential": false,
                                       "gradient_tensor_names": ["g:0"], "gradient_tensor_dtypes": ["float32"],
                                       "modality": "structured"}},
                      "outputs": {"y": {"output_tensor_dtype": "float32"}},
                      "embeddings": [], "sigdef_inputs": [], "serving_sigdef_key": "serving_default"})");
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->inputs[0].modality, "numeric");  // the SDK's "structured" is tabular data
}

TEST(ParseExplanationMetadataTest, TheServingSignatureIsKeptForBindingAndWrittenBack) {
  // Whether it is the signature the rules choose is checked when bound (e2e).
  auto md = Parse(R"({"inputs": {"x": {}}, "outputs": {"y": {}}, "serving_sigdef_key": "logits_only"})");
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->serving_sigdef_key, "logits_only");
  EXPECT_EQ(ExplanationMetadataToJson(*md)["serving_sigdef_key"], "logits_only");
}

TEST(ParseExplanationMetadataTest, TheSdksDescriptiveFieldsAreTypeChecked) {
  EXPECT_TRUE(Contains(ParseError(WithInput(R"("input_tensor_dtype": ["float32"])")), "md.json.inputs.x.input_tensor_dtype"));
  EXPECT_TRUE(Contains(ParseError(WithInput(R"("gradient_tensor_names": 7)")), "md.json.inputs.x.gradient_tensor_names"));
  EXPECT_TRUE(Contains(ParseError(WithOutput(R"("output_tensor_dtype": 1)")), "md.json.outputs.y.output_tensor_dtype"));
  // is_sequential: true would mean a batch is one sequence, not independent rows.
  const std::string sequential = ParseError(WithInput(R"("is_sequential": true)"));
  EXPECT_TRUE(Contains(sequential, "md.json.inputs.x.is_sequential is true"));
  EXPECT_TRUE(Contains(sequential, "not supported"));
  // The weights' dtypes alone describe nothing xaiserve would use.
  EXPECT_TRUE(Parse(WithInput(R"("weight_values_dtype": "float32")")).ok());
}

TEST(ParseExplanationMetadataTest, WeightedSparseInputsAreRefusedByName) {
  const std::string message = ParseError(WithInput(R"("weight_values_name": "w:0")"));
  EXPECT_TRUE(Contains(message, "md.json.inputs.x.weight_values_name"));
  EXPECT_TRUE(Contains(message, "not supported"));
}

TEST(ParseExplanationMetadataTest, InputsAndOutputsMustBeNonEmptyObjects) {
  for (const std::string inputs : {R"("outputs": {"y": {}})", R"("inputs": {}, "outputs": {"y": {}})",
                                   R"("inputs": ["x"], "outputs": {"y": {}})"}) {
    SCOPED_TRACE(inputs);
    const std::string message = ParseError("{" + inputs + "}");
    EXPECT_TRUE(Contains(message, "md.json.inputs must be a non-empty object"));
  }
  for (const std::string outputs : {R"("inputs": {"x": {}})", R"("inputs": {"x": {}}, "outputs": {})",
                                    R"("inputs": {"x": {}}, "outputs": "y")"}) {
    SCOPED_TRACE(outputs);
    const std::string message = ParseError("{" + outputs + "}");
    EXPECT_TRUE(Contains(message, "md.json.outputs must be a non-empty object"));
  }
}

TEST(ParseExplanationMetadataTest, OnlyTensorFlowIsSupported) {
  const std::string message = ParseError(R"({"inputs": {"x": {}}, "outputs": {"y": {}}, "framework": "pytorch"})");
  EXPECT_TRUE(Contains(message, "md.json.framework"));
  EXPECT_TRUE(Contains(message, "'pytorch'"));
  EXPECT_TRUE(Contains(message, "TensorFlow"));
  EXPECT_TRUE(Contains(message, "\"tensorflow2\""));
}

// --- files ------------------------------------------------------------------------

TEST(LoadExplanationMetadataFileTest, LoadsAFileAndRecordsItsPath) {
  TempDir dir;
  const std::string path = dir.Write("explanation_metadata.json", kAiPlatform);
  auto md = LoadExplanationMetadataFile(path);
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->source, path);
  EXPECT_EQ(md->inputs.size(), 5u);
}

TEST(LoadExplanationMetadataFileTest, MissingFileIsNotFoundNamingThePath) {
  TempDir dir;
  const std::string path = (dir.path() / "absent.json").string();
  auto md = LoadExplanationMetadataFile(path);
  ASSERT_FALSE(md.ok());
  EXPECT_EQ(md.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(md.status().message(), path));
}

TEST(LoadExplanationMetadataFileTest, InvalidJsonNamesThePath) {
  TempDir dir;
  const std::string path = dir.Write("broken.json", R"({"inputs": {"x": {}},)");
  auto md = LoadExplanationMetadataFile(path);
  ASSERT_FALSE(md.ok());
  EXPECT_EQ(md.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(md.status().message(), path));
  EXPECT_TRUE(Contains(md.status().message(), "not valid JSON"));
}

TEST(LoadExplanationMetadataFileTest, ValidationErrorsNameTheFile) {
  TempDir dir;
  const std::string path = dir.Write("bad.json", WithInput(R"("encoding": "one_hot")"));
  auto md = LoadExplanationMetadataFile(path);
  ASSERT_FALSE(md.ok());
  EXPECT_TRUE(Contains(md.status().message(), path + ".inputs.x.encoding"));
}

// --- inference and writing ---------------------------------------------------------

SignatureInfo MixedSignature() {
  // Graph tensor names unlike the keys, to show which one the metadata uses.
  auto tensor = [](const std::string& key, DType dtype, Shape shape) {
    return SignatureTensor(key, dtype, std::move(shape), "serving_default_" + key + ":0");
  };
  SignatureInfo s;
  s.key = "xai_model";
  s.inputs = {tensor("amount", DType::kFloat32, {-1, 1}), tensor("ids", DType::kInt64, {-1, 5}),
              tensor("precise", DType::kFloat64, {-1, 3}), tensor("text", DType::kString, {-1})};
  s.outputs = {tensor("logits", DType::kFloat32, {-1, 2}), tensor("probabilities", DType::kFloat32, {-1, 2})};
  return s;
}

TEST(InferExplanationMetadataTest, FloatInputsWithZeroBaselinesAndAllOutputs) {
  const ExplanationMetadata md = InferExplanationMetadata(MixedSignature());
  EXPECT_TRUE(Contains(md.source, "xai_model"));
  EXPECT_EQ(md.framework, "tensorflow");
  ASSERT_EQ(md.inputs.size(), 2u);
  EXPECT_EQ(md.inputs[0].name, "amount");
  EXPECT_EQ(md.inputs[1].name, "precise");
  for (const InputMetadata& in : md.inputs) {
    SCOPED_TRACE(in.name);
    EXPECT_EQ(in.input_tensor_name, in.name);  // the signature key
    EXPECT_EQ(in.encoding, "identity");
    EXPECT_EQ(in.modality, "numeric");
    ASSERT_EQ(in.input_baselines.size(), 1u);
    EXPECT_EQ(in.input_baselines[0], Json(0.0));
  }
  ASSERT_EQ(md.outputs.size(), 2u);
  EXPECT_EQ(md.outputs[0].name, "logits");
  EXPECT_EQ(md.outputs[0].output_tensor_name, "logits");
  EXPECT_EQ(md.outputs[1].output_tensor_name, "probabilities");
}

// A classifier's signature often returns the class ids and names beside the
// scores: only the scores can be explained.
TEST(InferExplanationMetadataTest, IntegerAndStringOutputsAreLeftOut) {
  SignatureInfo signature = MixedSignature();
  signature.outputs = {SignatureTensor("class_ids", DType::kInt64, {-1}, "StatefulPartitionedCall:0"),
                       SignatureTensor("classes", DType::kString, {-1}, "StatefulPartitionedCall:1"),
                       SignatureTensor("scores", DType::kFloat32, {-1, 3}, "StatefulPartitionedCall:2")};
  const ExplanationMetadata md = InferExplanationMetadata(signature);
  ASSERT_EQ(md.outputs.size(), 1u);
  EXPECT_EQ(md.outputs[0].name, "scores");
}

TEST(InferExplanationMetadataTest, IntegerInputsOnlyWhenAskedAndNeverStringsOrBools) {
  SignatureInfo signature = MixedSignature();
  signature.inputs.push_back(SignatureTensor("flag", DType::kBool, {-1}, "serving_default_flag:0"));
  const ExplanationMetadata md = InferExplanationMetadata(signature, /*integer_inputs=*/true);
  std::vector<std::string> names;
  for (const InputMetadata& in : md.inputs) names.push_back(in.name);
  EXPECT_EQ(names, (std::vector<std::string>{"amount", "ids", "precise"}));
}

TEST(InferExplanationMetadataTest, SparseInputsNameTheirIndicesAndDenseShapeTensors) {
  SignatureInfo s;
  s.key = "serving_default";
  s.inputs = {SparseSignatureTensor("words", {-1, 6})};
  s.outputs = {SignatureTensor("score", DType::kFloat32, {-1}, "score:0")};
  const ExplanationMetadata md = InferExplanationMetadata(s);
  ASSERT_EQ(md.inputs.size(), 1u);
  EXPECT_EQ(md.inputs[0].input_tensor_name, "words");
  EXPECT_EQ(md.inputs[0].indices_tensor_name, "words/indices:0");
  EXPECT_EQ(md.inputs[0].dense_shape_tensor_name, "words/shape:0");
  // What `xaiserve metadata` writes parses back to the same.
  auto reparsed = ParseExplanationMetadata(ExplanationMetadataToJson(md), kSource);
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
  EXPECT_EQ(reparsed->inputs[0].indices_tensor_name, "words/indices:0");
}

TEST(ExplanationMetadataToJsonTest, WritesAiPlatformSnakeCase) {
  auto md = Parse(kVertex);
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  const Json json = ExplanationMetadataToJson(*md);
  EXPECT_EQ(json["framework"], "tensorflow");
  const Json& age = json["inputs"]["age"];
  EXPECT_EQ(age["input_tensor_name"], "age:0");
  EXPECT_EQ(age["domain"]["min"], 0);
  EXPECT_EQ(age["domain"]["original_stddev"], 12);
  EXPECT_EQ(age["group_name"], "demographics");
  EXPECT_EQ(json["inputs"]["words"]["encoding"], "bag_of_features");
  EXPECT_EQ(json["inputs"]["words"]["index_feature_mapping"], Json::parse(R"(["a", "b", "c"])"));
  EXPECT_EQ(json["outputs"]["probabilities"]["index_name_mapping"], Json::parse(R"(["no", "yes"])"));
  EXPECT_EQ(json["outputs"]["logits"]["index_name_mapping_key"], "class_names");
  EXPECT_FALSE(json.dump().find("TensorName") != std::string::npos) << json.dump();
}

TEST(ExplanationMetadataToJsonTest, RoundTripsThroughParse) {
  for (const char* text : {kAiPlatform, kVertex}) {
    auto md = Parse(text);
    ASSERT_TRUE(md.ok()) << md.status().ToString();
    auto again = ParseExplanationMetadata(ExplanationMetadataToJson(*md), "written");
    ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << ExplanationMetadataToJson(*md).dump(2);
    ExpectSameInputsAndOutputs(*md, *again);
    EXPECT_EQ(again->framework, md->framework);
    EXPECT_EQ(again->tags, md->tags);
  }
}

TEST(ExplanationMetadataToJsonTest, InferredMetadataRoundTrips) {
  const ExplanationMetadata inferred = InferExplanationMetadata(MixedSignature());
  auto again = ParseExplanationMetadata(ExplanationMetadataToJson(inferred), "written");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ExpectSameInputsAndOutputs(inferred, *again);
}

// A TF1 signature (tf.compat.v1.saved_model.Builder) may have keys that are
// "": the metadata named tensor "", which its parser then refused.
TEST(ExplanationMetadataToJsonTest, InferredMetadataOfEmptyKeysNamesTheGraphTensorsAndRoundTrips) {
  SignatureInfo signature;
  signature.key = "";
  signature.inputs = {SignatureTensor("", DType::kFloat32, {-1, 3}, "x1:0")};
  signature.outputs = {SignatureTensor("", DType::kFloat32, {-1, 2}, "y:0")};
  const ExplanationMetadata inferred = InferExplanationMetadata(signature);
  ASSERT_EQ(inferred.inputs.size(), 1u);
  EXPECT_EQ(inferred.inputs[0].name, "");
  EXPECT_EQ(inferred.inputs[0].input_tensor_name, "x1:0");
  ASSERT_EQ(inferred.outputs.size(), 1u);
  EXPECT_EQ(inferred.outputs[0].name, "");
  EXPECT_EQ(inferred.outputs[0].output_tensor_name, "y:0");
  auto again = ParseExplanationMetadata(ExplanationMetadataToJson(inferred), "written");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ExpectSameInputsAndOutputs(inferred, *again);
}

}  // namespace
}  // namespace xai
