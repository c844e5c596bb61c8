// crbm::Error: the one exception type the library throws. Every failed check
// (bad input, CUDA/cuBLAS/cuDNN status, shape mismatch, divergence) becomes an
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

// `bytes` (from a file) made safe for an error message: bytes outside printable
// ASCII become \xNN (\n, \r, \t as such, a backslash as \\), and only the first
// `max_bytes` are shown, then "...". Every parser quotes file contents through it.
inline std::string printable(const std::string& bytes, size_t max_bytes = 160) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  const size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c > 0x7e) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (n < bytes.size()) out += "...";
  return out;
}

}  // namespace crbm

// Throws crbm::Error with the failing expression, the message and file:line.
#define CRBM_CHECK_THROW(cond, ...)                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      throw ::crbm::Error(::crbm::concat(__VA_ARGS__, " [check '", #cond, "' failed at ", \
                                         __FILE__, ":", __LINE__, "]"));                  \
    }                                                                                     \
  } while (0)

// Throws crbm::Error with a user-facing message (no source location): use for
// bad input where the message already names the file/field/value.
#define CRBM_FAIL(...) throw ::crbm::Error(::crbm::concat(__VA_ARGS__))
