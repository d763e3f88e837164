// The server's Prometheus metrics, in the text exposition format (0.0.4),
// written here rather than with a client library (a few counters and one
// histogram family):
//
//   xaiserve_requests_total{model,method,code}            counter
//   xaiserve_request_duration_seconds{model,method}       histogram
//   xaiserve_path_points_total{model,method}              counter: rows run
//                                                          through the model
//                                                          by explanations
//   xaiserve_responses_not_taken_total{model,method}      counter: responses
//                                                          the client did not
//                                                          take (cut off by
//                                                          the response
//                                                          deadline, or the
//                                                          client went away);
//                                                          also counted above
//                                                          under the status
//                                                          that was written
//   xaiserve_requests_in_flight                           gauge
//   xaiserve_build_info{version,tensorflow}               gauge, always 1
//   process_start_time_seconds                            gauge: when the
//                                                          server started
//                                                          (Unix time)
//   xaiserve_model_default_version{model}                 gauge: the version
//                                                          requests naming
//                                                          none get
//   xaiserve_path_runs_total{model}                       counter: model runs
//                                                          made for path points
//   xaiserve_path_runs_merged_total{model}                counter: those that
//                                                          merged path points
//                                                          of concurrent requests
//   xaiserve_path_batches_merged_total{model}             counter: batches of
//                                                          path points that
//                                                          shared a run
//
// The path_runs families come from the served models at render time (models
// with cross-request batching only), summed over their loaded versions and
// the versions they have unloaded (ModelSnapshot::unloaded_run_batching).
//
// `model` is a served model's name ("" for routes without one), `method` is
// "predict", "explain:integrated-gradients", ... or the route
// ("list_models", "get_model", "healthz", "metrics", "unknown"). Callers keep
// label values to a fixed set (no client-chosen strings) so series stay few.
// Thread-safe: every method may be called from any thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace xai {

// Cross-request batching of one served model's path points (see
// serving/batching_runtime.h), as counted by its loaded versions.
struct ModelRunBatching {
  std::string model;
  int64_t runs = 0;            // model runs made for path points
  int64_t merged_runs = 0;     // runs that served two or more batches of path points
  int64_t merged_batches = 0;  // batches of path points served by those runs
};

// How many versions of one served model are loaded, and how many on disk
// failed to load (serving/model_registry.h), at the moment /metrics is read.
struct ModelVersionCounts {
  std::string model;
  int64_t loaded = 0;
  int64_t failed = 0;
  int64_t default_version = -1;  // the newest loaded, which requests naming no version get; -1: none
};

// What xaiserve_build_info says: xaiserve's version and TensorFlow's.
struct BuildInfo {
  std::string version;
  std::string tensorflow;
};

class Metrics {
 public:
  // Upper bounds of the latency histogram's buckets, in seconds (+Inf implied):
  // from 0.5 ms, where predictions and status requests answer.
  static constexpr std::array<double, 17> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                            0.05,   0.1,   0.25,   0.5,   1,    2.5,
                                                            5,      10,    30,     60,    120};

  // `build`: xaiserve_build_info's labels (none written when version is
  // empty). The start time is now.
  explicit Metrics(BuildInfo build = {});

  void RecordRequest(const std::string& model, const std::string& method, int http_status, double seconds);
  void AddPathPoints(const std::string& model, const std::string& method, int64_t points);
  void RecordResponseNotTaken(const std::string& model, const std::string& method);
  void RequestStarted();
  void RequestFinished();
  // Requests running now, and finished so far (RequestStarted/RequestFinished).
  int64_t in_flight() const;
  // When the server started (process_start_time_seconds).
  std::chrono::system_clock::time_point start_time() const { return start_time_; }
  int64_t finished() const;

  // Everything, in the Prometheus text format, with `batching` (one entry per
  // model that batches across requests) and `versions` (one per served model).
  std::string Render(const std::vector<ModelRunBatching>& batching = {},
                     const std::vector<ModelVersionCounts>& versions = {}) const;

 private:
  struct Histogram {
    std::array<uint64_t, kLatencyBuckets.size()> buckets{};  // non-cumulative counts
    uint64_t count = 0;
    double sum = 0;
  };
  using ModelMethod = std::pair<std::string, std::string>;

  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<ModelMethod, Histogram> latency_;
  std::map<ModelMethod, int64_t> path_points_;
  std::map<ModelMethod, int64_t> not_taken_;
  int64_t in_flight_ = 0;
  int64_t finished_ = 0;
  const BuildInfo build_;
  const std::chrono::system_clock::time_point start_time_;
};

// A label value escaped for the text format (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& value);

}  // namespace xai
