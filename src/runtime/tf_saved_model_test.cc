// End-to-end tests of the TensorFlow runtime against the SavedModels made by
// fixtures/generate_fixtures.py, found in $XAI_FIXTURES (ctest sets it; run
// by hand with XAI_FIXTURES=build/fixtures; see testing/fixture_dir.h). Tests
// that need a fixture skip when the variable is unset or the fixture is
// missing.
#include "runtime/model_runtime.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/tensor_json.h"
#include "testing/fixture_dir.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace xai {
namespace {

namespace fs = std::filesystem;

using testing::Contains;
using testing::FixtureDir;
using testing::TempDir;

// y = sum_i a_i x_i^2 + b_i x_i, as saved in the `quadratic` fixture.
constexpr float kA[3] = {1.0f, -2.0f, 0.5f};
constexpr float kB[3] = {0.5f, 1.0f, -1.0f};
const std::vector<std::vector<float>> kQuadraticRows = {{1.0f, 2.0f, 3.0f}, {-1.0f, 0.5f, 2.0f}, {0.25f, -1.5f, 4.0f}};

Tensor Float32Batch(const std::vector<std::vector<float>>& rows) {
  Tensor t(DType::kFloat32, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) t.values[r * rows[r].size() + c] = rows[r][c];
  }
  return t;
}

// Float32 results compared with a tolerance relative to their size.
void ExpectNearFloat32(double actual, double expected, const std::string& what) {
  EXPECT_NEAR(actual, expected, 1e-5 * (1.0 + std::fabs(expected))) << what;
}

class FixtureModelTest : public ::testing::Test {
 protected:
  // Loads fixture `name` into model_, or skips the test when the fixtures are
  // not available. Called from SetUp, where a skip stops the test body.
  void LoadOrSkip(const std::string& name) {
    StatusOr<std::string> dir = FixtureDir(name);
    if (!dir.ok()) GTEST_SKIP() << dir.status().message();
    dir_ = *dir;
    auto loaded = LoadSavedModelRuntime(dir_);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    model_ = std::move(loaded).value();
  }

  // The fixture's instances.jsonl as one float32 batch with rows of `row_shape`.
  Tensor Instances(const Shape& row_shape) {
    std::ifstream file(fs::path(dir_) / "instances.jsonl");
    EXPECT_TRUE(file.good()) << dir_ << "/instances.jsonl";
    std::vector<Tensor> rows;
    std::string line;
    while (std::getline(file, line)) {
      if (line.empty()) continue;
      auto row = TensorRowFromJson(Json::parse(line), DType::kFloat32, row_shape, "instance");
      EXPECT_TRUE(row.ok()) << row.status().ToString();
      if (row.ok()) rows.push_back(*row);
    }
    auto batch = ConcatRows(rows);
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    return batch.ok() ? *batch : Tensor();
  }

  const SignatureInfo& OnlySignature() const { return model_->signatures().at(0); }
  const std::string& InputTensor() const { return OnlySignature().inputs.at(0).tensor_name; }
  const std::string& OutputTensor() const { return OnlySignature().outputs.at(0).tensor_name; }

  GradientRequest Request(const Tensor& batch, std::vector<int64_t> target_element) const {
    GradientRequest request;
    request.feeds = {{InputTensor(), batch}};
    request.target = OutputTensor();
    request.target_element = std::move(target_element);
    request.wrt = {InputTensor()};
    return request;
  }

  // `request` run `runs_each` times in each of `threads` threads at once (a
  // thread stops at its first error); each thread's last result.
  std::vector<StatusOr<GradientResult>> RunWithGradientsFromThreads(const GradientRequest& request, int threads,
                                                                    int runs_each) {
    std::vector<StatusOr<GradientResult>> results(threads, Internal("not run"));
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&, t] {
        for (int i = 0; i < runs_each && (i == 0 || results[t].ok()); ++i) {
          results[t] = model_->RunWithGradients(request);
        }
      });
    }
    for (std::thread& thread : running) thread.join();
    return results;
  }

  // The gradient of element `element` of `output` with respect to `input` at
  // `row` (one instance, shape [1, ...]), from RunWithGradients, against
  // central differences of forward runs (step `h`, all in one batch).
  void ExpectGradientMatchesFiniteDifferences(const Tensor& row, const std::string& input, const std::string& output,
                                              int64_t element, double h) {
    GradientRequest request;
    request.feeds = {{input, row}};
    request.target = output;
    request.target_element = {element};
    request.wrt = {input};
    auto result = model_->RunWithGradients(request);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->target_value.batch_size(), 1);
    ASSERT_EQ(result->gradients.size(), 1u);
    const Tensor& g = result->gradients[0];
    ASSERT_EQ(g.shape, row.shape);

    const int64_t n = row.row_elements();
    Tensor shifted = RepeatRow(row, 2 * n);
    for (int64_t i = 0; i < n; ++i) {
      shifted.values[(2 * i) * n + i] += h;
      shifted.values[(2 * i + 1) * n + i] -= h;
    }
    auto outputs = model_->Run({{input, shifted}}, {output});
    ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
    const Tensor& y = (*outputs)[0];
    const int64_t outputs_per_row = y.row_elements();
    ASSERT_EQ(result->target_value.row_elements(), outputs_per_row);
    double largest = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double numeric =
          (y.values[(2 * i) * outputs_per_row + element] - y.values[(2 * i + 1) * outputs_per_row + element]) / (2 * h);
      EXPECT_NEAR(g.values[i], numeric, 2e-3 + 0.05 * std::fabs(numeric)) << "input element " << i;
      largest = std::max(largest, std::fabs(g.values[i]));
    }
    EXPECT_GT(largest, 1e-4) << "a zero gradient proves nothing";
  }

  std::string dir_;
  std::unique_ptr<ModelRuntime> model_;
};

// --- quadratic: exact values and gradients ---------------------------------------

class QuadraticTest : public FixtureModelTest {
 protected:
  void SetUp() override { LoadOrSkip("quadratic"); }

  static double Y(const std::vector<float>& x) {
    float y = 0;
    for (int i = 0; i < 3; ++i) y += kA[i] * x[i] * x[i] + kB[i] * x[i];
    return y;
  }
  static double Gradient(const std::vector<float>& x, int i) { return 2.0f * kA[i] * x[i] + kB[i]; }

  void ExpectExactGradients(const GradientResult& result, const std::vector<std::vector<float>>& rows) {
    const int64_t n = static_cast<int64_t>(rows.size());
    EXPECT_EQ(result.target_value.shape, (Shape{n}));
    ASSERT_EQ(result.target_value.values.size(), rows.size());
    ASSERT_EQ(result.gradients.size(), 1u);
    const Tensor& g = result.gradients[0];
    EXPECT_EQ(g.dtype, DType::kFloat32);
    EXPECT_EQ(g.shape, (Shape{n, 3}));
    ASSERT_EQ(g.values.size(), rows.size() * 3);
    for (size_t r = 0; r < rows.size(); ++r) {
      ExpectNearFloat32(result.target_value.values[r], Y(rows[r]), "y row " + std::to_string(r));
      for (int i = 0; i < 3; ++i) {
        ExpectNearFloat32(g.values[r * 3 + i], Gradient(rows[r], i),
                          "dy/dx row " + std::to_string(r) + " feature " + std::to_string(i));
      }
    }
  }
};

TEST_F(QuadraticTest, ListsTheServingSignatureWithoutTheInitOp) {
  EXPECT_EQ(model_->path(), dir_);
  EXPECT_FALSE(model_->is_tf1_graph());
  ASSERT_EQ(model_->signatures().size(), 1u);
  const SignatureInfo& sig = OnlySignature();
  EXPECT_EQ(sig.key, "serving_default");
  EXPECT_EQ(sig.method_name, "tensorflow/serving/predict");
  ASSERT_EQ(sig.inputs.size(), 1u);
  EXPECT_EQ(sig.inputs[0].key, "x");
  EXPECT_EQ(sig.inputs[0].tensor_name, "serving_default_x:0");
  EXPECT_EQ(sig.inputs[0].dtype, DType::kFloat32);
  EXPECT_TRUE(sig.inputs[0].rank_known);
  EXPECT_EQ(sig.inputs[0].shape, (Shape{-1, 3}));
  ASSERT_EQ(sig.outputs.size(), 1u);
  EXPECT_EQ(sig.outputs[0].key, "y");
  EXPECT_EQ(sig.outputs[0].tensor_name, "StatefulPartitionedCall:0");
  EXPECT_EQ(sig.outputs[0].dtype, DType::kFloat32);
  EXPECT_TRUE(sig.outputs[0].rank_known);
  EXPECT_EQ(sig.outputs[0].shape, (Shape{-1}));
}

TEST_F(QuadraticTest, RunComputesY) {
  auto outputs = model_->Run({{InputTensor(), Float32Batch(kQuadraticRows)}}, {OutputTensor()});
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  ASSERT_EQ(outputs->size(), 1u);
  const Tensor& y = (*outputs)[0];
  EXPECT_EQ(y.dtype, DType::kFloat32);
  EXPECT_EQ(y.shape, (Shape{3}));
  ASSERT_EQ(y.values.size(), 3u);
  for (size_t r = 0; r < kQuadraticRows.size(); ++r) {
    ExpectNearFloat32(y.values[r], Y(kQuadraticRows[r]), "row " + std::to_string(r));
  }
  // Spot check against a hand-computed value: 1*1 + 0.5 - 2*4 + 2 + 0.5*9 - 3.
  EXPECT_NEAR(y.values[0], -3.0, 1e-6);
}

TEST_F(QuadraticTest, RunWithGradientsIsExact) {
  auto result = model_->RunWithGradients(Request(Float32Batch(kQuadraticRows), {0, 0, 0}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ExpectExactGradients(*result, kQuadraticRows);
}

TEST_F(QuadraticTest, CachedGradientGraphGivesTheSameResults) {
  auto first = model_->RunWithGradients(Request(Float32Batch(kQuadraticRows), {0, 0, 0}));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = model_->RunWithGradients(Request(Float32Batch(kQuadraticRows), {0, 0, 0}));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->target_value.values, first->target_value.values);
  ASSERT_EQ(second->gradients.size(), 1u);
  EXPECT_EQ(second->gradients[0].values, first->gradients[0].values);
  EXPECT_EQ(second->gradients[0].shape, first->gradients[0].shape);

  // The cached graph serves other batch sizes too.
  const std::vector<std::vector<float>> one_row = {{-3.0f, 0.0f, 1.5f}};
  auto single = model_->RunWithGradients(Request(Float32Batch(one_row), {0}));
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  ExpectExactGradients(*single, one_row);
}

TEST_F(QuadraticTest, RunAfterGradientsStillWorks) {
  ASSERT_TRUE(model_->RunWithGradients(Request(Float32Batch(kQuadraticRows), {0, 0, 0})).ok());
  auto outputs = model_->Run({{InputTensor(), Float32Batch(kQuadraticRows)}}, {OutputTensor()});
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  ExpectNearFloat32((*outputs)[0].values[2], Y(kQuadraticRows[2]), "row 2");
}

TEST_F(QuadraticTest, InstancesFileMatchesTheTestRows) {
  const Tensor batch = Instances({3});
  EXPECT_EQ(batch.shape, (Shape{3, 3}));
  EXPECT_EQ(batch.values, Float32Batch(kQuadraticRows).values);
}

TEST_F(QuadraticTest, DescribeTensorOfASignatureInput) {
  auto info = model_->DescribeTensor("serving_default_x:0");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->tensor_name, "serving_default_x:0");
  EXPECT_EQ(info->dtype, DType::kFloat32);
  EXPECT_TRUE(info->rank_known);
  EXPECT_EQ(info->shape, (Shape{-1, 3}));
}

TEST_F(QuadraticTest, DescribeTensorOfAnIndexBeyondIntIsNotFoundNotAnException) {
  // Metadata names tensors; "x:99999999999" once threw std::out_of_range (std::stoi).
  auto info = model_->DescribeTensor("serving_default_x:99999999999");
  EXPECT_EQ(info.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(info.status().message(), "serving_default_x:99999999999"));
  EXPECT_EQ(model_->DescribeTensor("serving_default_x:1").status().code(), StatusCode::kNotFound);
}

TEST_F(QuadraticTest, RunErrorsAreStatusesNamingTheTensor) {
  auto missing_fetch = model_->Run({{InputTensor(), Float32Batch(kQuadraticRows)}}, {"no_such_tensor:0"});
  ASSERT_FALSE(missing_fetch.ok());
  EXPECT_TRUE(Contains(missing_fetch.status().message(), "no_such_tensor"));

  const Tensor wrong_width = Tensor::FromValues(DType::kFloat32, {1, 4}, {1, 2, 3, 4});
  auto bad_shape = model_->Run({{InputTensor(), wrong_width}}, {OutputTensor()});
  EXPECT_FALSE(bad_shape.ok());
}

TEST_F(QuadraticTest, GradientOfAMissingTargetIsNotFound) {
  GradientRequest request = Request(Float32Batch(kQuadraticRows), {0, 0, 0});
  request.target = "no_such_tensor:0";
  auto result = model_->RunWithGradients(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(result.status().message(), "no_such_tensor:0"));
}

TEST_F(QuadraticTest, ConcurrentCallsGiveExactResults) {
  // The first calls race to build the gradient graph; all must see it whole.
  constexpr int kThreads = 4;
  std::vector<StatusOr<GradientResult>> gradients(kThreads, Internal("not run"));
  std::vector<StatusOr<std::vector<Tensor>>> forward(kThreads, Internal("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      gradients[t] = model_->RunWithGradients(Request(Float32Batch(kQuadraticRows), {0, 0, 0}));
      forward[t] = model_->Run({{InputTensor(), Float32Batch(kQuadraticRows)}}, {OutputTensor()});
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    ASSERT_TRUE(gradients[t].ok()) << gradients[t].status().ToString();
    ExpectExactGradients(*gradients[t], kQuadraticRows);
    ASSERT_TRUE(forward[t].ok()) << forward[t].status().ToString();
    ExpectNearFloat32((*forward[t])[0].values[1], Y(kQuadraticRows[1]), "row 1");
  }
}

TEST_F(QuadraticTest, RepeatedShortRunsInTheCallersThreadStayExact) {
  // The first run of a kind goes to TensorFlow's thread pool; runs this short
  // (well under RunPlacement::kShortRunMs) then run in the caller's thread,
  // one after another and from several threads at once.
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE("run " + std::to_string(i));
    auto gradients = model_->RunWithGradients(Request(Float32Batch(kQuadraticRows), {0, 0, 0}));
    ASSERT_TRUE(gradients.ok()) << gradients.status().ToString();
    ExpectExactGradients(*gradients, kQuadraticRows);
    auto forward = model_->Run({{InputTensor(), Float32Batch(kQuadraticRows)}}, {OutputTensor()});
    ASSERT_TRUE(forward.ok()) << forward.status().ToString();
    ExpectNearFloat32((*forward)[0].values[2], Y(kQuadraticRows[2]), "row 2");
  }
  constexpr int kThreads = 4;
  auto gradients = RunWithGradientsFromThreads(Request(Float32Batch(kQuadraticRows), {0, 0, 0}), kThreads, 20);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(gradients[t].ok()) << gradients[t].status().ToString();
    ExpectExactGradients(*gradients[t], kQuadraticRows);
  }
}

TEST_F(QuadraticTest, TargetElementCountMustMatchTheBatch) {
  auto result = model_->RunWithGradients(Request(Float32Batch(kQuadraticRows), {0, 0}));
  EXPECT_FALSE(result.ok());
}

// --- tabular_mlp: per-row target elements ------------------------------------------

class TabularMlpTest : public FixtureModelTest {
 protected:
  void SetUp() override { LoadOrSkip("tabular_mlp"); }
};

TEST_F(TabularMlpTest, PerRowTargetElementsGiveOppositeGradients) {
  ASSERT_EQ(OnlySignature().inputs.at(0).shape, (Shape{-1, 30}));
  const Tensor instances = Instances({30});
  ASSERT_GE(instances.batch_size(), 1);
  const Tensor row = SliceRows(instances, 0, 1);
  // The same instance twice: row 0 explains probability 0, row 1 probability 1.
  auto result = model_->RunWithGradients(Request(RepeatRow(row, 2), {0, 1}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();

  const Tensor& p = result->target_value;
  ASSERT_EQ(p.shape, (Shape{2, 2}));
  EXPECT_NEAR(p.values[0] + p.values[1], 1.0, 1e-6);
  EXPECT_EQ(p.values[0], p.values[2]);
  EXPECT_EQ(p.values[1], p.values[3]);

  ASSERT_EQ(result->gradients.size(), 1u);
  const Tensor& g = result->gradients[0];
  ASSERT_EQ(g.shape, (Shape{2, 30}));
  double largest = 0;
  for (int i = 0; i < 30; ++i) {
    // p0 + p1 = 1, so d p0 / dx = - d p1 / dx.
    EXPECT_NEAR(g.values[i], -g.values[30 + i], 1e-5) << "feature " << i;
    largest = std::max(largest, std::fabs(g.values[i]));
  }
  EXPECT_GT(largest, 1e-6) << "the gradients are all zero, so the test proves nothing";
}

TEST_F(TabularMlpTest, RowsAreIndependent) {
  const Tensor instances = Instances({30});
  ASSERT_GE(instances.batch_size(), 2);
  const Tensor two = SliceRows(instances, 0, 2);
  auto batch = model_->RunWithGradients(Request(two, {1, 0}));
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  for (int64_t r = 0; r < 2; ++r) {
    auto alone = model_->RunWithGradients(Request(SliceRows(two, r, r + 1), {r == 0 ? 1 : 0}));
    ASSERT_TRUE(alone.ok()) << alone.status().ToString();
    for (int i = 0; i < 30; ++i) {
      EXPECT_NEAR(batch->gradients[0].values[r * 30 + i], alone->gradients[0].values[i], 1e-6)
          << "row " << r << " feature " << i;
    }
  }
}

TEST_F(TabularMlpTest, MatrixProductsInTheCallersThreadGiveThePoolsResults) {
  // A run this short moves from TensorFlow's pools to the caller's thread
  // (run_placement.h), where the matrix products and the softmax run their
  // work at once instead of splitting it over the intra-op threads. The
  // numbers must not change with the move, nor when several threads run so
  // at once (the server).
  const Tensor instances = Instances({30});
  const Tensor batch = RepeatRow(SliceRows(instances, 0, 1), 51);
  const std::vector<int64_t> elements(51, ArgmaxOfRow(50));
  auto in_pool = model_->RunWithGradients(Request(batch, elements));
  ASSERT_TRUE(in_pool.ok()) << in_pool.status().ToString();
  auto expect_same = [&](const GradientResult& r, const std::string& what) {
    ASSERT_EQ(r.gradients.size(), 1u) << what;
    ASSERT_EQ(r.gradients[0].values.size(), in_pool->gradients[0].values.size()) << what;
    for (size_t i = 0; i < r.gradients[0].values.size(); ++i) {
      ExpectNearFloat32(r.gradients[0].values[i], in_pool->gradients[0].values[i], what + ", gradient " + std::to_string(i));
    }
    for (size_t i = 0; i < r.target_value.values.size(); ++i) {
      ExpectNearFloat32(r.target_value.values[i], in_pool->target_value.values[i], what + ", output " + std::to_string(i));
    }
  };
  for (int i = 0; i < 8; ++i) {
    auto again = model_->RunWithGradients(Request(batch, elements));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    expect_same(*again, "run " + std::to_string(i));
  }
  constexpr int kThreads = 4;
  auto results = RunWithGradientsFromThreads(Request(batch, elements), kThreads, 20);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(results[t].ok()) << results[t].status().ToString();
    expect_same(*results[t], "thread " + std::to_string(t));
  }
}

TEST_F(TabularMlpTest, ArgmaxOfRowChoosesThatRowsLargestOutputForEveryRowAskingForIt) {
  const Tensor instances = Instances({30});
  auto probabilities = model_->Run({{InputTensor(), instances}}, {OutputTensor()});
  ASSERT_TRUE(probabilities.ok()) << probabilities.status().ToString();
  // Two instances whose largest probability differs, so that choosing by the
  // wrong row would show.
  auto argmax = [&](int64_t r) { return probabilities->at(0).values[2 * r] >= probabilities->at(0).values[2 * r + 1] ? 0 : 1; };
  int64_t other = -1;
  for (int64_t r = 1; r < instances.batch_size() && other < 0; ++r) {
    if (argmax(r) != argmax(0)) other = r;
  }
  ASSERT_GE(other, 0) << "the instances all have the same class; the test needs two classes";
  Tensor two = SliceRows(instances, other, other + 1);
  const Tensor last = SliceRows(instances, 0, 1);
  two.values.insert(two.values.end(), last.values.begin(), last.values.end());
  two.shape[0] = 2;
  const int64_t top = argmax(0), bottom = 1 - top;  // the last row's

  auto chosen = model_->RunWithGradients(Request(two, {ArgmaxOfRow(1), ArgmaxOfRow(1)}));
  ASSERT_TRUE(chosen.ok()) << chosen.status().ToString();
  EXPECT_EQ(chosen->chosen_element, (std::vector<int64_t>{top, top}));
  auto explicit_top = model_->RunWithGradients(Request(two, {top, top}));
  ASSERT_TRUE(explicit_top.ok()) << explicit_top.status().ToString();
  EXPECT_EQ(chosen->gradients[0].values, explicit_top->gradients[0].values);

  // Row 0's argmax is the other class: each row takes the row it names.
  auto first = model_->RunWithGradients(Request(two, {ArgmaxOfRow(0), ArgmaxOfRow(0)}));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->chosen_element, (std::vector<int64_t>{bottom, bottom}));

  // Mixed: only the rows that ask for it take a row's argmax.
  auto mixed = model_->RunWithGradients(Request(two, {ArgmaxOfRow(1), bottom}));
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
  EXPECT_EQ(mixed->chosen_element, (std::vector<int64_t>{top, bottom}));

  auto bad = model_->RunWithGradients(Request(two, {0, ArgmaxOfRow(2)}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(bad.status().message(), "target element -3 of row 1 names no row of the batch's 2"))
      << bad.status().message();
}

// --- tf1_placeholder: graph tensors -------------------------------------------------

class Tf1PlaceholderTest : public FixtureModelTest {
 protected:
  void SetUp() override { LoadOrSkip("tf1_placeholder"); }
};

TEST_F(Tf1PlaceholderTest, IsATf1Graph) {
  EXPECT_TRUE(model_->is_tf1_graph());
  ASSERT_EQ(model_->signatures().size(), 1u);
  EXPECT_EQ(InputTensor(), "dense_input:0");
  EXPECT_EQ(OutputTensor(), "dense_2/Softmax:0");
}

TEST_F(Tf1PlaceholderTest, DescribeTensorFindsGraphTensors) {
  for (const std::string name : {"dense_input:0", "dense_input"}) {
    SCOPED_TRACE(name);
    auto info = model_->DescribeTensor(name);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->tensor_name, "dense_input:0");
    EXPECT_EQ(info->dtype, DType::kFloat32);
    EXPECT_TRUE(info->rank_known);
    EXPECT_EQ(info->shape, (Shape{-1, 30}));
  }
  auto relu = model_->DescribeTensor("dense/Relu:0");
  ASSERT_TRUE(relu.ok()) << relu.status().ToString();
  EXPECT_EQ(relu->dtype, DType::kFloat32);
}

TEST_F(Tf1PlaceholderTest, DescribeTensorOfAMissingTensorIsNotFound) {
  auto missing = model_->DescribeTensor("dense_9/Softmax:0");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), "'dense_9/Softmax:0'"));

  auto bad_index = model_->DescribeTensor("dense_input:3");
  ASSERT_FALSE(bad_index.ok());
  EXPECT_EQ(bad_index.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(bad_index.status().message(), "dense_input:3"));
}

TEST_F(Tf1PlaceholderTest, GradientWithRespectToThePlaceholderMatchesFiniteDifferences) {
  const Tensor instances = Instances({30});
  ASSERT_GE(instances.batch_size(), 1);
  ExpectGradientMatchesFiniteDifferences(SliceRows(instances, 0, 1), "dense_input:0", "dense_2/Softmax:0", 1, 1e-3);
}

// --- keras_activations, keras_conv3d: gradients xaiserve adds to the C++ registry ------

class KerasActivationsTest : public FixtureModelTest {
 protected:
  void SetUp() override { LoadOrSkip("keras_activations"); }
};

TEST_F(KerasActivationsTest, GeluSwishAndEnsureShapeGradientsMatchFiniteDifferences) {
  const Tensor instances = Instances({6});
  ASSERT_EQ(instances.batch_size(), 3);
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t element = 0; element < 3; ++element) {
      SCOPED_TRACE("instance " + std::to_string(r) + ", output " + std::to_string(element));
      ExpectGradientMatchesFiniteDifferences(SliceRows(instances, r, r + 1), InputTensor(), OutputTensor(), element,
                                             1e-3);
    }
  }
}

class KerasConv3dTest : public FixtureModelTest {
 protected:
  void SetUp() override { LoadOrSkip("keras_conv3d"); }
};

TEST_F(KerasConv3dTest, Conv3dAndItsTransposeGradientsMatchFiniteDifferences) {
  const Tensor instances = Instances({4, 4, 4, 1});
  ASSERT_EQ(instances.batch_size(), 3);
  for (int64_t r = 0; r < 3; ++r) {
    SCOPED_TRACE("instance " + std::to_string(r));
    ExpectGradientMatchesFiniteDifferences(SliceRows(instances, r, r + 1), InputTensor(), OutputTensor(), 1, 1e-3);
  }
}

class KerasLstmTest : public FixtureModelTest {
 protected:
  void SetUp() override { LoadOrSkip("keras_lstm"); }
};

TEST_F(KerasLstmTest, GradientsFailNamingTheLoopAndTheAlternative) {
  auto result = model_->RunWithGradients(Request(Instances({5, 3}), {0, 0, 0}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "a loop, as in Keras LSTM")) << result.status().message();
  EXPECT_TRUE(Contains(result.status().message(), "unroll=True"));
  EXPECT_TRUE(Contains(result.status().message(), "Sampled Shapley"));
}

// --- no_gradient_op ---------------------------------------------------------------

class NoGradientOpTest : public FixtureModelTest {
 protected:
  void SetUp() override { LoadOrSkip("no_gradient_op"); }
};

TEST_F(NoGradientOpTest, ForwardPassWorks) {
  const Tensor x = Tensor::FromValues(DType::kFloat32, {1, 4}, {1, 2, 3, 4});
  auto outputs = model_->Run({{InputTensor(), x}}, {OutputTensor()});
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  // cumprod = [1, 2, 6, 24]; w = [1, -0.5, 2, 0.25].
  EXPECT_EQ((*outputs)[0].shape, (Shape{1, 1}));
  EXPECT_NEAR((*outputs)[0].values[0], 1 - 1 + 12 + 6, 1e-5);
}

TEST_F(NoGradientOpTest, GradientsFailNamingTheOpAndTheAlternative) {
  const Tensor x = Tensor::FromValues(DType::kFloat32, {1, 4}, {1, 2, 3, 4});
  auto result = model_->RunWithGradients(Request(x, {0}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "'Cumprod'"));
  EXPECT_TRUE(Contains(result.status().message(), "Sampled Shapley"));
  // Asking again fails the same way (nothing half-built is cached).
  auto again = model_->RunWithGradients(Request(x, {0}));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

// --- sparse_words / sparse_matmul: a SparseTensor input seen as dense ---------------

// score = w.x + 0.25 on the dense view, as saved in the sparse fixtures.
constexpr float kSparseWeights[6] = {1.5f, -2.0f, 0.5f, 3.0f, -1.0f, 2.5f};
const std::vector<std::vector<float>> kSparseRows = {
    {2, 0, 5, 0, 1, 0}, {0, 0, 0, 0, 0, 0}, {-1.5f, 0, 0, 4, 0, 0.5f}};

class SparseWordsTest : public FixtureModelTest {
 protected:
  void SetUp() override { LoadOrSkip("sparse_words"); }

  const TensorInfo& Output(const std::string& key) const {
    for (const TensorInfo& t : OnlySignature().outputs) {
      if (t.key == key) return t;
    }
    ADD_FAILURE() << "no output " << key;
    return OnlySignature().outputs.at(0);
  }

  static double Score(const std::vector<float>& x) {
    double y = 0.25;
    for (int i = 0; i < 6; ++i) y += kSparseWeights[i] * x[i];
    return y;
  }
};

TEST_F(SparseWordsTest, TheSparseInputIsNamedByItsValuesTensorWithItsDenseShape) {
  const TensorInfo& words = OnlySignature().inputs.at(0);
  EXPECT_EQ(words.key, "words");
  EXPECT_TRUE(words.is_sparse());
  EXPECT_EQ(words.tensor_name, "words/values:0");
  EXPECT_EQ(words.sparse_indices_tensor, "words/indices:0");
  EXPECT_EQ(words.sparse_dense_shape_tensor, "words/shape:0");
  EXPECT_EQ(words.dtype, DType::kFloat32);
  EXPECT_EQ(words.shape, (Shape{-1, 6}));
  EXPECT_FALSE(Output("score").is_sparse());
}

TEST_F(SparseWordsTest, RunFeedsTheNonzeroElementsOfADenseBatch) {
  auto outputs = model_->Run({{InputTensor(), Float32Batch(kSparseRows)}}, {Output("score").tensor_name});
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  ASSERT_EQ((*outputs)[0].values.size(), kSparseRows.size());
  for (size_t r = 0; r < kSparseRows.size(); ++r) {
    ExpectNearFloat32((*outputs)[0].values[r], Score(kSparseRows[r]), "score row " + std::to_string(r));
  }
}

TEST_F(SparseWordsTest, GradientsAreScatteredBackToTheDenseView) {
  GradientRequest request = Request(Float32Batch(kSparseRows), {0, 0, 0});
  request.target = Output("score").tensor_name;
  auto result = model_->RunWithGradients(request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->gradients.size(), 1u);
  const Tensor& g = result->gradients[0];
  EXPECT_EQ(g.shape, (Shape{3, 6}));
  for (size_t r = 0; r < kSparseRows.size(); ++r) {
    for (int i = 0; i < 6; ++i) {
      // Present elements get d score / d x_i = w_i; absent ones are not fed
      // and get 0 (the all-zero row 1 has no element at all).
      const double expected = kSparseRows[r][i] != 0 ? kSparseWeights[i] : 0.0;
      ExpectNearFloat32(g.values[r * 6 + i], expected, "row " + std::to_string(r) + " element " + std::to_string(i));
    }
  }
}

TEST_F(SparseWordsTest, ABatchThatIsNotNumericIsRefusedNamingTheInput) {
  Tensor strings(DType::kString, {1, 6});
  auto outputs = model_->Run({{InputTensor(), strings}}, {Output("score").tensor_name});
  ASSERT_FALSE(outputs.ok());
  EXPECT_EQ(outputs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(outputs.status().message(), "sparse input 'words'"));
}

class SparseMatmulTest : public FixtureModelTest {
 protected:
  void SetUp() override { LoadOrSkip("sparse_matmul"); }
};

TEST_F(SparseMatmulTest, ForwardPassWorksButGradientsNameTheOpWithoutOne) {
  auto outputs = model_->Run({{InputTensor(), Float32Batch(kSparseRows)}}, {OutputTensor()});
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  ExpectNearFloat32((*outputs)[0].values[0], 0.25 + 2 * 1.5 + 5 * 0.5 - 1, "score row 0");
  auto result = model_->RunWithGradients(Request(Float32Batch(kSparseRows), {0, 0, 0}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "'SparseTensorDenseMatMul'"));
  EXPECT_TRUE(Contains(result.status().message(), "Sampled Shapley"));
}

// --- models refused at load: keras_unrestored_variables, py_function, unregistered_op --

// Loading `fixture` fails with FailedPrecondition, and the message holds every phrase.
void ExpectLoadingRefused(const std::string& fixture, const std::vector<std::string>& phrases) {
  StatusOr<std::string> dir = FixtureDir(fixture);
  if (!dir.ok()) GTEST_SKIP() << dir.status().message();
  auto loaded = LoadSavedModelRuntime(*dir);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kFailedPrecondition) << loaded.status().ToString();
  for (const std::string& phrase : phrases) {
    EXPECT_TRUE(Contains(loaded.status().message(), phrase)) << "no '" << phrase << "' in: " << loaded.status().message();
  }
}

TEST(UnrestoredVariablesTest, LoadingFailsNamingTheVariablesAndTheKerasExport) {
  ExpectLoadingRefused("keras_unrestored_variables", {"read 2 variables that loading the SavedModel does not restore",
                                                      "kernel", "keras.export.ExportArchive"});
}

TEST(UnrunnableOpsTest, PythonCallbackIsRefusedAtLoadNamingTheOpAndWhatToDo) {
  ExpectLoadingRefused("py_function", {"an op that cannot run here, so every run would fail",
                                       "'EagerPyFunc' (in function '__inference_", "tf.py_function",
                                       "Write that step with TensorFlow ops"});
}

// The op is in a function body, which TensorFlow's loader reads only at the
// first run: without the check the model loads and every run fails.
TEST(UnrunnableOpsTest, OpTensorFlowDoesNotKnowIsRefusedAtLoadNamingIt) {
  ExpectLoadingRefused("unregistered_op", {"'CustomSin' (in function '__inference_",
                                           "not one of TensorFlow's own ops", "TensorFlow Text"});
}

// --- loading failures (no fixtures needed) -------------------------------------------

TEST(LoadSavedModelRuntimeTest, NonexistentDirectoryIsNamed) {
  const TempDir root("xai_runtime_test");
  const std::string dir = (root.path() / "no_such_model").string();
  auto loaded = LoadSavedModelRuntime(dir);
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(Contains(loaded.status().message(), dir));
}

TEST(LoadSavedModelRuntimeTest, EmptySavedModelFileIsAnErrorNamingTheDirectory) {
  const TempDir dir("xai_runtime_test");
  dir.Write("saved_model.pb", "");
  auto loaded = LoadSavedModelRuntime(dir.path().string());
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(Contains(loaded.status().message(), dir.path().string()));
  EXPECT_TRUE(Contains(loaded.status().message(), "saved_model.pb holds no MetaGraph at all"));
}

}  // namespace
}  // namespace xai
