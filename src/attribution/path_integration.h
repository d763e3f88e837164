// Numerical integration along a straight path from a baseline b to an input x,
// written once for every path method (Integrated Gradients, and XRAI through
// it). A rule turns a step count into points alpha in [0, 1] and weights that
// sum to 1, so that the integral over [0, 1] of g(alpha) is approximated by
// sum_j weight_j * g(alpha_j). Also the completeness gap every path method
// reports. Pure functions: no state, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace xai {

enum class PathRule {
  kTrapezoid,      // steps+1 points i/steps, i = 0..steps; end weights halved. The default.
  kRiemannLeft,    // steps points i/steps, i = 0..steps-1.
  kRiemannRight,   // steps points i/steps, i = 1..steps.
  kRiemannMiddle,  // steps points (i+1/2)/steps, i = 0..steps-1.
};

struct PathPoint {
  double alpha = 0;   // position on the path: b + alpha * (x - b).
  double weight = 0;  // quadrature weight; the weights of one rule sum to 1.
};

// The points of `rule` for `steps` subintervals of [0, 1], in increasing
// alpha. Trapezoid: steps+1 points including alpha = 0 and alpha = 1 (exactly),
// weights 1/steps inside and 1/(2*steps) at the ends; it is exact when the
// integrand is linear in alpha, as is the gradient of a quadratic along a
// straight path. The Riemann rules: steps points of weight 1/steps each;
// riemann_left includes alpha = 0, riemann_right includes alpha = 1 and
// riemann_middle neither. Returns no points if steps < 1 (callers validate
// steps; see integrated_gradients.h for the accepted range).
std::vector<PathPoint> PathPoints(PathRule rule, int steps);

// "trapezoid", "riemann_left", "riemann_right", "riemann_middle".
const char* PathRuleName(PathRule rule);
// The inverse of PathRuleName; INVALID_ARGUMENT naming the bad name and the
// valid ones otherwise.
StatusOr<PathRule> ParsePathRule(const std::string& name);

// `amount` (>= 0) relative to the output change an attribution explains:
//   amount / max(|instance_output - baseline_output|,
//                1e-6 * max(|instance_output|, |baseline_output|),
//                the smallest subnormal double).
// The floor keeps a difference that float32 outputs cannot resolve (e.g. a
// baseline equal to the instance) from turning rounding noise into a huge
// error: below it, the amount is measured against the outputs' own scale,
// whatever their units (an absolute floor understated the error 200-fold on
// an output of about 1e-8); subnormal float64 outputs are measured the same
// way. 0 when amount is 0; huge but finite (at most the largest double) when
// both outputs are exactly 0. Every method's approximationError is relative
// this way.
double RelativeToOutputChange(double amount, double instance_output, double baseline_output);

// The completeness gap of a path attribution, relative to what it explains:
// RelativeToOutputChange(|attribution_sum - (instance_output - baseline_output)|, ...).
// 0 when the sum matches exactly.
double CompletenessError(double attribution_sum, double instance_output, double baseline_output);

}  // namespace xai
