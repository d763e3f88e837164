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
#include <utility>
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

// The values of a proto enum by number, 0 first (its `..._UNSPECIFIED`), as
// in the google.cloud.aiplatform.v1 types: {{0, "ENCODING_UNSPECIFIED"},
// {1, "IDENTITY"}, ...}.
using ProtoEnumValues = std::vector<std::pair<int, const char*>>;

// proto3 JSON has no "unset" for a scalar or list field: protobuf's printers
// leave out a field at its default (0, "", [], an enum's 0) or, asked to
// print every field (as the cloud SDK's to_json() does), write it. The
// *OrDefault, FindList and ProtoEnum readers below take that default as the
// field left out, so that the caller's own default applies.
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
  // Number, where 0 counts as absent (a proto3 float or double left unset).
  StatusOr<std::optional<double>> NumberOrDefault(std::initializer_list<const char*> names);
  // Find for a repeated field: an empty list (proto3 JSON's unset one) is
  // absent. Anything else, a bare value too, is returned.
  StatusOr<const Json*> FindList(std::initializer_list<const char*> names);
  // A proto3 enum field: the value's name as given (any case; the caller
  // checks it), or the name of the value whose number is given (proto3 JSON
  // may write an enum as its number: 1 for IDENTITY). Absent, "", 0 and the
  // `..._UNSPECIFIED` name in any spelling are nullopt (the caller's
  // default). With no `values`, a string field read like an enum (modality):
  // only "" is its default, and a number is refused.
  StatusOr<std::optional<std::string>> ProtoEnum(std::initializer_list<const char*> names,
                                                 const ProtoEnumValues& values);

  // "where.field", spelled as the JSON spelled it (else the first alias).
  std::string Field(std::initializer_list<const char*> names) const;
  // The field's name alone, as the JSON spelled it (else the first alias).
  std::string Spelling(std::initializer_list<const char*> names) const;

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
