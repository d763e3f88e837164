// A second listening port for the probes, apart from the API's workers:
// GET (or HEAD) /healthz, /readyz and /metrics, answered by the same route
// functions (routes.h) on two threads of its own. On the API's port these
// wait for a worker like any request, so while every worker runs a long
// explanation a liveness probe there times out and an orchestrator restarts
// a server that is only busy (`xaiserve serve --probe-port`). Any other request
// gets an error (404 for another path) in the usual JSON. Its requests are not in the access log or the
// request metrics: probes every few seconds would drown both.
//
// Owned by HttpServer; Start() and Stop() may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "core/status.h"
#include "http/routes.h"

namespace xai {

class DeadlineHttpServer;

class ProbeServer {
 public:
  // `context` must outlive the server (its registry and metrics are read);
  // so must `stopping` (null: never), set once the server is stopping, from
  // when /readyz answers 503.
  ProbeServer(const RouteContext& context, const std::atomic<bool>* stopping);
  ~ProbeServer();  // stops it and joins its thread
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;

  // Binds host:port (0: a free port). UNAVAILABLE naming the address if it cannot.
  Status Bind(const std::string& host, int port);
  int port() const { return port_; }
  // Serves on a thread of its own until Stop(); needs a successful Bind.
  void Start();
  void Stop();

 private:
  const RouteContext& context_;
  const std::atomic<bool>* stopping_;
  std::unique_ptr<DeadlineHttpServer> server_;
  std::thread thread_;
  int port_ = -1;
};

}  // namespace xai
