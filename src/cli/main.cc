// xaiserve: explanations for TensorFlow SavedModels, on your own machine.
// Dispatches to the subcommands in commands.h.

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/serve_command.h"
#include "core/text.h"
#include "core/version.h"
#include "runtime/model_runtime.h"

namespace {

constexpr char kUsage[] =
    "usage: xaiserve COMMAND [flags]\n"
    "\n"
    "Feature attributions (Integrated Gradients with SmoothGrad and blur baselines, Sampled\n"
    "Shapley, XRAI) for TensorFlow SavedModels, in the JSON of\n"
    "Google Cloud's AI Explanations.\n"
    "\n"
    "commands:\n"
    "  inspect MODEL_DIR                      signatures, which one predicts and explains, and why\n"
    "  predict MODEL_DIR --instances FILE     predictions for JSON Lines instances\n"
    "  explain MODEL_DIR --instances FILE     attributions for JSON Lines instances\n"
    "  metadata MODEL_DIR                     the explanation metadata in use, ready to edit\n"
    "  serve [--model NAME=DIR]...            the REST server (no model given: the demo models)\n"
    "\n"
    "Run 'xaiserve COMMAND --help' for a command's flags; 'xaiserve --version' for the versions\n"
    "of xaiserve and TensorFlow.\n";

int Dispatch(const std::string& command, const std::vector<std::string>& args) {
  if (command == "inspect") return xai::RunInspect(args);
  if (command == "predict") return xai::RunPredict(args);
  if (command == "explain") return xai::RunExplain(args);
  if (command == "metadata") return xai::RunMetadata(args);
  if (command == "serve") return xai::RunServe(args);
  std::cerr << "xaiserve: unknown command '" << xai::ForTerminal(command) << "'\n\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "help") args = {args[1], "--help"};  // "help explain"
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args.size() == 1 && (args[0] == "--version" || args[0] == "version")) {
    std::cout << "xaiserve " << xai::kXaiserveVersion << "\nTensorFlow " << xai::TensorFlowVersion() << "\n";
    return std::cout.flush() ? 0 : 1;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  // A reader that goes away (`| head -1`) makes writes fail instead of
  // killing the process mid-output: the command stops saying so, with what
  // it wrote (the --timings file too) whole.
  std::signal(SIGPIPE, SIG_IGN);
  // Likewise a file size limit (ulimit -f, as batch systems set): a write past
  // it fails with EFBIG, said with the whole lines written, where SIGXFSZ
  // killed the process with no word and a line cut off.
  std::signal(SIGXFSZ, SIG_IGN);
  const int code = Dispatch(command, args);
  // A command that wrote its answer into a full disk or a closed descriptor
  // did not succeed, whatever it returned.
  if (!std::cout.flush() && code == 0) {
    std::cerr << "xaiserve " << command << ": error: writing standard output failed (a full disk, or its reader went "
                 "away?)\n";
    return 1;
  }
  return code;
}
