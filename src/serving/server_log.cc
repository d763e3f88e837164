#include "serving/server_log.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "core/text.h"
#include "core/write_all.h"

namespace xai {
namespace {

constexpr std::chrono::milliseconds kGatherLines{10};

class StderrWriter {
 public:
  // Its thread is detached and the writer never destroyed: at exit the
  // thread may be blocked in write(2) for good, and joining it would hang.
  StderrWriter() { std::thread([this] { Loop(); }).detach(); }

  void Add(std::string line) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queued_bytes_ + line.size() + 1 > kMaxQueuedLogBytes) {
      ++dropped_;
      ++unreported_;
      return;
    }
    line.push_back('\n');
    queued_bytes_ += line.size();
    queue_.push_back(std::move(line));
    ++added_;
    ready_.notify_one();
  }

  bool Drain(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t target = added_;
    return written_cv_.wait_for(lock, timeout, [&] { return written_ >= target; });
  }

  int64_t dropped() {
    std::lock_guard<std::mutex> lock(mutex_);
    return dropped_;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      ready_.wait(lock, [&] { return !queue_.empty(); });
      // Lines of a busy server (the last write was a moment ago) are
      // gathered for a moment and written together: woken for each one, this
      // thread took the cores' time from the workers (8 clients on
      // tabular_mlp: about 12% fewer requests/s). A line after a quiet spell
      // goes out at once.
      if (std::chrono::steady_clock::now() - last_write_ < kGatherLines) {
        lock.unlock();
        std::this_thread::sleep_for(kGatherLines);
        lock.lock();
      }
      std::deque<std::string> lines;
      lines.swap(queue_);
      queued_bytes_ = 0;
      const int64_t unreported = std::exchange(unreported_, 0);
      const size_t batch = lines.size();
      lock.unlock();
      const BatchWritten written = WriteBatch(std::move(lines), unreported);
      lock.lock();
      if (!written.notice) unreported_ += unreported;
      dropped_ += written.refused;
      unreported_ += written.refused;
      last_write_ = std::chrono::steady_clock::now();
      written_ += batch;
      written_cv_.notify_all();
    }
  }

  struct BatchWritten {
    bool notice;      // the count of dropped lines got out
    int64_t refused;  // lines that stderr refused
  };

  // Writes the notice of `unreported` dropped lines, if any, and `lines`.
  // Lines that stderr refused (an error other than a full pipe) are counted,
  // the line cut short too, to be reported with the next lines that get out,
  // as are those the queue had no room for. Takes `lines` to free them here,
  // without the lock (up to kMaxQueuedLogBytes: ServerLog's callers waited).
  BatchWritten WriteBatch(std::deque<std::string> lines, int64_t unreported) {
    std::string text;
    if (mid_line_) text = "\n";  // the end of a line cut short by an error: never glue the next to it
    if (unreported > 0) {
      text += "xaiserve: " + std::to_string(unreported) +
              " log lines were dropped: stderr was not read while they came (see "
              "xaiserve_log_lines_dropped_total)\n";
    }
    const size_t notice_end = text.size();
    for (const std::string& line : lines) text += line;
    const size_t done = WriteAll(STDERR_FILENO, text).written;
    if (done > 0) mid_line_ = text[done - 1] != '\n';
    const auto unwritten = text.begin() + static_cast<std::ptrdiff_t>(std::max(done, notice_end));
    return {done >= notice_end, std::count(unwritten, text.end(), '\n')};
  }

  std::mutex mutex_;
  std::condition_variable ready_, written_cv_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  uint64_t added_ = 0, written_ = 0;
  int64_t dropped_ = 0, unreported_ = 0;
  bool mid_line_ = false;  // the last write ended within a line; the writer thread's own
  std::chrono::steady_clock::time_point last_write_{};
};

StderrWriter& Writer() {
  static StderrWriter* writer = new StderrWriter;
  return *writer;
}

}  // namespace

void ServerLog(std::string line) { Writer().Add(ForTerminal(line)); }

bool DrainServerLog(std::chrono::milliseconds timeout) { return Writer().Drain(timeout); }

int64_t ServerLogLinesDropped() { return Writer().dropped(); }

}  // namespace xai
