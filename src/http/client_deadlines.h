// cpp-httplib's Server with a deadline on each exchange with a client, so a
// slow or stalled client cannot hold a worker thread for long: cpp-httplib
// alone bounds each read and write (5 s), not a whole request, so a client
// that sends one byte every few seconds would keep a worker as long as it
// liked, and a handful of such clients would take every worker.
//
// Per connection: a request (its line, headers and body) must arrive within
// `client_timeout` of its first byte, and a response must be taken within
// `client_timeout` of being ready. A request that misses its deadline gets a
// 408 JSON error and the connection is closed; a client that does not take
// its response in time is reset (what the kernel still queued for it is
// dropped). Handling a request (running the model) has no deadline: it is the
// server's own work. Between requests, keep-alive's idle timeout applies.
// A response's writes are held and sent together (SendResponse), so its
// headers and body leave in one send.
//
// The route handlers, which run on the connection's worker thread, say when
// handling starts and when the response is ready (HandlingStarts /
// ResponseReady); ThisRequestTimedOut tells the error handler to answer 408.
// Idle connections do not hold workers while others wait for one: a
// connection waiting for its client's next request (or first one) is parked
// (connection_parking.h) as soon as another connection is queued for a
// worker, and handed back to the workers when its client sends. With no one
// waiting, an idle connection keeps its worker, as before: parking costs a
// hand-off between threads.
//
// Thread-safe as httplib::Server is; each request of a connection is served
// by one thread (successive requests may be served by different ones).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "http/connection_parking.h"

namespace xai {

// Now as an HTTP date, for the Date header (RFC 9110 §5.6.7: "Sun, 06 Nov
// 1994 08:49:37 GMT"; §6.6.1: an origin server with a clock sends it).
std::string HttpDateNow();

class DeadlineHttpServer : public httplib::Server {
 public:
  // `on_unparsed`: called on the worker thread when a request is answered
  // before cpp-httplib parsed it (it writes no access-log line then): 408
  // for a connection that missed its deadline, 414 or 431 for a request line
  // or headers past 64 KiB; with the client's address, the status, and how
  // long the server waited for that request (408) or read it, in seconds.
  // `threads` workers serve the requests (cpp-httplib's task queue).
  DeadlineHttpServer(std::chrono::milliseconds client_timeout, int threads,
                     std::function<void(const std::string& client_address, int status, double seconds)> on_unparsed);
  ~DeadlineHttpServer() override;

  std::chrono::milliseconds client_timeout() const { return client_timeout_; }
  // cpp-httplib's bound on one read (a pause in the middle of a request).
  std::chrono::milliseconds read_timeout() const;

  // On a worker thread, about the request it is serving (no-ops elsewhere).
  static void HandlingStarts();   // the request has arrived: no deadline while it is handled
  static void ResponseReady();    // the response must be taken within client_timeout from now
  static void SendResponse();     // sends what is written of the response now (it is held until then
                                  // or until the request ends, so headers and body leave together)
  static bool ThisRequestTimedOut();
  // Since this request's first byte, and its client's address: for a request
  // that ended before cpp-httplib parsed it (a 408 in its headers), when
  // neither the request trace nor req.remote_addr has them.
  static double SecondsSinceThisRequestStarted();
  // How long this worker's connection waited in the queue for a worker
  // before its current request, once: the first call for a request gives
  // it, later ones 0 (a kept-alive connection's next requests did not wait).
  static double TakeQueueWaitSeconds();
  static std::string ThisClientAddress();
  // The request line and headers passed 64 KiB (they are not read further).
  static bool ThisRequestHeaderTooLarge();
  static bool ThisRequestHeaderLineTooLong();  // one header line of 8 KiB or more (cpp-httplib's 400)
  static bool ThisResponseFailed();  // a write missed the deadline or failed: the client did not get it all
  // The client closed or reset the connection while its request is handled
  // (it stopped waiting), seen without reading what it may have pipelined.
  static bool ClientGone();
  // Ends the connection once `res` is sent, and says so in it ("Connection:
  // close"): after a request whose end cannot be trusted, or whose body is
  // left unread, the next bytes are no request.
  static void CloseConnectionAfter(httplib::Response& res);
  // Just before a response that ends its connection is written: one
  // "Connection: close" and no Keep-Alive beside it (a client's "close" gets
  // a second one from cpp-httplib, and CloseConnectionAfter's comes with
  // cpp-httplib's Keep-Alive).
  static void SayConnectionCloseOnce(httplib::Response& res);
  // Sends `reason` as the status line's reason phrase of `res`, the response
  // about to be written (also kept in res.reason): cpp-httplib 0.11.4 writes
  // the phrase of its own table whatever res.reason says, and "Internal
  // Server Error" for a code it does not know (499).
  static void SetReasonPhrase(httplib::Response& res, const std::string& reason);

  // Called with each request once its line and headers are parsed, before it
  // is routed or its body read: it may rewrite what cpp-httplib acts on.
  void set_request_setup(std::function<void(httplib::Request&)> setup) { request_setup_ = std::move(setup); }

  // After bind_to_port: lets `backlog` connections wait to be accepted
  // (cpp-httplib listens with 5, so a burst of clients waited for the
  // kernel's SYN retries, a second or more). False if the socket refused.
  bool WidenListenBacklog(int backlog);
  // listen_after_bind(), except that worker threads the system will not
  // start (the user's limit of processes, ulimit -u; no address space left
  // for their stacks, ulimit -v) end it, false, with thread_error() saying
  // why, before any connection is accepted; the thrown std::system_error
  // otherwise ended the process (std::terminate).
  bool Listen();
  // Stops accepting connections, whenever it is called: before Listen()
  // (which then returns true at once), while it runs (it returns once the
  // connections in flight are finished), or after. cpp-httplib's stop() does
  // nothing until its accept loop has begun, so a stop that came just before
  // was lost and the server served on.
  void Stop();
  // After Listen() returned false for that reason: the error of the thread
  // creation that failed (EAGAIN, as a rule); empty otherwise.
  std::error_code thread_error() const { return thread_error_; }
  // After listen_after_bind() returned false without a stop(): the errno of
  // the accept() that ended cpp-httplib's accept loop (it retries only EMFILE
  // and EINTR; on ENFILE, ENOBUFS, ENOMEM, EPERM... it closes the listening
  // socket and returns, once the connections in flight have finished).
  int accept_error() const { return accept_error_; }

 private:
  struct Connection;
  class WorkerQueue;

  // Serves one new connection (Serve).
  bool process_and_close_socket(socket_t sock) override;
  // Serves a connection: keep-alive requests until the client closes, the
  // keep-alive limits end it, a deadline is missed or the server stops; or
  // until it waits idle while other connections wait for a worker: then it is
  // parked, and served again (on any worker) when its client sends.
  void Serve(std::shared_ptr<Connection> connection);
  void Park(std::shared_ptr<Connection> connection);
  // A 408 for a request that did not arrive in time, written when
  // cpp-httplib wrote nothing (it had not parsed the request line).
  void AnswerUnparsed(Connection& connection, int status);
  void Close(Connection& connection);

  std::chrono::milliseconds client_timeout_;
  std::function<void(const std::string&, int, double)> on_unparsed_;
  std::function<void(httplib::Request&)> request_setup_;
  ConnectionParking parking_;
  std::atomic<int> queued_{0};                   // connections waiting for a worker
  std::atomic<WorkerQueue*> worker_queue_{nullptr};  // while listening
  std::atomic<int> accept_error_{0};
  std::error_code thread_error_;  // written and read on the thread that calls Listen()
};

}  // namespace xai
