// Ctrl-C and SIGTERM during a long `predict` or `explain`: the first one asks
// the command to stop (said on stderr at once), between instances or at the
// next model run of a long one, so that what it wrote stays whole JSON Lines
// (a run killed mid-line left a cut-off line, and a timings file cut
// mid-number); a second one ends the process at once, as by default, unless
// it comes within a second of the first (GNU timeout sends two at once).
// SIGXCPU, which a batch system's CPU time limit (ulimit -S -t) sends, is a
// stop request too: by default it killed the command mid-line, with nothing
// said and the --timings file empty.
// One StopRequests at a time per process; Requested() may be read from any
// thread.
#pragma once

namespace xai {

class StopRequests {
 public:
  StopRequests();   // catches SIGINT, SIGTERM and SIGXCPU
  ~StopRequests();  // restores what was there before
  StopRequests(const StopRequests&) = delete;
  StopRequests& operator=(const StopRequests&) = delete;

  // The signal that asked to stop (SIGINT, SIGTERM or SIGXCPU), or 0.
  static int Requested();
  // "SIGINT", "SIGTERM", "SIGXCPU".
  static const char* Name(int signal);
};

}  // namespace xai
