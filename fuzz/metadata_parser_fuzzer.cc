// Fuzzes the explanation metadata parser, which reads a file the model's
// author wrote (explanation_metadata.json): bytes -> ParseJson ->
// ParseExplanationMetadata.
//
// Properties: nothing crashes, leaks or hits undefined behaviour; errors have
// messages; metadata that parsed is written back (ExplanationMetadataToJson,
// as `xaiserve metadata` does), parses again, and writes back to the same
// JSON (the written form is a fixed point).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tensor_json.h"
#include "fuzz_check.h"
#include "model/explanation_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xai;
  StatusOr<Json> json = ParseJson(std::string(reinterpret_cast<const char*>(data), size), "md.json");
  if (!json.ok()) return 0;
  StatusOr<ExplanationMetadata> metadata = ParseExplanationMetadata(*json, "md.json");
  if (!metadata.ok()) {
    XAI_FUZZ_CHECK(!metadata.status().message().empty(), "an error without a message");
    return 0;
  }
  const Json written = ExplanationMetadataToJson(*metadata);
  const std::string text = written.dump();
  StatusOr<ExplanationMetadata> again = ParseExplanationMetadata(written, "written");
  XAI_FUZZ_CHECK(again.ok(), "metadata written by ExplanationMetadataToJson does not parse: " +
                                 again.status().message() + "\nwritten: " + text);
  const std::string text_again = ExplanationMetadataToJson(*again).dump();
  XAI_FUZZ_CHECK(text_again == text, "written metadata is not a fixed point:\n" + text + "\n" + text_again);
  return 0;
}
