// A small command-line flag parser for the xaiserve subcommands: typed flags
// with ranges checked at parse time, positional arguments, and a generated
// --help. Errors name the flag, the bad value and the valid range. Not
// thread-safe (parse once, at start-up).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace xai {

class FlagSet {
 public:
  // `usage`: "xaiserve explain MODEL_DIR --instances FILE [flags]".
  FlagSet(std::string usage, std::string description);

  void String(const std::string& name, std::string* target, const std::string& value_name, const std::string& help);
  void Int(const std::string& name, int64_t* target, int64_t min, int64_t max, const std::string& help);
  void Double(const std::string& name, double* target, const std::string& value_name, double min, double max,
              const std::string& help);
  void Bool(const std::string& name, bool* target, const std::string& help);
  // Comma-separated integers: "1,2,3".
  void IntList(const std::string& name, std::vector<int64_t>* target, const std::string& help);
  // Repeatable string flag: every occurrence is appended.
  void StringList(const std::string& name, std::vector<std::string>* target, const std::string& value_name,
                  const std::string& help);
  // Records whether a flag was given on the command line.
  bool WasSet(const std::string& name) const;
  // Whether the command takes the flag at all.
  bool Knows(const std::string& name) const;

  // Parses `args` (without the program and subcommand names). Sets
  // help_requested() for -h/--help instead of failing on missing arguments.
  Status Parse(const std::vector<std::string>& args, std::vector<std::string>* positional);
  bool help_requested() const { return help_requested_; }
  std::string Help() const;

 private:
  struct Flag {
    std::string name, value_name, help;
    bool takes_value = true;
    bool set = false;
    std::function<Status(const std::string&)> apply;
  };
  Flag* Find(const std::string& name);

  std::string usage_, description_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace xai
