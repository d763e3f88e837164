#include "serving/model_examples.h"

#include <filesystem>
#include <fstream>

namespace xai {

ModelExamples ReadModelExamples(const std::vector<std::string>& dirs, size_t max_examples) {
  namespace fs = std::filesystem;
  ModelExamples examples;
  for (const std::string& dir : dirs) {
    const fs::path path = fs::path(dir) / kExamplesFileName;
    std::error_code ec;
    if (dir.empty() || !fs::is_regular_file(path, ec)) continue;
    std::ifstream file(path);
    if (!file) continue;
    examples.source = path.string();
    std::string line;
    size_t bytes = 0;
    for (size_t number = 1; examples.instances.size() < max_examples && std::getline(file, line); ++number) {
      bytes += line.size() + 1;
      if (bytes > kMaxExampleBytes) {
        examples.skipped.push_back("line " + std::to_string(number) + ": past the first " +
                                   std::to_string(kMaxExampleBytes) + " bytes of the file");
        break;
      }
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto parsed = ParseJson(line, path.string() + " line " + std::to_string(number));
      if (!parsed.ok()) {
        examples.skipped.push_back(parsed.status().message());
        continue;
      }
      examples.instances.push_back(std::move(parsed).value());
    }
    break;
  }
  return examples;
}

Json ModelExamplesJson(const ModelExamples& examples) {
  Json body = {{"examples", Json::array()}, {"source", examples.source}};
  for (const Json& instance : examples.instances) body["examples"].push_back(instance);
  if (!examples.skipped.empty()) body["skipped"] = examples.skipped;
  return body;
}

}  // namespace xai
