// Cross-request batching of model runs: a ModelRuntime decorator that merges
// concurrent Run and RunWithGradients calls of the same kind into one run of
// the wrapped runtime. `xaiserve serve --cross-request-batching` puts it under
// the attribution methods (LoadOptions::batch_concurrent_runs), so the path
// points of concurrent explanations of one model share a model run: on a small
// model the cost of a run is mostly per-run overhead, and one run of 8 x 51
// rows is much cheaper than 8 runs of 51 rows.
//
// Measured (xaiserve_bench_load, 8 clients, default IG 50 steps, 2 cores
// shared with the load generator; README "The server"): tabular serves
// 5009-6462 requests/s with merging against 7157-10715 without, and the
// image model 108-137 against 118-167 (large convolution batches are no
// cheaper per row, and merged requests wait for the run in flight). Hence
// off by default.
//
// How calls are merged (no timer, no added latency):
//   - Calls merge when they have the same key: same kind (Run or
//     RunWithGradients), same fetches (or target and wrt), same feed tensor
//     names in the same order, and per feed the same dtype and row shape.
//     Calls with different keys never merge.
//   - A call whose key has no run in flight (fewer than
//     BatchingOptions::max_runs_in_flight, default 1) runs at once, alone.
//     Calls arriving while the key's runs are in flight queue up; when one
//     finishes, the queued calls (FIFO, up to BatchingOptions::max_rows rows
//     in all) run as one batch: feeds concatenated along dimension 0 (and
//     target_element likewise), outputs and gradients split back by row
//     ranges. A batch forms only from calls that would otherwise have waited.
//   - Never merged (run alone, at once): calls with no feeds, a rank-0 feed,
//     feeds that disagree on their number of rows, zero rows, more rows than
//     max_rows, a target_element not one per row, or a feed whose graph
//     tensor has a fixed first dimension (a fixed batch size). A call's
//     ArgmaxOfRow(r) entries (the output chosen in the run, as a default
//     explanation's first run does) are moved to its rows' place in the
//     merged run.
//
// With batching on, a short run keeps its ops' own work on TensorFlow's
// intra-op threads (RuntimeOptions::short_runs_entirely_in_caller_thread is
// off): done in the caller's thread, a small model's run is over in tens of
// microseconds, and concurrent calls almost never find one in flight to
// join. Tabular demo, 8 Python clients (tests/e2e/test_server_batching.py's
// work), merged runs after the first round of 80 requests and after five
// more, three servers each: 3, 4, 3 and 16, 4, 3 with the ops' work in the
// caller's thread; 17, 9, 11 and 39, 10, 25 with it on TensorFlow's threads.
//
// Merging assumes rows are independent (batch-first models), which the
// attribution methods already require of the explained output. A merged
// run's outputs must have the batch's rows as their first dimension; if one
// does not, the key is remembered as unmergeable and its calls run alone from
// then on (the calls of that batch are each run again, alone).
//
// Errors: a merged run that fails fails every call in it, with the wrapped
// runtime's status (a bad row in one request fails the others merged with it).
//
// Thread-safe, as ModelRuntime requires. The wrapped runtime must be
// thread-safe too; it is shared, and its other methods are forwarded.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "runtime/model_runtime.h"

namespace xai {

struct BatchingOptions {
  // Most rows in one merged run. A call with more rows runs alone.
  int64_t max_rows = 1024;
  // Runs of one key in flight at once (at least 1): a call finding fewer
  // runs at once; otherwise it queues and merges. (2 on 2 cores was no better
  // in the measurements above: tabular unchanged, image -3..-12%.)
  int max_runs_in_flight = 1;
};

// Counters since construction, and calls waiting now.
struct BatchingStats {
  int64_t calls = 0;         // Run and RunWithGradients calls received
  int64_t runs = 0;          // runs of the wrapped runtime made for them (a merged run whose
                             // outputs could not be split too, though it served no call)
  int64_t merged_runs = 0;   // runs that served two or more calls
  int64_t merged_calls = 0;  // calls served by those runs
  int64_t waiting = 0;       // calls queued now behind a run of their key
};

class BatchingRuntime final : public ModelRuntime {
 public:
  explicit BatchingRuntime(std::shared_ptr<ModelRuntime> wrapped, BatchingOptions options = {});
  BatchingRuntime(const BatchingRuntime&) = delete;
  BatchingRuntime& operator=(const BatchingRuntime&) = delete;

  const std::string& path() const override { return wrapped_->path(); }
  const std::vector<SignatureInfo>& signatures() const override { return wrapped_->signatures(); }
  bool is_tf1_graph() const override { return wrapped_->is_tf1_graph(); }
  int saved_custom_gradients() const override { return wrapped_->saved_custom_gradients(); }
  StatusOr<TensorInfo> DescribeTensor(const std::string& name) const override {
    return wrapped_->DescribeTensor(name);
  }
  StatusOr<std::vector<bool>> PrepareGradients(const std::string& target, const std::vector<std::string>& wrt) override {
    return wrapped_->PrepareGradients(target, wrt);
  }

  StatusOr<std::vector<Tensor>> Run(const std::vector<Feed>& feeds, const std::vector<std::string>& fetches) override;
  StatusOr<GradientResult> RunWithGradients(const GradientRequest& request) override;

  BatchingStats stats() const;

 private:
  // What must agree for calls to merge.
  struct Key {
    bool gradients = false;
    std::vector<std::string> outputs;  // Run: the fetches; RunWithGradients: the target, then wrt.
    std::vector<std::string> feed_names;
    std::vector<DType> feed_dtypes;
    std::vector<Shape> feed_row_shapes;
    bool operator<(const Key& other) const;
  };
  struct Call;
  // The calls of one key: how many runs are in flight, and who waits for the next.
  struct Queue {
    int in_flight = 0;
    std::vector<Call*> waiting;  // FIFO
  };

  // The call's key and (in `rows`) its number of rows, or nullopt if it must
  // run alone.
  std::optional<Key> MergeKey(const Call& call, int64_t* rows);
  // Whether the graph tensor `name` accepts any number of rows (cached).
  bool HasFreeBatchDimension(const std::string& name);
  StatusOr<std::vector<Tensor>> Submit(Call& call);
  // Runs `call` by itself on the wrapped runtime; its outputs as a flat list
  // (Run: the fetches; RunWithGradients: target value, then gradients).
  StatusOr<std::vector<Tensor>> RunAlone(const Call& call);
  // Runs `batch` (two or more calls) as one and stores each call's part of the
  // result in it. False if an output could not be split by rows.
  bool RunMerged(const std::vector<Call*>& batch);
  // Under mutex_, when a run of `queue` finished: the next batch of its
  // waiting calls (up to max_rows rows) is handed to its first call to run;
  // with none waiting, one run fewer is in flight (at none, the queue goes).
  void HandOff(std::map<Key, Queue>::iterator queue);

  const std::shared_ptr<ModelRuntime> wrapped_;
  const BatchingOptions options_;

  std::mutex mutex_;  // guards queues_ and unmergeable_, and every queued Call's state
  std::map<Key, Queue> queues_;  // keys with runs in flight
  std::set<Key> unmergeable_;    // keys whose merged outputs could not be split by rows

  std::mutex batch_dimension_mutex_;
  std::map<std::string, bool> free_batch_dimension_;  // graph tensor -> any number of rows accepted

  std::atomic<int64_t> calls_{0}, runs_{0}, merged_runs_{0}, merged_calls_{0}, waiting_{0};
};

}  // namespace xai
