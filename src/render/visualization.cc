#include "render/visualization.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <utility>
#include <vector>

#include "core/json_fields.h"

namespace xai {
namespace {

template <typename Enum>
using Choices = std::vector<std::pair<const char*, Enum>>;

const Choices<VisualizationType>& TypeChoices() {
  static const Choices<VisualizationType> c = {{"pixels", VisualizationType::kPixels},
                                               {"outlines", VisualizationType::kOutlines}};
  return c;
}
const Choices<Polarity>& PolarityChoices() {
  static const Choices<Polarity> c = {
      {"positive", Polarity::kPositive}, {"negative", Polarity::kNegative}, {"both", Polarity::kBoth}};
  return c;
}
const Choices<ColorMap>& ColorMapChoices() {
  static const Choices<ColorMap> c = {{"pink_green", ColorMap::kPinkGreen}, {"viridis", ColorMap::kViridis},
                                      {"red", ColorMap::kRed},              {"green", ColorMap::kGreen},
                                      {"red_green", ColorMap::kRedGreen},   {"pink_white_green", ColorMap::kPinkWhiteGreen}};
  return c;
}
const Choices<OverlayType>& OverlayChoices() {
  static const Choices<OverlayType> c = {{"none", OverlayType::kNone},
                                         {"original", OverlayType::kOriginal},
                                         {"grayscale", OverlayType::kGrayscale},
                                         {"mask_black", OverlayType::kMaskBlack},
                                         // explainable_ai_sdk.metadata.parameters.OverlayType.MASK_BLACK's value
                                         {"mask", OverlayType::kMaskBlack}};
  return c;
}

template <typename Enum>
const char* NameOf(const Choices<Enum>& choices, Enum value) {
  for (const auto& [name, v] : choices) {
    if (v == value) return name;
  }
  return "?";
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Reads an enum field; `target` keeps its value when the field is absent.
template <typename Enum>
Status ReadChoice(JsonFields& f, std::initializer_list<const char*> names, const Choices<Enum>& choices,
                  Enum* target) {
  XAI_ASSIGN_OR_RETURN(const Json* value, f.Find(names));
  if (value == nullptr) return OkStatus();
  std::string list;
  for (const auto& choice : choices) list += std::string(list.empty() ? "" : ", ") + choice.first;
  if (value->is_string()) {
    const std::string given = Lower(value->get<std::string>());
    for (const auto& [name, v] : choices) {
      if (given == name) {
        *target = v;
        return OkStatus();
      }
    }
  }
  return InvalidArgument(f.Field(names) + " is " + value->dump() + "; choose one of " + list);
}

Status ReadPercentile(JsonFields& f, std::initializer_list<const char*> names, double* target) {
  XAI_ASSIGN_OR_RETURN(auto value, f.Number(names));
  if (!value) return OkStatus();
  if (!std::isfinite(*value) || *value < 0 || *value > 100) {
    return InvalidArgument(f.Field(names) + " is " + Json(*value).dump() + "; give a percentile from 0 to 100");
  }
  *target = *value;
  return OkStatus();
}

// Settings of the SDK's visualization schema that change only how the cloud
// drew its picture: checked, and listed in `not_drawn` by name.
Status ReadNotDrawn(JsonFields& f, std::vector<std::string>* not_drawn) {
  const auto note = [&](const char* name, const Json* value) {
    if (value != nullptr) not_drawn->push_back(name);
  };
  for (const char* name : {"blur_sigma", "overlay_multiplier"}) {
    XAI_ASSIGN_OR_RETURN(auto value, f.Number({name}));
    if (value && (!std::isfinite(*value) || *value < 0)) {
      return InvalidArgument(f.Field({name}) + " is " + Json(*value).dump() + "; give a number >= 0");
    }
    if (value) not_drawn->push_back(name);
  }
  XAI_ASSIGN_OR_RETURN(const Json* format, f.Find({"output_format"}));
  if (format != nullptr && !(format->is_string() && (Lower(format->get<std::string>()) == "png" ||
                                                     Lower(format->get<std::string>()) == "jpeg"))) {
    return InvalidArgument(f.Field({"output_format"}) + " is " + format->dump() + "; choose one of png, jpeg");
  }
  note("output_format", format);
  for (const char* name : {"resized_shape", "translate"}) {
    XAI_ASSIGN_OR_RETURN(const Json* pair, f.Find({name}));
    const bool two_numbers = pair != nullptr && pair->is_array() && pair->size() == 2 &&
                             (*pair)[0].is_number() && (*pair)[1].is_number();
    if (pair != nullptr && !two_numbers) {
      return InvalidArgument(f.Field({name}) + " is " + pair->dump() + "; give two numbers, e.g. [224, 224]");
    }
    note(name, pair);
  }
  return OkStatus();
}

}  // namespace

const char* VisualizationTypeName(VisualizationType type) { return NameOf(TypeChoices(), type); }
const char* PolarityName(Polarity polarity) { return NameOf(PolarityChoices(), polarity); }
const char* ColorMapName(ColorMap map) { return NameOf(ColorMapChoices(), map); }
const char* OverlayTypeName(OverlayType overlay) { return NameOf(OverlayChoices(), overlay); }

Visualization DefaultVisualization(const std::string& method) {
  Visualization v;
  if (method == "xrai") {
    v.type = VisualizationType::kPixels;
    v.color_map = ColorMap::kViridis;
  } else {
    v.type = VisualizationType::kOutlines;
    v.color_map = ColorMap::kPinkGreen;
  }
  return v;
}

StatusOr<Visualization> ParseVisualization(const Json& json, const std::string& method, const std::string& where) {
  Visualization v = DefaultVisualization(method);
  if (json.is_null()) return v;
  if (!json.is_object()) return InvalidArgument(where + " must be an object, e.g. {\"type\": \"pixels\"}");
  JsonFields f(json, where);
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"type"}, TypeChoices(), &v.type));
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"polarity"}, PolarityChoices(), &v.polarity));
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"color_map", "colorMap"}, ColorMapChoices(), &v.color_map));
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"overlay_type", "overlayType"}, OverlayChoices(), &v.overlay_type));
  // clip_above_percentile / clip_below_percentile: the SDK's names for the same bounds.
  XAI_RETURN_IF_ERROR(ReadPercentile(f,
                                     {"clip_percent_upperbound", "clipPercentUpperbound", "clip_above_percentile",
                                      "clipAbovePercentile"},
                                     &v.clip_percent_upperbound));
  XAI_RETURN_IF_ERROR(ReadPercentile(f,
                                     {"clip_percent_lowerbound", "clipPercentLowerbound", "clip_below_percentile",
                                      "clipBelowPercentile"},
                                     &v.clip_percent_lowerbound));
  XAI_RETURN_IF_ERROR(ReadNotDrawn(f, &v.not_drawn));
  XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
  if (!(v.clip_percent_lowerbound < v.clip_percent_upperbound)) {
    return InvalidArgument(where + ": clipPercentLowerbound (" + Json(v.clip_percent_lowerbound).dump() +
                           ") must be below clipPercentUpperbound (" + Json(v.clip_percent_upperbound).dump() + ")");
  }
  return v;
}

}  // namespace xai
