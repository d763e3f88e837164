// `xaiserve serve`: the explanation server (SPEC §4, §5). Reads the flags or
// a config file, loads the models (or the bundled demo models), serves them
// over HTTP until SIGTERM or SIGINT, then lets requests in flight finish and
// returns 0. Returns 1 when it cannot start (no demo models, port taken), 2
// for bad usage.
#pragma once

#include <string>
#include <vector>

namespace xai {

int RunServe(const std::vector<std::string>& args);

}  // namespace xai
