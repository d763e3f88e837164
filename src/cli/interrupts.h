// Ctrl-C and SIGTERM during a long `predict` or `explain`: the first one asks
// the command to stop (said on stderr at once), between instances or at the
// next model run of a long one, so that what it wrote stays whole JSON Lines
// (a run killed mid-line left a cut-off line, and a timings file cut
// mid-number); a second one ends the process at once, as by default, unless
// it comes within a second of the first (GNU timeout sends two at once).
// One StopRequests at a time per process; Requested() may be read from any
// thread.
#pragma once

namespace xai {

class StopRequests {
 public:
  StopRequests();   // catches SIGINT and SIGTERM
  ~StopRequests();  // restores what was there before
  StopRequests(const StopRequests&) = delete;
  StopRequests& operator=(const StopRequests&) = delete;

  // The signal that asked to stop (SIGINT or SIGTERM), or 0.
  static int Requested();
  // "SIGINT", "SIGTERM".
  static const char* Name(int signal);
};

}  // namespace xai
