#include "render/visualization.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
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

// The numbers of google.cloud.aiplatform.v1.ExplanationMetadata.InputMetadata.Visualization's
// enums, which proto3 JSON may write instead of the names.
const ProtoEnumValues kTypeNumbers = {{0, "TYPE_UNSPECIFIED"}, {1, "PIXELS"}, {2, "OUTLINES"}};
const ProtoEnumValues kPolarityNumbers = {
    {0, "POLARITY_UNSPECIFIED"}, {1, "POSITIVE"}, {2, "NEGATIVE"}, {3, "BOTH"}};
const ProtoEnumValues kColorMapNumbers = {{0, "COLOR_MAP_UNSPECIFIED"}, {1, "PINK_GREEN"}, {2, "VIRIDIS"},
                                          {3, "RED"},   {4, "GREEN"}, {6, "RED_GREEN"}, {5, "PINK_WHITE_GREEN"}};
const ProtoEnumValues kOverlayNumbers = {
    {0, "OVERLAY_TYPE_UNSPECIFIED"}, {1, "NONE"}, {2, "ORIGINAL"}, {3, "GRAYSCALE"}, {4, "MASK_BLACK"}};

// Reads an enum field (JsonFields::ProtoEnum: a name or its number);
// `target` keeps its value when the field is absent or the proto enum's
// default (0, "POLARITY_UNSPECIFIED", which Vertex writes for a field left unset).
template <typename Enum>
Status ReadChoice(JsonFields& f, std::initializer_list<const char*> names, const Choices<Enum>& choices,
                  const ProtoEnumValues& numbers, Enum* target) {
  XAI_ASSIGN_OR_RETURN(std::optional<std::string> value, f.ProtoEnum(names, numbers));
  if (!value) return OkStatus();
  const std::string given = Lower(*value);
  for (const auto& [name, v] : choices) {
    if (given == name) {
      *target = v;
      return OkStatus();
    }
  }
  std::string list;
  for (const auto& choice : choices) list += std::string(list.empty() ? "" : ", ") + choice.first;
  return InvalidArgument(f.Field(names) + " is " + Json(*value).dump() + "; choose one of " + list);
}

// `zero_is_unset`: the bound is named as in Vertex's proto3 message
// (clipPercentUpperbound), where 0 is a bound left unset (the default); in
// the SDK's clip_above_percentile and clip_below_percentile, 0 is 0.
Status ReadPercentile(JsonFields& f, std::initializer_list<const char*> names, bool zero_is_unset, double* target) {
  XAI_ASSIGN_OR_RETURN(auto value, zero_is_unset ? f.NumberOrDefault(names) : f.Number(names));
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
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"type"}, TypeChoices(), kTypeNumbers, &v.type));
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"polarity"}, PolarityChoices(), kPolarityNumbers, &v.polarity));
  XAI_RETURN_IF_ERROR(ReadChoice(f, {"color_map", "colorMap"}, ColorMapChoices(), kColorMapNumbers, &v.color_map));
  XAI_RETURN_IF_ERROR(
      ReadChoice(f, {"overlay_type", "overlayType"}, OverlayChoices(), kOverlayNumbers, &v.overlay_type));
  // clip_above_percentile / clip_below_percentile: the SDK's names for the same bounds.
  const std::initializer_list<const char*> upper = {"clip_percent_upperbound", "clipPercentUpperbound",
                                                    "clip_above_percentile", "clipAbovePercentile"};
  const std::initializer_list<const char*> lower = {"clip_percent_lowerbound", "clipPercentLowerbound",
                                                    "clip_below_percentile", "clipBelowPercentile"};
  const auto vertex_named = [&](const char* snake, const char* camel) {
    return json.contains(snake) || json.contains(camel);
  };
  XAI_RETURN_IF_ERROR(ReadPercentile(f, upper, vertex_named("clip_percent_upperbound", "clipPercentUpperbound"),
                                     &v.clip_percent_upperbound));
  XAI_RETURN_IF_ERROR(ReadPercentile(f, lower, vertex_named("clip_percent_lowerbound", "clipPercentLowerbound"),
                                     &v.clip_percent_lowerbound));
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
