#include "api/instances.h"

#include <algorithm>

#include "core/base64.h"
#include "core/sparse_tensor.h"
#include "model/signature_rules.h"
#include "render/png.h"

namespace xai {
namespace {

std::optional<Shape> RowSpec(const TensorInfo& t) {
  if (!t.rank_known) return std::nullopt;
  if (t.shape.empty()) return Shape{};  // a scalar input: one value for the whole batch is not batchable.
  return Shape(t.shape.begin() + 1, t.shape.end());
}

bool IsBase64Object(const Json& value) {
  return value.is_object() && value.size() == 1 && value.contains("b64");
}

// Pixels decoded so far by one DecodeInstances / DecodeInstance call, against
// its InstanceDecoding's budget.
struct PixelBudget {
  int64_t budget = 0;  // 0: none
  int64_t used = 0;

  int64_t Remaining() const { return budget > 0 ? std::max<int64_t>(budget - used, 0) : kMaxDecodedPixels; }
};

// An uploaded PNG or JPEG for a floating-point image input.
StatusOr<Tensor> DecodeImageUpload(const Json& value, const TensorInfo& t, const InstanceDecoding& decoding,
                                   PixelBudget* pixels, const std::string& what) {
  const Json& text = value["b64"];
  if (!text.is_string()) return InvalidArgument(what + ": \"b64\" must be a base64 string of a PNG or JPEG image");
  StatusOr<std::string> bytes = Base64Decode(text.get<std::string>());
  if (!bytes.ok()) return InvalidArgument(what + ": " + bytes.status().message());
  const int64_t limit = pixels->Remaining();
  StatusOr<Image> image = DecodeImage(*bytes, limit);
  if (!image.ok() && image.status().code() == StatusCode::kResourceExhausted && limit < kMaxDecodedPixels) {
    return ResourceExhausted(what + ": " + image.status().message() + "; the images of one request may decode to " +
                             std::to_string(pixels->budget) + " pixels together (--max-image-pixels), and earlier "
                             "images used " + std::to_string(pixels->used) +
                             ": send fewer or smaller images per request");
  }
  if (!image.ok() && image.status().code() == StatusCode::kResourceExhausted) {
    return ResourceExhausted(what + ": " + image.status().message());
  }
  if (!image.ok()) {
    return InvalidArgument(what + ": " + image.status().message() +
                           "; send the image file's bytes, base64-encoded, as {\"b64\": ...}, or the pixels as a "
                           "nested list");
  }
  pixels->used += image->width * image->height;
  auto domain = decoding.image_domains.find(t.key);
  const ValueRange range = domain != decoding.image_domains.end() ? domain->second : ValueRange{};
  StatusOr<Tensor> row = ImageToTensorRow(*image, *RowSpec(t), t.dtype, range);
  if (!row.ok()) return InvalidArgument(what + ": " + row.status().message());
  return row;
}

// One input's value: an image upload, or JSON values.
StatusOr<Tensor> DecodeValue(const Json& value, const TensorInfo& t, const InstanceDecoding& decoding,
                             PixelBudget* pixels, const std::string& what) {
  if (IsBase64Object(value) && IsImageInputSpec(t.dtype, RowSpec(t))) {
    return DecodeImageUpload(value, t, decoding, pixels, what);
  }
  if (t.is_sparse() && value.is_object()) return SparseRowFromJson(value, t.dtype, RowSpec(t), what);
  return TensorRowFromJson(value, t.dtype, RowSpec(t), what);
}

StatusOr<NamedTensors> DecodeOneInstance(const Json& instance, const SignatureInfo& signature, size_t index,
                                         const InstanceDecoding& decoding, PixelBudget* pixels) {
  const std::string where = "instance " + std::to_string(index);
  XAI_RETURN_IF_ERROR(CheckInputsAreBatched(signature));
  NamedTensors out;
  if (IsBareInstance(instance, signature)) {
    const TensorInfo& t = signature.inputs[0];
    XAI_ASSIGN_OR_RETURN(out[t.key], DecodeValue(instance, t, decoding, pixels, where + ", input '" + t.key + "'"));
    return out;
  }
  if (!instance.is_object()) {
    return InvalidArgument(where + ": signature '" + signature.key + "' has several inputs (" + TensorKeyList(signature.inputs) +
                           "); give each instance as an object keyed by input name");
  }
  for (auto it = instance.begin(); it != instance.end(); ++it) {
    bool known = false;
    for (const TensorInfo& t : signature.inputs) known = known || t.key == it.key();
    if (!known) {
      // {"b64": ..., "x": 1}: bytes with something beside them, read as keyed inputs.
      const std::string b64_hint = it.key() == "b64" && instance.size() > 1
                                       ? " (a {\"b64\": ...} value must be an object with that one key)"
                                       : "";
      return InvalidArgument(where + ": unknown input '" + it.key() + "'; signature '" + signature.key +
                             "' takes: " + TensorKeyList(signature.inputs) + b64_hint);
    }
  }
  for (const TensorInfo& t : signature.inputs) {
    auto it = instance.find(t.key);
    if (it == instance.end()) {
      return InvalidArgument(where + ": missing input '" + t.key + "'; signature '" + signature.key + "' takes: " +
                             TensorKeyList(signature.inputs));
    }
    XAI_ASSIGN_OR_RETURN(out[t.key], DecodeValue(*it, t, decoding, pixels, where + ", input '" + t.key + "'"));
  }
  return out;
}

}  // namespace

InstanceDecoding InstanceDecodingFor(const ExplainableModel& model) {
  InstanceDecoding decoding;
  if (!model.selection().preprocess_key.empty()) return decoding;
  for (const BoundInput& input : model.explained_inputs()) {
    if (input.signature_key.empty() || !input.metadata.domain) continue;
    decoding.image_domains[input.signature_key] = {input.metadata.domain->min, input.metadata.domain->max};
  }
  return decoding;
}

bool IsBareInstance(const Json& instance, const SignatureInfo& signature) {
  if (signature.inputs.size() != 1) return false;
  if (!instance.is_object()) return true;
  // {"values", "indices", "dense_shape"} is a bare sparse value unless those are the input's name.
  const TensorInfo& only = signature.inputs[0];
  if (only.is_sparse() && IsSparseJson(instance) && !instance.contains(only.key)) return true;
  // {"b64": "..."} is a bare binary value unless the input is itself named b64.
  return instance.size() == 1 && instance.contains("b64") && signature.inputs[0].key != "b64";
}

StatusOr<NamedTensors> DecodeInstance(const Json& instance, const SignatureInfo& signature, size_t index,
                                      const InstanceDecoding& decoding) {
  PixelBudget pixels{decoding.image_pixel_budget};
  return DecodeOneInstance(instance, signature, index, decoding, &pixels);
}

StatusOr<std::vector<NamedTensors>> DecodeInstances(const Json& instances, const SignatureInfo& signature,
                                                    const InstanceDecoding& decoding) {
  if (!instances.is_array()) return InvalidArgument("\"instances\" must be a list");
  if (instances.empty()) return InvalidArgument("\"instances\" is empty; give at least one instance");
  std::vector<NamedTensors> out;
  PixelBudget pixels{decoding.image_pixel_budget};
  for (size_t i = 0; i < instances.size(); ++i) {
    XAI_ASSIGN_OR_RETURN(NamedTensors one, DecodeOneInstance(instances[i], signature, i, decoding, &pixels));
    out.push_back(std::move(one));
  }
  return out;
}

StatusOr<NamedTensors> StackInstances(const std::vector<NamedTensors>& instances) {
  NamedTensors batch;
  if (instances.empty()) return batch;
  for (const auto& [key, first] : instances[0]) {
    std::vector<Tensor> parts;
    for (size_t i = 0; i < instances.size(); ++i) {
      const Tensor& t = instances[i].at(key);
      if (t.shape != first.shape) {
        return InvalidArgument("instance " + std::to_string(i) + ", input '" + key + "': shape " +
                               ShapeToString(t.row_shape()) + " differs from instance 0's " +
                               ShapeToString(first.row_shape()) + "; instances of one request must have the same shape");
      }
      parts.push_back(t);
    }
    XAI_ASSIGN_OR_RETURN(batch[key], ConcatRows(parts));
  }
  return batch;
}

}  // namespace xai
