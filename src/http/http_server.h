// The HTTP wiring of the server: the routes (routes.h) on cpp-httplib. Owns
// the listening socket and a pool of worker threads; adds what routes.h does
// not know of: the body-size limit (413 before the body is read into memory),
// one access-log line per request on stderr (time, client, method, path,
// model, explanation method, status, latency, path points), the request
// metrics, and a graceful stop (stop accepting, let requests in flight
// finish, then Serve() returns).
//
// cpp-httplib's keep-alive connections each hold a worker thread while open,
// so the pool is sized for concurrent connections, not for cores: model runs
// already spread over the cores through TensorFlow's own thread pools. A
// client must send each request, and take each response, within the client
// timeout (client_deadlines.h), so slow clients cannot keep the workers.
//
// With a probe port, /healthz, /readyz and /metrics are also answered on a
// port of their own, by threads that the API's requests cannot take
// (probe_server.h).
//
// Thread-safe: Stop() may be called from any thread (e.g. a signal watcher)
// while Serve() runs on another.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"
#include "http/body_memory_gate.h"
#include "http/probe_server.h"
#include "http/routes.h"

namespace xai {

class DeadlineHttpServer;

inline constexpr size_t kDefaultMaxBodyBytes = 16 << 20;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see port() after Bind)
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  int threads = 0;  // worker threads; 0: max(16, 4 x cores)
  int keep_alive_seconds = 2;  // an idle connection closes after this (also bounds how long a stop waits for idle clients)
  double client_timeout_seconds = 30;  // to send a whole request from its first byte, and to take a response
  int probe_port = -1;  // >= 0: also serve /healthz, /readyz, /metrics there (probe_server.h); 0: any free port
};

class HttpServer {
 public:
  HttpServer(RouteContext context, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port. UNAVAILABLE naming the address if it cannot.
  Status Bind();
  int port() const { return port_; }
  // "http://127.0.0.1:8080" with the bound port.
  std::string url() const;
  int threads() const { return threads_; }
  // The probe port after Bind, or -1 without one.
  int probe_port() const { return probe_ ? probe_->port() : -1; }

  // Serves until Stop(); returns once the requests in flight have finished.
  // UNAVAILABLE naming the error if accept() failed for good first, on the
  // API's port or the probe port (the requests in flight are finished then
  // too).
  Status Serve();
  // Stops accepting connections; Serve() then drains and returns.
  void Stop();

 private:
  void Configure();

  RouteContext context_;
  HttpServerOptions options_;
  int threads_ = 0;
  int port_ = -1;
  std::unique_ptr<DeadlineHttpServer> server_;
  // Large bodies handled at once hold at most 2 x max_body_bytes (body_memory_gate.h).
  std::unique_ptr<BodyMemoryGate> body_gate_;
  std::atomic<bool> stop_requested_{false};
  // With options_.probe_port >= 0; serves until the API's port has drained.
  // Declared last: it reads stop_requested_ until it is destroyed.
  std::unique_ptr<ProbeServer> probe_;
};

}  // namespace xai
