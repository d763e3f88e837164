#include "http/probe_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <utility>

#include "core/text.h"
#include "http/client_deadlines.h"
#include "http/error_mapping.h"

namespace xai {

namespace {

// A probe that is not answered at once is a failed probe: two threads serve
// the few connections an orchestrator and a metrics scraper keep, and a
// client gets a second for its whole request (a probe is one short line and
// a few headers), so that slow clients cannot keep the threads: idle
// connections are parked, as on the API's port (client_deadlines.h).
constexpr int kProbeThreads = 2;
constexpr std::chrono::milliseconds kProbeClientTimeout{1000};

// What to do about a failure(), for the message that ends the server.
constexpr char kAcceptAdvice[] =
    "if this recurs, see whether the system is short of file descriptors or socket memory (ENFILE, ENOBUFS, ENOMEM)";
constexpr char kThreadAdvice[] =
    "the system refused a thread: this user may be at its limit of processes (ulimit -u), or the process at its "
    "limit of memory for thread stacks (ulimit -v); give a lower --threads, or raise those limits";

bool IsProbePath(const std::string& path) { return path == "/healthz" || path == "/readyz" || path == "/metrics"; }

}  // namespace

ProbeServer::ProbeServer(const RouteContext& context, const std::atomic<bool>* stopping,
                         std::function<void(const Status&)> on_failure)
    : context_(context),
      stopping_(stopping),
      on_failure_(std::move(on_failure)),
      server_(std::make_unique<DeadlineHttpServer>(kProbeClientTimeout, kProbeThreads,
                                                   [](const std::string&, int, double) {})) {
  // One request per connection, as probes make them: no idle connection
  // holds a thread or delays a stop.
  server_->set_keep_alive_max_count(1);
  server_->set_read_timeout(1, 0);
  server_->set_write_timeout(1, 0);
  server_->set_payload_max_length(64 << 10);
  server_->set_tcp_nodelay(true);
  // SO_REUSEADDR without cpp-httplib's SO_REUSEPORT, as on the API's port: a
  // port in use (by that one, too) fails to bind instead of being shared.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // The probe routes only; the same functions as on the API's port (the
  // token, when set, is needed for /metrics there as here).
  server_->Get(R"(/(healthz|readyz|metrics))", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/readyz" && stopping_ != nullptr && *stopping_) {
      // The API's port takes no new connections once a stop has begun.
      res.status = 503;
      res.set_content(ErrorBody(ToHttpError(Unavailable("not ready: the server is stopping"))), "application/json");
      return;
    }
    HttpRequest request;
    request.method = req.method;  // GET, or HEAD answered as GET
    request.path = req.path;
    for (const auto& [name, value] : req.headers) request.headers.emplace(AsciiLowercase(name), value);
    HttpResponse response = HandleRequest(context_, request);
    res.status = response.status;
    for (const auto& [name, value] : response.headers) res.set_header(name, value);
    res.set_content(std::move(response.body), response.content_type.c_str());
  });
  // Another method on a probe path: 405, as on the API's port.
  auto not_get = [](const httplib::Request& req, httplib::Response& res) {
    if (!IsProbePath(req.path)) {
      res.status = 404;
      return;
    }
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content(ErrorBody(MethodNotAllowedError(req.method, req.path, "GET, HEAD")), "application/json");
  };
  server_->Post(".*", not_get);
  server_->Put(".*", not_get);
  server_->Patch(".*", not_get);
  server_->Delete(".*", not_get);
  server_->Options(".*", not_get);
  server_->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Date", HttpDateNow());  // RFC 9110 §6.6.1, as on the API's port
    // cpp-httplib compresses any body for a client that accepts it (/metrics
    // is large enough to matter), so every response varies with it.
    if (!res.has_header("Vary")) res.set_header("Vary", "Accept-Encoding");
    if (res.has_header("Connection")) DeadlineHttpServer::SayConnectionCloseOnce(res);
  });
  // A method without a route (PRI, CONNECT, TRACE) is 501 at once, before
  // anything reads a body: cpp-httplib expects one with PRI, and held one of
  // the probe's two threads for the whole second, then said 408. The error
  // handler below writes the answer; what follows on the connection is no probe.
  server_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (IsServedMethod(req.method)) return httplib::Server::HandlerResponse::Unhandled;
    res.status = 501;
    DeadlineHttpServer::CloseConnectionAfter(res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Anything else (another path, a method cpp-httplib does not know) is
  // refused with the usual JSON error, saying what this port is for.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // the routes' own answer (401 for /metrics, 503 from /readyz, 405)
    const bool late = DeadlineHttpServer::ThisRequestTimedOut();
    if (late) res.status = 408;
    if (!late && !IsServedMethod(req.method)) res.status = 501;
    HttpError error = late ? RequestTimeoutError(1, 1)
                           : res.status == 501 ? MethodNotImplementedError(req.method) : HttpLevelError(res.status);
    // (A POST or PUT without a length waits for a body until the second is out.)
    // The request as sent: cpp-httplib sets the path only once the whole
    // request line parsed, which "PRI * HTTP/2.0" (HTTP/2's preface) does
    // not, so the target is named then.
    const std::string& target = req.path.empty() ? req.target : req.path;
    error.message = late ? "the request did not arrive within 1 s; a probe is one short GET request"
                         : "'" + req.method + (target.empty() ? "" : " " + target) +
                               "' is not served on the probe port, which answers GET /healthz, /readyz and /metrics "
                               "only; the API is on --port";
    res.set_content(ErrorBody(error), "application/json");
  });
}

ProbeServer::~ProbeServer() { Stop(); }

Status ProbeServer::Bind(const std::string& host, int port) {
  errno = 0;
  port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    const std::string reason = errno != 0 ? std::string(" (") + std::strerror(errno) + ")" : "";
    return Unavailable("cannot listen for probes on " + host + ":" + std::to_string(port) + reason +
                       "; choose another --probe-port (0 picks a free one), apart from --port");
  }
  return OkStatus();
}

void ProbeServer::Start() {
  if (port_ <= 0 || thread_.joinable()) return;
  auto serve = [this] {
    const bool listened = server_->Listen();
    // False without a stop(): its worker threads could not be started, or
    // cpp-httplib's accept loop gave up on an accept() error it does not
    // retry (ENFILE, ENOBUFS, ENOMEM...) and closed the port; every probe
    // is refused from then on.
    if (listened || stop_called_) return;
    if (server_->thread_error()) {
      return Fail("cannot start its threads (" + server_->thread_error().message() + ")", kThreadAdvice);
    }
    Fail(std::string("stopped accepting connections: accept() failed (") + std::strerror(server_->accept_error()) + ")",
         kAcceptAdvice);
  };
  try {
    thread_ = std::thread(serve);
  } catch (const std::system_error& e) {
    Fail("cannot start its thread (" + e.code().message() + ")", kThreadAdvice);
  }
}

void ProbeServer::Fail(const std::string& what, const char* advice) {
  failure_ = Unavailable("the probe port " + std::to_string(port_) + " " + what);
  advice_ = advice;
  if (on_failure_) on_failure_(failure_);
}

void ProbeServer::Stop() {
  if (!thread_.joinable()) return;
  stop_called_ = true;
  server_->Stop();  // also before the thread has reached its accept loop
  thread_.join();
}

}  // namespace xai
