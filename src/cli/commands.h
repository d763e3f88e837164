// The xaiserve subcommands (SPEC §5). Each takes its arguments (after the
// subcommand name), writes results to stdout and progress and errors to
// stderr, and returns the process exit code: 0 on success, 1 when the work
// failed (bad model, bad instance), 2 for bad usage.
#pragma once

#include <string>
#include <vector>

namespace xai {

int RunInspect(const std::vector<std::string>& args);
int RunPredict(const std::vector<std::string>& args);
int RunExplain(const std::vector<std::string>& args);
int RunMetadata(const std::vector<std::string>& args);

}  // namespace xai
