// Reading the fields of one JSON object where each field may be spelled in
// snake_case or lowerCamelCase (the cloud service's formats use both), with
// type checks, ranges, and a final check for fields nobody asked for (typos).
// Error messages name the field as the JSON spelled it, prefixed by `where`
// ("md.json.inputs.x", "parameters"). Used for explanation metadata and
// request parameters. Not thread-safe (one reader per object, on the stack).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor_json.h"

namespace xai {

// proto3 JSON (as protobuf's JSON printers and the cloud's client libraries
// write it) may give a number as a string ("25", "0.1"): such a string is
// read as the number it holds; any other value comes back as it is.
Json ProtoJsonNumber(const Json& value);
// ProtoJsonNumber, with a whole number written as a double (1.0, as protobuf
// prints a ListValue's numbers) made an integer where a double holds it
// exactly (below 2^53 in magnitude).
Json ProtoJsonInteger(const Json& value);

class JsonFields {
 public:
  // `object` must outlive the reader.
  JsonFields(const Json& object, std::string where);

  const std::string& where() const { return where_; }

  // The value under one of `names` (aliases of one field), or nullptr.
  // INVALID_ARGUMENT if two aliases are both present.
  StatusOr<const Json*> Find(std::initializer_list<const char*> names);
  StatusOr<std::string> String(std::initializer_list<const char*> names, const std::string& fallback = "");
  StatusOr<std::vector<std::string>> StringList(std::initializer_list<const char*> names);
  // Number and Integer also take a number written as a string (ProtoJsonNumber).
  StatusOr<std::optional<double>> Number(std::initializer_list<const char*> names);
  // An integer in [lo, hi], if present.
  StatusOr<std::optional<int64_t>> Integer(std::initializer_list<const char*> names, int64_t lo, int64_t hi);
  // The same, where 0 counts as absent: proto3 JSON cannot tell an unset
  // int32 from 0, so the cloud service takes a count of 0 as its default.
  StatusOr<std::optional<int64_t>> CountOrDefault(std::initializer_list<const char*> names, int64_t lo, int64_t hi);

  // "where.field", spelled as the JSON spelled it (else the first alias).
  std::string Field(std::initializer_list<const char*> names) const;

  // INVALID_ARGUMENT naming the first field that no Find asked for, listing
  // the known ones.
  Status CheckNoUnknownFields() const;

 private:
  const Json& object_;
  std::string where_;
  std::vector<std::string> known_;
  std::map<std::string, std::string> used_alias_;  // first alias -> alias present in the JSON
};

}  // namespace xai
