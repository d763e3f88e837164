#include "core/json_fields.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/text.h"

namespace xai {

Json ProtoJsonNumber(const Json& value) {
  if (!value.is_string()) return value;
  const std::string& text = value.get_ref<const std::string&>();
  if (text.empty() || text.size() > 64 || text.find_first_not_of("0123456789+-.eE") != std::string::npos) return value;
  Json number = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return number.is_number() ? number : value;
}

Json ProtoJsonInteger(const Json& value) {
  Json number = ProtoJsonNumber(value);
  if (!number.is_number_float()) return number;
  const double x = number.get<double>();
  if (x != std::floor(x) || std::fabs(x) >= static_cast<double>(kLargestExactInteger)) return number;
  return Json(static_cast<int64_t>(x));
}

namespace {

// 0, also as proto3 JSON may write it ("0", 0.0).
bool IsProtoZero(const Json& value) {
  const Json number = ProtoJsonNumber(value);
  return number.is_number() && number.get<double>() == 0;
}

// "ENCODING_UNSPECIFIED", "encodingUnspecified", "encoding_unspecified" -> "encodingunspecified".
std::string FoldEnumSpelling(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c != '_') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace

JsonFields::JsonFields(const Json& object, std::string where) : object_(object), where_(std::move(where)) {}

StatusOr<const Json*> JsonFields::Find(std::initializer_list<const char*> names) {
  const Json* found = nullptr;
  std::string found_name;
  for (const char* name : names) {
    if (std::find(known_.begin(), known_.end(), name) == known_.end()) known_.push_back(name);
    auto it = object_.find(name);
    if (it == object_.end()) continue;
    if (found != nullptr) {
      return InvalidArgument(where_ + ": both '" + found_name + "' and '" + name + "' are given; use one");
    }
    found = &*it;
    found_name = name;
  }
  if (found != nullptr) used_alias_[*names.begin()] = found_name;
  return found;
}

StatusOr<std::string> JsonFields::String(std::initializer_list<const char*> names, const std::string& fallback) {
  XAI_ASSIGN_OR_RETURN(const Json* v, Find(names));
  if (v == nullptr) return fallback;
  if (!v->is_string()) return InvalidArgument(Field(names) + " must be a string, got " + v->dump());
  return v->get<std::string>();
}

StatusOr<std::vector<std::string>> JsonFields::StringList(std::initializer_list<const char*> names) {
  XAI_ASSIGN_OR_RETURN(const Json* v, Find(names));
  std::vector<std::string> out;
  if (v == nullptr) return out;
  if (!v->is_array()) return InvalidArgument(Field(names) + " must be a list of strings");
  for (const Json& item : *v) {
    if (!item.is_string()) return InvalidArgument(Field(names) + " must be a list of strings, got " + item.dump());
    out.push_back(item.get<std::string>());
  }
  return out;
}

StatusOr<std::optional<double>> JsonFields::Number(std::initializer_list<const char*> names) {
  XAI_ASSIGN_OR_RETURN(const Json* v, Find(names));
  if (v == nullptr) return std::optional<double>();
  const Json number = ProtoJsonNumber(*v);
  if (!number.is_number()) return InvalidArgument(Field(names) + " must be a number, got " + v->dump());
  return std::optional<double>(number.get<double>());
}

StatusOr<std::optional<int64_t>> JsonFields::Integer(std::initializer_list<const char*> names, int64_t lo,
                                                     int64_t hi) {
  XAI_ASSIGN_OR_RETURN(const Json* v, Find(names));
  if (v == nullptr) return std::optional<int64_t>();
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  const Json number = ProtoJsonNumber(*v);
  if (!number.is_number() || number.get<double>() != std::floor(number.get<double>())) {
    return InvalidArgument(Field(names) + " must be an integer in " + range + ", got " + v->dump());
  }
  const double x = number.get<double>();
  if (x < static_cast<double>(lo) || x > static_cast<double>(hi)) {
    return InvalidArgument(Field(names) + " is " + v->dump() + "; it must be in " + range);
  }
  return std::optional<int64_t>(static_cast<int64_t>(x));
}

StatusOr<std::optional<int64_t>> JsonFields::CountOrDefault(std::initializer_list<const char*> names, int64_t lo,
                                                            int64_t hi) {
  XAI_ASSIGN_OR_RETURN(const Json* v, Find(names));
  if (v != nullptr && IsProtoZero(*v)) return std::optional<int64_t>();
  return Integer(names, lo, hi);
}

StatusOr<std::optional<double>> JsonFields::NumberOrDefault(std::initializer_list<const char*> names) {
  XAI_ASSIGN_OR_RETURN(const Json* v, Find(names));
  if (v != nullptr && IsProtoZero(*v)) return std::optional<double>();
  return Number(names);
}

StatusOr<const Json*> JsonFields::FindList(std::initializer_list<const char*> names) {
  XAI_ASSIGN_OR_RETURN(const Json* v, Find(names));
  return v != nullptr && v->is_array() && v->empty() ? nullptr : v;
}

StatusOr<std::optional<std::string>> JsonFields::ProtoEnum(std::initializer_list<const char*> names,
                                                           const ProtoEnumValues& values) {
  XAI_ASSIGN_OR_RETURN(const Json* v, Find(names));
  if (v == nullptr || *v == Json("")) return std::optional<std::string>();
  std::string numbered;  // "1 (IDENTITY), 2 (BAG_OF_FEATURES), ..."
  for (const auto& [number, name] : values) {
    numbered += (numbered.empty() ? "" : ", ") + std::to_string(number) + " (" + name + ")";
  }
  if (v->is_string()) {
    const std::string& given = v->get_ref<const std::string&>();
    if (!values.empty() && FoldEnumSpelling(given) == FoldEnumSpelling(values.front().second)) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(given);
  }
  if (values.empty()) return InvalidArgument(Field(names) + " must be a string, got " + v->dump());
  const Json whole = ProtoJsonInteger(*v);  // 1.0 too
  if (whole.is_number_integer()) {
    for (const auto& [number, name] : values) {
      if (whole.get<int64_t>() != number) continue;
      if (number == 0) return std::optional<std::string>();
      return std::optional<std::string>(name);
    }
  }
  return InvalidArgument(Field(names) + " is " + v->dump() + "; give the value's name or its number: " + numbered);
}

std::string JsonFields::Field(std::initializer_list<const char*> names) const { return where_ + "." + Spelling(names); }

std::string JsonFields::Spelling(std::initializer_list<const char*> names) const {
  auto it = used_alias_.find(*names.begin());
  return it != used_alias_.end() ? it->second : std::string(*names.begin());
}

Status JsonFields::CheckNoUnknownFields() const {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (std::find(known_.begin(), known_.end(), it.key()) == known_.end()) {
      return InvalidArgument(where_ + ": unknown field '" + it.key() + "'; known fields: " + JoinWithCommas(known_));
    }
  }
  return OkStatus();
}

}  // namespace xai
