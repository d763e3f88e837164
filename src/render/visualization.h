// The `visualization` settings of an image input's explanation metadata
// (SPEC §2, §6), as the cloud service defines them, parsed and validated:
//
//   type                     pixels | outlines
//   polarity                 positive | negative | both            (positive)
//   color_map / colorMap     pink_green | viridis | red | green | red_green |
//                            pink_white_green
//   clip_percent_upperbound / clipPercentUpperbound  percentile, (0, 100]  (99.9)
//   clip_percent_lowerbound / clipPercentLowerbound  percentile, [0, 100)  (62)
//   overlay_type / overlayType  none | original | grayscale | mask_black  (none)
//
// It also takes what Google's Explainable AI SDK writes: clip_above_percentile
// and clip_below_percentile for the two clip bounds, overlay_type "mask" for
// mask_black, and blur_sigma, overlay_multiplier, shade_within_outlines,
// output_format (png, jpeg), resized_shape and translate, which are checked
// as the SDK checks them but not drawn (`not_drawn`).
//
// Values are case-insensitive ("PIXELS", "pixels"), or the numbers of Vertex's
// enums, as proto3 JSON may write them ("colorMap": 2 is viridis); 0 and
// `*_UNSPECIFIED` are the default. A clip bound of 0 in Vertex's names
// (clipPercentUpperbound, clip_percent_lowerbound, ...) is proto3's unset
// one, so the default; in the SDK's clip_*_percentile names 0 is 0. The method decides what
// the metadata leaves out, as in the cloud service: Integrated Gradients (and
// Sampled Shapley) default to outlines with pink_green, XRAI to pixels with
// viridis. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor_json.h"

namespace xai {

enum class VisualizationType { kPixels, kOutlines };
enum class Polarity { kPositive, kNegative, kBoth };
enum class ColorMap { kPinkGreen, kViridis, kRed, kGreen, kRedGreen, kPinkWhiteGreen };
enum class OverlayType { kNone, kOriginal, kGrayscale, kMaskBlack };

inline constexpr double kDefaultClipPercentUpperbound = 99.9;
inline constexpr double kDefaultClipPercentLowerbound = 62;

struct Visualization {
  VisualizationType type = VisualizationType::kOutlines;
  Polarity polarity = Polarity::kPositive;
  ColorMap color_map = ColorMap::kPinkGreen;
  double clip_percent_upperbound = kDefaultClipPercentUpperbound;
  double clip_percent_lowerbound = kDefaultClipPercentLowerbound;
  OverlayType overlay_type = OverlayType::kNone;
  // The SDK's settings given that xaiserve's pictures do not apply, by name.
  std::vector<std::string> not_drawn;
};

// Lower-case names as the metadata spells them: "pixels", "pink_green", ...
const char* VisualizationTypeName(VisualizationType type);
const char* PolarityName(Polarity polarity);
const char* ColorMapName(ColorMap map);
const char* OverlayTypeName(OverlayType overlay);

// The cloud service's defaults for an explanation method ("xrai",
// "integrated-gradients", "sampled-shapley").
Visualization DefaultVisualization(const std::string& method);

// `json`: the metadata's visualization object, or null for none (defaults).
// Unknown fields and values are INVALID_ARGUMENT naming the field (prefixed
// by `where`, e.g. "metadata inputs.image.visualization") and the choices.
StatusOr<Visualization> ParseVisualization(const Json& json, const std::string& method, const std::string& where);

}  // namespace xai
