#include "serving/batching_runtime.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <iterator>
#include <tuple>
#include <utility>

namespace xai {
namespace {

// A gradient run's results as one list: the target value, then the gradients.
std::vector<Tensor> Flatten(GradientResult result) {
  std::vector<Tensor> out;
  out.reserve(2 + result.gradients.size());
  out.push_back(std::move(result.target_value));
  for (Tensor& g : result.gradients) out.push_back(std::move(g));
  // Last, the element each row's gradient was taken of, as a tensor of the
  // rows, so that a merged run's are split back with its other outputs.
  Tensor chosen(DType::kInt64, {static_cast<int64_t>(result.chosen_element.size())});
  for (size_t r = 0; r < result.chosen_element.size(); ++r) {
    chosen.values[r] = static_cast<double>(result.chosen_element[r]);
  }
  out.push_back(std::move(chosen));
  return out;
}

// `options` with at least one run in flight (none would queue every call forever).
BatchingOptions WithRunsInFlight(BatchingOptions options) {
  options.max_runs_in_flight = std::max(options.max_runs_in_flight, 1);
  return options;
}

// Whether a tensor holds as many values as its shape says.
bool IsWellFormed(const Tensor& t) {
  const size_t held = t.dtype == DType::kString ? t.strings.size() : t.values.size();
  return static_cast<int64_t>(held) == t.num_elements();
}

}  // namespace

// One Run or RunWithGradients call, from its arrival to its result. Lives on
// the calling thread's stack; other threads touch it only while it waits.
struct BatchingRuntime::Call {
  enum class State {
    kQueued,    // waiting for a run of its key to finish
    kLead,      // asked to run `batch` (itself first)
    kDone,      // `result` holds its part of a merged run
    kRunAlone,  // its key turned out unmergeable: run by itself
  };

  explicit Call(const std::vector<Feed>& feeds) : feeds(feeds) {}

  const std::vector<Feed>& feeds;
  const std::vector<std::string>* fetches = nullptr;  // Run
  const GradientRequest* gradient = nullptr;          // RunWithGradients
  int64_t rows = 0;

  State state = State::kQueued;  // guarded by mutex_ while queued
  std::vector<Call*> batch;      // kLead
  StatusOr<std::vector<Tensor>> result = Internal("batching runtime: the call was never run");
  std::condition_variable wake;
};

bool BatchingRuntime::Key::operator<(const Key& other) const {
  return std::tie(gradients, outputs, feed_names, feed_dtypes, feed_row_shapes) <
         std::tie(other.gradients, other.outputs, other.feed_names, other.feed_dtypes, other.feed_row_shapes);
}

BatchingRuntime::BatchingRuntime(std::shared_ptr<ModelRuntime> wrapped, BatchingOptions options)
    : wrapped_(std::move(wrapped)), options_(WithRunsInFlight(options)) {}

StatusOr<std::vector<Tensor>> BatchingRuntime::Run(const std::vector<Feed>& feeds,
                                                   const std::vector<std::string>& fetches) {
  Call call(feeds);
  call.fetches = &fetches;
  return Submit(call);
}

StatusOr<GradientResult> BatchingRuntime::RunWithGradients(const GradientRequest& request) {
  Call call(request.feeds);
  call.gradient = &request;
  XAI_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, Submit(call));
  // Flatten's order: the target, the gradients, the chosen elements.
  GradientResult result;
  result.target_value = std::move(outputs.front());
  result.gradients.assign(std::make_move_iterator(outputs.begin() + 1), std::make_move_iterator(outputs.end() - 1));
  for (double element : outputs.back().values) result.chosen_element.push_back(static_cast<int64_t>(element));
  return result;
}

BatchingStats BatchingRuntime::stats() const {
  return {calls_.load(), runs_.load(), merged_runs_.load(), merged_calls_.load(), waiting_.load()};
}

std::optional<BatchingRuntime::Key> BatchingRuntime::MergeKey(const Call& call, int64_t* rows) {
  if (call.feeds.empty()) return std::nullopt;
  Key key;
  key.gradients = call.gradient != nullptr;
  if (call.gradient != nullptr) {
    key.outputs.push_back(call.gradient->target);
    key.outputs.insert(key.outputs.end(), call.gradient->wrt.begin(), call.gradient->wrt.end());
  } else {
    key.outputs = *call.fetches;
  }
  *rows = -1;
  for (const auto& [name, value] : call.feeds) {
    if (value.shape.empty() || !IsWellFormed(value)) return std::nullopt;
    if (*rows >= 0 && value.shape[0] != *rows) return std::nullopt;
    *rows = value.shape[0];
    key.feed_names.push_back(name);
    key.feed_dtypes.push_back(value.dtype);
    key.feed_row_shapes.push_back(value.row_shape());
  }
  if (*rows <= 0 || *rows > options_.max_rows) return std::nullopt;
  if (call.gradient != nullptr && static_cast<int64_t>(call.gradient->target_element.size()) != *rows) {
    return std::nullopt;
  }
  for (const Feed& feed : call.feeds) {
    if (!HasFreeBatchDimension(feed.first)) return std::nullopt;
  }
  return key;
}

bool BatchingRuntime::HasFreeBatchDimension(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(batch_dimension_mutex_);
    auto it = free_batch_dimension_.find(name);
    if (it != free_batch_dimension_.end()) return it->second;
  }
  // An unknown tensor is left to the wrapped runtime to report, alone.
  const StatusOr<TensorInfo> info = wrapped_->DescribeTensor(name);
  const bool free = info.ok() && (!info->rank_known || (!info->shape.empty() && info->shape[0] < 0));
  std::lock_guard<std::mutex> lock(batch_dimension_mutex_);
  free_batch_dimension_[name] = free;
  return free;
}

StatusOr<std::vector<Tensor>> BatchingRuntime::RunAlone(const Call& call) {
  ++runs_;
  if (call.gradient != nullptr) {
    XAI_ASSIGN_OR_RETURN(GradientResult result, wrapped_->RunWithGradients(*call.gradient));
    return Flatten(std::move(result));
  }
  return wrapped_->Run(call.feeds, *call.fetches);
}

bool BatchingRuntime::RunMerged(const std::vector<Call*>& batch) {
  const Call& first = *batch.front();
  int64_t total_rows = 0;
  for (const Call* call : batch) total_rows += call->rows;

  auto run = [&]() -> StatusOr<std::vector<Tensor>> {
    std::vector<Feed> feeds;
    for (size_t f = 0; f < first.feeds.size(); ++f) {
      std::vector<Tensor> parts;
      parts.reserve(batch.size());
      for (const Call* call : batch) parts.push_back(call->feeds[f].second);
      XAI_ASSIGN_OR_RETURN(Tensor merged, ConcatRows(parts));
      feeds.emplace_back(first.feeds[f].first, std::move(merged));
    }
    if (first.gradient != nullptr) {
      GradientRequest request{std::move(feeds), first.gradient->target, {}, first.gradient->wrt};
      // A call's ArgmaxOfRow(r) names its own row r: in the merged run, the
      // row r places after the call's first row.
      request.target_element.reserve(total_rows);
      int64_t first_row = 0;
      for (const Call* call : batch) {
        for (int64_t e : call->gradient->target_element) {
          request.target_element.push_back(e < 0 ? ArgmaxOfRow(first_row + (-1 - e)) : e);
        }
        first_row += call->rows;
      }
      XAI_ASSIGN_OR_RETURN(GradientResult result, wrapped_->RunWithGradients(request));
      return Flatten(std::move(result));
    }
    return wrapped_->Run(feeds, *first.fetches);
  };
  ++runs_;
  // Counted as merged once it has served its calls (its outputs, or its
  // error): a run whose outputs cannot be split served none, and each of
  // its calls runs again alone.
  auto served_as_merged = [this, &batch] {
    ++merged_runs_;
    merged_calls_ += static_cast<int64_t>(batch.size());
  };
  StatusOr<std::vector<Tensor>> outputs = run();
  if (!outputs.ok()) {
    for (Call* call : batch) call->result = outputs.status();
    served_as_merged();
    return true;
  }
  for (const Tensor& t : *outputs) {
    if (t.shape.empty() || t.shape[0] != total_rows || !IsWellFormed(t)) return false;
  }
  served_as_merged();
  int64_t begin = 0;
  for (Call* call : batch) {
    std::vector<Tensor> part;
    part.reserve(outputs->size());
    for (const Tensor& t : *outputs) part.push_back(SliceRows(t, begin, begin + call->rows));
    call->result = std::move(part);
    begin += call->rows;
  }
  return true;
}

void BatchingRuntime::HandOff(std::map<Key, Queue>::iterator queue) {
  std::vector<Call*>& waiting = queue->second.waiting;
  if (waiting.empty()) {
    if (--queue->second.in_flight == 0) queues_.erase(queue);
    return;
  }
  std::vector<Call*> next;
  int64_t rows = 0;
  size_t taken = 0;
  while (taken < waiting.size() && (next.empty() || rows + waiting[taken]->rows <= options_.max_rows)) {
    rows += waiting[taken]->rows;
    next.push_back(waiting[taken++]);
  }
  waiting.erase(waiting.begin(), waiting.begin() + taken);
  Call* leader = next.front();
  leader->batch = std::move(next);
  leader->state = Call::State::kLead;
  leader->wake.notify_one();
}

StatusOr<std::vector<Tensor>> BatchingRuntime::Submit(Call& call) {
  ++calls_;
  const std::optional<Key> key = MergeKey(call, &call.rows);
  if (!key) return RunAlone(call);

  std::unique_lock<std::mutex> lock(mutex_);
  if (unmergeable_.count(*key)) {
    lock.unlock();
    return RunAlone(call);
  }
  const auto queue = queues_.try_emplace(*key).first;  // map iterators stay valid until erased
  if (queue->second.in_flight < options_.max_runs_in_flight) {
    ++queue->second.in_flight;  // run at once, alone
    call.batch = {&call};
  } else {
    queue->second.waiting.push_back(&call);
    ++waiting_;
    call.wake.wait(lock, [&call] { return call.state != Call::State::kQueued; });
    --waiting_;
    if (call.state == Call::State::kDone) return std::move(call.result);
    if (call.state == Call::State::kRunAlone) {
      lock.unlock();
      return RunAlone(call);
    }
  }

  // This call leads call.batch (itself first), one of the key's runs in flight.
  const std::vector<Call*> batch = std::move(call.batch);
  lock.unlock();
  bool split = true;
  try {
    if (batch.size() == 1) {
      call.result = RunAlone(call);
    } else {
      split = RunMerged(batch);
    }
  } catch (const std::exception& e) {  // never leave the waiters hanging
    for (Call* c : batch) c->result = Internal(std::string("batched model run failed: ") + e.what());
  }
  lock.lock();
  if (!split) {
    // The outputs are not batch-first: this key never merges again. Every
    // call of the batch and every waiting one runs by itself.
    unmergeable_.insert(*key);
    for (Call* c : batch) {
      if (c != &call) c->state = Call::State::kRunAlone;
    }
    for (Call* c : queue->second.waiting) c->state = Call::State::kRunAlone;
    for (Call* c : batch) c->wake.notify_one();
    for (Call* c : queue->second.waiting) c->wake.notify_one();
    queue->second.waiting.clear();
    if (--queue->second.in_flight == 0) queues_.erase(queue);
    lock.unlock();
    return RunAlone(call);
  }
  for (Call* c : batch) {
    if (c == &call) continue;
    c->state = Call::State::kDone;
    c->wake.notify_one();
  }
  HandOff(queue);
  return std::move(call.result);
}

}  // namespace xai
