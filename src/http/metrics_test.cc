#include "http/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace xai {
namespace {

::testing::AssertionResult HasLine(const std::string& text, const std::string& line) {
  if (("\n" + text).find("\n" + line + "\n") != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no line '" << line << "' in:\n" << text;
}

TEST(MetricsTest, CountsRequestsByModelMethodAndCode) {
  Metrics metrics;
  metrics.RecordRequest("tabular", "explain:integrated-gradients", 200, 0.02);
  metrics.RecordRequest("tabular", "explain:integrated-gradients", 200, 0.03);
  metrics.RecordRequest("tabular", "predict", 400, 0.001);

  const std::string text = metrics.Render();
  EXPECT_TRUE(HasLine(text, "# TYPE xaiserve_requests_total counter"));
  EXPECT_TRUE(HasLine(text,
                      "xaiserve_requests_total{model=\"tabular\",method=\"explain:integrated-gradients\",code=\"200\"} 2"));
  EXPECT_TRUE(HasLine(text, "xaiserve_requests_total{model=\"tabular\",method=\"predict\",code=\"400\"} 1"));
}

TEST(MetricsTest, LatencyHistogramBucketsAreCumulative) {
  Metrics metrics;
  metrics.RecordRequest("m", "predict", 200, 0.0004);  // <= 0.0005
  metrics.RecordRequest("m", "predict", 200, 0.003);  // <= 0.005
  metrics.RecordRequest("m", "predict", 200, 0.2);    // <= 0.25
  metrics.RecordRequest("m", "predict", 200, 500);    // beyond the last bound

  const std::string text = metrics.Render();
  const std::string labels = "model=\"m\",method=\"predict\"";
  EXPECT_TRUE(HasLine(text, "# TYPE xaiserve_request_duration_seconds histogram"));
  EXPECT_TRUE(HasLine(text, "xaiserve_request_duration_seconds_bucket{" + labels + ",le=\"0.0005\"} 1"));
  EXPECT_TRUE(HasLine(text, "xaiserve_request_duration_seconds_bucket{" + labels + ",le=\"0.0025\"} 1"));
  EXPECT_TRUE(HasLine(text, "xaiserve_request_duration_seconds_bucket{" + labels + ",le=\"0.005\"} 2"));
  EXPECT_TRUE(HasLine(text, "xaiserve_request_duration_seconds_bucket{" + labels + ",le=\"0.1\"} 2"));
  EXPECT_TRUE(HasLine(text, "xaiserve_request_duration_seconds_bucket{" + labels + ",le=\"0.25\"} 3"));
  EXPECT_TRUE(HasLine(text, "xaiserve_request_duration_seconds_bucket{" + labels + ",le=\"120\"} 3"));
  EXPECT_TRUE(HasLine(text, "xaiserve_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 4"));
  EXPECT_TRUE(HasLine(text, "xaiserve_request_duration_seconds_count{" + labels + "} 4"));
  EXPECT_TRUE(HasLine(text, "xaiserve_request_duration_seconds_sum{" + labels + "} 500.2034"));
}

TEST(MetricsTest, BuildInfoStartTimeAndDefaultVersions) {
  const double before =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  Metrics metrics({"0.1.0", "2.20.0"});
  const std::string text = metrics.Render({}, {{"tabular", 2, 0, 7}, {"image", 0, 1, -1}});

  EXPECT_TRUE(HasLine(text, "# TYPE xaiserve_build_info gauge"));
  EXPECT_TRUE(HasLine(text, "xaiserve_build_info{version=\"0.1.0\",tensorflow=\"2.20.0\"} 1"));
  EXPECT_TRUE(HasLine(text, "xaiserve_model_default_version{model=\"tabular\"} 7"));
  EXPECT_EQ(text.find("xaiserve_model_default_version{model=\"image\"}"), std::string::npos);  // none serves
  const size_t at = text.find("\nprocess_start_time_seconds ");
  ASSERT_NE(at, std::string::npos) << text;
  const double start = std::stod(text.substr(at + 28));
  EXPECT_GE(start, before - 0.001);
  EXPECT_LE(start, before + 60);
  EXPECT_EQ(Metrics().Render().find("xaiserve_build_info"), std::string::npos);  // no versions given
}

TEST(MetricsTest, PathPointsAndRequestsInFlight) {
  Metrics metrics;
  metrics.AddPathPoints("image", "explain:xrai", 102);
  metrics.AddPathPoints("image", "explain:xrai", 102);
  metrics.RequestStarted();
  metrics.RequestStarted();
  metrics.RequestFinished();

  const std::string text = metrics.Render();
  EXPECT_TRUE(HasLine(text, "xaiserve_path_points_total{model=\"image\",method=\"explain:xrai\"} 204"));
  EXPECT_TRUE(HasLine(text, "xaiserve_requests_in_flight 1"));
}

TEST(MetricsTest, ResponsesNotTakenByModelAndMethod) {
  Metrics metrics;
  EXPECT_EQ(metrics.Render().find("xaiserve_responses_not_taken_total{"), std::string::npos);
  metrics.RecordResponseNotTaken("image", "explain:integrated-gradients");
  metrics.RecordResponseNotTaken("image", "explain:integrated-gradients");
  metrics.RecordResponseNotTaken("tabular", "predict");

  const std::string text = metrics.Render();
  EXPECT_TRUE(HasLine(text, "# TYPE xaiserve_responses_not_taken_total counter"));
  EXPECT_TRUE(HasLine(text,
                      "xaiserve_responses_not_taken_total{model=\"image\",method=\"explain:integrated-gradients\"} 2"));
  EXPECT_TRUE(HasLine(text, "xaiserve_responses_not_taken_total{model=\"tabular\",method=\"predict\"} 1"));
}

TEST(MetricsTest, CrossRequestBatchingPerModel) {
  Metrics metrics;
  EXPECT_EQ(metrics.Render().find("xaiserve_path_runs"), std::string::npos);  // no model batches
  const std::string text = metrics.Render({{"tabular", 10, 3, 9}, {"image", 4, 0, 0}});
  EXPECT_TRUE(HasLine(text, "# TYPE xaiserve_path_runs_total counter"));
  EXPECT_TRUE(HasLine(text, "xaiserve_path_runs_total{model=\"tabular\"} 10"));
  EXPECT_TRUE(HasLine(text, "xaiserve_path_runs_merged_total{model=\"tabular\"} 3"));
  EXPECT_TRUE(HasLine(text, "xaiserve_path_batches_merged_total{model=\"tabular\"} 9"));
  EXPECT_TRUE(HasLine(text, "xaiserve_path_runs_total{model=\"image\"} 4"));
  EXPECT_TRUE(HasLine(text, "xaiserve_path_runs_merged_total{model=\"image\"} 0"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace xai
