// Graph tensor names: "node:index", where "node" alone means output 0. Written
// once for the runtime (which looks nodes up in the graph) and the model layer
// (which matches metadata's tensor names against signatures'). Pure functions
// on string views: thread-safe; the views point into the caller's string.
#pragma once

#include <charconv>
#include <string_view>
#include <system_error>

namespace xai {

struct TensorName {
  std::string_view node;
  int index = 0;
};

// "name:1" -> {"name", 1}; "name" -> {"name", 0}. A suffix that is not a
// decimal int ("a:b", "a:", "a:99999999999") is part of the node's name, with
// index 0, so a lookup of that node fails with the name as given.
inline TensorName ParseTensorName(std::string_view name) {
  const size_t colon = name.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == name.size()) return {name, 0};
  const char* first = name.data() + colon + 1;
  const char* last = name.data() + name.size();
  int index = 0;
  const auto [end, error] = std::from_chars(first, last, index);
  if (error != std::errc() || end != last || *first == '-' || *first == '+') return {name, 0};
  return {name.substr(0, colon), index};
}

// "x", "x:0" and "x:00" name the same tensor.
inline bool SameTensor(std::string_view a, std::string_view b) {
  const TensorName ta = ParseTensorName(a), tb = ParseTensorName(b);
  return ta.node == tb.node && ta.index == tb.index;
}

}  // namespace xai
