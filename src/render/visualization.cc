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

// Reads an enum field; `target` keeps its value when the field is absent or
// is the proto enum's default, `unspecified` ("POLARITY_UNSPECIFIED", which
// Vertex writes for a field left unset).
template <typename Enum>
Status ReadChoice(JsonFields& f, std::initializer_list<const char*> names, const Choices<Enum>& choices,
                  const char* unspecified, Enum* target) {
  XAI_ASSIGN_OR_RETURN(const Json* value, f.Find(names));
  if (value == nullptr) return OkStatus();
  std::string list;
  for (const auto& choice : choices) list += std::string(list.empty() ? "" : ", ") + choice.first;
  if (value->is_string()) {
    const std::string given = Lower(value->get<std::string>());
    if (given == unspecified) return OkStatus();
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
// drew its picture: checked as the SDK checks them, and listed in `not_drawn`.
Status ReadNotDrawn(JsonFields& f, std::vector<std::string>* not_drawn) {
  struct Range {
    const char* name;
    double min, max;
  };
  for (const Range& r : {Range{"blur_sigma", 0, HUGE_VAL}, Range{"overlay_multiplier", 0, 1}}) {
    XAI_ASSIGN_OR_RETURN(auto value, f.Number({r.name}));
    if (!value) continue;
    if (!std::isfinite(*value) || *value < r.min || *value > r.max) {
      return InvalidArgument(f.Field({r.name}) + " is " + Json(*value).dump() +
                             (r.max == 1 ? "; give a number from 0 to 1" : "; give a number >= 0"));
    }
    not_drawn->push_back(r.name);
  }
  XAI_ASSIGN_OR_RETURN(const Json* shade, f.Find({"shade_within_outlines"}));
  if (shade != nullptr && !shade->is_boolean()) {
    return InvalidArgument(f.Field({"shade_within_outlines"}) + " is " + shade->dump() + "; give true or false");
  }
  if (shade != nullptr) not_drawn->push_back("shade_within_outlines");
  XAI_ASSIGN_OR_RETURN(const Json* format, f.Find({"output_format"}));
  const std::string format_name = format != nullptr && format->is_string() ? Lower(format->get<std::string>()) : "";
  if (format != nullptr && format_name != "png" && format_name != "jpeg") {
    return InvalidArgument(f.Field({"output_format"}) + " is " + format->dump() + "; choose one of png, jpeg");
  }
  if (format != nullptr) not_drawn->push_back("output_format");
  // resized_shape: a height and width; translate: an offset, which may be 0.
  for (const auto& [name, least] : {std::pair{"resized_shape", 1.0}, std::pair{"translate", 0.0}}) {
    XAI_ASSIGN_OR_RETURN(const Json* pair, f.Find({name}));
    if (pair == nullptr) continue;
    const auto fits = [least = least](const Json& v) { return v.is_number_integer() && v.get<double>() >= least; };
    if (!pair->is_array() || pair->size() != 2 || !fits((*pair)[0]) || !fits((*pair)[1])) {
      return InvalidArgument(f.Field({name}) + " is " + pair->dump() + "; give two integers >= " +
                             Json(static_cast<int>(least)).dump() + ", e.g. [224, 224]");
    }
    not_drawn->push_back(name);
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
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"type"}, TypeChoices(), "type_unspecified", &v.type));
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"polarity"}, PolarityChoices(), "polarity_unspecified", &v.polarity));
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"color_map", "colorMap"}, ColorMapChoices(), "color_map_unspecified", &v.color_map));
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"overlay_type", "overlayType"}, OverlayChoices(), "overlay_type_unspecified", &v.overlay_type));
  // clip_above_percentile / clip_below_percentile: the SDK's names for the same bounds.
  const std::initializer_list<const char*> upper = {"clip_percent_upperbound", "clipPercentUpperbound",
                                                    "clip_above_percentile", "clipAbovePercentile"};
  const std::initializer_list<const char*> lower = {"clip_percent_lowerbound", "clipPercentLowerbound",
                                                    "clip_below_percentile", "clipBelowPercentile"};
  XAI_RETURN_IF_ERROR(ReadPercentile(f, upper, &v.clip_percent_upperbound));
  XAI_RETURN_IF_ERROR(ReadPercentile(f, lower, &v.clip_percent_lowerbound));
  XAI_RETURN_IF_ERROR(ReadNotDrawn(f, &v.not_drawn));
  XAI_RETURN_IF_ERROR(f.CheckNoUnknownFields());
  if (!(v.clip_percent_lowerbound < v.clip_percent_upperbound)) {
    // Named as the metadata spells them (or the camelCase name of a default).
    const auto name = [&](std::initializer_list<const char*> names, const char* default_name) {
      for (const char* given : names) {
        if (json.contains(given)) return std::string(given);
      }
      return std::string(default_name);
    };
    return InvalidArgument(where + ": " + name(lower, "clipPercentLowerbound") + " (" +
                           Json(v.clip_percent_lowerbound).dump() + ") must be below " +
                           name(upper, "clipPercentUpperbound") + " (" + Json(v.clip_percent_upperbound).dump() + ")");
  }
  return v;
}

}  // namespace xai
