// xaiserve_bench_load: HTTP load on a running `xaiserve serve`, from C++ so
// that on a 2-core machine the client costs little next to the server (a
// Python client's per-request overhead was a large share of a small model's
// request time). Each of --clients threads holds one keep-alive connection
// (cpp-httplib client, TCP_NODELAY) and POSTs the same body, after --warmup
// unrecorded requests, until --seconds pass or --requests requests (in total)
// were sent. Any non-200 response is an error. Prints one JSON object:
// requests, errors, elapsed seconds, requests/s, latency median/p50/p99 (ms).
//
//   xaiserve_bench_load --port P --path /v1/models/M:explain --body FILE
//                       [--host 127.0.0.1] [--clients 1] [--seconds 5 | --requests N] [--warmup 1]
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_common.h"

namespace xai::bench {
namespace {

constexpr char kUsage[] =
    "usage: xaiserve_bench_load --port P --path PATH --body FILE [--host H] [--clients N]\n"
    "                           [--seconds S | --requests N] [--warmup N] [--latencies]\n";

double Percentile(std::vector<double> sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t index = static_cast<size_t>(std::lround(q * static_cast<double>(sorted.size() - 1)));
  return sorted[std::min(index, sorted.size() - 1)];
}

int Main(int argc, char** argv) {
  const auto flags = ParseFlags(argc, argv, kUsage);
  const std::string host = Flag(flags, "host", "127.0.0.1");
  const int port = std::stoi(Flag(flags, "port", "0"));
  const std::string path = Flag(flags, "path", "");
  const int clients = std::stoi(Flag(flags, "clients", "1"));
  const double seconds = std::stod(Flag(flags, "seconds", "5"));
  const long max_requests = std::stol(Flag(flags, "requests", "0"));  // 0: bounded by time
  const int warmup = std::stoi(Flag(flags, "warmup", "1"));
  if (port <= 0 || path.empty() || clients < 1) Die("--port, --path and --clients >= 1 are required");
  std::ifstream in(Flag(flags, "body", ""), std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) Die("cannot read --body");
  const std::string body = text.str();

  std::mutex mutex;
  std::vector<double> latencies;
  std::atomic<long> started{0}, errors{0};
  std::string first_error;
  // Every client finishes its warm-up before the clock starts.
  std::atomic<int> warmed{0};
  std::atomic<bool> go{false};
  std::chrono::steady_clock::time_point begin, stop_at;

  auto work = [&] {
    httplib::Client client(host, port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    client.set_read_timeout(600, 0);
    client.set_write_timeout(600, 0);
    auto post = [&](std::vector<double>* mine) {
      const auto start = std::chrono::steady_clock::now();
      auto response = client.Post(path, body, "application/json");
      const double ms = MillisecondsSince(start);
      if (!response || response->status != 200) {
        ++errors;
        std::lock_guard<std::mutex> lock(mutex);
        if (first_error.empty()) {
          first_error = response ? "HTTP " + std::to_string(response->status) + ": " + response->body.substr(0, 300)
                                 : "request failed: " + httplib::to_string(response.error());
        }
      } else if (mine) {
        mine->push_back(ms);
      }
    };
    for (int i = 0; i < warmup; ++i) post(nullptr);
    ++warmed;
    while (!go) std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::vector<double> mine;
    while (true) {
      if (max_requests > 0 ? started++ >= max_requests : std::chrono::steady_clock::now() >= stop_at) break;
      post(&mine);
    }
    std::lock_guard<std::mutex> lock(mutex);
    latencies.insert(latencies.end(), mine.begin(), mine.end());
  };

  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) threads.emplace_back(work);
  while (warmed < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  begin = std::chrono::steady_clock::now();
  stop_at = begin + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  go = true;
  for (std::thread& thread : threads) thread.join();
  const double elapsed = MillisecondsSince(begin) / 1000.0;

  std::vector<double> sorted = latencies;
  std::sort(sorted.begin(), sorted.end());
  Json result = {{"clients", clients},
                 {"requests", latencies.size()},
                 {"errors", errors.load()},
                 {"seconds", elapsed},
                 {"requests_per_second", elapsed > 0 ? static_cast<double>(latencies.size()) / elapsed : 0.0},
                 {"median_ms", Median(sorted)},
                 {"p50_ms", Percentile(sorted, 0.50)},
                 {"p99_ms", Percentile(sorted, 0.99)}};
  if (flags.count("latencies")) result["latencies_ms"] = latencies;
  if (!first_error.empty()) result["first_error"] = first_error;
  std::cout << result.dump() << std::endl;
  return errors > 0 ? 1 : 0;
}

}  // namespace
}  // namespace xai::bench

int main(int argc, char** argv) { return xai::bench::Main(argc, argv); }
