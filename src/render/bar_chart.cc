#include "render/bar_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace xai {
namespace {

constexpr int kWidth = 560;
constexpr int kLabelRight = 200;  // labels end here (right-aligned)
constexpr int kPlotLeft = 210, kPlotRight = 470;
constexpr int kRowHeight = 22, kBarHeight = 14;
constexpr int kTop = 10, kTitleHeight = 22, kBottom = 10;
constexpr size_t kMaxLabelChars = 32;
constexpr const char* kPositiveColor = "#1a9641";
constexpr const char* kNegativeColor = "#d01c8b";

std::string Number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4g", v);
  return buffer;
}

std::string Px(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", v);
  return buffer;
}

// Shortens to kMaxLabelChars characters (not bytes: UTF-8 sequences stay whole).
std::string Shorten(const std::string& label) {
  size_t chars = 0;
  for (size_t i = 0; i < label.size(); ++i) {
    if ((static_cast<unsigned char>(label[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (++chars > kMaxLabelChars) return label.substr(0, i) + "\xE2\x80\xA6";  // "…"
  }
  return label;
}

}  // namespace

std::string EscapeXml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML 1.0 characters either.
    if (c == '\xEF' && i + 2 < text.size() && text[i + 1] == '\xBF' && (text[i + 2] == '\xBE' || text[i + 2] == '\xBF')) {
      out += ' ';
      i += 2;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string RenderBarChartSvg(const std::vector<BarChartFeature>& features, const BarChartOptions& options) {
  std::vector<BarChartFeature> shown = features;
  for (BarChartFeature& f : shown) {
    if (!std::isfinite(f.value)) f.value = 0;
  }
  std::stable_sort(shown.begin(), shown.end(),
                   [](const BarChartFeature& a, const BarChartFeature& b) { return std::fabs(a.value) > std::fabs(b.value); });
  if (options.top_n >= 0 && shown.size() > static_cast<size_t>(options.top_n)) shown.resize(options.top_n);

  double most_positive = 0, most_negative = 0;
  for (const BarChartFeature& f : shown) {
    most_positive = std::max(most_positive, f.value);
    most_negative = std::max(most_negative, -f.value);
  }
  const double span = most_positive + most_negative;
  const double plot_width = kPlotRight - kPlotLeft;
  const double zero_x = span > 0 ? kPlotLeft + plot_width * most_negative / span : kPlotLeft;
  const double scale = span > 0 ? plot_width / span : 0;

  const int title_height = options.title.empty() ? 0 : kTitleHeight;
  const int rows_top = kTop + title_height;
  const int height = rows_top + kRowHeight * static_cast<int>(std::max<size_t>(shown.size(), 1)) + kBottom;
  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kWidth) + "\" height=\"" +
         std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(kWidth) + " " + std::to_string(height) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect class=\"background\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  if (!options.title.empty()) {
    svg += "<text class=\"title\" x=\"" + std::to_string(kWidth / 2) + "\" y=\"" + std::to_string(kTop + 14) +
           "\" text-anchor=\"middle\" font-weight=\"bold\">" + EscapeXml(options.title) + "</text>\n";
  }
  if (shown.empty()) {
    svg += "<text class=\"empty\" x=\"" + std::to_string(kWidth / 2) + "\" y=\"" + std::to_string(rows_top + 15) +
           "\" text-anchor=\"middle\">no features</text>\n";
  }
  for (size_t i = 0; i < shown.size(); ++i) {
    const BarChartFeature& f = shown[i];
    const double row_y = rows_top + kRowHeight * static_cast<double>(i);
    const double bar_y = row_y + (kRowHeight - kBarHeight) / 2.0;
    const double length = std::fabs(f.value) * scale;
    const bool positive = f.value >= 0;
    const double bar_x = positive ? zero_x : zero_x - length;
    const std::string label = EscapeXml(Shorten(f.label));
    svg += "<g class=\"feature\">\n";
    svg += "<text class=\"label\" x=\"" + std::to_string(kLabelRight) + "\" y=\"" + Px(bar_y + kBarHeight - 3) +
           "\" text-anchor=\"end\">" + label + "</text>\n";
    svg += std::string("<rect class=\"bar ") + (positive ? "positive" : "negative") + "\" x=\"" + Px(bar_x) +
           "\" y=\"" + Px(bar_y) + "\" width=\"" + Px(length) + "\" height=\"" + std::to_string(kBarHeight) +
           "\" fill=\"" + (positive ? kPositiveColor : kNegativeColor) + "\"><title>" + EscapeXml(f.label) + ": " +
           Number(f.value) + "</title></rect>\n";
    const double value_x = positive ? bar_x + length + 4 : zero_x + 4;
    svg += "<text class=\"value\" x=\"" + Px(std::min(value_x, static_cast<double>(kPlotRight) + 4)) + "\" y=\"" +
           Px(bar_y + kBarHeight - 3) + "\">" + Number(f.value) + "</text>\n";
    svg += "</g>\n";
  }
  svg += "<line class=\"zero\" x1=\"" + Px(zero_x) + "\" y1=\"" + std::to_string(rows_top) + "\" x2=\"" + Px(zero_x) +
         "\" y2=\"" + std::to_string(height - kBottom) + "\" stroke=\"#555555\" stroke-width=\"1\"/>\n";
  svg += "</svg>\n";
  return svg;
}

}  // namespace xai
