// Example instances of a served model, for GET /v1/models/{name}:examples
// (the web page's "Use an example"): the first lines of an instances.jsonl
// kept beside the model, in the SavedModel directory or its base directory
// (the demo models have one). Each line is one request instance, exactly as
// the CLI's --instances takes it. Reads the disk on every call; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/tensor_json.h"

namespace xai {

inline constexpr char kExamplesFileName[] = "instances.jsonl";
inline constexpr size_t kMaxExamples = 10;
inline constexpr size_t kMaxExampleBytes = 8 << 20;

struct ModelExamples {
  std::vector<Json> instances;  // empty when no directory has the file
  std::string source;           // the file read, or ""
  std::vector<std::string> skipped;  // "line N: why" for lines that are not JSON
};

// From the first of `dirs` that holds instances.jsonl: its first
// `max_examples` non-blank lines that parse as JSON, reading at most
// kMaxExampleBytes of the file.
ModelExamples ReadModelExamples(const std::vector<std::string>& dirs, size_t max_examples = kMaxExamples);

// {"examples": [...], "source": "..."} (plus "skipped" when lines were).
Json ModelExamplesJson(const ModelExamples& examples);

}  // namespace xai
