// The six colour maps of the cloud service's image visualizations, as
// functions of a clipped attribution s in [-1, 1] (s < 0: negative
// attribution; |s| is the strength after clipping, 0 = at or below the lower
// clip percentile, 1 = at or above the upper one). Colours between the stops
// listed here are linear interpolations in sRGB, rounded to the nearest byte.
//
//   two-sided maps (the sign picks the colour):
//     pink_green        s=-1 deep pink (255,20,147)  s=0 black (0,0,0)        s=+1 green (0,255,0)
//     red_green         s=-1 red (255,0,0)           s=0 black (0,0,0)        s=+1 green (0,255,0)
//     pink_white_green  s=-1 (142,1,82)              s=0 white-ish (247,247,247) s=+1 (39,100,25)
//                       (ColorBrewer's 11-class PiYG, the cloud service's "PiYG palette")
//   one-sided maps (colour by strength |s|, the same for both signs):
//     red               0 black (0,0,0)        1 red (255,0,0)
//     green             0 black (0,0,0)        1 green (0,255,0)
//     viridis           0 purple (68,1,84)     1 yellow (253,231,37), through matplotlib's
//                       viridis at 1/4 (59,82,139), 1/2 (33,145,140), 3/4 (94,201,98)
//
// Pure; thread-safe.
#pragma once

#include "render/image.h"
#include "render/visualization.h"

namespace xai {

// The colour of s (clamped to [-1, 1]; NaN counts as 0).
Rgb ColorAt(ColorMap map, double s);

// True for the maps that colour negative attributions differently from
// positive ones (pink_green, red_green, pink_white_green).
bool IsTwoSided(ColorMap map);

}  // namespace xai
