#include "http/probe_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "core/text.h"
#include "http/error_mapping.h"

namespace xai {

namespace {

// A probe that is not answered at once is a failed probe: two threads serve
// the few connections an orchestrator and a metrics scraper keep.
constexpr int kProbeThreads = 2;

}  // namespace

ProbeServer::ProbeServer(const RouteContext& context)
    : context_(context), server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [] { return new httplib::ThreadPool(kProbeThreads); };
  server_->set_keep_alive_timeout(2);
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->set_payload_max_length(0);
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
    HttpRequest request;
    request.method = req.method;  // GET, or HEAD answered as GET
    request.path = req.path;
    for (const auto& [name, value] : req.headers) request.headers.emplace(AsciiLowercase(name), value);
    HttpResponse response = HandleRequest(context_, request);
    res.status = response.status;
    for (const auto& [name, value] : response.headers) res.set_header(name, value);
    res.set_content(std::move(response.body), response.content_type.c_str());
  });
  // Anything else (another path, a method other than GET and HEAD, a body)
  // is refused with the usual JSON error, saying what this port is for.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    HttpError error = HttpLevelError(res.status);
    error.message = "'" + req.method + " " + req.path +
                    "' is not served on the probe port, which answers GET /healthz, /readyz and /metrics only; "
                    "the API is on --port";
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
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void ProbeServer::Stop() {
  if (!thread_.joinable()) return;
  // listen_after_bind may not have reached its loop yet: wait for it (a
  // while), as stop() before the loop would leave the loop running.
  for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server_->stop();
  thread_.join();
}

}  // namespace xai
