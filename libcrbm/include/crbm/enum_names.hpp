// One home for the names of the library's small enums (ConvAlgo, LrSchedule, Binarize,
// VisibleType, RecipeModel): each keeps a constexpr table of {value, name} next to its
// to_string/parse wrapper, and these two functions read it.
//   name_of(table, value)           the value's canonical name ("?" for a value not listed)
//   parse_enum(table, text, what)   the value named `text`; otherwise throws crbm::Error
//                                   "unknown <what> '<text>' (expected a, b or c)"
// An alias entry is accepted by parse_enum but never printed or listed.
// CRBM_ENUM_NAME_FUNCTIONS defines an enum's pair of public wrappers from its table.
#pragma once

#include <cstddef>
#include <string>

#include "crbm/error.hpp"

namespace crbm {

template <class E>
struct EnumName {
  E value;
  const char* name;
  bool alias = false;
};

template <class E, std::size_t N>
const char* name_of(const EnumName<E> (&table)[N], E value) {
  for (const EnumName<E>& entry : table) {
    if (entry.value == value && !entry.alias) return entry.name;
  }
  return "?";
}

// "a, b or c": the canonical names of `table`, for error messages.
template <class E, std::size_t N>
std::string accepted_names(const EnumName<E> (&table)[N]) {
  std::string out;
  std::size_t listed = 0, total = 0;
  for (const EnumName<E>& entry : table) total += entry.alias ? 0 : 1;
  for (const EnumName<E>& entry : table) {
    if (entry.alias) continue;
    if (listed > 0) out += listed + 1 == total ? " or " : ", ";
    out += entry.name;
    ++listed;
  }
  return out;
}

template <class E, std::size_t N>
E parse_enum(const EnumName<E> (&table)[N], const std::string& text, const char* what) {
  for (const EnumName<E>& entry : table) {
    if (text == entry.name) return entry.value;
  }
  CRBM_FAIL("unknown ", what, " '", text, "' (expected ", accepted_names(table), ")");
}

}  // namespace crbm

// Defines, in the enclosing namespace, the two functions a header declares for an enum E
// whose names are the table TABLE:
//   const char* to_string(E value)           name_of(TABLE, value)
//   E PARSE(const std::string& text)         parse_enum(TABLE, text, WHAT)
#define CRBM_ENUM_NAME_FUNCTIONS(E, TABLE, PARSE, WHAT) \
  const char* to_string(E value) {                      \
    return ::crbm::name_of(TABLE, value);               \
  }                                                     \
  E PARSE(const std::string& text) {                    \
    return ::crbm::parse_enum(TABLE, text, WHAT);       \
  }
