// Writing bytes to a file descriptor whole, as a blocking write(2) would,
// also when the descriptor is non-blocking: a parent that set O_NONBLOCK on a
// pipe it reads slowly (Node, some CI runners) gets EAGAIN, and the write
// waits (poll) until the pipe takes more. Written once for the command line's
// output files (cli/line_output.h) and the server's log (serving/server_log.h).
// No state of its own; thread-safe as far as the descriptor is.
#pragma once

#include <cstddef>
#include <string_view>

namespace xai {

struct WriteAllResult {
  size_t written = 0;  // bytes written, from the start of the data
  int error = 0;       // 0 when every byte was written; else errno (EIO for a write that made no progress)
};

// Writes `data` to `fd`, retrying after EINTR and waiting while a
// non-blocking `fd` is full; stops at the first other error.
WriteAllResult WriteAll(int fd, std::string_view data);

}  // namespace xai
