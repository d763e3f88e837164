#include "core/write_all.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace xai {

WriteAllResult WriteAll(int fd, std::string_view data) {
  WriteAllResult result;
  while (result.written < data.size()) {
    const ssize_t n = write(fd, data.data() + result.written, data.size() - result.written);
    if (n > 0) {
      result.written += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {  // no progress and no error: not to be retried for ever
      result.error = EIO;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // A non-blocking descriptor whose reader is behind: wait as a blocking write would.
      struct pollfd writable = {fd, POLLOUT, 0};
      if (poll(&writable, 1, -1) >= 0 || errno == EINTR) continue;
    }
    result.error = errno;
    break;
  }
  return result;
}

}  // namespace xai
