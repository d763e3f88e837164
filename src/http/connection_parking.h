// Connections that wait for their client's next request without holding a
// worker thread. cpp-httplib serves each connection on one worker until it
// closes, idle or not, so with 16 workers a new client waited behind every
// connection that sent nothing (58.7 s behind 200 of them, session 17).
// DeadlineHttpServer parks an idle connection here when other connections
// are waiting for a worker; one thread watches every parked socket (epoll)
// and hands a connection back when its client sends, or expires it when its
// wait runs out. Pure POSIX, no HTTP: it knows sockets, deadlines and two
// callbacks. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace xai {

class ConnectionParking {
 public:
  using Clock = std::chrono::steady_clock;

  struct Parked {
    int sock = -1;
    // When the wait for the client runs out.
    Clock::time_point deadline;
    // The socket has something to read (a request, or the client's close): the
    // connection is handed back, e.g. to a worker queue. Must not block.
    std::function<void()> ready;
    // The deadline passed first (stopping false), or the parking stopped
    // (true): the connection is ended. Must not block for long.
    std::function<void(bool stopping)> expired;
  };

  // Starts the watching thread; fails only if the system has no epoll or
  // eventfd to give (then Park expires every connection at once).
  ConnectionParking();
  ~ConnectionParking();  // Stop()
  ConnectionParking(const ConnectionParking&) = delete;
  ConnectionParking& operator=(const ConnectionParking&) = delete;

  // Watches `parked.sock` until it is readable or its deadline passes; exactly
  // one of its callbacks is then called once, on the watching thread. After
  // Stop, `expired(true)` is called at once, on the caller's thread. A socket
  // must not be parked twice at once.
  void Park(Parked parked);

  // Expires every parked connection (stopping) and ends the thread; no
  // callback runs after it returns. Idempotent.
  void Stop();

  size_t parked() const;

 private:
  void Watch();
  // Under mutex_: wakes the watching thread to recompute its wait.
  void Wake() const;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd: written to wake the watching thread
  mutable std::mutex mutex_;
  std::map<int, Parked> parked_;  // by socket
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace xai
