#include "attribution/path_integration.h"

#include <algorithm>
#include <limits>
#include <cmath>

namespace xai {

namespace {

constexpr PathRule kAllRules[] = {PathRule::kTrapezoid, PathRule::kRiemannLeft,
                                  PathRule::kRiemannRight, PathRule::kRiemannMiddle};

// Relative floor of the output change (see RelativeToOutputChange).
constexpr double kRelativeFloor = 1e-6;

}  // namespace

std::vector<PathPoint> PathPoints(PathRule rule, int steps) {
  std::vector<PathPoint> points;
  if (steps < 1) return points;
  const double n = steps;
  switch (rule) {
    case PathRule::kTrapezoid:
      points.reserve(steps + 1);
      for (int i = 0; i <= steps; ++i) {
        const bool end = i == 0 || i == steps;
        points.push_back({i / n, end ? 0.5 / n : 1.0 / n});
      }
      break;
    case PathRule::kRiemannLeft:
      points.reserve(steps);
      for (int i = 0; i < steps; ++i) points.push_back({i / n, 1.0 / n});
      break;
    case PathRule::kRiemannRight:
      points.reserve(steps);
      for (int i = 1; i <= steps; ++i) points.push_back({i / n, 1.0 / n});
      break;
    case PathRule::kRiemannMiddle:
      points.reserve(steps);
      for (int i = 0; i < steps; ++i) points.push_back({(i + 0.5) / n, 1.0 / n});
      break;
  }
  return points;
}

const char* PathRuleName(PathRule rule) {
  switch (rule) {
    case PathRule::kTrapezoid: return "trapezoid";
    case PathRule::kRiemannLeft: return "riemann_left";
    case PathRule::kRiemannRight: return "riemann_right";
    case PathRule::kRiemannMiddle: return "riemann_middle";
  }
  return "unknown";
}

StatusOr<PathRule> ParsePathRule(const std::string& name) {
  std::string valid;
  for (PathRule rule : kAllRules) {
    if (name == PathRuleName(rule)) return rule;
    if (!valid.empty()) valid += ", ";
    valid += PathRuleName(rule);
  }
  return InvalidArgument("unknown path integration rule '" + name + "'; expected one of " + valid);
}

double RelativeToOutputChange(double amount, double instance_output, double baseline_output) {
  if (amount == 0) return 0;
  const double scale = std::max(std::abs(instance_output), std::abs(baseline_output));
  // The last floor is the smallest subnormal, not the smallest normal
  // (min(), 2.2e-308), which divided subnormal output changes by more than
  // they are: f(x) = 1e-310, f(b) = 2e-310 and a gap of 1e-310 read 0.0045, not 1.
  const double relative = amount / std::max({std::abs(instance_output - baseline_output), kRelativeFloor * scale,
                                              std::numeric_limits<double>::denorm_min()});
  // Both outputs 0: any amount above about 9e-16 would overflow to inf (null in JSON).
  return std::min(relative, std::numeric_limits<double>::max());
}

double CompletenessError(double attribution_sum, double instance_output, double baseline_output) {
  const double gap = std::abs(attribution_sum - (instance_output - baseline_output));
  return RelativeToOutputChange(gap, instance_output, baseline_output);
}

}  // namespace xai
