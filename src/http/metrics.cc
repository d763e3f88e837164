#include "http/metrics.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <utility>

#include "core/number_format.h"
#include "serving/server_log.h"

namespace xai {
namespace {

std::string ModelMethodLabels(const std::string& model, const std::string& method) {
  return "model=\"" + EscapeLabelValue(model) + "\",method=\"" + EscapeLabelValue(method) + "\"";
}

// A bucket's bound as other Prometheus clients write it: "0.0005", not "5e-04".
std::string BucketBound(double seconds) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, seconds, std::chars_format::fixed).ptr;
  return std::string(text, end);
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Metrics::Metrics(BuildInfo build)
    : build_(std::move(build)),
      start_time_(std::chrono::system_clock::now()) {}

void Metrics::RecordRequest(const std::string& model, const std::string& method, int http_status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{model, method, http_status}];
  Histogram& h = latency_[{model, method}];
  size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  if (bucket < kLatencyBuckets.size()) ++h.buckets[bucket];
  ++h.count;
  h.sum += seconds;
}

void Metrics::AddPathPoints(const std::string& model, const std::string& method, int64_t points) {
  std::lock_guard<std::mutex> lock(mutex_);
  path_points_[{model, method}] += points;
}

void Metrics::RecordResponseNotTaken(const std::string& model, const std::string& method) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++not_taken_[{model, method}];
}

void Metrics::RequestStarted() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++in_flight_;
}

void Metrics::RequestFinished() {
  std::lock_guard<std::mutex> lock(mutex_);
  --in_flight_;
  ++finished_;
}

int64_t Metrics::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_;
}

int64_t Metrics::finished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return finished_;
}

std::string Metrics::Render(const std::vector<ModelRunBatching>& batching,
                            const std::vector<ModelVersionCounts>& versions) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  out << "# HELP xaiserve_requests_total HTTP requests handled, by model, method and HTTP status code.\n"
      << "# TYPE xaiserve_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [model, method, code] = key;
    out << "xaiserve_requests_total{" << ModelMethodLabels(model, method) << ",code=\"" << code << "\"} " << count
        << "\n";
  }
  out << "# HELP xaiserve_request_duration_seconds Time from the start of a request to its response.\n"
      << "# TYPE xaiserve_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    const std::string labels = ModelMethodLabels(key.first, key.second);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      out << "xaiserve_request_duration_seconds_bucket{" << labels << ",le=\"" << BucketBound(kLatencyBuckets[i])
          << "\"} " << cumulative << "\n";
    }
    out << "xaiserve_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} " << h.count << "\n";
    out << "xaiserve_request_duration_seconds_sum{" << labels << "} " << FormatNumber(h.sum) << "\n";
    out << "xaiserve_request_duration_seconds_count{" << labels << "} " << h.count << "\n";
  }
  out << "# HELP xaiserve_path_points_total Rows evaluated by the model for explanations (path points, "
         "Shapley coalitions, baselines).\n"
      << "# TYPE xaiserve_path_points_total counter\n";
  for (const auto& [key, points] : path_points_) {
    out << "xaiserve_path_points_total{" << ModelMethodLabels(key.first, key.second) << "} " << points << "\n";
  }
  out << "# HELP xaiserve_responses_not_taken_total Responses the client did not take (cut off by the response "
         "deadline, --client-timeout, or the client went away); also counted in xaiserve_requests_total.\n"
      << "# TYPE xaiserve_responses_not_taken_total counter\n";
  for (const auto& [key, count] : not_taken_) {
    out << "xaiserve_responses_not_taken_total{" << ModelMethodLabels(key.first, key.second) << "} " << count << "\n";
  }
  out << "# HELP xaiserve_requests_in_flight Requests being handled now.\n"
      << "# TYPE xaiserve_requests_in_flight gauge\n"
      << "xaiserve_requests_in_flight " << in_flight_ << "\n";
  out << "# HELP xaiserve_log_lines_dropped_total Lines of the server's log (stderr) dropped because stderr was not "
         "read (server_log.h).\n"
      << "# TYPE xaiserve_log_lines_dropped_total counter\n"
      << "xaiserve_log_lines_dropped_total " << ServerLogLinesDropped() << "\n";
  if (!build_.version.empty()) {
    out << "# HELP xaiserve_build_info The versions of xaiserve and of the TensorFlow library it runs on.\n"
        << "# TYPE xaiserve_build_info gauge\n"
        << "xaiserve_build_info{version=\"" << EscapeLabelValue(build_.version) << "\",tensorflow=\""
        << EscapeLabelValue(build_.tensorflow) << "\"} 1\n";
  }
  char start_time[32];
  std::snprintf(start_time, sizeof start_time, "%.3f",
                std::chrono::duration<double>(start_time_.time_since_epoch()).count());
  out << "# HELP process_start_time_seconds When the server started, in seconds since the Unix epoch.\n"
      << "# TYPE process_start_time_seconds gauge\n"
      << "process_start_time_seconds " << start_time << "\n";
  if (!versions.empty()) {
    out << "# HELP xaiserve_model_versions_loaded Versions of the model loaded and serving (0: its routes answer "
           "503).\n"
        << "# TYPE xaiserve_model_versions_loaded gauge\n";
    for (const ModelVersionCounts& v : versions) {
      out << "xaiserve_model_versions_loaded{model=\"" << EscapeLabelValue(v.model) << "\"} " << v.loaded << "\n";
    }
    out << "# HELP xaiserve_model_versions_failed Versions of the model on disk that failed to load.\n"
        << "# TYPE xaiserve_model_versions_failed gauge\n";
    for (const ModelVersionCounts& v : versions) {
      out << "xaiserve_model_versions_failed{model=\"" << EscapeLabelValue(v.model) << "\"} " << v.failed << "\n";
    }
    out << "# HELP xaiserve_model_default_version The version that requests naming none get (the newest that "
           "serves); absent while none serves.\n"
        << "# TYPE xaiserve_model_default_version gauge\n";
    for (const ModelVersionCounts& v : versions) {
      if (v.default_version < 0) continue;
      out << "xaiserve_model_default_version{model=\"" << EscapeLabelValue(v.model) << "\"} " << v.default_version
          << "\n";
    }
  }
  if (!batching.empty()) {
    const std::pair<const char*, const char*> families[] = {
        {"xaiserve_path_runs_total", "Model runs made for explanations' path points."},
        {"xaiserve_path_runs_merged_total",
         "Model runs that merged the path points of concurrent explanations (cross-request batching)."},
        {"xaiserve_path_batches_merged_total", "Batches of path points that shared a model run with another."},
    };
    for (int f = 0; f < 3; ++f) {
      out << "# HELP " << families[f].first << " " << families[f].second << "\n"
          << "# TYPE " << families[f].first << " counter\n";
      for (const ModelRunBatching& b : batching) {
        const int64_t value = f == 0 ? b.runs : f == 1 ? b.merged_runs : b.merged_batches;
        out << families[f].first << "{model=\"" << EscapeLabelValue(b.model) << "\"} " << value << "\n";
      }
    }
  }
  return out.str();
}

}  // namespace xai
