#include "serving/batching_runtime.h"

#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/fake_model_runtime.h"
#include "testing/status_matchers.h"

namespace xai {
namespace {

using ::xai::testing::FailsWith;
using ::xai::testing::FakeModelRuntime;

// x:0 of `rows` rows with values distinct per row and per `seed`.
Tensor X(int64_t rows, double seed, DType dtype = DType::kFloat32) {
  Tensor x(dtype, {rows, 3});
  for (int64_t i = 0; i < 3 * rows; ++i) x.values[i] = seed + 0.25 * i;
  return x;
}

GradientRequest Gradients(const Tensor& x, std::vector<int64_t> elements) {
  return GradientRequest{{{"x:0", x}}, "y:0", std::move(elements), {"x:0"}};
}

void ExpectSameTensors(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].dtype, expected[i].dtype) << "tensor " << i;
    EXPECT_EQ(actual[i].shape, expected[i].shape) << "tensor " << i;
    EXPECT_EQ(actual[i].values, expected[i].values) << "tensor " << i;
  }
}

void ExpectSameResult(const StatusOr<GradientResult>& actual, const StatusOr<GradientResult>& expected) {
  ASSERT_TRUE(actual.ok()) << actual.status().ToString();
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ExpectSameTensors({actual->target_value}, {expected->target_value});
  ExpectSameTensors(actual->gradients, expected->gradients);
  EXPECT_EQ(actual->chosen_element, expected->chosen_element);
}

class BatchingRuntimeTest : public ::testing::Test {
 protected:
  void Make(BatchingOptions options = {}) {
    fake_ = std::make_shared<FakeModelRuntime>();
    batching_ = std::make_unique<BatchingRuntime>(fake_, options);
  }
  void SetUp() override { Make(); }
  void TearDown() override {
    fake_->Release();  // never leave a thread blocked in the fake
    for (std::thread& t : threads_) t.join();
  }

  // Runs `work` on a thread of its own (joined by TearDown or Join).
  template <typename F>
  void Start(F work) {
    threads_.emplace_back(std::move(work));
  }
  void Join() {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }
  // Waits until `count` calls queue behind a run in flight.
  bool WaitForWaiting(int64_t count) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (batching_->stats().waiting < count) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  std::shared_ptr<FakeModelRuntime> fake_;
  std::unique_ptr<BatchingRuntime> batching_;
  FakeModelRuntime direct_;  // the unmerged answers
  std::vector<std::thread> threads_;
};

TEST_F(BatchingRuntimeTest, ALoneCallRunsAtOnceAndAlone) {
  const GradientRequest request = Gradients(X(5, 1), {0, 1, 0, 1, 1});
  ExpectSameResult(batching_->RunWithGradients(request), direct_.RunWithGradients(request));
  auto run = batching_->Run({{"x:0", X(3, 2)}}, {"y:0", "x:0"});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ExpectSameTensors(*run, *direct_.Run({{"x:0", X(3, 2)}}, {"y:0", "x:0"}));

  EXPECT_EQ(fake_->run_rows(), (std::vector<int64_t>{5, 3}));
  const BatchingStats stats = batching_->stats();
  EXPECT_EQ(stats.calls, 2);
  EXPECT_EQ(stats.runs, 2);
  EXPECT_EQ(stats.merged_runs, 0);
  EXPECT_EQ(stats.waiting, 0);
}

TEST_F(BatchingRuntimeTest, CallsQueuedBehindARunMergeIntoOneRun) {
  fake_->Hold();
  std::vector<GradientRequest> requests;
  for (int i = 0; i < 7; ++i) {
    std::vector<int64_t> elements;
    for (int r = 0; r <= i; ++r) elements.push_back((r + i) % 2);
    requests.push_back(Gradients(X(i + 1, 10.0 * i), elements));
  }
  std::vector<StatusOr<GradientResult>> results(7, Internal("not run"));
  Start([&] { results[0] = batching_->RunWithGradients(requests[0]); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(1));
  for (int i = 1; i < 7; ++i) Start([&, i] { results[i] = batching_->RunWithGradients(requests[i]); });
  ASSERT_TRUE(WaitForWaiting(6));
  fake_->Release();
  Join();

  for (int i = 0; i < 7; ++i) {
    SCOPED_TRACE("call " + std::to_string(i));
    ExpectSameResult(results[i], direct_.RunWithGradients(requests[i]));
  }
  // The first alone; the six that queued as one run of 2 + 3 + ... + 7 rows.
  EXPECT_EQ(fake_->run_rows(), (std::vector<int64_t>{1, 27}));
  const BatchingStats stats = batching_->stats();
  EXPECT_EQ(stats.calls, 7);
  EXPECT_EQ(stats.runs, 2);
  EXPECT_EQ(stats.merged_runs, 1);
  EXPECT_EQ(stats.merged_calls, 6);
}

TEST_F(BatchingRuntimeTest, ConcurrentCallersGetExactlyTheirOwnRows) {
  constexpr int kThreads = 8, kCallsEach = 40;
  struct Outcome {
    bool gradients = false;
    std::vector<Feed> feeds;
    GradientRequest request;
    StatusOr<std::vector<Tensor>> run = Internal("not run");
    StatusOr<GradientResult> gradient = Internal("not run");
  };
  std::vector<std::vector<Outcome>> outcomes(kThreads, std::vector<Outcome>(kCallsEach));
  fake_->Hold();  // every thread's first call blocks, in the fake or queued, so merging must happen
  for (int t = 0; t < kThreads; ++t) {
    Start([&, t] {
      std::mt19937 random(1234 + t);
      for (int c = 0; c < kCallsEach; ++c) {
        Outcome& o = outcomes[t][c];
        const int64_t rows = std::uniform_int_distribution<int64_t>(1, 12)(random);
        const Tensor x = X(rows, 1000.0 * t + c);
        o.gradients = random() % 2 == 0;
        if (o.gradients) {
          std::vector<int64_t> elements;
          for (int64_t r = 0; r < rows; ++r) elements.push_back(random() % 2);
          o.request = Gradients(x, elements);
          o.gradient = batching_->RunWithGradients(o.request);
        } else {
          o.feeds = {{"x:0", x}};
          o.run = batching_->Run(o.feeds, {"y:0"});
        }
      }
    });
  }
  // At most one run per key (two keys) is in flight; every other thread waits.
  ASSERT_TRUE(fake_->WaitForStartedRuns(1));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (static_cast<int64_t>(fake_->run_rows().size()) + batching_->stats().waiting < kThreads) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "threads did not all block";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  fake_->Release();
  Join();

  for (int t = 0; t < kThreads; ++t) {
    for (int c = 0; c < kCallsEach; ++c) {
      SCOPED_TRACE("thread " + std::to_string(t) + " call " + std::to_string(c));
      const Outcome& o = outcomes[t][c];
      if (o.gradients) {
        ExpectSameResult(o.gradient, direct_.RunWithGradients(o.request));
      } else {
        ASSERT_TRUE(o.run.ok()) << o.run.status().ToString();
        ExpectSameTensors(*o.run, *direct_.Run(o.feeds, {"y:0"}));
      }
    }
  }
  const BatchingStats stats = batching_->stats();
  EXPECT_EQ(stats.calls, kThreads * kCallsEach);
  EXPECT_GE(stats.merged_runs, 1);
  EXPECT_LT(stats.runs, stats.calls);
  EXPECT_EQ(static_cast<int64_t>(fake_->run_rows().size()), stats.runs);
  EXPECT_EQ(stats.waiting, 0);
}

TEST_F(BatchingRuntimeTest, CallsWithDifferentKeysNeverMerge) {
  fake_->Hold();
  const Tensor x = X(2, 1);
  const Tensor k = Tensor::FromValues(DType::kFloat32, {2, 1}, {2, 3});
  Start([&] { (void)batching_->Run({{"x:0", x}}, {"y:0"}); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(1));
  // Each differs from the first in one part of the key, so none queues
  // behind it: all are in the (held) fake at once.
  Start([&] { (void)batching_->Run({{"x:0", x}}, {"x:0"}); });                          // fetches
  Start([&] { (void)batching_->Run({{"x:0", x}}, {"y:0", "x:0"}); });                   // more fetches
  Start([&] { (void)batching_->RunWithGradients(Gradients(x, {0, 1})); });               // kind
  Start([&] { (void)batching_->Run({{"x:0", X(2, 1, DType::kFloat64)}}, {"y:0"}); });   // dtype
  Start([&] { (void)batching_->Run({{"x:0", Tensor(DType::kFloat32, {2, 4})}}, {"y:0"}); });  // row shape
  Start([&] { (void)batching_->Run({{"x:0", x}, {"k:0", k}}, {"y:0"}); });             // feed names
  Start([&] { (void)batching_->Run({{"k:0", k}, {"x:0", x}}, {"y:0"}); });             // feed order
  ASSERT_TRUE(fake_->WaitForStartedRuns(8));
  fake_->Release();
  Join();
  EXPECT_EQ(fake_->run_rows(), std::vector<int64_t>(8, 2));
  EXPECT_EQ(batching_->stats().merged_runs, 0);
}

TEST_F(BatchingRuntimeTest, GradientsWithDifferentWrtDoNotMerge) {
  fake_->Hold();
  const Tensor x = X(2, 1);
  Start([&] { (void)batching_->RunWithGradients(Gradients(x, {0, 0})); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(1));
  GradientRequest other_wrt = Gradients(x, {0, 0});
  other_wrt.wrt = {"k:0"};
  GradientRequest other_target = Gradients(x, {0, 0});
  other_target.target = "x:0";
  Start([&] { EXPECT_FALSE(batching_->RunWithGradients(other_wrt).ok()); });
  Start([&] { EXPECT_FALSE(batching_->RunWithGradients(other_target).ok()); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(3));
  fake_->Release();
  Join();
  EXPECT_EQ(batching_->stats().merged_runs, 0);
}

TEST_F(BatchingRuntimeTest, AnErrorOfAMergedRunReachesEveryCallInIt) {
  fake_->Hold();
  Tensor poisoned = X(2, 5);
  poisoned.values[4] = FakeModelRuntime::kPoison;
  const std::vector<Tensor> queued = {X(1, 3), poisoned, X(3, 7)};
  StatusOr<std::vector<Tensor>> first = Internal("not run");
  std::vector<StatusOr<std::vector<Tensor>>> results(queued.size(), Internal("not run"));
  Start([&] { first = batching_->Run({{"x:0", X(2, 1)}}, {"y:0"}); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(1));
  for (size_t i = 0; i < queued.size(); ++i) {
    Start([&, i] { results[i] = batching_->Run({{"x:0", queued[i]}}, {"y:0"}); });
  }
  ASSERT_TRUE(WaitForWaiting(3));
  fake_->Release();
  Join();

  EXPECT_TRUE(first.ok()) << first.status().ToString();
  for (const auto& result : results) {
    EXPECT_TRUE(FailsWith(result.status(), StatusCode::kInvalidArgument, {"poison"}));
  }
  EXPECT_EQ(fake_->run_rows(), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(batching_->stats().merged_calls, 3);
}

TEST_F(BatchingRuntimeTest, CallsThatChooseByARowsArgmaxMergeAndEachGetsItsOwnRowsArgmax) {
  // A default explanation's first run chooses its output in the run:
  // ArgmaxOfRow(r) names the call's own row r, which in a merged run sits
  // after the rows of the calls before it.
  fake_->Hold();
  // Last rows: y = (3.0, 0.75) for X(2, 0) (element 0), (15.0, 23.75) for X(2, 4) (element 1).
  const std::vector<GradientRequest> requests = {Gradients(X(1, 100), {0}),  // runs first, alone
                                                 Gradients(X(2, 0), {ArgmaxOfRow(1), 1}),
                                                 Gradients(X(2, 4), {ArgmaxOfRow(1), ArgmaxOfRow(0)}),
                                                 Gradients(X(3, 4), {1, ArgmaxOfRow(2), ArgmaxOfRow(1)})};
  std::vector<StatusOr<GradientResult>> results(requests.size(), Internal("not run"));
  Start([&] { results[0] = batching_->RunWithGradients(requests[0]); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(1));
  for (size_t i = 1; i < requests.size(); ++i) {
    Start([&, i] { results[i] = batching_->RunWithGradients(requests[i]); });
  }
  ASSERT_TRUE(WaitForWaiting(3));
  fake_->Release();
  Join();
  for (size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE("call " + std::to_string(i));
    ExpectSameResult(results[i], direct_.RunWithGradients(requests[i]));
  }
  EXPECT_EQ(results[1]->chosen_element, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(results[2]->chosen_element, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(fake_->run_rows(), (std::vector<int64_t>{1, 7}));
  EXPECT_EQ(batching_->stats().merged_runs, 1);
  EXPECT_EQ(batching_->stats().merged_calls, 3);
}

TEST_F(BatchingRuntimeTest, RankZeroFeedsAndFixedBatchSizesRunAlone) {
  fake_->Hold();
  const Tensor c = Tensor::FromValues(DType::kFloat32, {}, {2});
  std::vector<StatusOr<std::vector<Tensor>>> results(4, Internal("not run"));
  const std::vector<std::vector<Feed>> feeds = {
      {{"x:0", X(2, 1)}, {"c:0", c}},
      {{"x:0", X(3, 9)}, {"c:0", c}},
      {{"x_fixed:0", X(4, 1)}},
      {{"x_fixed:0", X(4, 2)}},
  };
  for (size_t i = 0; i < feeds.size(); ++i) {
    Start([&, i] { results[i] = batching_->Run(feeds[i], {"y:0"}); });
  }
  ASSERT_TRUE(fake_->WaitForStartedRuns(4));  // none queued behind another
  fake_->Release();
  Join();
  for (size_t i = 0; i < feeds.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    ExpectSameTensors(*results[i], *direct_.Run(feeds[i], {"y:0"}));
  }
  EXPECT_EQ(batching_->stats().merged_runs, 0);
  EXPECT_EQ(batching_->stats().runs, 4);
}

TEST_F(BatchingRuntimeTest, AMergedRunTakesQueuedCallsUpToMaxRows) {
  Make({/*max_rows=*/8});
  fake_->Hold();
  Start([&] { (void)batching_->Run({{"x:0", X(1, 0)}}, {"y:0"}); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(1));
  for (int i = 0; i < 3; ++i) {  // queued in this order: 4, 4, 4 rows
    Start([&, i] { EXPECT_TRUE(batching_->Run({{"x:0", X(4, i)}}, {"y:0"}).ok()); });
    ASSERT_TRUE(WaitForWaiting(i + 1));
  }
  // More rows than max_rows: runs at once, though its key is busy.
  Start([&] { EXPECT_TRUE(batching_->Run({{"x:0", X(9, 0)}}, {"y:0"}).ok()); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(2));
  fake_->Release();
  Join();
  EXPECT_EQ(fake_->run_rows(), (std::vector<int64_t>{1, 9, 8, 4}));
}

TEST_F(BatchingRuntimeTest, CallsQueueOnlyBeyondMaxRunsInFlight) {
  BatchingOptions options;
  options.max_runs_in_flight = 2;
  Make(options);
  fake_->Hold();
  Start([&] { EXPECT_TRUE(batching_->Run({{"x:0", X(1, 0)}}, {"y:0"}).ok()); });
  Start([&] { EXPECT_TRUE(batching_->Run({{"x:0", X(2, 0)}}, {"y:0"}).ok()); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(2));  // two of the same key at once
  for (int i = 0; i < 3; ++i) {
    Start([&] { EXPECT_TRUE(batching_->Run({{"x:0", X(3, 0)}}, {"y:0"}).ok()); });
  }
  ASSERT_TRUE(WaitForWaiting(3));
  fake_->Release();
  Join();
  // The three queued calls ran as one, after the first run in flight ended.
  const std::vector<int64_t> rows = fake_->run_rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0] + rows[1], 3);
  EXPECT_EQ(rows[2], 9);
  EXPECT_EQ(batching_->stats().merged_calls, 3);
}

TEST_F(BatchingRuntimeTest, OutputsWithoutRowsAreRunAloneFromThenOn) {
  fake_->Hold();
  const std::vector<Tensor> xs = {X(2, 0), X(1, 100), X(3, 200)};
  std::vector<StatusOr<std::vector<Tensor>>> results(xs.size(), Internal("not run"));
  Start([&] { results[0] = batching_->Run({{"x:0", xs[0]}}, {"s:0"}); });  // s:0 is a scalar
  ASSERT_TRUE(fake_->WaitForStartedRuns(1));
  for (size_t i = 1; i < xs.size(); ++i) {
    Start([&, i] { results[i] = batching_->Run({{"x:0", xs[i]}}, {"s:0"}); });
    ASSERT_TRUE(WaitForWaiting(i));
  }
  fake_->Release();
  Join();
  for (size_t i = 0; i < xs.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    ExpectSameTensors(*results[i], *direct_.Run({{"x:0", xs[i]}}, {"s:0"}));
  }
  // The merged attempt (4 rows) could not be split; both calls ran again alone.
  std::vector<int64_t> rows = fake_->run_rows();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1], 4);
  EXPECT_EQ(rows[2] + rows[3], 4);
  // It ran, but served no call as a merged run: it is no merge in the counts.
  BatchingStats stats = batching_->stats();
  EXPECT_EQ(stats.runs, 4);
  EXPECT_EQ(stats.merged_runs, 0);
  EXPECT_EQ(stats.merged_calls, 0);

  // From then on the key never merges: two calls are in the fake at once.
  fake_->Hold();
  Start([&] { (void)batching_->Run({{"x:0", xs[0]}}, {"s:0"}); });
  Start([&] { (void)batching_->Run({{"x:0", xs[1]}}, {"s:0"}); });
  ASSERT_TRUE(fake_->WaitForStartedRuns(6));
  fake_->Release();
  Join();
  stats = batching_->stats();
  EXPECT_EQ(stats.runs, 6);
  EXPECT_EQ(stats.merged_runs, 0);
}

}  // namespace
}  // namespace xai
