#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "api/explain_parameters.h"
#include "api/instances.h"
#include "api/responses.h"
#include "api/visualizations.h"
#include "attribution/gaussian_blur.h"
#include "attribution/sampled_shapley.h"
#include "cli/flags.h"
#include "cli/instance_lines.h"
#include "cli/interrupts.h"
#include "cli/line_output.h"
#include "cli/picture_file_names.h"
#include "core/number_format.h"
#include "core/text.h"
#include "model/attribution_setup.h"
#include "model/explainable_model.h"

namespace xai {
namespace {

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2;
// SPEC §3: users are warned when an attribution's approximationError exceeds 5%.
constexpr double kApproximationWarningLevel = 0.05;

int Fail(const std::string& command, const Status& status) {
  std::cerr << "xaiserve " << command << ": error: " << ForTerminal(status.message()) << "\n";
  return kExitFailed;
}

int UsageError(const std::string& command, const std::string& message) {
  std::cerr << "xaiserve " << command << ": " << ForTerminal(message) << "\n(see xaiserve " << command << " --help)\n";
  return kExitUsage;
}

// Parses flags; returns an exit code to stop with, or nullopt to go on.
std::optional<int> ParseFlags(FlagSet& flags, const std::string& command, const std::vector<std::string>& args,
                              std::vector<std::string>* positional, size_t want_positional) {
  Status parsed = flags.Parse(args, positional);
  if (!parsed.ok()) return UsageError(command, parsed.message());
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return kExitOk;
  }
  if (positional->size() != want_positional) {
    if (positional->empty()) return UsageError(command, "missing MODEL_DIR");
    std::string message = "expected one MODEL_DIR, got " + std::to_string(positional->size()) + " arguments ('" +
                          (*positional)[0] + "', '" + (*positional)[1] + "'" + (positional->size() > 2 ? ", ..." : "") +
                          ")";
    // `xaiserve explain DIR instances.jsonl`: the file needs its flag.
    if (flags.Knows("instances")) message += "; give the instances as --instances " + (*positional)[1];
    return UsageError(command, message);
  }
  return std::nullopt;
}

// JSON Lines: one instance per non-empty line. "-" reads stdin.
// Instances are read and decoded in chunks of up to this many (and about
// kChunkBytes of text): memory stays bounded whatever the file's size, and
// the explanations of a chunk run back to back (parsing a line between two
// TensorFlow runs slowed tabular_mlp's next run by 1-2 us, README,
// Benchmarks). From standard input they come one at a time, so that each is
// answered as it arrives.
constexpr size_t kChunkInstances = 1024;
constexpr size_t kChunkBytes = size_t{8} << 20;

struct InstanceChunk {
  std::vector<Json> instances;          // as read (the response mirrors a bare one)
  std::vector<NamedTensors> decoded;    // for `signature`
  std::vector<std::string> where;       // "FILE:LINE" of each, for messages
};

// The next instances of `lines`, up to `max_instances`, each decoded for
// `signature` and numbered from lines.count() (0-based, as "instance N").
// Empty at the end.
StatusOr<InstanceChunk> ReadInstanceChunk(InstanceLines& lines, size_t max_instances, const SignatureInfo& signature,
                                          const InstanceDecoding& decoding) {
  InstanceChunk chunk;
  const size_t start_bytes = lines.bytes();
  while (chunk.instances.size() < max_instances && lines.bytes() - start_bytes < kChunkBytes) {
    XAI_ASSIGN_OR_RETURN(std::optional<Json> next, lines.Next());
    if (!next) break;
    StatusOr<NamedTensors> decoded = DecodeInstance(*next, signature, lines.count() - 1, decoding);
    if (!decoded.ok()) return decoded.status().WithContext(lines.where());
    chunk.instances.push_back(std::move(*next));
    chunk.decoded.push_back(std::move(*decoded));
    chunk.where.push_back(lines.where());
  }
  return chunk;
}

// "1 instance", "3 instances".
std::string Instances(size_t count) { return std::to_string(count) + (count == 1 ? " instance" : " instances"); }

// "3/10 instances" with a known total, else "3 instances".
std::string Progress(size_t done, std::optional<size_t> total) {
  return total ? std::to_string(done) + "/" + std::to_string(*total) + " instances" : Instances(done);
}

StatusOr<std::shared_ptr<ExplainableModel>> LoadModel(const std::string& dir, const std::string& metadata,
                                                      int64_t version) {
  LoadOptions options;
  if (!metadata.empty()) options.metadata_path = metadata;
  if (version >= 0) options.version = version;
  std::cerr << "xaiserve: loading " << ForTerminal(dir) << "\n";
  XAI_ASSIGN_OR_RETURN(std::shared_ptr<ExplainableModel> model, ExplainableModel::Load(dir, options));
  std::vector<std::string> notes = model->load_notes();
  XAI_RETURN_IF_ERROR(CheckVisualizationMetadata(model->metadata(), &notes));
  for (const std::string& note : notes) std::cerr << "xaiserve: note: " << ForTerminal(note) << "\n";
  return model;
}

std::string DescribeTensorInfo(const TensorInfo& t) {
  const std::string tensors = t.is_sparse() ? "sparse: values " + t.tensor_name + ", indices " +
                                                  t.sparse_indices_tensor + ", dense_shape " + t.sparse_dense_shape_tensor
                                            : t.tensor_name;
  return t.key + ": " + DTypeName(t.dtype) + (t.rank_known ? ShapeToString(t.shape) : "[unknown rank]") + "  (" +
         tensors + ")";
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// JSON has no inf or nan: such an output is written as null, and said on
// stderr by `command` (predict, or explain for its predictions).
void WarnOfNonFiniteOutputs(const char* command, const NamedTensors& outputs, size_t row, size_t instance) {
  for (const auto& [name, tensor] : outputs) {
    const int64_t n = tensor.row_elements();
    for (int64_t e = 0; e < n && tensor.dtype != DType::kString; ++e) {
      const double value = tensor.values[row * n + e];
      if (std::isfinite(value)) continue;
      std::cerr << "xaiserve " << command << ": warning: instance " << instance << ": output '" << ForTerminal(name)
                << "' holds "
                << NonFiniteName(value) << ", written as null (JSON has no "
                << "inf or nan); the model overflowed on this input, or met a value outside an op's domain "
                   "(such as the log of a negative number)\n";
      break;
    }
  }
}

// The lines of `predict` and `explain`: one per instance for stdout and, with
// explain --timings, the instance's time for a file of its own. Written
// together, stdout first and the timings only as far as stdout got, so that
// after a failed write, or a kill between two writes, the timings file holds
// the time of each whole line in the output and no more.
struct ResultLines {
  LineOutput out{STDOUT_FILENO};
  std::unique_ptr<LineOutput> timings;  // null without --timings
  std::string timings_path;

  // A failed write stops the command rather than go on explaining into
  // nothing; its error counts the instances whose lines reached the output.
  Status Write() {
    const Status written = out.Write();
    if (timings != nullptr) {
      const Status timed = timings->Write(out.lines_written());
      if (!timed.ok() && written.ok()) {
        return FailedPrecondition("--timings: writing '" + timings_path + "' failed after " +
                                  Instances(timings->lines_written()) + ": " + timed.message());
      }
    }
    if (written.ok()) return OkStatus();
    const size_t whole = out.lines_written();
    return FailedPrecondition("writing standard output failed after " + Instances(whole) + " (" +
                              (whole == 0 ? std::string("no line reached it")
                                          : std::string(whole == 1 ? "the output holds its line whole"
                                                                   : "the output holds their " + std::to_string(whole) +
                                                                         " lines whole")) +
                              (out.cut_off_line_left() ? ", then part of the next" : "") + "): " + written.message());
  }
};

// Lines are written when progress is reported, before waiting for input, and
// whenever this much is kept: a write per line cost 1 us of 73 on tabular_mlp.
constexpr size_t kResultBytesKept = size_t{64} << 10;

// Ends the command with `status`, after writing the lines of the instances done before it.
int FailAfterWriting(const std::string& command, const Status& status, ResultLines& results) {
  const Status written = results.Write();
  if (!written.ok()) std::cerr << "xaiserve " << command << ": error: " << ForTerminal(written.message()) << "\n";
  return Fail(command, status);
}

// `predict` and `explain` report progress on the first and last instance and
// at most this often in between: a line per instance would be thousands a
// second on a small model, each a write to the terminal (--timings keeps
// every time).
constexpr double kProgressIntervalSeconds = 0.5;

// Whether a progress line is due after instance `done` (1-based) of `total`.
bool ProgressDue(size_t done, std::optional<size_t> total, std::chrono::steady_clock::time_point last_progress) {
  return done == 1 || (total && done == *total) || SecondsSince(last_progress) >= kProgressIntervalSeconds;
}

// The sum of an attribution's values over every attributed input.
double SumOfAttributions(const Attribution& attribution) {
  double sum = 0;
  for (const Tensor& t : attribution.attributions) sum = std::accumulate(t.values.begin(), t.values.end(), sum);
  return sum;
}

// "float16" or "bfloat16" when the explained output is one (its values
// carry 11 or 8 significant bits, so f(x) - f(b) is known only to about
// 1/2000 or 1/250 of their size) and its completeness gap, |sum of
// attributions - (f(x) - f(b))|, is within a few units in the last place at
// the outputs' magnitude: that rounding may be all of the gap. Else nullptr:
// a larger gap is the integration's, which more steps close (a float16
// output of 0.18 with a gap of 134 was blamed on rounding).
const char* SixteenBitOutputRounding(const ExplainableModel& model, const OutputAttribution& out) {
  const BoundOutput* output = model.ExplainedOutput(out.output_name);
  if (output == nullptr) return nullptr;
  const DType dtype = output->tensor.dtype;
  if (dtype != DType::kFloat16 && dtype != DType::kBFloat16) return nullptr;
  constexpr double kUlps = 4;
  const double epsilon = dtype == DType::kFloat16 ? 0x1p-10 : 0x1p-7;
  const Attribution& a = out.attribution;
  const double gap = std::abs(SumOfAttributions(a) - (a.instance_output - a.baseline_output));
  const double magnitude = std::max(std::abs(a.instance_output), std::abs(a.baseline_output));
  if (gap > kUlps * epsilon * magnitude) return nullptr;
  return dtype == DType::kFloat16 ? "float16" : "bfloat16";
}

// Whether a baseline value (a number or nested lists of them) is all zeros.
bool AllZero(const Json& value) {
  if (value.is_number()) return value == 0;
  return value.is_array() && std::all_of(value.begin(), value.end(), [](const Json& v) { return AllZero(v); });
}

// For a model with one image-shaped input ([N,H,W] or [N,H,W,C]) whose
// metadata gives baselines other than zeros (inferred metadata has a zero
// one): that XRAI does not use them (its paths start from black and white,
// or from the blurred image); else empty.
std::string XraiBaselinesNote(const ExplainableModel& model) {
  if (model.explained_inputs().size() != 1) return "";
  const BoundInput& input = model.explained_inputs().front();
  const size_t rank = input.tensor.shape.size();
  if (!input.tensor.rank_known || rank < 3 || rank > 4) return "";
  const std::vector<Json>& baselines = input.metadata_baselines();
  if (std::all_of(baselines.begin(), baselines.end(), [](const Json& b) { return AllZero(b); })) return "";
  return std::string("xrai starts its paths from black and white (the input's domain), or from the blurred image "
                     "with a blur baseline, and does not use the metadata's ") +
         input.metadata_baselines_field() + " for input '" + input.metadata.name +
         "', which integrated-gradients uses";
}

// What `inspect` can promise, from the explained inputs' static shapes: the
// methods that apply ("integrated-gradients", "sampled-shapley", "xrai"), and
// for each that cannot, why (Sampled Shapley takes up to its feature limit,
// inputs that share a group_name counting as one; XRAI takes one image input
// and, like Integrated Gradients, gradients). A shape known only at run time
// leaves a method promised with its condition.
struct MethodsThatApply {
  std::vector<std::string> methods;
  std::vector<std::string> not_these;  // "not xrai, which takes one image input"
};
MethodsThatApply ExplainableMethods(const ExplainableModel& m, bool with_gradients) {
  MethodsThatApply out;
  if (with_gradients) out.methods.push_back("integrated-gradients");
  int64_t features = 0;
  bool features_known = true;
  std::set<std::string> groups;
  for (const BoundInput& input : m.explained_inputs()) {
    if (!input.metadata.group_name.empty()) {
      groups.insert(input.metadata.group_name);
      continue;
    }
    if (!input.tensor.rank_known || input.folds_embedding) {
      features_known = false;
      continue;
    }
    const Shape& shape = input.tensor.shape;  // batch first
    int64_t row = 1;
    for (size_t d = 1; d < shape.size() && features_known; ++d) {
      features_known = shape[d] >= 0;
      row *= shape[d];
    }
    features += row;
  }
  features += static_cast<int64_t>(groups.size());
  const std::string limit = std::to_string(kDefaultSampledShapleyMaxFeatures);
  if (!features_known) {
    out.methods.push_back("sampled-shapley up to " + limit + " features");
  } else if (features <= kDefaultSampledShapleyMaxFeatures) {
    out.methods.push_back("sampled-shapley");
  } else {
    out.not_these.push_back("not sampled-shapley: an instance has " + std::to_string(features) +
                            " features, more than the " + limit + " it takes");
  }
  if (!with_gradients) return out;  // XRAI ranks its regions by Integrated Gradients
  const std::vector<BoundInput>& inputs = m.explained_inputs();
  if (inputs.size() != 1) {
    out.not_these.push_back("not xrai, which takes one image input");
  } else if (!inputs[0].tensor.rank_known) {
    out.methods.push_back("xrai if its input is an image");
  } else {
    // As XRAI checks at run time: [H, W] or [H, W, C] per instance, floating
    // point, and not text or categorical by the metadata's modality.
    const BoundInput& input = inputs[0];
    const size_t rank = input.tensor.shape.size();
    const std::string& modality = input.metadata.modality;
    if ((rank == 3 || rank == 4) && IsFloating(input.tensor.dtype) && modality != "text" && modality != "categorical") {
      out.methods.push_back("xrai");
    } else {
      out.not_these.push_back("not xrai, which takes an image input of floating-point pixels");
    }
  }
  return out;
}

// "a, b; not c: why".
std::string MethodsText(const MethodsThatApply& apply) {
  std::string text = JoinWithCommas(apply.methods);
  for (const std::string& reason : apply.not_these) text += (text.empty() ? "" : "; ") + reason;
  return text;
}

// The approximationError warnings `explain` writes one by one; beyond them it
// counts, and says how many at the end (75,000 warning lines drowned the
// progress of a 100,000-instance run).
constexpr int kMaxApproximationWarnings = 10;

// Ctrl-C, SIGTERM or SIGXCPU (interrupts.h) between instances: what was written is
// whole; the exit status is the signal's, as if it had ended the command.
int Stopped(const std::string& command, int signal, size_t done, std::optional<size_t> total,
            ResultLines& results) {
  const Status written = results.Write();
  if (!written.ok()) return Fail(command, written);
  std::cerr << "xaiserve " << command << ": stopped by " << StopRequests::Name(signal) << " after "
            << (total ? std::to_string(done) + " of " + Instances(*total) : Instances(done))
            << "; each has its whole line in the output\n";
  return 128 + signal;
}

// Inspect's report. What is put in as a std::string (names from the model
// and its metadata, messages) is escaped (ForTerminal: a newline in a name
// cannot start a line of its own); string literals, the report's own
// layout, and numbers are not.
class EscapedReport {
 public:
  EscapedReport& operator<<(const std::string& text) {
    out_ << ForTerminal(text);
    return *this;
  }
  EscapedReport& operator<<(const char* layout) {
    out_ << layout;
    return *this;
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

}  // namespace

int RunInspect(const std::vector<std::string>& args) {
  std::string metadata;
  int64_t version = -1;
  FlagSet flags("xaiserve inspect MODEL_DIR [--metadata FILE] [--version N]",
                "Lists the SavedModel's signatures with their inputs and outputs, says which signature predicts\n"
                "and which explains and why, and checks the explanation metadata. Exits non-zero with the\n"
                "reason when the model cannot be explained.");
  flags.String("metadata", &metadata, "FILE", "explanation metadata to use instead of MODEL_DIR/explanation_metadata.json");
  flags.Int("version", &version, 0, INT64_MAX, "version subdirectory to load (default: the highest)");
  std::vector<std::string> positional;
  if (auto code = ParseFlags(flags, "inspect", args, &positional, 1)) return *code;

  auto model = LoadModel(positional[0], metadata, version);
  if (!model.ok()) return Fail("inspect", model.status());
  ExplainableModel& m = **model;
  EscapedReport report;
  report << "model: " << m.path() << (m.version() ? " (version " + std::to_string(m.version()) + ")" : "")
            << (m.is_tf1_graph() ? "  [TensorFlow 1 graph]" : "") << "\n\nsignatures:\n";
  for (const SignatureInfo& sig : m.signatures()) {
    report << "  " << sig.key << "\n";
    for (const TensorInfo& t : sig.inputs) report << "    input  " << DescribeTensorInfo(t) << "\n";
    for (const TensorInfo& t : sig.outputs) report << "    output " << DescribeTensorInfo(t) << "\n";
  }
  const SignatureSelection& sel = m.selection();
  const std::string predict_key = sel.predict_key.empty() ? "''" : sel.predict_key;  // '': a TF1 signature's key
  report << "\npredicts with: " << (sel.predicts_by_default ? predict_key : "(none by default)") << "  -- "
            << sel.predict_reason << "\n";
  if (!m.explain_status().ok()) {
    report << "explains with: (none)\n";
    std::cout << report.str() << std::flush;
    std::cerr << "xaiserve inspect: this model cannot be explained: " << ForTerminal(m.explain_status().message())
              << "\n";
    return kExitFailed;
  }
  report << "explains with: " << (sel.preprocess_key.empty() ? "" : sel.preprocess_key + " -> ") << sel.explain_key
            << "  -- " << sel.explain_reason << "\n";
  report << "\nmetadata: " << m.metadata().source << "\n";
  for (const BoundInput& in : m.explained_inputs()) {
    report << "  attributes input '" << in.metadata.name << "' -> tensor " << in.tensor.tensor_name << " ("
              << DTypeName(in.tensor.dtype) << (in.signature_key.empty() ? ", internal graph tensor" : "") << ")\n";
  }
  for (const BoundOutput& out : m.explained_outputs()) {
    report << "  explains output '" << out.metadata.name << "' -> tensor " << out.tensor.tensor_name << "\n";
  }
  const StatusOr<std::vector<std::string>> gradients = m.CheckGradients();
  if (gradients.ok()) {
    report << "gradients: ok (gradient graph built for every explained output)\n";
    if (const std::string note = m.CustomGradientsNote(); !note.empty()) report << "  note: " << note << "\n";
    if (const std::string note = ExplainableModel::NoGradientNote(*gradients); !note.empty()) {
      report << "  note: " << note << "\n";
    }
    report << "\nok: the model can be explained (" << MethodsText(ExplainableMethods(m, /*with_gradients=*/true)) << ")\n";
    if (const std::string note = XraiBaselinesNote(m); !note.empty()) report << "  note: " << note << "\n";
  } else {
    report << "gradients: unavailable: " << gradients.status().message() << "\n";
    const MethodsThatApply apply = ExplainableMethods(m, /*with_gradients=*/false);
    if (apply.methods.empty()) {
      report << "\nno method can explain the model: without gradients only sampled-shapley could, and "
             << apply.not_these.front().substr(std::string("not sampled-shapley: ").size()) << "\n";
    } else {
      report << "\nok: the model can be explained with " << MethodsText(apply) << " only (forward passes)\n";
    }
  }
  std::cout << report.str();
  return kExitOk;
}

int RunPredict(const std::vector<std::string>& args) {
  std::string instances_path, signature;
  int64_t version = -1, batch_size = kPredictBatchSize;
  FlagSet flags("xaiserve predict MODEL_DIR --instances FILE [--signature KEY] [--batch-size N]\n"
                "                [--version N]",
                "Runs predictions. Reads JSON Lines (one instance per line, as in a request's \"instances\";\n"
                "'-' for stdin) and writes one {\"predictions\": [...]} line per instance.");
  flags.String("instances", &instances_path, "FILE", "JSON Lines file of instances ('-' for stdin)");
  flags.String("signature", &signature, "KEY", "signature to run (default: serving_default or the only one)");
  flags.Int("version", &version, 0, INT64_MAX, "version subdirectory to load (default: the highest)");
  flags.Int("batch-size", &batch_size, 1, kMaxBatchSize, "instances per model run (default 64)");
  std::vector<std::string> positional;
  if (auto code = ParseFlags(flags, "predict", args, &positional, 1)) return *code;
  if (instances_path.empty()) return UsageError("predict", "--instances FILE is required");

  auto lines = InstanceLines::Open(instances_path);
  if (!lines.ok()) return Fail("predict", lines.status());
  const std::optional<size_t> total = CountInstanceLines(instances_path);
  auto model = LoadModel(positional[0], "", version);
  if (!model.ok()) return Fail("predict", model.status());
  auto sig = (*model)->PredictSignature(signature);
  if (!sig.ok()) return Fail("predict", sig.status());
  const InstanceDecoding decoding = InstanceDecodingFor(**model);
  const StopRequests stop_requests;
  (*lines)->StopWaitingWhen([] { return StopRequests::Requested() != 0; });
  auto last_progress = std::chrono::steady_clock::now();
  ResultLines results;
  size_t begin = 0;  // instances predicted
  while (true) {
    if (const int signal = StopRequests::Requested()) return Stopped("predict", signal, begin, total, results);
    auto chunk = ReadInstanceChunk(**lines, static_cast<size_t>(batch_size), **sig, decoding);
    // A stop request ends a wait for input (the read is CANCELLED): a stop, not an error.
    if (const int signal = StopRequests::Requested()) return Stopped("predict", signal, begin, total, results);
    if (!chunk.ok()) return Fail("predict", chunk.status());
    if (chunk->decoded.empty()) break;
    const size_t end = begin + chunk->decoded.size();
    auto batch = StackInstances(chunk->decoded);
    if (!batch.ok()) {
      // The instance numbers are the chunk's; a model of variable-length
      // inputs predicts them one at a time.
      return Fail("predict", InvalidArgument("instances " + std::to_string(begin) + "-" + std::to_string(end - 1) +
                                             " are predicted in one batch (--batch-size " + std::to_string(batch_size) +
                                             "), but " + batch.status().message() +
                                             "; pass --batch-size 1 for inputs of varying shape"));
    }
    auto outputs = (*model)->Predict(**sig, *batch);
    if (!outputs.ok()) {
      // The model's own message counts rows within the batch.
      return Fail("predict", outputs.status().WithContext(
                                 end - begin == 1 ? chunk->where[0] + ": instance " + std::to_string(begin)
                                                  : "instances " + std::to_string(begin) + "-" + std::to_string(end - 1) +
                                                        " (predicted as one batch; its row r is instance " +
                                                        std::to_string(begin) + " + r)"));
    }
    for (size_t row = 0; row < chunk->decoded.size(); ++row) {
      results.out.Add(DumpJson(Json{{"predictions", Json::array({PredictionToJson(*outputs, row)})}}));
      WarnOfNonFiniteOutputs("predict", *outputs, row, begin + row);
    }
    if (const Status written = results.Write(); !written.ok()) return Fail("predict", written);
    if (begin == 0 || ProgressDue(end, total, last_progress)) {
      last_progress = std::chrono::steady_clock::now();
      std::cerr << "xaiserve predict: " << Progress(end, total) << "\n";
    }
    begin = end;
  }
  if (!total) std::cerr << "xaiserve predict: " + Instances(begin) + " predicted\n";
  return kExitOk;
}

namespace {

// The :explain "parameters" JSON that the explain flags stand for, so the CLI
// and the server share one parser (and one set of messages).
Json ExplainParametersFromFlags(const FlagSet& flags, const std::string& method, int64_t steps, int64_t paths,
                                int64_t noisy_samples, double noise_sigma, double max_blur_sigma, int64_t top_k,
                                const std::vector<int64_t>& output_indices, int64_t batch_size, double error_target,
                                bool xrai_fast) {
  Json config = Json::object();
  if (method == "sampled-shapley") {
    config["pathCount"] = paths;
  } else {
    config["stepCount"] = steps;
    if (flags.WasSet("noise-sigma") || flags.WasSet("noisy-samples")) {
      config["smoothGradConfig"] = {{"noiseSigma", noise_sigma}, {"noisySampleCount", noisy_samples}};
    }
    if (flags.WasSet("max-blur-sigma")) config["blurBaselineConfig"] = {{"maxBlurSigma", max_blur_sigma}};
    if (xrai_fast) config["fast"] = true;
  }
  const char* key = method == "sampled-shapley" ? "sampledShapleyAttribution"
                    : method == "xrai"          ? "xraiAttribution"
                                                : "integratedGradientsAttribution";
  Json parameters = {{key, config}};
  if (flags.WasSet("top-k")) parameters["topK"] = top_k;
  if (flags.WasSet("batch-size")) parameters["batchSize"] = batch_size;
  if (!output_indices.empty()) parameters["outputIndices"] = output_indices;
  if (flags.WasSet("target-error")) parameters["approximationErrorTarget"] = error_target;
  return parameters;
}

// --visualize DIR: DIR/instance-<i>-output-<index>-<input>.png|svg for every
// attribution entry's pictures, where <index> is the outputIndex joined with
// '_' (0 for a scalar output) and <input> the name as PictureFileNames makes
// it; RunExplain made DIR. Prints each path on stderr.
Status WritePictures(const std::string& dir, size_t instance, const InstanceExplanation& explanation,
                     const std::vector<EntryPictures>& pictures) {
  PictureFileNames names;  // names that come out alike ("a/b", "a_b"; "Feat", "feat") get -2, -3, ...
  for (size_t e = 0; e < pictures.size() && e < explanation.outputs.size(); ++e) {
    std::string index;
    for (int64_t i : explanation.outputs[e].output_index) index += (index.empty() ? "" : "_") + std::to_string(i);
    if (index.empty()) index = "0";
    const std::string prefix = "instance-" + std::to_string(instance) + "-output-" + index + "-";
    for (const auto& [name, picture] : pictures[e]) {
      const std::filesystem::path path = std::filesystem::path(dir) / names.Next(prefix, name, picture.extension());
      std::ofstream file(path, std::ios::binary);
      if (!file || !file.write(picture.bytes.data(), static_cast<std::streamsize>(picture.bytes.size())) ||
          !file.flush()) {
        return InvalidArgument("cannot write '" + path.string() + "': " + std::strerror(errno));
      }
      std::cerr << "xaiserve explain: wrote " << ForTerminal(path.string()) << "\n";
    }
  }
  return OkStatus();
}

}  // namespace

int RunExplain(const std::vector<std::string>& args) {
  std::string instances_path, method = "integrated-gradients", metadata, visualize_dir, timings_path, output_name;
  int64_t steps = kDefaultStepCount, paths = kDefaultPathCount, noisy_samples = kDefaultNoisySamples;
  int64_t top_k = 1, batch_size = kAutoBatchSize, version = -1;
  double noise_sigma = 0, max_blur_sigma = 0, error_target = 0;
  bool xrai_fast = false;
  std::vector<int64_t> output_indices;
  FlagSet flags("xaiserve explain MODEL_DIR --instances FILE [--method integrated-gradients|sampled-shapley|xrai]\n"
                "                [--steps N] [--paths N] [--noisy-samples N] [--noise-sigma S] [--max-blur-sigma S]\n"
                "                [--top-k N] [--output-indices I[,J...]] [--output-name NAME] [--metadata FILE]\n"
                "                [--batch-size N] [--xrai-fast] [--visualize DIR] [--target-error E] [--timings FILE]\n"
                "                [--version N]",
                "Explains predictions with feature attributions. Reads JSON Lines (one instance per line, as in a\n"
                "request's \"instances\"; '-' for stdin) and writes one line per instance with the same JSON as\n"
                "the REST API's :explain response body. Progress goes to stderr (the first and last instance\n"
                "and every half second in between).");
  flags.String("instances", &instances_path, "FILE", "JSON Lines file of instances ('-' for stdin)");
  flags.String("method", &method, "NAME", "integrated-gradients (default), sampled-shapley or xrai");
  flags.Int("steps", &steps, kMinStepCount, kMaxStepCount, "path steps of Integrated Gradients and XRAI, 1..100 (default 50)");
  flags.Int("paths", &paths, kMinPathCount, kMaxPathCount, "Sampled Shapley permutations, 1..50 (default 10)");
  flags.Int("noisy-samples", &noisy_samples, kMinNoisySamples, kMaxNoisySamples,
            "SmoothGrad: noisy samples, 1..50 (default 3; with --noise-sigma)");
  flags.Double("noise-sigma", &noise_sigma, "S", 0, 1e9, "SmoothGrad: absolute Gaussian noise sigma (turns SmoothGrad on)");
  flags.Double("max-blur-sigma", &max_blur_sigma, "S", 1e-9, kMaxGaussianBlurSigma, "blur baseline: start the path at the input blurred with this sigma (pixels); with xrai, instead of black and white");
  flags.Bool("xrai-fast", &xrai_fast, "XRAI's fast variant: 3 segmentation scales, regions taken in rounds");
  flags.Int("top-k", &top_k, -1, kMaxTopK, "explain the N largest outputs; -1 for all (default 1)");
  flags.IntList("output-indices", &output_indices,
                "output elements to explain, each a flat index into the output's row (row-major: on a [3,4] "
                "output, element [2,3] is 11; default: the argmax)");
  flags.String("output-name", &output_name, "NAME",
               "the output to explain, by its metadata name (needed when the metadata lists several)");
  flags.Double("target-error", &error_target, "E", 1e-9, 0.999999,
               "raise steps/paths until approximationError <= this (or the maximum is reached)");
  flags.String("metadata", &metadata, "FILE", "explanation metadata to use instead of MODEL_DIR/explanation_metadata.json");
  flags.Int("batch-size", &batch_size, 1, kMaxBatchSize, "path points per model run (default: as many as keep a run at most 1024\n"
            "rows and 9.6 M input values: every point of a small model in one run)");
  flags.Int("version", &version, 0, INT64_MAX, "version subdirectory to load (default: the highest)");
  flags.String("visualize", &visualize_dir, "DIR",
               "write pictures of the attributions to DIR: a PNG per image input, an SVG bar chart of the top\n"
               "features otherwise (instance-<i>-output-<index>-<input>.png|svg)");
  flags.String("timings", &timings_path, "FILE",
               "write each instance's time in seconds (explaining it and writing its line) to FILE, one per line");
  std::vector<std::string> positional;
  if (auto code = ParseFlags(flags, "explain", args, &positional, 1)) return *code;
  if (flags.WasSet("timings") && timings_path.empty()) return UsageError("explain", "--timings needs a file name");
  std::error_code same_error;
  if (!timings_path.empty() && instances_path != "-" &&
      std::filesystem::equivalent(timings_path, instances_path, same_error)) {
    // Opening it for writing would empty the instances before they are read.
    return UsageError("explain", "--timings '" + timings_path + "' is the --instances file; name another file");
  }
  if (flags.WasSet("visualize") && visualize_dir.empty()) return UsageError("explain", "--visualize needs a directory");
  if (instances_path.empty()) return UsageError("explain", "--instances FILE is required");
  std::error_code fs_error;
  if (!visualize_dir.empty() && std::filesystem::exists(visualize_dir, fs_error) &&
      !std::filesystem::is_directory(visualize_dir, fs_error)) {
    return UsageError("explain", "--visualize '" + visualize_dir + "' is a file; give a directory (made if missing)");
  }
  if (top_k == 0) return UsageError("explain", "--top-k is 0; give K >= 1, or -1 for all outputs");
  if (method != "integrated-gradients" && method != "sampled-shapley" && method != "xrai") {
    return UsageError("explain", "--method '" + method + "' is unknown; choose integrated-gradients, sampled-shapley or xrai");
  }
  if (xrai_fast && method != "xrai") return UsageError("explain", "--xrai-fast applies to --method xrai only");
  // A flag the method does not use is a mistake, not something to ignore.
  const char* unused = nullptr;
  for (const char* name : {"steps", "noisy-samples", "noise-sigma", "max-blur-sigma"}) {
    if (method == "sampled-shapley" && flags.WasSet(name)) unused = name;
  }
  if (method != "sampled-shapley" && flags.WasSet("paths")) unused = "paths";
  if (unused != nullptr) {
    return UsageError("explain", std::string("--") + unused + " does not apply to --method " + method + " (" +
                                     (method == "sampled-shapley" ? "it takes --paths" : "--paths is Sampled Shapley's") +
                                     ")");
  }
  if (flags.WasSet("noisy-samples") && !flags.WasSet("noise-sigma")) {
    return UsageError("explain", "--noisy-samples needs --noise-sigma S, SmoothGrad's noise (e.g. 10-20% of the "
                                 "inputs' range)");
  }
  for (size_t i = 0; i < output_indices.size(); ++i) {
    const int64_t index = output_indices[i];
    if (index < 0) return UsageError("explain", "--output-indices: " + std::to_string(index) + " is negative; give flat indices >= 0");
    if (std::find(output_indices.begin(), output_indices.begin() + i, index) != output_indices.begin() + i) {
      return UsageError("explain", "--output-indices names output " + std::to_string(index) + " twice; give each once");
    }
  }
  if (flags.WasSet("top-k") && flags.WasSet("output-indices")) {
    return UsageError("explain", "give --top-k or --output-indices, not both");
  }
  if (flags.WasSet("output-name") && output_name.empty()) return UsageError("explain", "--output-name needs a name");
  Json parameters = ExplainParametersFromFlags(flags, method, steps, paths, noisy_samples, noise_sigma, max_blur_sigma,
                                               top_k, output_indices, batch_size, error_target, xrai_fast);
  if (!output_name.empty()) parameters["outputName"] = output_name;
  auto options = ParseExplainParameters(parameters, nullptr);
  // The flags' values (ranges checked by FlagSet) in the request's terms.
  if (!options.ok()) return UsageError("explain", options.status().message());

  auto lines = InstanceLines::Open(instances_path);
  if (!lines.ok()) return Fail("explain", lines.status());
  const std::optional<size_t> total = CountInstanceLines(instances_path);
  if (!visualize_dir.empty()) {
    // Made now, so that a directory that cannot be made stops the command
    // before any explaining rather than after the first instance.
    std::filesystem::create_directories(visualize_dir, fs_error);
    if (fs_error) {
      return Fail("explain", InvalidArgument("cannot create --visualize directory '" + visualize_dir +
                                             "': " + fs_error.message()));
    }
    // An existing directory may still refuse files (its permissions).
    if (access(visualize_dir.c_str(), W_OK | X_OK) != 0) {
      return Fail("explain", InvalidArgument("cannot write into --visualize directory '" + visualize_dir +
                                             "': " + std::strerror(errno)));
    }
  }
  auto loaded = LoadModel(positional[0], metadata, version);
  if (!loaded.ok()) return Fail("explain", loaded.status());
  ExplainableModel& model = **loaded;
  if (!model.explain_status().ok()) return Fail("explain", model.explain_status());
  const SignatureInfo& entry = *model.explain_entry_signature();
  const InstanceDecoding decoding = InstanceDecodingFor(model);
  auto predict_sig = model.PredictSignature();
  const SignatureInfo* predict_signature = predict_sig.ok() ? *predict_sig : nullptr;
  ResultLines results;
  if (!timings_path.empty()) {
    auto timings = LineOutput::Create(timings_path);
    if (!timings.ok()) return Fail("explain", timings.status().WithContext("--timings"));
    results.timings = std::move(*timings);
    results.timings_path = timings_path;
  }

  if (options->method == "xrai") {
    if (const std::string note = XraiBaselinesNote(model); !note.empty()) {
      std::cerr << "xaiserve explain: warning: " << ForTerminal(note) << "\n";
    }
  }
  bool inputs_without_gradient = false;  // then more steps cannot close an approximationError
  if (options->method != "sampled-shapley") {
    if (const std::string note = model.CustomGradientsNote(); !note.empty()) {
      std::cerr << "xaiserve explain: warning: " << ForTerminal(note) << "\n";
    }
    // (A model whose gradients cannot be built fails at the first instance, saying why.)
    const StatusOr<std::vector<std::string>> without_gradient = model.CheckGradients();
    if (without_gradient.ok() && !without_gradient->empty()) {
      inputs_without_gradient = true;
      std::cerr << "xaiserve explain: warning: " << ForTerminal(ExplainableModel::NoGradientNote(*without_gradient))
                << "\n";
    }
  }
  auto last_progress = std::chrono::steady_clock::now();
  const StopRequests stop_requests;
  (*lines)->StopWaitingWhen([] { return StopRequests::Requested() != 0; });
  // A stop request also ends the instance being explained, at its next model run.
  WorkBudget budget;
  budget.client_gone = [] { return StopRequests::Requested() != 0; };
  options->budget = &budget;
  const size_t chunk_instances = instances_path == "-" ? 1 : kChunkInstances;
  int warnings = 0, unwarned = 0;  // approximationError warnings written, and beyond those
  // After `done` instances, a stop request ends the command: whole lines and timings.
  auto stopped = [&](size_t done) -> std::optional<int> {
    const int signal = StopRequests::Requested();
    if (signal == 0) return std::nullopt;
    return Stopped("explain", signal, done, total, results);
  };
  InstanceChunk chunk;
  size_t next_in_chunk = 0;
  for (size_t i = 0;; ++i, ++next_in_chunk) {
    if (auto code = stopped(i)) return *code;
    if (next_in_chunk == chunk.decoded.size()) {
      // The lines answered so far go out before waiting for more input: a
      // line piped in is answered before the next is read.
      if (const Status written = results.Write(); !written.ok()) return Fail("explain", written);
      auto read = ReadInstanceChunk(**lines, chunk_instances, entry, decoding);
      // A stop request ends a wait for input (the read is CANCELLED): a stop, not an error.
      if (auto code = stopped(i)) return *code;
      if (!read.ok()) return Fail("explain", read.status());
      chunk = std::move(*read);
      next_in_chunk = 0;
      if (chunk.decoded.empty()) break;
    }
    const Json& instance = chunk.instances[next_in_chunk];
    const NamedTensors& decoded = chunk.decoded[next_in_chunk];
    const std::string context = chunk.where[next_in_chunk] + ": instance " + std::to_string(i);
    const auto start = std::chrono::steady_clock::now();
    auto explanation = model.Explain(decoded, *options);
    if (!explanation.ok()) {
      if (auto code = stopped(i)) return *code;  // the stop ended this instance's explanation
      return FailAfterWriting("explain", explanation.status().WithContext(context), results);
    }
    const bool bare = AttributionsMirrorBareInstance(model, instance);
    auto prediction = PredictionOfExplained(model, *explanation, instance, i, predict_signature, decoding);
    if (!prediction.ok()) return FailAfterWriting("explain", prediction.status(), results);
    if (*prediction) {
      const Status named = NameOutputsFromPrediction(model, **prediction, *explanation);
      if (!named.ok()) return FailAfterWriting("explain", named.WithContext(context), results);
    }
    std::vector<std::string> entry_texts;
    entry_texts.push_back(ExplanationJsonText(*explanation, model.explained_inputs(), bare));
    std::vector<std::string> predictions;
    if (*prediction) {
      predictions.push_back(PredictionJsonText(**prediction, 0));
      WarnOfNonFiniteOutputs("explain", **prediction, 0, i);
    }
    results.out.Add(ExplainResponseText(entry_texts, *prediction ? &predictions : nullptr));
    if (!visualize_dir.empty()) {
      auto pictures = RenderExplanationPictures(model, *explanation, decoded);
      if (!pictures.ok()) return FailAfterWriting("explain", pictures.status().WithContext(context), results);
      Status written = WritePictures(visualize_dir, i, *explanation, *pictures);
      if (!written.ok()) return FailAfterWriting("explain", written, results);
    }
    // The instance's time ends with its output; the progress line below is
    // composed first and written in one piece (std::cerr is unbuffered).
    const double seconds = SecondsSince(start);
    for (const OutputAttribution& out : explanation->outputs) {
      const double error = out.attribution.approximation_error;
      const std::optional<double>& target = options->approximation_error_target;
      const bool above_target = target && error > *target;
      if (!above_target && error <= kApproximationWarningLevel) continue;
      if (warnings == kMaxApproximationWarnings) {
        ++unwarned;
        continue;
      }
      ++warnings;
      const bool shapley = explanation->method == "sampled-shapley";
      std::cerr << "xaiserve explain: warning: instance " << i << ", output '" << ForTerminal(out.output_name) << "'"
                << (out.output_index.empty() ? "" : " " + Json(out.output_index).dump()) << ": approximationError ";
      if (out.attribution.instance_output == 0 && out.attribution.baseline_output == 0) {
        // No change to divide up: the error is relative to nothing (huge), not a percentage.
        std::cerr << "is not a percentage, as f(x) and f(baseline) are both 0: the attributions should sum to 0 and "
                  << "sum to " << SumOfAttributions(out.attribution) << "\n";
      } else if (above_target) {
        std::cerr << error << " is above --target-error " << *target << " at the most "
                  << (shapley ? "paths" : "steps") << " allowed (" << MaxBudget(explanation->method) << ")\n";
      } else if (const char* rounding = shapley ? nullptr : SixteenBitOutputRounding(model, out)) {
        // (Sampled Shapley's attributions sum to f(x) - f(b) exactly; its
        // error is the permutations' spread, which rounding does not make.)
        std::cerr << error * 100 << "% is above " << kApproximationWarningLevel * 100 << "%; the output is "
                  << rounding << ", whose rounding of f(x) and f(baseline) may be all of the gap: more steps may "
                  << "not close it\n";
      } else if (inputs_without_gradient) {
        std::cerr << error * 100 << "% is above " << kApproximationWarningLevel * 100
                  << "%; more steps will not close it, as an input has no gradient (above): use --method "
                     "sampled-shapley\n";
      } else {
        std::cerr << error * 100 << "% is above " << kApproximationWarningLevel * 100 << "%; raise "
                  << (shapley ? "--paths" : "--steps") << " or pass --target-error " << kApproximationWarningLevel
                  << "\n";
      }
    }
    const bool progress_due = ProgressDue(i + 1, total, last_progress);
    char seconds_text[32];  // written only when read: a small model explains thousands a second
    if (results.timings != nullptr || progress_due) std::snprintf(seconds_text, sizeof seconds_text, "%g", seconds);
    if (results.timings != nullptr) results.timings->Add(seconds_text);
    // Lines reach stdout with the progress: at once on slow models, every
    // half second (or kResultBytesKept) on fast ones.
    if (progress_due || results.out.buffered_bytes() >= kResultBytesKept) {
      if (const Status written = results.Write(); !written.ok()) return Fail("explain", written);
    }
    if (progress_due) {
      last_progress = std::chrono::steady_clock::now();
      std::cerr << "xaiserve explain: " + Progress(i + 1, total) + " (" + seconds_text + " s)\n";
    }
  }
  if (!total) std::cerr << "xaiserve explain: " + Instances((*lines)->count()) + " explained\n";
  if (unwarned > 0) {
    std::cerr << "xaiserve explain: warning: " << unwarned << " more attributions had their approximationError above "
              << (options->approximation_error_target ? "the target" : "5%") << " (only the first "
              << kMaxApproximationWarnings << " are listed)\n";
  }
  if (const Status written = results.Write(); !written.ok()) return Fail("explain", written);
  return kExitOk;
}

int RunMetadata(const std::vector<std::string>& args) {
  std::string output, metadata;
  int64_t version = -1;
  FlagSet flags("xaiserve metadata MODEL_DIR [--output FILE] [--metadata FILE] [--version N]",
                "Prints the explanation metadata in use (MODEL_DIR/explanation_metadata.json, or inferred from the\n"
                "explaining signature: every floating-point input numeric with a zero baseline), in the AI Platform\n"
                "explanation_metadata.json format, ready to edit.");
  flags.String("output", &output, "FILE", "write to FILE instead of stdout (- : stdout)");
  flags.String("metadata", &metadata, "FILE", "validate and print this metadata file instead");
  flags.Int("version", &version, 0, INT64_MAX, "version subdirectory to load (default: the highest)");
  std::vector<std::string> positional;
  if (auto code = ParseFlags(flags, "metadata", args, &positional, 1)) return *code;
  if (flags.WasSet("output") && output.empty()) return UsageError("metadata", "--output needs a file name (or -)");
  auto model = LoadModel(positional[0], metadata, version);
  if (!model.ok()) return Fail("metadata", model.status());
  ExplanationMetadata in_use = (*model)->metadata();
  if (!(*model)->explain_status().ok()) {
    // No floating-point input to infer: integer inputs still make a template, for Sampled Shapley.
    const SignatureInfo* signature = (*model)->explain_signature();
    if (!(*model)->inferred_no_inputs() || signature == nullptr) return Fail("metadata", (*model)->explain_status());
    in_use = InferExplanationMetadata(*signature, /*integer_inputs=*/true);
    if (in_use.inputs.empty()) return Fail("metadata", (*model)->explain_status());
    std::cerr << "xaiserve metadata: note: signature '" << ForTerminal(signature->key)
              << "' has no floating-point input; this template names its integer inputs, which only "
                 "--method sampled-shapley (sampledShapleyAttribution) can explain\n";
  }
  const std::string text = ExplanationMetadataToJson(in_use).dump(2) + "\n";
  if (output.empty() || output == "-") {
    std::cout << text;
    return kExitOk;
  }
  std::ofstream file(output);
  // The text waits in the stream's buffer: a full disk shows only at the flush.
  if (!file || !(file << text) || !file.flush()) {
    return Fail("metadata", InvalidArgument("cannot write '" + output + "': " + std::strerror(errno)));
  }
  std::cerr << "xaiserve metadata: wrote " << ForTerminal(output) << " (" << ForTerminal(in_use.source) << ")\n";
  return kExitOk;
}

}  // namespace xai
