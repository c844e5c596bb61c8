// Allocation checks made before the fact: sizes that options control (AIS
// steps and runs, chains, batch sizes) are compared with the memory the process
// can get, so that a too-large request is one clear error naming what, how
// much and which setting, instead of std::bad_alloc (or the OOM killer).
#pragma once

#include <cstdint>
#include <string>

namespace crbm {

// Bytes of host memory this process can still allocate: MemAvailable plus free
// swap (/proc/meminfo), capped by RLIMIT_AS / RLIMIT_DATA; UINT64_MAX when unknown.
uint64_t available_host_memory();

// 1536 -> "1.5 KiB", 3e12 -> "2.7 TiB".
std::string byte_size_text(double bytes);

// Throws crbm::Error "cannot allocate <what>: <count> x <item_bytes> bytes =
// <size>, more than the <available> of memory available (set by <set_by>)" when
// count * item_bytes overflows or exceeds available_host_memory().
void check_host_allocation(const std::string& what, uint64_t count, uint64_t item_bytes,
                           const std::string& set_by);

}  // namespace crbm
