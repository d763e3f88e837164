// xaiserve_bench_floor: the floor under an Integrated Gradients explanation.
// Loads a SavedModel through the runtime interface (model_runtime.h) and runs
// forward plus input gradients on `--points` path points, split into runs of
// `--batch-size` rows (default: AutoBatchSize, the rows per run xaiserve takes
// when none is asked for), with nothing else: no metadata,
// no output selection, no integration, no JSON. Prints one JSON object:
// load time, the first run (which builds the gradient graph), the median of
// `--repeats` timed repetitions (after `--warmup` untimed ones), and the
// median of a forward run of the instance alone (the price of one more
// TensorFlow run).
//
// --lean-ig times, instead, the least an Integrated Gradients explanation can
// do on the same runtime: per explanation, build the path points (zero
// baseline, trapezoid weights), make the one run with the explained output
// chosen in it (the top one at the instance), sum the weighted gradients,
// and write the attributions, the outputs at both ends, the completeness
// gap and the prediction as one JSON line (to /dev/null), as xaiserve
// explain does; no metadata, no options, no checks. What it takes beyond
// the floor is what any implementation pays; what xaiserve takes beyond it
// is xaiserve's own. Needs --points <= --batch-size (one run). --lean-out FILE
// keeps the lines (a test compares them with xaiserve's).
//
// --pause-us N waits N microseconds (spinning, untimed) before each timed
// repetition: a diagnostic of how much slower the same runs are when they do
// not follow each other at once, as in xaiserve, which does its own work
// (path points, integration, JSON) between them.
//
//   xaiserve_bench_floor MODEL_DIR --instances FILE [--points 51] [--batch-size N] [--repeats 5] [--warmup 0]
//                        [--pause-us 0] [--lean-ig [--lean-out /dev/null]]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <iostream>
#include <string>
#include <vector>

#include "attribution/batched_evaluator.h"
#include "attribution/path_integration.h"
#include "bench/bench_common.h"
#include "model/signature_rules.h"
#include "runtime/model_runtime.h"

namespace xai::bench {
namespace {

constexpr char kUsage[] =
    "usage: xaiserve_bench_floor MODEL_DIR --instances FILE [--points N] [--batch-size N] [--repeats N] [--warmup N]\n"
    "                            [--pause-us N] [--lean-ig [--lean-out FILE]]\n"
    "Times RunWithGradients on N path points (alpha * instance) in batches (default: xaiserve's rows per\n"
    "run), through the runtime only;\n"
    "with --lean-ig, whole minimal Integrated Gradients explanations on the same runtime instead.\n";

// The signature xaiserve explains with (SPEC §1.1), by the same rules.
const SignatureInfo& ExplainingSignature(const ModelRuntime& runtime) {
  const SignatureSelection selection = SelectSignatures(runtime.signatures());
  if (selection.explain_key.empty()) Die(runtime.path() + ": " + selection.explain_error.message());
  for (const SignatureInfo& signature : runtime.signatures()) {
    if (signature.key == selection.explain_key) return signature;
  }
  Die(runtime.path() + " has no signature '" + selection.explain_key + "'");
}

// Busy for `us` microseconds (spinning, as a program at work would be, not asleep).
void SpinFor(double us) {
  const auto start = std::chrono::steady_clock::now();
  while (1000 * MillisecondsSince(start) < us) {
  }
}

// Times `step`: once (the first, which may build the gradient graph), then
// `warmup` times untimed, then `repeats` times each after `pause_us` of spinning.
struct Timings {
  double first_ms = 0;
  std::vector<double> times_ms;
};
template <typename Step>
Timings TimeSteps(const Step& step, int warmup, int repeats, double pause_us) {
  Timings timings;
  auto start = std::chrono::steady_clock::now();
  step();
  timings.first_ms = MillisecondsSince(start);
  for (int i = 0; i < warmup; ++i) step();
  for (int i = 0; i < repeats; ++i) {
    SpinFor(pause_us);
    start = std::chrono::steady_clock::now();
    step();
    timings.times_ms.push_back(MillisecondsSince(start));
  }
  return timings;
}

// One minimal IG explanation of `instance` (zero baseline, the trapezoid
// rule's `path` points, one run), written to `out` as one JSON line (see
// --lean-ig), in xaiserve's number format.
void LeanIntegratedGradients(ModelRuntime& runtime, const TensorInfo& input, const TensorInfo& output,
                             const Tensor& instance, const std::vector<PathPoint>& path, std::FILE* out) {
  const int64_t row = instance.row_elements();
  const int64_t points = static_cast<int64_t>(path.size());
  Shape shape = instance.shape;
  shape[0] = points;
  Tensor batch(input.dtype, shape);
  for (int64_t j = 0; j < points; ++j) {
    for (int64_t e = 0; e < row; ++e) batch.values[j * row + e] = path[j].alpha * instance.values[e];
  }
  GradientRequest request;
  request.feeds = {{input.tensor_name, std::move(batch)}};
  request.target = output.tensor_name;
  request.target_element.assign(points, ArgmaxOfRow(points - 1));  // the top output at alpha = 1
  request.wrt = {input.tensor_name};
  const GradientResult result = ValueOrDie(runtime.RunWithGradients(request));

  const int64_t chosen = result.chosen_element[0];
  const int64_t outputs = result.target_value.row_elements();
  const double at_instance = result.target_value.values[(points - 1) * outputs + chosen];
  const double at_baseline = result.target_value.values[chosen];
  const std::vector<double>& gradients = result.gradients[0].values;
  std::vector<double> attributions(row, 0.0);
  for (int64_t j = 0; j < points; ++j) {
    for (int64_t e = 0; e < row; ++e) attributions[e] += path[j].weight * gradients[j * row + e];
  }
  double sum = 0;
  for (int64_t e = 0; e < row; ++e) {
    attributions[e] *= instance.values[e];
    sum += attributions[e];
  }

  std::string text = "{\"explanations\":[{\"attributions\":[{\"approximationError\":";
  AppendJsonDouble(CompletenessError(sum, at_instance, at_baseline), &text);
  text += ",\"baselineOutputValue\":";
  AppendJsonDouble(at_baseline, &text);
  text += ",\"featureAttributions\":[";
  for (int64_t e = 0; e < row; ++e) {
    if (e > 0) text += ',';
    AppendJsonDouble(attributions[e], &text);
  }
  text += "],\"instanceOutputValue\":";
  AppendJsonDouble(at_instance, &text);
  text += ",\"outputIndex\":[" + std::to_string(chosen) + "]}]}],\"predictions\":[";
  AppendTensorRowJson(result.target_value, points - 1, &text);
  text += "]}\n";
  std::fwrite(text.data(), 1, text.size(), out);
}

int Main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]).rfind("--", 0) == 0) {
    std::cerr << kUsage;
    return 2;
  }
  // Quiet TensorFlow as xaiserve does (src/cli/main.cc: its log level is read
  // while the libraries load, hence the re-exec); TF_CPP_MIN_LOG_LEVEL=0 shows INFO.
  if (std::getenv("TF_CPP_MIN_LOG_LEVEL") == nullptr) {
    setenv("TF_CPP_MIN_LOG_LEVEL", "2", 1);
    execv("/proc/self/exe", argv);
  }
  const std::string model_dir = argv[1];
  const auto flags = ParseFlags(argc - 1, argv + 1, kUsage);
  const int64_t points = std::stoll(Flag(flags, "points", "51"));
  const int repeats = std::stoi(Flag(flags, "repeats", "5"));
  const int warmup = std::stoi(Flag(flags, "warmup", "0"));
  const double pause_us = std::stod(Flag(flags, "pause-us", "0"));
  const bool lean_ig = flags.count("lean-ig") > 0;
  if (points < 1 || repeats < 1) Die("--points and --repeats must be >= 1");
  if (warmup < 0 || pause_us < 0) Die("--warmup and --pause-us must be >= 0");
  const Tensor instance = ReadFirstInstance(Flag(flags, "instances", model_dir + "/instances.jsonl"));
  const int64_t batch_size = flags.count("batch-size") ? std::stoll(Flag(flags, "batch-size", ""))
                                                        : AutoBatchSize(LayoutOf({instance}));
  if (batch_size < 1) Die("--batch-size must be >= 1");

  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ModelRuntime> runtime = ValueOrDie(LoadSavedModelRuntime(model_dir));
  const double load_ms = MillisecondsSince(start);
  const SignatureInfo& signature = ExplainingSignature(*runtime);
  const TensorInfo& input = signature.inputs.front();
  const TensorInfo& output = signature.outputs.front();
  if (input.rank_known && instance.shape.size() != input.shape.size()) {
    Die("the instance has shape " + ShapeToString(instance.shape) + "; input '" + input.key + "' expects " +
        ShapeToString(input.shape));
  }

  // The path points alpha_j * instance, j = 0..points-1 (the trapezoid rule's
  // alphas, as xaiserve's IG; one point: the instance), in runs of batch_size rows.
  const std::vector<PathPoint> path = points == 1 ? std::vector<PathPoint>{{1.0, 1.0}}
                                                  : PathPoints(PathRule::kTrapezoid, static_cast<int>(points - 1));
  std::vector<GradientRequest> runs;
  const int64_t row = instance.row_elements();
  for (int64_t first = 0; first < points; first += batch_size) {
    const int64_t rows = std::min(batch_size, points - first);
    Shape shape = instance.shape;
    shape[0] = rows;
    Tensor batch(input.dtype, shape);
    for (int64_t r = 0; r < rows; ++r) {
      const double alpha = path[first + r].alpha;
      for (int64_t e = 0; e < row; ++e) batch.values[r * row + e] = alpha * instance.values[e];
    }
    GradientRequest request;
    request.feeds = {{input.tensor_name, std::move(batch)}};
    request.target = output.tensor_name;
    request.target_element.assign(rows, 0);
    request.wrt = {input.tensor_name};
    runs.push_back(std::move(request));
  }
  auto run_all = [&] {
    for (const GradientRequest& request : runs) ValueOrDie(runtime->RunWithGradients(request));
  };
  if (lean_ig) {
    if (points > batch_size) Die("--lean-ig needs --points <= --batch-size (one run per explanation)");
    if (points < 2) Die("--lean-ig needs --points >= 2 (both ends of the path)");
    const std::string lean_out = Flag(flags, "lean-out", "/dev/null");
    std::FILE* sink = std::fopen(lean_out.c_str(), "w");
    if (sink == nullptr) Die("cannot write " + lean_out);
    // Whole explanations one after the other (--pause-us is for the floor's runs).
    const Timings lean = TimeSteps([&] { LeanIntegratedGradients(*runtime, input, output, instance, path, sink); },
                                   warmup, repeats, 0.0);
    std::fclose(sink);
    Json result = {{"lean_ig", true},         {"model", model_dir},   {"points", points},
                   {"load_ms", load_ms},      {"warmup", warmup},     {"first_ms", lean.first_ms},
                   {"times_ms", lean.times_ms}, {"median_ms", Median(lean.times_ms)}};
    std::cout << result.dump() << std::endl;
    return 0;
  }

  const Timings floor = TimeSteps(run_all, warmup, repeats, pause_us);
  // One forward run of one row (the instance), as xaiserve runs to pick the
  // explained output and to predict: the cost of an extra TensorFlow run
  // (its first run is left out).
  std::vector<Feed> one_row = {{input.tensor_name, instance}};
  const Timings forward =
      TimeSteps([&] { ValueOrDie(runtime->Run(one_row, {output.tensor_name})); }, 0, std::max(repeats, 10), 0.0);
  Json result = {{"forward_1_row_ms", Median(forward.times_ms)},
                 {"model", model_dir},          {"signature", signature.key}, {"points", points},
                 {"batch_size", batch_size},    {"runs", runs.size()},       {"load_ms", load_ms},
                 {"warmup", warmup},            {"pause_us", pause_us},
                 {"first_ms", floor.first_ms},  {"times_ms", floor.times_ms}, {"median_ms", Median(floor.times_ms)}};
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace
}  // namespace xai::bench

int main(int argc, char** argv) { return xai::bench::Main(argc, argv); }
