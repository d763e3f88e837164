// A second listening port for the probes, apart from the API's workers:
// GET (or HEAD) /healthz, /readyz and /metrics, answered by the same route
// functions (routes.h) on two threads of its own. On the API's port these
// wait for a worker like any request, so while every worker runs a long
// explanation a liveness probe there times out and an orchestrator restarts
// a server that is only busy (`xaiserve serve --probe-port`). Any other request
// gets an error (404 for another path) in the usual JSON. Its requests are not in the access log or the
// request metrics: probes every few seconds would drown both.
//
// When it stops serving for good on its own (accept() failing in a way
// cpp-httplib does not retry), it says so through `on_failure`: a probe port
// that refuses every probe while the API serves on would have an orchestrator
// restart the server with nobody told why.
//
// Owned by HttpServer; Start() and Stop() may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
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
  // when /readyz answers 503. `on_failure` (may be empty) is called on the
  // probe's thread, with failure(), if it stops serving before Stop().
  ProbeServer(const RouteContext& context, const std::atomic<bool>* stopping,
              std::function<void(const Status&)> on_failure = nullptr);
  ~ProbeServer();  // stops it and joins its thread
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;

  // Binds host:port (0: a free port). UNAVAILABLE naming the address if it cannot.
  Status Bind(const std::string& host, int port);
  int port() const { return port_; }
  // Serves on a thread of its own until Stop(); needs a successful Bind.
  // Its failing to (no thread to be had) goes to `on_failure`, as later ones do.
  void Start();
  void Stop();
  // After Stop(): UNAVAILABLE naming the probe port and why if it stopped
  // serving on its own (accept() failed for good, or its threads could not
  // be started); OK otherwise.
  Status failure() const { return failure_; }
  // What to do about it, for the user ("" if none).
  const std::string& failure_advice() const { return advice_; }

 private:
  // Records failure_ ("the probe port N " + what) and calls on_failure_.
  void Fail(const std::string& what, const char* advice);

  const RouteContext& context_;
  const std::atomic<bool>* stopping_;
  std::function<void(const Status&)> on_failure_;
  std::unique_ptr<DeadlineHttpServer> server_;
  std::thread thread_;
  std::atomic<bool> stop_called_{false};
  Status failure_;  // written by the probe's thread before it ends
  std::string advice_;
  int port_ = -1;
};

}  // namespace xai
