// A horizontal bar chart of the top features of a tabular (or text)
// attribution, as standalone SVG text: the `top_n` features with the largest
// |attribution|, largest first (ties keep the given order), one row each with
// its label, a bar from a shared zero line (positive to the right in green
// #1a9641, negative to the left in pink #d01c8b) and its value. Every bar is
// <rect class="bar positive|negative"> with a <title> of "label: value";
// labels are <text class="label">, XML-escaped and shortened to 32
// characters (the full label stays in the title). Non-finite values count as
// 0. Deterministic; pure; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace xai {

struct BarChartFeature {
  std::string label;
  double value = 0;
};

struct BarChartOptions {
  int top_n = 10;
  std::string title;  // drawn above the bars when not empty
};

std::string RenderBarChartSvg(const std::vector<BarChartFeature>& features, const BarChartOptions& options = {});

// `text` with &, <, >, " and ' as XML entities.
std::string EscapeXml(const std::string& text);

}  // namespace xai
