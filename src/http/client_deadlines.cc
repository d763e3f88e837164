#include "http/client_deadlines.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "http/error_mapping.h"

namespace xai {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often an idle wait checks whether the server is stopping, or whether
// other connections wait for a worker (and it should park).
constexpr milliseconds kIdleCheckInterval(10);

milliseconds FromSecondsAndMicros(time_t seconds, time_t micros) {
  return milliseconds(seconds * 1000 + (micros + 999) / 1000);
}

// "ip" and port of a socket's peer (or its own end), numeric.
void SocketAddress(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  const int got = peer ? getpeername(sock, reinterpret_cast<sockaddr*>(&address), &length)
                       : getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length);
  if (got != 0) return;
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&address), length, host, sizeof(host), service, sizeof(service),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return;
  }
  ip = host;
  port = std::atoi(service);
}

// A connection's socket as cpp-httplib's Stream, with every wait cut short by
// the connection's deadline, if one is set. Reads are buffered (the request
// line and headers are read a byte at a time). Small writes are held and sent
// together (Flush), so a response's headers and body leave in one send, not
// two; they are flushed before any read (a "100 Continue" must reach the
// client before its body is awaited) and once the response is written. A
// socket call is tried first and waited for only when it would block.
class DeadlineStream final : public httplib::Stream {
 public:
  // Reads both ends' addresses once: cpp-httplib asks for them every request.
  DeadlineStream(int sock, milliseconds read_timeout, milliseconds write_timeout, milliseconds client_timeout)
      : sock_(sock), read_timeout_(read_timeout), write_timeout_(write_timeout), client_timeout_(client_timeout) {
    SocketAddress(sock_, /*peer=*/true, peer_ip_, peer_port_);
    SocketAddress(sock_, /*peer=*/false, local_ip_, local_port_);
  }

  // A request's first byte is here (or due): it must all arrive within the client timeout.
  void StartRequest() {
    request_started_ = Clock::now();
    deadline_ = request_started_ + client_timeout_;
    bytes_written_ = 0;
    header_bytes_ = 0;
    header_end_match_ = 0;
    in_header_ = true;
    in_request_line_ = true;
    line_bytes_ = 0;
    header_line_too_long_ = false;
    reason_phrase_.clear();
  }
  void ClearDeadline() { deadline_.reset(); }
  void StartResponse() { deadline_ = Clock::now() + client_timeout_; }

  // A read missed the deadline (or cpp-httplib's per-read timeout): no more
  // reads; writes go on, so the client can be told.
  bool timed_out() const { return timed_out_; }
  double seconds_since_request_started() const {
    return std::chrono::duration<double>(Clock::now() - request_started_).count();
  }
  // The response being written says "Connection: close": the connection ends after it.
  void CloseAfterResponse() { close_after_response_ = true; }
  bool close_after_response() const { return close_after_response_; }
  // The next status line written ("HTTP/1.1 NNN ...") gets `reason` as its reason phrase.
  void ReplaceReasonPhrase(std::string reason) { reason_phrase_ = std::move(reason); }
  // A write missed the deadline (a client too slow to take its response) or failed.
  bool write_failed() const { return write_failed_; }
  // The request line and headers ran past kMaxHeaderBytes: no more reads.
  bool header_too_large() const { return header_too_large_; }
  // The request line is still being read.
  bool in_request_line() const { return in_request_line_; }
  // A header line reached kMaxHeaderLineBytes.
  bool header_line_too_long() const { return header_line_too_long_; }
  // Bytes of the current request's response written (sent or held).
  size_t bytes_written() const { return bytes_written_; }
  bool has_buffered_bytes() const { return buffered_begin_ < buffered_end_; }

  // Sends the held writes. False if the connection failed.
  bool Flush() const {
    size_t sent = 0;
    while (sent < held_.size()) {
      const ssize_t n = Send(held_.data() + sent, held_.size() - sent);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    const bool all = sent == held_.size();
    held_.clear();
    return all;
  }

  bool is_readable() const override { return has_buffered_bytes() || (Flush() && Wait(POLLIN, read_timeout_)); }
  bool is_writable() const override { return !write_failed_ && Wait(POLLOUT, write_timeout_); }

  ssize_t read(char* ptr, size_t size) override {
    if (!has_buffered_bytes()) {
      if (timed_out_ || header_too_large_ || !Flush()) return -1;
      if (size >= sizeof(buffer_) && !in_header_) return Receive(ptr, size);
      const ssize_t received = Receive(buffer_, sizeof(buffer_));
      if (received <= 0) return received;
      buffered_begin_ = 0;
      buffered_end_ = static_cast<size_t>(received);
    }
    const size_t n = std::min(size, buffered_end_ - buffered_begin_);
    if (in_header_ && !CountHeaderBytes(buffer_ + buffered_begin_, n)) return -1;
    std::memcpy(ptr, buffer_ + buffered_begin_, n);
    buffered_begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (write_failed_) return -1;
    // A reason phrase to put in (ReplaceReasonPhrase): cpp-httplib writes a
    // response's status line and headers in one write, so the line starts it.
    static constexpr size_t kStatusCodeEnd = sizeof("HTTP/1.1 NNN ") - 1;
    if (!reason_phrase_.empty() && size > kStatusCodeEnd && std::memcmp(ptr, "HTTP/1.1 ", 9) == 0) {
      const std::string_view head(ptr, size);
      const size_t line_end = head.find("\r\n");
      if (line_end != std::string_view::npos && line_end >= kStatusCodeEnd) {
        std::string rewritten(head.substr(0, kStatusCodeEnd));
        rewritten += reason_phrase_;
        rewritten += head.substr(line_end);
        reason_phrase_.clear();
        const ssize_t n = write(rewritten.data(), rewritten.size());
        return n == static_cast<ssize_t>(rewritten.size()) ? static_cast<ssize_t>(size) : -1;
      }
    }
    if (held_.size() + size <= kMaxHeldBytes) {
      held_.append(ptr, size);
      bytes_written_ += size;
      return static_cast<ssize_t>(size);
    }
    if (!Flush()) return -1;
    const ssize_t sent = Send(ptr, size);
    if (sent > 0) bytes_written_ += static_cast<size_t>(sent);
    return sent;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_ip_;
    port = peer_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = local_ip_;
    port = local_port_;
  }
  socket_t socket() const override { return sock_; }

 private:
  static constexpr size_t kMaxHeldBytes = 64 << 10;

  // cpp-httplib keeps every header line it reads, with no bound on their
  // number: 200,000 headers of 1 KB took 640 MB. The request line and
  // headers may take this many bytes (nginx allows 32 KiB by default).
  static constexpr size_t kMaxHeaderBytes = 64 << 10;
  // cpp-httplib's longest header line: a longer one fails its parse (400).
  static constexpr size_t kMaxHeaderLineBytes = 8192;

  // Counts `n` bytes handed out while the request line and headers are read,
  // watching for the blank line that ends them. False (and
  // header_too_large()) once they pass kMaxHeaderBytes.
  bool CountHeaderBytes(const char* bytes, size_t n) {
    static constexpr char kEnd[] = "\r\n\r\n";
    for (size_t i = 0; i < n && in_header_; ++i) {
      header_end_match_ = bytes[i] == kEnd[header_end_match_] ? header_end_match_ + 1 : (bytes[i] == '\r' ? 1 : 0);
      if (header_end_match_ == 4) in_header_ = false;
      if (bytes[i] == '\n') {
        in_request_line_ = false;
        line_bytes_ = 0;
      } else if (++line_bytes_ >= kMaxHeaderLineBytes && !in_request_line_) {
        header_line_too_long_ = true;
      }
      if (++header_bytes_ > kMaxHeaderBytes) {
        header_too_large_ = true;
        return false;
      }
    }
    return true;
  }

  ssize_t Receive(char* ptr, size_t size) const {
    return Retry(POLLIN, read_timeout_, [&] { return recv(sock_, ptr, size, MSG_DONTWAIT); });
  }
  ssize_t Send(const char* ptr, size_t size) const {
    if (write_failed_) return -1;
    return Retry(POLLOUT, write_timeout_, [&] { return send(sock_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT); });
  }

  // Makes `call` (a recv or send that does not block) until it does not fail
  // for want of data or room, waiting (Wait) between tries, never past the
  // deadline. A send that fails marks the writes failed.
  template <typename Call>
  ssize_t Retry(short events, milliseconds timeout, Call call) const {
    while (true) {
      if (PastDeadline(events)) return -1;
      const ssize_t n = call();
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        if (events == POLLOUT) write_failed_ = true;
        return -1;
      }
      if (!Wait(events, timeout)) return -1;
    }
  }

  // Marks the connection timed out (a read) or failed (a write) if the
  // deadline has passed.
  bool PastDeadline(short events) const {
    if (!deadline_ || Clock::now() < *deadline_) return false;
    Missed(events);
    return true;
  }
  void Missed(short events) const {
    if (events == POLLIN) {
      timed_out_ = true;
      deadline_.reset();  // the 408 reply is written under cpp-httplib's write timeout alone
    } else {
      write_failed_ = true;
    }
  }

  // Waits until the socket is ready for `events`, for at most `timeout` and
  // never past the deadline. False if it is not: a read that waited in vain
  // marks the connection timed out; a write, failed.
  bool Wait(short events, milliseconds timeout) const {
    const Clock::time_point give_up = Clock::now() + timeout;
    const Clock::time_point until = deadline_ ? std::min(give_up, *deadline_) : give_up;
    while (true) {
      const auto left = std::chrono::ceil<milliseconds>(until - Clock::now());
      pollfd fd{sock_, events, 0};
      const int ready = left.count() > 0 ? poll(&fd, 1, static_cast<int>(left.count())) : 0;
      if (ready > 0) return true;
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0 && Clock::now() < until) continue;  // poll woke early
      Missed(events);
      return false;
    }
  }

  const int sock_;
  const milliseconds read_timeout_, write_timeout_, client_timeout_;
  mutable std::optional<Clock::time_point> deadline_;
  Clock::time_point request_started_;  // the current request's first byte (StartRequest)
  mutable bool timed_out_ = false;
  mutable bool write_failed_ = false;
  bool close_after_response_ = false;
  size_t bytes_written_ = 0;
  bool in_header_ = true;  // the request line and headers are being read
  size_t header_bytes_ = 0;
  int header_end_match_ = 0;  // how much of "\r\n\r\n" the last bytes read end with
  bool header_too_large_ = false;
  bool in_request_line_ = true;
  size_t line_bytes_ = 0;  // of the line being read
  bool header_line_too_long_ = false;
  mutable std::string held_;  // writes not sent yet
  std::string reason_phrase_;  // for the next status line written (ReplaceReasonPhrase), if not empty
  char buffer_[4096];
  size_t buffered_begin_ = 0, buffered_end_ = 0;
  std::string peer_ip_, local_ip_;
  int peer_port_ = 0, local_port_ = 0;
};

thread_local DeadlineStream* t_connection = nullptr;
// How long the connection this worker took waited in the queue for it
// (TakeQueueWaitSeconds): every worker was busy.
thread_local Clock::duration t_queue_wait{};

// How long a connection the server ends (DeadlineHttpServer::
// CloseConnectionAfter) reads what its client still sends.
constexpr milliseconds kLingerOnClose{2000};

void LingerBeforeClose(int sock) {
  shutdown(sock, SHUT_WR);
  const Clock::time_point until = Clock::now() + kLingerOnClose;
  char scratch[16384];
  while (true) {
    const auto left = std::chrono::ceil<milliseconds>(until - Clock::now());
    if (left.count() <= 0) return;
    pollfd fd{sock, POLLIN, 0};
    const int ready = poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    if (recv(sock, scratch, sizeof scratch, 0) <= 0) return;  // the client closed too (or failed)
  }
}

enum class Waited {
  kRequest,  // its first byte is here
  kNone,     // the wait ran out, the server is stopping, or the socket failed
  kYield,    // other connections wait for a worker: park this one
};

// Waits, until `until` and while the server runs, for the next request's
// first byte, as long as no other connection waits for a worker. Once the
// server is stopping, a request whose bytes have already arrived (one that
// waited in the queue for a worker) is still taken: it is in flight, and was
// closed unanswered.
Waited WaitForRequest(const DeadlineStream& stream, int sock, Clock::time_point until,
                      const std::atomic<socket_t>& server_socket, const std::atomic<int>& queued) {
  if (stream.has_buffered_bytes()) return Waited::kRequest;  // pipelined
  while (server_socket != INVALID_SOCKET) {
    const auto left = std::chrono::ceil<milliseconds>(until - Clock::now());
    pollfd fd{sock, POLLIN, 0};
    const int ready = poll(&fd, 1, static_cast<int>(std::max<int64_t>(0, std::min(left, kIdleCheckInterval).count())));
    if (ready > 0) return Waited::kRequest;
    if (ready < 0 && errno != EINTR) return Waited::kNone;
    if (left.count() <= 0) return Waited::kNone;
    if (queued > 0) return Waited::kYield;
  }
  pollfd fd{sock, POLLIN, 0};
  return poll(&fd, 1, 0) > 0 ? Waited::kRequest : Waited::kNone;
}

// A whole error response for a request cpp-httplib never parsed (it then
// writes nothing itself): 408 for a client that timed out, 414 for a
// request line past kMaxHeaderBytes, 431 for headers past it.
std::string UnparsedRequestResponse(int status, milliseconds client_timeout, milliseconds read_timeout) {
  const HttpError error = status == 408
                              ? RequestTimeoutError(client_timeout.count() / 1000.0, read_timeout.count() / 1000.0)
                              : HttpLevelError(status);
  const std::string body = ErrorBody(error);
  const char* reason = status == 408 ? "Request Timeout" : status == 414 ? "URI Too Long" : "Request Header Fields Too Large";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\nDate: " + HttpDateNow() +
         "\r\nVary: Accept-Encoding\r\n\r\n" + body;  // Vary as on every other response
}

}  // namespace

std::string HttpDateNow() {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

// One connection between its requests: its stream (with what the client
// pipelined), how many requests keep-alive still allows, and the end of the
// wait for the next one (kept while it is parked).
struct DeadlineHttpServer::Connection {
  Connection(socket_t sock, milliseconds read_timeout, milliseconds write_timeout, milliseconds client_timeout,
             size_t requests)
      : sock(sock), stream(sock, read_timeout, write_timeout, client_timeout), requests_left(requests) {}
  const socket_t sock;
  DeadlineStream stream;
  size_t requests_left;
  std::optional<Clock::time_point> wait_until;
  Clock::time_point waiting_since;  // when the wait for the next request began
};

// The worker threads, counting the tasks (connections) that wait for a
// worker, and stopping the parking before the workers, so that no parked
// connection is handed to a queue that is gone. A pool of its own rather than
// cpp-httplib's ThreadPool: that one, when the system refused its Nth thread,
// destroyed the N-1 it had started while they ran, which ends the process
// (std::terminate) before the error can be reported; here they are stopped
// and the error goes on to Listen().
class DeadlineHttpServer::WorkerQueue final : public httplib::TaskQueue {
 public:
  WorkerQueue(DeadlineHttpServer* server, int threads) : server_(server) {
    try {
      for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
    } catch (const std::system_error&) {
      StopWorkers();
      throw;
    }
    server_->worker_queue_ = this;
  }
  ~WorkerQueue() override { StopWorkers(); }

  void enqueue(std::function<void()> task) override {
    ++server_->queued_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back([this, task = std::move(task), queued_at = Clock::now()] {
        --server_->queued_;
        t_queue_wait = Clock::now() - queued_at;
        task();
      });
    }
    wake_.notify_one();
  }
  // Called as soon as cpp-httplib's accept loop ends: after stop(), or on an
  // accept() error, whose errno is still set here (cpp-httplib has only
  // closed the listening socket since). It leaves that closed socket's
  // number in svr_sock_, and the connections took it as still listening
  // (they kept taking requests rather than draining): it is cleared.
  // The tasks queued still run (the connections in flight finish).
  void shutdown() override {
    server_->accept_error_ = errno;
    server_->svr_sock_ = INVALID_SOCKET;
    server_->parking_.Stop();  // parked connections end; no more hand-backs
    server_->worker_queue_ = nullptr;
    StopWorkers();
  }

 private:
  void Work() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, and nothing left to do
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  void StopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

  DeadlineHttpServer* const server_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

DeadlineHttpServer::DeadlineHttpServer(milliseconds client_timeout, int threads,
                                       std::function<void(const std::string&, int, double)> on_unparsed)
    : client_timeout_(client_timeout), on_unparsed_(std::move(on_unparsed)) {
  new_task_queue = [this, threads] { return new WorkerQueue(this, threads); };
}

DeadlineHttpServer::~DeadlineHttpServer() { parking_.Stop(); }

bool DeadlineHttpServer::Listen() {
  try {
    return listen_after_bind();
  } catch (const std::system_error& e) {
    // From WorkerQueue's constructor, before the accept loop: cpp-httplib has
    // accepted nothing, and the listening socket is left open (closed with
    // the server).
    thread_error_ = e.code();
    return false;
  }
}

void DeadlineHttpServer::Stop() {
  // As cpp-httplib's stop(), without its "if (is_running_)": the accept
  // loop checks svr_sock_ before each accept(), and shutdown() wakes one
  // waiting.
  const socket_t sock = svr_sock_.exchange(INVALID_SOCKET);
  if (sock == INVALID_SOCKET) return;
  shutdown(sock, SHUT_RDWR);
  close(sock);
}

void DeadlineHttpServer::HandlingStarts() {
  if (t_connection != nullptr) t_connection->ClearDeadline();
}

void DeadlineHttpServer::ResponseReady() {
  if (t_connection != nullptr) t_connection->StartResponse();
}

milliseconds DeadlineHttpServer::read_timeout() const {
  return FromSecondsAndMicros(read_timeout_sec_, read_timeout_usec_);
}

void DeadlineHttpServer::SendResponse() {
  if (t_connection != nullptr) t_connection->Flush();
}

bool DeadlineHttpServer::ThisRequestTimedOut() { return t_connection != nullptr && t_connection->timed_out(); }

double DeadlineHttpServer::TakeQueueWaitSeconds() {
  return std::chrono::duration<double>(std::exchange(t_queue_wait, Clock::duration{})).count();
}

double DeadlineHttpServer::SecondsSinceThisRequestStarted() {
  return t_connection != nullptr ? t_connection->seconds_since_request_started() : 0;
}

std::string DeadlineHttpServer::ThisClientAddress() {
  if (t_connection == nullptr) return "";
  std::string ip;
  int port = 0;
  t_connection->get_remote_ip_and_port(ip, port);
  return ip;
}

bool DeadlineHttpServer::ThisRequestHeaderTooLarge() {
  return t_connection != nullptr && t_connection->header_too_large();
}

bool DeadlineHttpServer::ThisRequestHeaderLineTooLong() {
  return t_connection != nullptr && t_connection->header_line_too_long();
}

void DeadlineHttpServer::CloseConnectionAfter(httplib::Response& res) {
  res.set_header("Connection", "close");
  if (t_connection != nullptr) t_connection->CloseAfterResponse();
}

void DeadlineHttpServer::SayConnectionCloseOnce(httplib::Response& res) {
  res.headers.erase("Connection");
  res.headers.erase("Keep-Alive");
  res.headers.emplace("Connection", "close");
}

void DeadlineHttpServer::SetReasonPhrase(httplib::Response& res, const std::string& reason) {
  res.reason = reason;
  if (t_connection != nullptr) t_connection->ReplaceReasonPhrase(reason);
}

bool DeadlineHttpServer::ClientGone() {
  if (t_connection == nullptr) return false;
  char byte;
  const ssize_t n = recv(t_connection->socket(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;  // end of stream: the client closed
  return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;  // e.g. reset
}

bool DeadlineHttpServer::ThisResponseFailed() { return t_connection != nullptr && t_connection->write_failed(); }

bool DeadlineHttpServer::WidenListenBacklog(int backlog) {
  // listen() again on a listening socket changes only its backlog (Linux).
  const socket_t sock = svr_sock_;
  return sock != INVALID_SOCKET && ::listen(sock, backlog) == 0;
}

bool DeadlineHttpServer::process_and_close_socket(socket_t sock) {
  Serve(std::make_shared<Connection>(sock, read_timeout(), FromSecondsAndMicros(write_timeout_sec_, write_timeout_usec_),
                                     client_timeout_, keep_alive_max_count_));
  return true;
}

void DeadlineHttpServer::Serve(std::shared_ptr<Connection> connection) {
  DeadlineStream& stream = connection->stream;
  t_connection = &stream;
  const milliseconds keep_alive_idle(keep_alive_timeout_sec_ * 1000);
  while (connection->requests_left > 0) {
    // A new connection's first request may come later than a kept-alive
    // one's next (a loaded client, a slow network): it gets as long as a
    // read may pause, and a 408 rather than a silent close if it never comes.
    const bool first = connection->requests_left == keep_alive_max_count_;
    if (!connection->wait_until) {
      connection->waiting_since = Clock::now();
      connection->wait_until = connection->waiting_since + (first ? std::max(keep_alive_idle, read_timeout()) : keep_alive_idle);
    }
    const Waited waited = WaitForRequest(stream, connection->sock, *connection->wait_until, svr_sock_, queued_);
    if (waited == Waited::kYield) {
      t_connection = nullptr;
      return Park(std::move(connection));
    }
    if (waited == Waited::kNone) {
      if (first && svr_sock_ != INVALID_SOCKET) AnswerUnparsed(*connection, 408);
      break;
    }
    connection->wait_until.reset();
    stream.StartRequest();
    bool closed = false;
    const bool ok = process_request(stream, /*close_connection=*/connection->requests_left == 1, closed, request_setup_);
    --connection->requests_left;
    stream.Flush();
    if (stream.timed_out()) {
      if (stream.bytes_written() == 0) AnswerUnparsed(*connection, 408);
      break;
    }
    // A request line past kMaxHeaderBytes ends cpp-httplib's reading with
    // no answer at all (headers past it get 431 through its error handler).
    if (!ok && stream.header_too_large() && stream.bytes_written() == 0) {
      AnswerUnparsed(*connection, stream.in_request_line() ? 414 : 431);
      break;
    }
    if (!ok || closed || stream.close_after_response()) break;
  }
  t_connection = nullptr;
  Close(*connection);
}

void DeadlineHttpServer::Park(std::shared_ptr<Connection> connection) {
  ConnectionParking::Parked parked;
  parked.sock = connection->sock;
  parked.deadline = *connection->wait_until;
  parked.ready = [this, connection] {
    // The queue is there: WorkerQueue::shutdown stops the parking first.
    worker_queue_.load()->enqueue([this, connection] { Serve(connection); });
  };
  parked.expired = [this, connection](bool stopping) {
    const bool first = connection->requests_left == keep_alive_max_count_;
    if (!stopping && first) AnswerUnparsed(*connection, 408);
    Close(*connection);
  };
  parking_.Park(std::move(parked));
}

void DeadlineHttpServer::AnswerUnparsed(Connection& connection, int status) {
  const std::string response = UnparsedRequestResponse(status, client_timeout_, read_timeout());
  for (size_t sent = 0; sent < response.size();) {
    const ssize_t n = connection.stream.write(response.data() + sent, response.size() - sent);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string ip;
  int port = 0;
  connection.stream.get_remote_ip_and_port(ip, port);
  if (on_unparsed_) {
    // A timed-out request is timed from when the wait for it began; one too
    // large, from its first byte.
    on_unparsed_(ip, status,
                 status == 408 ? std::chrono::duration<double>(Clock::now() - connection.waiting_since).count()
                               : connection.stream.seconds_since_request_started());
  }
}

void DeadlineHttpServer::Close(Connection& connection) {
  DeadlineStream& stream = connection.stream;
  const socket_t sock = connection.sock;
  stream.Flush();
  if (stream.write_failed()) {
    // Reset rather than close: the kernel would otherwise go on sending what
    // is queued (megabytes) to a client that takes it slowly.
    const linger reset{1, 0};
    setsockopt(sock, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  } else {
    // Closing on bytes not read (a refused body still arriving) makes the
    // kernel reset the connection, and a reset can discard the response
    // before the client reads it: so the answer is sent, the sending side
    // closed, and what the client still sends is read and dropped (at most
    // kLingerOnClose) before the socket closes.
    if (stream.close_after_response()) LingerBeforeClose(sock);
    shutdown(sock, SHUT_RDWR);
  }
  close(sock);
}

}  // namespace xai
