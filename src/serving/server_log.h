// The server's lines for stderr: the access log, model loads and unloads,
// signals and shutdown. A thread of its own writes them, so that a reader
// that stops reading stderr (a stalled log pipe, `serve 2>&1 | less`) cannot
// block the workers or the shutdown: they wrote the access log themselves,
// and once the pipe was full every worker and the signal thread waited for
// it, the API answered nothing while the probe port said ready, and SIGTERM
// did nothing. Lines queue up to kMaxQueuedLogBytes; beyond that they are
// dropped and counted (ServerLogLinesDropped, /metrics), as are lines that
// stderr refuses with an error, and the count is written with the next lines
// that get out. A non-blocking stderr (Node's, some CI runners') that is full
// is waited for, as a blocking one is. The command line does not use
// it: a command that waits for its reader is what a pipe means there.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace xai {

inline constexpr size_t kMaxQueuedLogBytes = size_t{4} << 20;

// Queues `line` (without its newline) for stderr, its control characters
// escaped (ForTerminal, core/text.h: a newline in it is written as \n, so
// every event is one line). Never waits for stderr.
void ServerLog(std::string line);

// Waits up to `timeout` for the lines queued so far to be written; false if
// they were not (stderr is not being read): the caller exits anyway.
bool DrainServerLog(std::chrono::milliseconds timeout);

// Lines dropped since the process started because stderr was not read.
int64_t ServerLogLinesDropped();

}  // namespace xai
