// available_host_memory from /proc/meminfo and the resource limits;
// check_host_allocation turns an impossible request into a named error.
#include "crbm/memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

#include "crbm/error.hpp"

namespace crbm {

uint64_t available_host_memory() {
  uint64_t available = std::numeric_limits<uint64_t>::max();
  if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
    char key[64];
    unsigned long long kib = 0;
    uint64_t mem = 0, swap = 0;
    bool have_mem = false;
    while (std::fscanf(f, "%63s %llu %*[^\n]", key, &kib) == 2) {
      if (std::strcmp(key, "MemAvailable:") == 0) {
        mem = uint64_t{kib} * 1024;
        have_mem = true;
      } else if (std::strcmp(key, "SwapFree:") == 0) {
        swap = uint64_t{kib} * 1024;
      }
    }
    std::fclose(f);
    if (have_mem) available = mem + swap;
  }
  for (const int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit limit{};
    if (::getrlimit(resource, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      available = std::min<uint64_t>(available, limit.rlim_cur);
    }
  }
  return available;
}

std::string byte_size_text(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 6) {
    bytes /= 1024.0;
    ++u;
  }
  char text[64];
  std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return text;
}

void check_host_allocation(const std::string& what, uint64_t count, uint64_t item_bytes,
                           const std::string& set_by) {
  const uint64_t available = available_host_memory();
  const bool overflow =
      item_bytes != 0 && count > std::numeric_limits<uint64_t>::max() / item_bytes;
  const uint64_t bytes = overflow ? 0 : count * item_bytes;
  if (!overflow && bytes <= available) return;
  CRBM_FAIL(
      "cannot allocate ", what, ": ", count, " x ", item_bytes, " bytes = ",
      overflow ? std::string("more than 2^64 bytes") : byte_size_text(static_cast<double>(bytes)),
      ", more than the ",
      available == std::numeric_limits<uint64_t>::max()
          ? std::string("addressable")
          : byte_size_text(static_cast<double>(available)),
      " of memory available (set by ", set_by, ")");
}

}  // namespace crbm
