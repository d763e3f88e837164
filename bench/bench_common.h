// Small helpers shared by the C++ benchmark binaries in bench/ (flag parsing,
// reading an instance, medians). Not part of xaiserve; header-only. Each
// binary prints one JSON object on stdout, which bench/run.py reads.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "core/tensor_json.h"

namespace xai::bench {

// --name value pairs into a map; a bare --flag gets "1". Exits 2 on a stray argument.
inline std::map<std::string, std::string> ParseFlags(int argc, char** argv, const char* usage) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) {
      std::cerr << "unexpected argument '" << arg << "'\n" << usage;
      std::exit(2);
    }
    const bool has_value = i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0;
    flags[arg.substr(2)] = has_value ? argv[++i] : "1";
  }
  return flags;
}

inline std::string Flag(const std::map<std::string, std::string>& flags, const std::string& name,
                        const std::string& fallback) {
  auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second;
}

[[noreturn]] inline void Die(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  std::exit(1);
}

template <typename T>
T ValueOrDie(StatusOr<T> value) {
  if (!value.ok()) Die(value.status().message());
  return std::move(value).value();
}

// The first line of a JSON Lines file of instances (a bare nested list), as a
// float32 row of shape [1, ...].
inline Tensor ReadFirstInstance(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) Die("cannot read an instance from " + path);
  Json value = ValueOrDie(ParseJson(line, path));
  return ValueOrDie(TensorRowFromJson(value, DType::kFloat32, std::nullopt, path));
}

inline double MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

inline double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace xai::bench
