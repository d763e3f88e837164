// A fake ModelRuntime with analytic outputs and gradients, for tests of code
// that sits on the runtime interface (serving/batching_runtime). Rows are
// independent, as in a batch-first model:
//
//   feeds   x:0        float [rows, 3]   (or x_fixed:0, whose graph shape is
//                                          [4, 3]: a fixed batch size)
//           k:0        float [rows, 1]   optional per-row scale (default 1)
//           c:0        float []          optional scale for every row (rank 0)
//   fetches y:0        [rows, 2]: y[r] = (k * sum_j x[r, j], x[r, 0] * x[r, 1])
//           x:0        the fed x
//           s:0        [] : the sum of every x (not batch-first)
//   RunWithGradients: target y:0, wrt {x:0}; gradient row r of element 0 is
//           (k, k, k), of element 1 (x[r, 1], x[r, 0], 0); ArgmaxOfRow(q)
//           takes the larger element of row q's y (0 on a tie).
//
// A row holding kPoison fails the whole run (INVALID_ARGUMENT). Hold() makes
// every run block once it has started (recorded) until Release(), so tests can build
// contention without timing. Counts runs and their rows.
// Thread-safe. Header-only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "runtime/model_runtime.h"

namespace xai::testing {

class FakeModelRuntime : public ModelRuntime {
 public:
  static constexpr double kPoison = -999;

  const std::string& path() const override { return path_; }
  const std::vector<SignatureInfo>& signatures() const override { return signatures_; }
  bool is_tf1_graph() const override { return false; }
  StatusOr<TensorInfo> DescribeTensor(const std::string& name) const override {
    TensorInfo info;
    info.tensor_name = name;
    if (name == "x:0") info.shape = {-1, 3};
    else if (name == "x_fixed:0") info.shape = {4, 3};
    else if (name == "k:0") info.shape = {-1, 1};
    else if (name == "c:0") info.shape = {};
    else if (name == "y:0") info.shape = {-1, 2};
    else if (name == "s:0") info.shape = {};
    else return NotFound("fake runtime: no tensor '" + name + "'");
    return info;
  }
  StatusOr<std::vector<bool>> PrepareGradients(const std::string& target, const std::vector<std::string>& wrt) override {
    return std::vector<bool>(wrt.size(), true);
  }

  StatusOr<std::vector<Tensor>> Run(const std::vector<Feed>& feeds, const std::vector<std::string>& fetches) override {
    XAI_ASSIGN_OR_RETURN(Inputs in, Enter(feeds));
    std::vector<Tensor> out;
    for (const std::string& fetch : fetches) {
      if (fetch == "y:0") {
        out.push_back(Y(in));
      } else if (fetch == "x:0") {
        out.push_back(*in.x);
      } else if (fetch == "s:0") {
        double sum = 0;
        for (double v : in.x->values) sum += v;
        out.push_back(Tensor::FromValues(DType::kFloat32, {}, {sum}));
      } else {
        return NotFound("fake runtime: cannot fetch '" + fetch + "'");
      }
    }
    return out;
  }

  StatusOr<GradientResult> RunWithGradients(const GradientRequest& request) override {
    XAI_ASSIGN_OR_RETURN(Inputs in, Enter(request.feeds));
    if (request.target != "y:0" || request.wrt != std::vector<std::string>{"x:0"}) {
      return InvalidArgument("fake runtime: gradients only of y:0 with respect to x:0");
    }
    if (static_cast<int64_t>(request.target_element.size()) != in.rows) {
      return InvalidArgument("fake runtime: " + std::to_string(request.target_element.size()) +
                             " target elements for " + std::to_string(in.rows) + " rows");
    }
    GradientResult result;
    result.target_value = Y(in);
    for (int64_t e : request.target_element) {
      if (e >= 0) {
        result.chosen_element.push_back(e);
        continue;
      }
      const int64_t q = -1 - e;  // ArgmaxOfRow(q)
      if (q >= in.rows) return InvalidArgument("fake runtime: argmax of row " + std::to_string(q) + " of " + std::to_string(in.rows));
      const double* y = &result.target_value.values[2 * q];
      result.chosen_element.push_back(y[1] > y[0] ? 1 : 0);
    }
    Tensor g(in.x->dtype, in.x->shape);
    for (int64_t r = 0; r < in.rows; ++r) {
      const double* x = &in.x->values[3 * r];
      double* row = &g.values[3 * r];
      if (result.chosen_element[r] == 0) {
        row[0] = row[1] = row[2] = Scale(in, r);
      } else {
        row[0] = x[1];
        row[1] = x[0];
      }
    }
    result.gradients.push_back(std::move(g));
    return result;
  }

  // Runs block after starting until Release().
  void Hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = false;
    changed_.notify_all();
  }
  // Waits until `count` runs have started (in all); false if that has not
  // happened within `patience` (a guard against hanging, not a timing).
  bool WaitForStartedRuns(int count, std::chrono::seconds patience = std::chrono::seconds(60)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, patience, [&] { return static_cast<int>(run_rows_.size()) >= count; });
  }
  // The number of rows of every run, in the order they started.
  std::vector<int64_t> run_rows() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return run_rows_;
  }

 private:
  struct Inputs {
    const Tensor* x = nullptr;
    const Tensor* k = nullptr;
    double c = 1;
    int64_t rows = 0;
  };

  // Records the run and blocks while held, then checks the feeds.
  StatusOr<Inputs> Enter(const std::vector<Feed>& feeds) {
    Inputs in;
    for (const auto& [name, value] : feeds) {
      if (name == "x:0" || name == "x_fixed:0") in.x = &value;
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      run_rows_.push_back(in.x != nullptr && !in.x->shape.empty() ? in.x->shape[0] : -1);
      changed_.notify_all();
      changed_.wait(lock, [&] { return !held_; });
    }
    for (const auto& [name, value] : feeds) {
      if (name == "k:0") in.k = &value;
      else if (name == "c:0" && value.shape.empty()) in.c = value.values[0];
      else if (name != "x:0" && name != "x_fixed:0") {
        return InvalidArgument("fake runtime: unexpected feed '" + name + "' of shape " + ShapeToString(value.shape));
      }
    }
    if (in.x == nullptr || in.x->shape.size() != 2 || in.x->shape[1] != 3) {
      return InvalidArgument("fake runtime: feed x:0 of shape [rows, 3]");
    }
    in.rows = in.x->shape[0];
    if (in.k != nullptr && in.k->shape != Shape{in.rows, 1}) {
      return InvalidArgument("fake runtime: k:0 has shape " + ShapeToString(in.k->shape) + " for " +
                             std::to_string(in.rows) + " rows");
    }
    for (double v : in.x->values) {
      if (v == kPoison) return InvalidArgument("fake runtime: a row holds the poison value");
    }
    return in;
  }

  static double Scale(const Inputs& in, int64_t row) { return in.c * (in.k ? in.k->values[row] : 1.0); }

  static Tensor Y(const Inputs& in) {
    Tensor y(DType::kFloat32, {in.rows, 2});
    for (int64_t r = 0; r < in.rows; ++r) {
      const double* x = &in.x->values[3 * r];
      y.values[2 * r] = Scale(in, r) * (x[0] + x[1] + x[2]);
      y.values[2 * r + 1] = x[0] * x[1];
    }
    return y;
  }

  const std::string path_ = "/fake/model";
  const std::vector<SignatureInfo> signatures_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  std::vector<int64_t> run_rows_;
};

}  // namespace xai::testing
