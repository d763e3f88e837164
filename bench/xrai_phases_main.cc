// xaiserve_bench_xrai: XRAI's segmentation and region selection, the part of
// XRAI that is not Integrated Gradients, timed on their own with the options
// xaiserve uses by default (attribution_setup.cc: XraiOptions defaults, black
// and white 0 and 1). The image is the first instance of --instances; the
// attributions (JSON, shaped like the image, e.g. the Integrated Gradients the
// Python reference computed) are summed over channels into one value per
// pixel as Xrai::Attribute does. Prints one JSON object with the medians.
//
//   xaiserve_bench_xrai --instances FILE --attributions FILE [--repeats 5]
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "attribution/xrai.h"
#include "bench/bench_common.h"

namespace xai::bench {
namespace {

constexpr char kUsage[] =
    "usage: xaiserve_bench_xrai --instances FILE --attributions FILE [--repeats N]\n"
    "Times XRAI's candidate regions (segmentation + dilation) and greedy selection.\n";

int Main(int argc, char** argv) {
  const auto flags = ParseFlags(argc, argv, kUsage);
  const int repeats = std::stoi(Flag(flags, "repeats", "5"));
  const Tensor image = ReadFirstInstance(Flag(flags, "instances", ""));
  std::ifstream in(Flag(flags, "attributions", ""));
  std::stringstream text;
  text << in.rdbuf();
  if (!in) Die("cannot read --attributions");
  const Json json = ValueOrDie(ParseJson(text.str(), "attributions"));
  const Tensor attributions = ValueOrDie(TensorRowFromJson(json, DType::kFloat64, image.row_shape(), "attributions"));

  const int64_t height = image.shape[1], width = image.shape[2];
  const int64_t channels = image.shape.size() == 4 ? image.shape[3] : 1;
  Tensor pixels(DType::kFloat64, {height, width});
  for (int64_t p = 0; p < height * width; ++p) {
    for (int64_t c = 0; c < channels; ++c) pixels.values[p] += attributions.values[p * channels + c];
  }
  const XraiOptions options;  // the defaults, as xaiserve uses them (black 0, white 1).

  std::vector<double> segment_ms, select_ms, total_ms;
  size_t num_regions = 0, num_selections = 0;
  for (int i = 0; i < repeats + 1; ++i) {  // the first is a warm-up
    auto start = std::chrono::steady_clock::now();
    const std::vector<XraiRegion> regions = ValueOrDie(XraiCandidateRegions(image, options));
    const double segment = MillisecondsSince(start);
    start = std::chrono::steady_clock::now();
    const XraiRanking ranking = ValueOrDie(RankXraiRegions(pixels, regions, options.fast));
    const double select = MillisecondsSince(start);
    num_regions = regions.size();
    num_selections = ranking.selections.size();
    if (i == 0) continue;
    segment_ms.push_back(segment);
    select_ms.push_back(select);
    total_ms.push_back(segment + select);
  }
  Json result = {{"height", height},
                 {"width", width},
                 {"regions", num_regions},
                 {"selections", num_selections},
                 {"segment_ms", Median(segment_ms)},
                 {"select_ms", Median(select_ms)},
                 {"median_ms", Median(total_ms)},
                 {"times_ms", total_ms}};
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace
}  // namespace xai::bench

int main(int argc, char** argv) { return xai::bench::Main(argc, argv); }
