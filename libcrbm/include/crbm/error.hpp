// crbm::Error: the one exception type the library throws. Every failed check
// (bad input, CUDA/cuBLAS/cuRAND status, shape mismatch, divergence) becomes an
// Error whose message names what failed and where.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace crbm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

// Builds a message from streamable pieces: crbm::concat("bad size ", n).
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace crbm

// Throws crbm::Error with the failing expression, the message and file:line.
#define CRBM_CHECK_THROW(cond, ...)                                                      \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      throw ::crbm::Error(::crbm::concat(__VA_ARGS__, " [check '", #cond, "' failed at ", \
                                         __FILE__, ":", __LINE__, "]"));                 \
    }                                                                                    \
  } while (0)

// Throws crbm::Error with a user-facing message (no source location): use for
// bad input where the message already names the file/field/value.
#define CRBM_FAIL(...) throw ::crbm::Error(::crbm::concat(__VA_ARGS__))
