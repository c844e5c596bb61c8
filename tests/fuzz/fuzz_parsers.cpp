// libFuzzer entry point for one file parser, chosen at compile time by
// CRBM_FUZZ_PARSER (see parsers.hpp). The input becomes an in-memory file
// (memfd, read through /proc/self/fd/N, so the parsers take the same
// path-based route as the commands); a parser may throw crbm::Error and nothing
// else: any other exception aborts, which the fuzzer reports as a crash, as it
// does for ASan/UBSan findings and hangs.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "parsers.hpp"

#ifndef CRBM_FUZZ_PARSER
#error "CRBM_FUZZ_PARSER must name the parser to fuzz"
#endif

namespace {

// The memfd holding `data`, as a path.
std::string in_memory_file(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("crbm_fuzz", 0);
  if (fd < 0 || ::ftruncate(fd, 0) != 0) std::abort();
  for (size_t done = 0; done < size;) {
    const ssize_t put = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (put <= 0) std::abort();
    done += static_cast<size_t>(put);
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    crbm::fuzz::parse_file_as(CRBM_FUZZ_PARSER, in_memory_file(data, size));
  } catch (const crbm::Error&) {
    // The one acceptable failure: a clear error.
  }
  return 0;
}
