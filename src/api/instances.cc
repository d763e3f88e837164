#include "api/instances.h"

#include "model/signature_rules.h"

namespace xai {
namespace {

std::optional<Shape> RowSpec(const TensorInfo& t) {
  if (!t.rank_known) return std::nullopt;
  if (t.shape.empty()) return Shape{};  // a scalar input: one value for the whole batch is not batchable.
  return Shape(t.shape.begin() + 1, t.shape.end());
}

}  // namespace

bool IsBareInstance(const Json& instance, const SignatureInfo& signature) {
  if (signature.inputs.size() != 1) return false;
  if (!instance.is_object()) return true;
  // {"b64": "..."} is a bare binary value unless the input is itself named b64.
  return instance.size() == 1 && instance.contains("b64") && signature.inputs[0].key != "b64";
}

StatusOr<NamedTensors> DecodeInstance(const Json& instance, const SignatureInfo& signature, size_t index) {
  const std::string where = "instance " + std::to_string(index);
  NamedTensors out;
  if (IsBareInstance(instance, signature)) {
    const TensorInfo& t = signature.inputs[0];
    XAI_ASSIGN_OR_RETURN(out[t.key], TensorRowFromJson(instance, t.dtype, RowSpec(t), where + ", input '" + t.key + "'"));
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
      return InvalidArgument(where + ": unknown input '" + it.key() + "'; signature '" + signature.key +
                             "' takes: " + TensorKeyList(signature.inputs));
    }
  }
  for (const TensorInfo& t : signature.inputs) {
    auto it = instance.find(t.key);
    if (it == instance.end()) {
      return InvalidArgument(where + ": missing input '" + t.key + "'; signature '" + signature.key + "' takes: " +
                             TensorKeyList(signature.inputs));
    }
    XAI_ASSIGN_OR_RETURN(out[t.key], TensorRowFromJson(*it, t.dtype, RowSpec(t), where + ", input '" + t.key + "'"));
  }
  return out;
}

StatusOr<std::vector<NamedTensors>> DecodeInstances(const Json& instances, const SignatureInfo& signature) {
  if (!instances.is_array()) return InvalidArgument("\"instances\" must be a list");
  if (instances.empty()) return InvalidArgument("\"instances\" is empty; give at least one instance");
  std::vector<NamedTensors> out;
  for (size_t i = 0; i < instances.size(); ++i) {
    XAI_ASSIGN_OR_RETURN(NamedTensors one, DecodeInstance(instances[i], signature, i));
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
