#include "http/http_server.h"

#include <httplib.h>
#include <strings.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "core/text.h"
#include "core/utc_time.h"
#include "http/client_deadlines.h"
#include "http/content_coding.h"
#include "http/error_mapping.h"
#include "serving/server_log.h"

namespace xai {
namespace {

using Clock = std::chrono::steady_clock;

// What the access log and the metrics need to know about the request this
// worker thread is handling. cpp-httplib runs the pre-routing handler, the
// route handler and the logger of one request on one thread, in that order,
// so a thread-local carries it from the first to the last.
struct RequestTrace {
  bool started = false;  // the pre-routing handler ran (the request line and headers parsed)
  Clock::time_point start;
  double queued_seconds = 0;  // the wait for a worker before it (every one was busy)
  bool handled = false;  // HandleRequest ran
  std::string model;
  std::string method_label;
  int64_t path_points = 0;
};
thread_local RequestTrace t_trace;

// A client's bytes (path, method) for a log line: bytes that could break the
// line or drive a terminal (controls, escapes, carriage returns) are %-escaped.
std::string LoggableText(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f || c == '%') {
      char escaped[4];
      std::snprintf(escaped, sizeof(escaped), "%%%02X", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out.size() > 300 ? out.substr(0, 300) + "..." : out;
}

std::string UtcNow() { return Rfc3339Utc(std::chrono::system_clock::now()); }

// One access-log line, as every request gets one:
//   TIME CLIENT METHOD PATH model=M method=L status=S latency_ms=T [queued_ms=Q] [path_points=N] [(NOTE)]
// with "-" for what is unknown. Queued whole for stderr (server_log.h), so
// that the lines of concurrent requests do not mix and a stalled reader of
// stderr does not stall the workers.
struct AccessLogEntry {
  std::string client, http_method, path, model, label;
  int status = 0;
  double seconds = 0;         // queued_seconds included
  double queued_seconds = 0;  // waiting for a worker; shown from 0.1 ms
  int64_t path_points = 0;
  std::string note;  // e.g. "the client did not take the response"
};

void WriteAccessLogLine(const AccessLogEntry& e) {
  auto or_dash = [](const std::string& text) { return text.empty() ? std::string("-") : text; };
  char latency[32], queued[32];
  std::snprintf(latency, sizeof(latency), "%.1f", e.seconds * 1000);
  std::snprintf(queued, sizeof(queued), "%.1f", e.queued_seconds * 1000);
  const std::string line = UtcNow() + " " + or_dash(e.client) + " " + or_dash(e.http_method) + " " +
                           or_dash(e.path) + " model=" + or_dash(e.model) + " method=" + e.label +
                           " status=" + std::to_string(e.status) + " latency_ms=" + latency +
                           (e.queued_seconds >= 0.00005 ? std::string(" queued_ms=") + queued : "") +
                           (e.path_points > 0 ? " path_points=" + std::to_string(e.path_points) : "") +
                           (e.note.empty() ? "" : " (" + e.note + ")");
  ServerLog(line);
}

// The request's body framing (error_mapping.h) from its headers.
BodyFraming FramingOf(const httplib::Request& req, size_t max_body_bytes) {
  const bool has_length = req.has_header("Content-Length"), has_encoding = req.has_header("Transfer-Encoding");
  const std::string length = has_length ? req.get_header_value("Content-Length") : "";
  for (size_t i = 1; i < req.get_header_value_count("Content-Length"); ++i) {
    if (req.get_header_value("Content-Length", i) == length) continue;
    // RFC 9112 6.3: where the body ends cannot be known.
    return {BodyFraming::kRefused,
            {400, "INVALID_ARGUMENT", "the request has two Content-Length headers that disagree; send one"}};
  }
  // Two Transfer-Encoding lines are one list (RFC 9110 §5.3): "chunked" then
  // "gzip" is "chunked, gzip", whose body's end cannot be found.
  std::string encoding;
  for (size_t i = 0; i < req.get_header_value_count("Transfer-Encoding"); ++i) {
    encoding += (i == 0 ? "" : ", ") + req.get_header_value("Transfer-Encoding", i);
  }
  return FramingOfBody(has_length ? &length : nullptr, has_encoding ? &encoding : nullptr, max_body_bytes);
}

// True if a Connection header's list of options holds "close", in any case.
bool AsksToClose(std::string_view header) {
  for (size_t start = 0; start <= header.size();) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    std::string_view option = header.substr(start, end - start);
    while (!option.empty() && (option.front() == ' ' || option.front() == '\t')) option.remove_prefix(1);
    while (!option.empty() && (option.back() == ' ' || option.back() == '\t')) option.remove_suffix(1);
    if (option.size() == 5 && strncasecmp(option.data(), "close", 5) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Answers `error` and ends the connection after it.
void RefuseAndClose(const HttpError& error, httplib::Response& res) {
  res.status = error.http_status;
  DeadlineHttpServer::CloseConnectionAfter(res);
  res.set_content(ErrorBody(error), "application/json");
}

int DefaultThreads() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(std::max(16u, 4 * cores));
}

}  // namespace

HttpServer::HttpServer(RouteContext context, HttpServerOptions options)
    : context_(std::move(context)), options_(std::move(options)) {
  Metrics* metrics = context_.metrics;
  // A request answered before it was parsed: cpp-httplib logs nothing then.
  // (Its time runs from when the wait for it began, after any wait for a worker.)
  auto on_unparsed = [metrics](const std::string& client, int status, double seconds) {
    metrics->RecordRequest("", "unparsed", status, seconds);
    AccessLogEntry entry;
    entry.client = client;
    entry.label = "unparsed";
    entry.status = status;
    entry.seconds = seconds;
    entry.note = status == 408 ? "no whole request in time" : status == 414 ? "request line past 64 KiB"
                                                                            : "headers past 64 KiB";
    WriteAccessLogLine(entry);
  };
  threads_ = options_.threads > 0 ? options_.threads : DefaultThreads();
  server_ = std::make_unique<DeadlineHttpServer>(
      std::chrono::milliseconds(static_cast<int64_t>(options_.client_timeout_seconds * 1000)), threads_, on_unparsed);
  body_gate_ = std::make_unique<BodyMemoryGate>(2 * options_.max_body_bytes);
  Configure();
}

HttpServer::~HttpServer() = default;

void HttpServer::Configure() {
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_keep_alive_max_count(1000);
  server_->set_keep_alive_timeout(options_.keep_alive_seconds);
  // Responses are written as headers, then body: without TCP_NODELAY, Nagle
  // holds the body back until the client's delayed ACK (40 ms on Linux) on
  // every reused keep-alive connection.
  server_->set_tcp_nodelay(true);
  // cpp-httplib's default also sets SO_REUSEPORT, with which a second server
  // on the same port started as well and the kernel split the connections
  // between the two: SO_REUSEADDR alone makes the second one fail to listen.
  server_->set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  // What cpp-httplib would otherwise get wrong, fixed before it acts:
  // - no response here is a resource that parts can be asked of, so a Range
  //   header is ignored (RFC 9110 §14.2); cpp-httplib cut the body to the
  //   range and still said 200;
  // - a target in absolute form (through a proxy) is routed by its path; it
  //   got 404;
  // - content codings as RFC 9110 reads them (content_coding.h).
  server_->set_request_setup([](httplib::Request& req) {
    req.ranges.clear();
    req.path = OriginFormPath(req.path);
    // Replaces a header the request has with `rewrite` of its value (left out if "" and `drop_empty`).
    auto rewrite_header = [&req](const char* name, std::string (*rewrite)(std::string_view), bool drop_empty) {
      if (!req.has_header(name)) return;
      const std::string value = rewrite(req.get_header_value(name));
      req.headers.erase(name);
      if (!value.empty() || !drop_empty) req.headers.emplace(name, value);
    };
    rewrite_header("Content-Encoding", NormalizedContentEncoding, /*drop_empty=*/true);
    rewrite_header("Accept-Encoding", AcceptableEncodings, /*drop_empty=*/false);
  });

  Metrics* metrics = context_.metrics;
  const size_t max_body = options_.max_body_bytes;
  server_->set_pre_routing_handler([metrics, max_body](const httplib::Request& req, httplib::Response& res) {
    t_trace = RequestTrace{};
    t_trace.started = true;
    t_trace.start = Clock::now();
    t_trace.queued_seconds = DeadlineHttpServer::TakeQueueWaitSeconds();
    metrics->RequestStarted();
    // A method without a route (CONNECT, TRACE, PRI) is 501 at once, before
    // anything reads a body: cpp-httplib expects one with PRI, and waited
    // the whole client timeout for it (then 408) when none came. Whatever
    // follows on the connection is no request of this API.
    if (!IsServedMethod(req.method)) {
      RefuseAndClose(MethodNotImplementedError(req.method), res);
      return httplib::Server::HandlerResponse::Handled;
    }
    // Header fields RFC 9112 says to refuse (error_mapping.h: HeaderFault);
    // the connection is closed, as where the request ends is in doubt.
    std::vector<std::pair<std::string, std::string>> headers(req.headers.begin(), req.headers.end());
    if (std::optional<HttpError> fault = HeaderFault(headers, req.version)) {
      RefuseAndClose(*fault, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    // "Connection: Close" or "keep-alive, close" asks to close as much as
    // "close" does (RFC 9110 §7.6.1: a case-insensitive list), the only
    // spelling cpp-httplib heeds.
    if (AsksToClose(req.get_header_value("Connection"))) DeadlineHttpServer::CloseConnectionAfter(res);
    // cpp-httplib reads no body of GET, HEAD or OPTIONS, nor a chunked one
    // of DELETE: left on the connection, it was parsed as the next request
    // ("abcdeGET ..." -> 400). Such a request is refused and the connection
    // closed (routes.h has no use for those bodies).
    const bool read_by_handler = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                                 (req.method == "DELETE" && req.has_header("Content-Length"));
    if (read_by_handler) return httplib::Server::HandlerResponse::Unhandled;  // with_body frames it
    const BodyFraming framing = FramingOf(req, max_body);
    const bool has_body = framing.kind == BodyFraming::kChunked || framing.kind == BodyFraming::kRefused ||
                          (framing.kind == BodyFraming::kLength && framing.length > 0);
    if (!has_body) return httplib::Server::HandlerResponse::Unhandled;
    RefuseAndClose(framing.kind == BodyFraming::kRefused
                       ? framing.error
                       : HttpError{400, "INVALID_ARGUMENT", req.method + " takes no body here; send it without one"},
                   res);
    return httplib::Server::HandlerResponse::Handled;
  });

  // The request as routes.h sees it -> the response; records what the log needs.
  auto dispatch = [this](const httplib::Request& req, std::string body, httplib::Response& res) {
    HttpRequest request;
    request.method = req.method;
    request.path = req.path;
    request.body = std::move(body);
    request.client_gone = &DeadlineHttpServer::ClientGone;
    for (const auto& [name, value] : req.headers) request.headers.emplace(AsciiLowercase(name), value);
    DeadlineHttpServer::HandlingStarts();
    const BodyMemoryGate::Ticket memory = body_gate_->Enter(request.body.size());  // held until the answer is made
    HttpResponse response = HandleRequest(context_, request);
    res.status = response.status;
    for (const auto& [name, value] : response.headers) res.set_header(name, value);
    res.set_content(std::move(response.body), response.content_type.c_str());
    DeadlineHttpServer::ResponseReady();
    t_trace.handled = true;
    t_trace.model = std::move(response.model);
    t_trace.method_label = std::move(response.method_label);
    t_trace.path_points = response.path_points;
  };
  auto without_body = [dispatch](const httplib::Request& req, httplib::Response& res) { dispatch(req, "", res); };
  // Bodies are read through a content reader, as raw bytes: the API takes
  // JSON whatever the Content-Type says (`curl -d` sends a form type, whose
  // bodies cpp-httplib would otherwise parse as a form and cap at 8 KiB).
  // The payload limit still applies (413).
  auto with_body = [dispatch, max_body](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader) {
    // How long the body is must be known from the headers: without either
    // header cpp-httplib would read until the client closes, which a client
    // waiting for its answer never does (curl -X POST without -d).
    const BodyFraming framing = FramingOf(req, max_body);
    // cpp-httplib reads chunk sizes leniently ("0x10", "10zz") and does not
    // check the CRLF after a chunk's data, and a body framed by both headers
    // is framed differently by other servers (RFC 9112 §6.3): bytes a proxy
    // took for this body could be read here as a request of their own. So
    // the connection ends with this request's response.
    if (framing.kind == BodyFraming::kChunked) DeadlineHttpServer::CloseConnectionAfter(res);
    if (framing.kind == BodyFraming::kNone) return dispatch(req, "", res);  // routes.h: "the body is empty"
    // A body too large but of a known length is read and dropped by the
    // reader below (413 after it, the connection kept); the header alone
    // refuses it under Expect: 100-continue, before the client sends it.
    if (framing.kind == BodyFraming::kRefused && framing.error.http_status != 413) {
      return RefuseAndClose(framing.error, res);  // the body, if any, is left unread
    }
    const std::string coding = req.get_header_value("Content-Encoding");  // normalized above
    if (std::optional<HttpError> unsupported = UnsupportedContentCoding(coding)) {
      res.set_header("Accept-Encoding", kRequestCodings);
      return RefuseAndClose(*unsupported, res);  // the body is left unread
    }
    if (req.is_multipart_form_data()) {
      return RefuseAndClose({400, "INVALID_ARGUMENT",
                             "send the request body as JSON (Content-Type: application/json), not as "
                             "multipart/form-data"},
                            res);  // the body is left unread
    }
    std::string body;
    bool too_large = false;
    const bool read = reader([&body, &too_large, max_body](const char* data, size_t size) {
      // cpp-httplib caps a body of known length, but not a chunked one.
      too_large = size > max_body - std::min(max_body, body.size());
      if (too_large) return false;
      body.append(data, size);
      return true;
    });
    if (too_large) return RefuseAndClose(BodyTooLargeError(max_body, coding), res);  // the rest is left unread
    if (!read) {  // too large (the reader set 413), cut short, too slow (408, by the error handler), or undecodable
      if (res.status <= 400 && !coding.empty() && !DeadlineHttpServer::ThisRequestTimedOut()) {
        return RefuseAndClose(UndecodableBodyError(coding), res);
      }
      if (res.status < 400) res.status = 400;
      return;
    }
    dispatch(req, std::move(body), res);
  };
  // A client that asks before sending its body (Expect: 100-continue, as curl
  // does for large ones) hears at once if the body is refused.
  server_->set_expect_100_continue_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    const BodyFraming framing = FramingOf(req, max_body);
    if (framing.kind != BodyFraming::kRefused) return 100;
    RefuseAndClose(framing.error, res);
    return framing.error.http_status;
  });
  // Every path and method goes to routes.h, which answers 404 and 405 itself.
  server_->Get(".*", without_body);
  server_->Delete(".*", without_body);
  server_->Options(".*", without_body);
  server_->Post(".*", with_body);
  server_->Put(".*", with_body);
  server_->Patch(".*", with_body);
  server_->Delete(".*", with_body);

  // Errors cpp-httplib produces itself (body too large, malformed request,
  // a request that did not arrive in time) get the same JSON body as every
  // other error.
  const double client_timeout = options_.client_timeout_seconds;
  const double pause = std::chrono::duration<double>(server_->read_timeout()).count();
  server_->set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body, client_timeout, pause](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // already a JSON error
        if (DeadlineHttpServer::ThisRequestTimedOut()) res.status = 408;
        if (DeadlineHttpServer::ThisRequestHeaderTooLarge()) res.status = 431;
        if (res.status == 400 && DeadlineHttpServer::ThisRequestHeaderLineTooLong()) {
          res.status = 431;
          DeadlineHttpServer::CloseConnectionAfter(res);
          res.set_content(ErrorBody({431, "INVALID_ARGUMENT",
                                     "a header line is 8 KiB or longer, more than the server reads; shorten it "
                                     "(the request line and headers may take 64 KiB in all)"}),
                          "application/json");
          return httplib::Server::HandlerResponse::Handled;
        }
        // cpp-httplib answers 400 to a method it has no handler for (TRACE,
        // CONNECT) or does not know; where the request line is otherwise well
        // formed (a target and an HTTP version), that is 501 (RFC 9110 §9.1).
        const bool request_line_read = !req.target.empty() && req.version.rfind("HTTP/", 0) == 0;
        if (res.status == 400 && request_line_read && !req.method.empty() && !IsServedMethod(req.method)) {
          res.status = 501;
          DeadlineHttpServer::CloseConnectionAfter(res);
          res.set_content(ErrorBody(MethodNotImplementedError(req.method)), "application/json");
          return httplib::Server::HandlerResponse::Handled;
        }
        // A request cpp-httplib could not parse (400, 414) or that came too
        // late, or one it refused before reading its body (416: a malformed
        // Range; the body's bytes would run as the next request): what
        // follows on the connection is no request to trust.
        if (res.status == 400 || res.status == 408 || res.status == 414 || res.status == 416 || res.status == 431) {
          DeadlineHttpServer::CloseConnectionAfter(res);
        }
        const HttpError error = res.status == 413   ? BodyTooLargeError(max_body)
                                : res.status == 408 ? RequestTimeoutError(client_timeout, pause)
                                                    : HttpLevelError(res.status);
        res.set_content(ErrorBody(error), "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));

  ModelRegistry* registry = context_.registry;
  // Every response that cpp-httplib writes, once it has added its own headers
  // (errors and refusals too), just before it is written.
  server_->set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // RFC 9110 §6.6.1: an origin server with a clock sends Date.
    if (!res.has_header("Date")) res.set_header("Date", HttpDateNow());
    // cpp-httplib compresses any body for a client that accepts it, refusals
    // included, so every response varies with Accept-Encoding.
    if (!res.has_header("Vary")) res.set_header("Vary", "Accept-Encoding");
    // cpp-httplib says "Accept-Ranges: bytes" on a HEAD, but every answer is
    // whole (a Range header is ignored), so no range is offered.
    res.headers.erase("Accept-Ranges");
    // The connection ends after this response when the server is draining
    // for a stop (a next request would find it closed), or when the client
    // has already closed its side (a half-close after its request: the 499
    // of an explanation it left), as well as where a Connection header is
    // set already: by CloseConnectionAfter, or by cpp-httplib for a client's
    // "Connection: close" and the last request keep-alive allows.
    if (stop_requested_ || DeadlineHttpServer::ClientGone()) DeadlineHttpServer::CloseConnectionAfter(res);
    // cpp-httplib also ends an HTTP/1.0 connection whose client did not send
    // "Connection: Keep-Alive" (that spelling, RFC 9112 §9.3), yet said
    // "Keep-Alive: timeout=..." on it; and it keeps one that did without
    // saying so, which an HTTP/1.0 client must hear (RFC 7230 §A.1.2).
    const bool http10 = req.version == "HTTP/1.0";
    const bool closes = res.has_header("Connection") || (http10 && req.get_header_value("Connection") != "Keep-Alive");
    if (closes) {
      DeadlineHttpServer::SayConnectionCloseOnce(res);
    } else if (http10) {  // (no Connection header here: it would have made `closes`)
      res.headers.emplace("Connection", "keep-alive");
    }
    // nginx's code for a client that left before its answer (error_mapping.h).
    if (res.status == 499) DeadlineHttpServer::SetReasonPhrase(res, "Client Closed Request");
  });
  server_->set_logger([metrics, registry](const httplib::Request& req, const httplib::Response& res) {
    DeadlineHttpServer::SendResponse();  // the client need not wait for the log line
    const RequestTrace trace = std::exchange(t_trace, RequestTrace{});
    // A request that never got to routing (a 408 in its headers) is timed
    // from its first byte. Either way the wait for a worker is added: a client
    // waited that long too.
    const double queued = trace.started ? trace.queued_seconds : DeadlineHttpServer::TakeQueueWaitSeconds();
    const double seconds = queued + (trace.started ? std::chrono::duration<double>(Clock::now() - trace.start).count()
                                                   : DeadlineHttpServer::SecondsSinceThisRequestStarted());
    std::string model = trace.model, label = trace.method_label;
    if (!trace.handled) {  // refused before routing (e.g. 413): label it from the path
      const Route route = ParseRoute(req.path);
      label = RouteLabel(route);
      model = !route.model.empty() && registry->Snapshot(route.model) ? route.model : "";
    }
    const bool not_taken = DeadlineHttpServer::ThisResponseFailed();
    if (trace.started) metrics->RequestFinished();
    metrics->RecordRequest(model, label, res.status, seconds);
    if (not_taken) metrics->RecordResponseNotTaken(model, label);
    if (trace.path_points > 0) metrics->AddPathPoints(model, label, trace.path_points);
    AccessLogEntry entry;
    entry.client = !req.remote_addr.empty() ? req.remote_addr : DeadlineHttpServer::ThisClientAddress();
    entry.http_method = LoggableText(req.method);
    entry.path = LoggableText(req.path);
    entry.model = model;
    entry.label = label;
    entry.status = res.status;
    entry.seconds = seconds;
    entry.queued_seconds = queued;
    entry.path_points = trace.path_points;
    if (not_taken) entry.note = "the client did not take the response";
    WriteAccessLogLine(entry);
  });
}

Status HttpServer::Bind() {
  errno = 0;
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
  } else {
    port_ = server_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) {
    const std::string reason = errno != 0 ? std::string(" (") + std::strerror(errno) + ")" : "";
    return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + reason +
                       "; choose another --port (0 picks a free one), or a --host that names an address of this "
                       "machine (127.0.0.1, ::1, 0.0.0.0 for all)");
  }
  if (options_.probe_port >= 0) {
    // A probe port that stops accepting ends the server, as the API's port
    // does: probes refused while the API serves on would have an
    // orchestrator restart it without a word of why; a supervisor sees
    // serve exit 1 with the reason instead.
    probe_ = std::make_unique<ProbeServer>(context_, &stop_requested_, [this](const Status& failure) {
      ServerLog("xaiserve: " + failure.message() + "; stopping the server (the requests in flight finish first)");
      Stop();
    });
    XAI_RETURN_IF_ERROR(probe_->Bind(options_.host, options_.probe_port));
  }
  // Not fatal: with cpp-httplib's backlog of 5, bursts of connections only wait longer.
  if (!server_->WidenListenBacklog(SOMAXCONN)) {
    ServerLog(std::string("xaiserve: warning: could not widen the listen backlog: ") + std::strerror(errno));
  }
  return OkStatus();
}

std::string HttpServer::url() const {
  const bool ipv6 = options_.host.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(port_);
}

Status HttpServer::Serve() {
  if (port_ <= 0) return FailedPrecondition("HttpServer::Serve called before a successful Bind");
  if (stop_requested_) return OkStatus();
  if (probe_) probe_->Start();
  // Returns after stop(): the listening socket is closed, then the worker
  // pool is shut down, which waits for the connections it is serving. The
  // probes are answered until then. It also returns, false, when accept()
  // fails in a way cpp-httplib does not retry: the server then stops
  // serving, and must not exit as if asked to.
  const bool listened = server_->Listen();
  if (probe_) probe_->Stop();
  // The pool is started before any connection is accepted: nothing was served.
  if (const std::error_code error = server_->thread_error()) {
    return Unavailable("cannot start " + std::to_string(threads_) + " HTTP worker threads (--threads " +
                       std::to_string(threads_) + "): " + error.message() +
                       ". The system refused a thread: this user may be at its limit of processes (ulimit -u), or "
                       "the process at its limit of memory for thread stacks (ulimit -v); give a lower --threads, "
                       "or raise those limits");
  }
  if (!listened && !stop_requested_) {
    return Unavailable(std::string("the server stopped accepting connections: accept() failed (") +
                       std::strerror(server_->accept_error()) +
                       "); the requests in flight were finished. Restart it; if this recurs, see whether the "
                       "system is short of file descriptors or socket memory (ENFILE, ENOBUFS, ENOMEM)");
  }
  if (probe_ && !probe_->failure().ok()) {
    return Unavailable(probe_->failure().message() +
                       ", so the server stopped; the requests in flight were finished. Restart it; " +
                       probe_->failure_advice());
  }
  return OkStatus();
}

void HttpServer::Stop() {
  stop_requested_ = true;
  // Also before Serve() has reached its accept loop, even from Serve()'s own
  // thread (a probe port that could not start): Listen() then returns at once.
  server_->Stop();
}

}  // namespace xai
