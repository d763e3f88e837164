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
                                         {"mask_black", OverlayType::kMaskBlack}};
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
  XAI_RETURN_IF_ERROR(
      ReadPercentile(f, {"clip_percent_upperbound", "clipPercentUpperbound"}, &v.clip_percent_upperbound));
  XAI_RETURN_IF_ERROR(
      ReadPercentile(f, {"clip_percent_lowerbound", "clipPercentLowerbound"}, &v.clip_percent_lowerbound));
  XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
  if (!(v.clip_percent_lowerbound < v.clip_percent_upperbound)) {
    return InvalidArgument(where + ": clipPercentLowerbound (" + Json(v.clip_percent_lowerbound).dump() +
                           ") must be below clipPercentUpperbound (" + Json(v.clip_percent_upperbound).dump() + ")");
  }
  return v;
}

}  // namespace xai
