// File helpers shared by the data, checkpoint and image code: crash-safe
// writes (temp file in the same directory, fsync, rename, fsync the directory)
// and bounded whole-file reads that decompress gzip transparently.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace crbm {

// Writes `path` atomically: `writer` fills "<path>.tmp-<pid>-<counter>" (same
// directory), which is flushed, fsynced and renamed over `path`; then the
// directory is fsynced. Readers see the old file or the complete new one, never
// a torn one. On any failure (including an exception from `writer`) the temp
// file is removed, `path` is left untouched and crbm::Error names `path`.
// `writer` may write with fwrite/fprintf; stream errors are detected afterwards.
void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& writer);

// Same, for a buffer already in memory.
void write_file_atomically(const std::string& path, const void* data, size_t size);

// Reads the whole file; gzip data (magic 1f 8b) is decompressed transparently,
// anything else is returned as stored. Throws crbm::Error
// "cannot open '<path>': <reason>" when it cannot be opened, and
// "<path>: larger than <max_bytes> bytes ..." when the (decompressed) content
// exceeds max_bytes; memory grows only with the bytes actually read.
std::vector<uint8_t> read_file_contents(const std::string& path,
                                        uint64_t max_bytes = uint64_t{1} << 36);

// True when the file starts with the gzip magic bytes (false if unreadable).
bool is_gzip_file(const std::string& path);

}  // namespace crbm
