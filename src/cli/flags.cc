#include "cli/flags.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace xai {
namespace {

StatusOr<int64_t> ParseInt(const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    return InvalidArgument("--" + flag + ": '" + text + "' is not an integer");
  }
  return static_cast<int64_t>(v);
}

}  // namespace

FlagSet::FlagSet(std::string usage, std::string description)
    : usage_(std::move(usage)), description_(std::move(description)) {}

FlagSet::Flag* FlagSet::Find(const std::string& name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::Knows(const std::string& name) const {
  return std::any_of(flags_.begin(), flags_.end(), [&](const Flag& f) { return f.name == name; });
}

bool FlagSet::WasSet(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f.set;
  }
  return false;
}

void FlagSet::String(const std::string& name, std::string* target, const std::string& value_name,
                     const std::string& help) {
  flags_.push_back({name, value_name, help, true, false, [target](const std::string& v) {
                      *target = v;
                      return OkStatus();
                    }});
}

void FlagSet::StringList(const std::string& name, std::vector<std::string>* target, const std::string& value_name,
                         const std::string& help) {
  flags_.push_back({name, value_name, help, true, false, [target](const std::string& v) {
                      target->push_back(v);
                      return OkStatus();
                    }});
}

void FlagSet::Int(const std::string& name, int64_t* target, int64_t min, int64_t max, const std::string& help) {
  flags_.push_back({name, "N", help, true, false, [=](const std::string& v) -> Status {
                      XAI_ASSIGN_OR_RETURN(int64_t n, ParseInt(name, v));
                      if (n < min || n > max) {
                        return InvalidArgument("--" + name + " is " + v + "; it must be in [" + std::to_string(min) +
                                               ", " + std::to_string(max) + "]");
                      }
                      *target = n;
                      return OkStatus();
                    }});
}

void FlagSet::Double(const std::string& name, double* target, const std::string& value_name, double min, double max,
                     const std::string& help) {
  flags_.push_back({name, value_name, help, true, false, [=](const std::string& v) -> Status {
                      char* end = nullptr;
                      const double x = std::strtod(v.c_str(), &end);
                      // Decimal only: strtod also reads hexadecimal ("0x10" is 16), and leading spaces.
                      const bool decimal = v.find_first_not_of("0123456789+-.eE") == std::string::npos;
                      if (v.empty() || !decimal || *end != '\0' || !std::isfinite(x)) {
                        return InvalidArgument("--" + name + ": '" + v + "' is not a number");
                      }
                      if (x < min || x > max) {
                        std::ostringstream range;
                        range << "[" << min << ", " << max << "]";
                        return InvalidArgument("--" + name + " is " + v + "; it must be in " + range.str());
                      }
                      *target = x;
                      return OkStatus();
                    }});
}

void FlagSet::Bool(const std::string& name, bool* target, const std::string& help) {
  flags_.push_back({name, "", help, false, false, [target](const std::string&) {
                      *target = true;
                      return OkStatus();
                    }});
}

void FlagSet::IntList(const std::string& name, std::vector<int64_t>* target, const std::string& help) {
  flags_.push_back({name, "I[,J...]", help, true, false, [=](const std::string& v) -> Status {
                      target->clear();
                      std::stringstream in(v);
                      std::string item;
                      while (std::getline(in, item, ',')) {
                        if (item.empty() || item.find_first_of(" \t") != std::string::npos) {
                          return InvalidArgument("--" + name + ": '" + v + "' is not a comma-separated list of "
                                                 "integers (e.g. 1,2)");
                        }
                        XAI_ASSIGN_OR_RETURN(int64_t n, ParseInt(name, item));
                        target->push_back(n);
                      }
                      if (target->empty() || v.back() == ',') {
                        return InvalidArgument("--" + name + ": '" + v + "' is not a comma-separated list of "
                                               "integers (e.g. 1,2)");
                      }
                      return OkStatus();
                    }});
}

Status FlagSet::Parse(const std::vector<std::string>& args, std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {  // everything after is positional
      positional->insert(positional->end(), args.begin() + i + 1, args.end());
      return OkStatus();
    }
    if (arg == "-h" || arg == "--help") {
      help_requested_ = true;
      return OkStatus();
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (!arg.empty() && arg[0] == '-' && arg != "-") {
        return InvalidArgument("unknown option '" + arg + "'; flags are written --name");
      }
      positional->push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    bool has_inline_value = false;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline_value = true;
    }
    Flag* flag = Find(name);
    if (flag == nullptr) return InvalidArgument("unknown flag --" + name);
    if (flag->takes_value && !has_inline_value) {
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0) {
        return InvalidArgument("--" + name + " needs a value (" + flag->value_name + ")");
      }
      value = args[++i];
    } else if (!flag->takes_value && has_inline_value) {
      return InvalidArgument("--" + name + " takes no value");
    }
    XAI_RETURN_IF_ERROR(flag->apply(value));
    flag->set = true;
  }
  return OkStatus();
}

std::string FlagSet::Help() const {
  std::ostringstream out;
  out << "usage: " << usage_ << "\n\n" << description_ << "\n";
  if (!flags_.empty()) out << "\nflags:\n";
  for (const Flag& f : flags_) {
    std::string left = "  --" + f.name + (f.takes_value ? " " + f.value_name : "");
    out << left;
    if (left.size() < 28) out << std::string(28 - left.size(), ' ');
    else out << "\n" << std::string(28, ' ');
    // A help of several lines: each line in the description column.
    for (char c : f.help) {
      out << c;
      if (c == '\n') out << std::string(28, ' ');
    }
    out << "\n";
  }
  out << "  -h, --help                show this help\n";
  return out.str();
}

}  // namespace xai
