#include "http/connection_parking.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>
#include <vector>

namespace xai {

namespace {

// The longest the watching thread sleeps with nothing due.
constexpr std::chrono::milliseconds kLongestWait(1000);

}  // namespace

ConnectionParking::ConnectionParking() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    stopping_ = true;  // Park expires at once
    return;
  }
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake);
  thread_ = std::thread([this] { Watch(); });
}

ConnectionParking::~ConnectionParking() {
  Stop();
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ConnectionParking::Park(Parked parked) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      epoll_event event{};
      event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
      event.data.fd = parked.sock;
      if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, parked.sock, &event) == 0) {
        parked_[parked.sock] = std::move(parked);
        Wake();  // its deadline may come before the current wait ends
        return;
      }
    }
  }
  parked.expired(/*stopping=*/true);
}

void ConnectionParking::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    if (wake_fd_ >= 0) Wake();
  }
  if (thread_.joinable()) thread_.join();
}

size_t ConnectionParking::parked() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return parked_.size();
}

void ConnectionParking::Wake() const {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof one);
}

void ConnectionParking::Watch() {
  std::vector<epoll_event> events(64);
  while (true) {
    std::vector<Parked> ready, expired;
    bool stopping = false;
    int timeout_ms = static_cast<int>(kLongestWait.count());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const Clock::time_point now = Clock::now();
      stopping = stopping_;
      for (auto it = parked_.begin(); it != parked_.end();) {
        if (!stopping && it->second.deadline > now) {
          const auto left = std::chrono::ceil<std::chrono::milliseconds>(it->second.deadline - now);
          timeout_ms = std::min<int>(timeout_ms, static_cast<int>(left.count()));
          ++it;
          continue;
        }
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->first, nullptr);
        expired.push_back(std::move(it->second));
        it = parked_.erase(it);
      }
    }
    for (Parked& p : expired) p.expired(stopping);
    if (stopping) return;

    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) return;  // cannot happen with a valid epoll fd
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_fd_) {
          uint64_t count;
          [[maybe_unused]] const ssize_t got = read(wake_fd_, &count, sizeof count);
          continue;
        }
        auto it = parked_.find(fd);
        if (it == parked_.end()) continue;
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        ready.push_back(std::move(it->second));
        parked_.erase(it);
      }
    }
    for (Parked& p : ready) p.ready();
  }
}

}  // namespace xai
