#include "cli/instance_lines.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace xai {
namespace {

bool IsBlank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

StatusOr<std::unique_ptr<InstanceLines>> InstanceLines::Open(const std::string& path) {
  if (path == "-") return std::make_unique<InstanceLines>(std::cin, "stdin");
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return InvalidArgument("instances file '" + path + "' is a directory; give a JSON Lines file");
  }
  auto lines = std::make_unique<InstanceLines>(std::cin, path);
  lines->file_.open(path);
  if (!lines->file_) return NotFound("cannot read instances file '" + path + "': " + std::strerror(errno));
  lines->in_ = &lines->file_;
  return lines;
}

InstanceLines::InstanceLines(std::istream& in, std::string name) : in_(&in), name_(std::move(name)) {}

StatusOr<std::optional<Json>> InstanceLines::Next() {
  std::string line;
  while (std::getline(*in_, line)) {
    ++line_;
    bytes_ += line.size() + 1;
    if (IsBlank(line)) continue;
    StatusOr<Json> value = ParseJson(line, where());
    if (!value.ok()) {
      return InvalidArgument(value.status().message() + " (write one JSON instance per line: JSON Lines)");
    }
    ++count_;
    return std::optional<Json>(std::move(value).value());
  }
  if (in_->bad()) return InvalidArgument("reading '" + name_ + "' failed after line " + std::to_string(line_));
  if (count_ == 0) return InvalidArgument(name_ + ": no instances (expected one JSON instance per line)");
  return std::optional<Json>();
}

std::optional<size_t> CountInstanceLines(const std::string& path) {
  std::error_code error;
  if (path == "-" || !std::filesystem::is_regular_file(path, error)) return std::nullopt;
  std::ifstream file(path);
  if (!file) return std::nullopt;
  size_t count = 0;
  std::string line;
  while (std::getline(file, line)) count += !IsBlank(line);
  return count;
}

}  // namespace xai
