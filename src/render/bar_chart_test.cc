#include "render/bar_chart.h"

#include <cmath>
#include <regex>

#include <gtest/gtest.h>

namespace xai {
namespace {

int Count(const std::string& text, const std::string& piece) {
  int n = 0;
  for (size_t at = text.find(piece); at != std::string::npos; at = text.find(piece, at + 1)) ++n;
  return n;
}

// The text of every <text class="label"> in order.
std::vector<std::string> Labels(const std::string& svg) {
  std::vector<std::string> labels;
  const std::regex label(R"(<text class="label"[^>]*>([^<]*)</text>)");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label); it != std::sregex_iterator(); ++it) {
    labels.push_back((*it)[1]);
  }
  return labels;
}

TEST(BarChartTest, ShowsTheTopFeaturesByMagnitudeLargestFirst) {
  std::vector<BarChartFeature> features;
  for (int i = 0; i < 15; ++i) features.push_back({"f" + std::to_string(i), (i % 2 ? -1.0 : 1.0) * i});
  BarChartOptions options;
  options.top_n = 4;
  const std::string svg = RenderBarChartSvg(features, options);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << svg;
  EXPECT_EQ(Labels(svg), (std::vector<std::string>{"f14", "f13", "f12", "f11"}));
  EXPECT_EQ(Count(svg, "<rect class=\"bar "), 4);
  EXPECT_EQ(Count(svg, "<rect class=\"bar positive\""), 2);
  EXPECT_EQ(Count(svg, "<rect class=\"bar negative\""), 2);
  EXPECT_NE(svg.find("<title>f13: -13</title>"), std::string::npos) << svg;
}

TEST(BarChartTest, PositiveAndNegativeBarsHaveTheirColours) {
  const std::string svg = RenderBarChartSvg({{"up", 2}, {"down", -1}});
  // The zero line sits at 1/3 of the plot (210 + 260 / 3): negatives to its left, positives to its right.
  EXPECT_NE(svg.find("class=\"bar positive\" x=\"296.7\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("class=\"bar negative\" x=\"210.0\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("fill=\"#1a9641\""), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#d01c8b\""), std::string::npos);
}

TEST(BarChartTest, BarLengthsAreProportional) {
  const std::string svg = RenderBarChartSvg({{"a", 4}, {"b", 1}});
  // All positive: the plot (260 px) is the largest value.
  EXPECT_NE(svg.find("x=\"210.0\" y=\"14.0\" width=\"260.0\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("width=\"65.0\""), std::string::npos) << svg;
}

TEST(BarChartTest, EscapesLabelsAndTitle) {
  BarChartOptions options;
  options.title = "x < y & \"z\"";
  const std::string svg = RenderBarChartSvg({{"<script>alert('x')</script>", 1}}, options);
  EXPECT_EQ(svg.find("<script>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"), std::string::npos) << svg;
  EXPECT_NE(svg.find("x &lt; y &amp; &quot;z&quot;"), std::string::npos) << svg;
}

TEST(BarChartTest, ShortensLongLabelsButKeepsThemInTheTitle) {
  const std::string label(50, 'a');
  const std::string svg = RenderBarChartSvg({{label, 1}});
  ASSERT_EQ(Labels(svg).size(), 1u);
  EXPECT_EQ(Labels(svg)[0], std::string(32, 'a') + "\xE2\x80\xA6");
  EXPECT_NE(svg.find("<title>" + label + ": 1</title>"), std::string::npos);
}

TEST(BarChartTest, NonFiniteValuesAndEmptyInputDoNotBreakIt) {
  const std::string svg = RenderBarChartSvg({{"nan", std::nan("")}, {"one", 1}});
  EXPECT_EQ(Labels(svg), (std::vector<std::string>{"one", "nan"}));
  EXPECT_EQ(svg.find("nan\""), std::string::npos);
  const std::string empty = RenderBarChartSvg({});
  EXPECT_NE(empty.find("no features"), std::string::npos);
  EXPECT_NE(empty.find("</svg>"), std::string::npos);
}

TEST(EscapeXmlTest, EscapesTheFiveEntitiesAndControlCharacters) {
  EXPECT_EQ(EscapeXml("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(EscapeXml(std::string("x\x01y")), "x y");
  EXPECT_EQ(EscapeXml("caf\xC3\xA9"), "caf\xC3\xA9");
  // U+FFFE and U+FFFF are not XML characters (an SVG with them does not parse); U+FFFD is.
  EXPECT_EQ(EscapeXml("b\xEF\xBF\xBE c\xEF\xBF\xBF"), "b  c ");
  EXPECT_EQ(EscapeXml("\xEF\xBF\xBD\xEF\xBF"), "\xEF\xBF\xBD\xEF\xBF");
}

}  // namespace
}  // namespace xai
