// File helpers shared by the data, checkpoint and image code: the one output
// routine every file the library and the tools write goes through (crash-safe
// replacement of regular files, direct writes to devices and FIFOs), and
// bounded whole-file reads that decompress gzip transparently.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace crbm {

// What an output path names, after following symbolic links (write_target).
enum class OutputKind {
  replace,  // a regular file or nothing yet: written atomically (temp + fsync + rename)
  direct,   // a character device or FIFO (/dev/null, /dev/stdout, a pipe): written in place
};

struct OutputTarget {
  std::string path;  // where the bytes go: the final target of a symlink chain
  OutputKind kind = OutputKind::replace;
  bool exists = false;  // replace: a regular file is there now (its mode is kept)
};

// Resolves an output path: a symlink is followed to its target (relative links
// against the link's directory, up to 40 hops; a dangling link names the file to
// create); a regular file or a missing name -> replace; a character device or
// FIFO -> direct (so are paths that pass through /proc's magic links, such as
// /dev/stdout redirected to a file). Throws crbm::Error "cannot write '<path>':
// ..." for a directory, a block device, a socket, a missing parent directory or a
// symlink loop.
OutputTarget write_target(const std::string& path);

// An output file being written. For a replace target, the bytes go to an unnamed
// file in the target's directory (O_TMPFILE; where the file system lacks it, a
// named "<name>.tmp-<pid>-<n>") that commit() fsyncs and renames over the target,
// keeping an existing file's permission bits (and, as root, its owner); the
// directory is fsynced. Readers see the old file or the complete new one, never a
// torn one, and a killed process leaves no temp name behind for longer than the
// rename (stale "<name>.tmp-<pid>-<n>" files of dead processes are removed on the
// next write to that name). For a direct target, stream() writes to the device.
// Destroying an uncommitted OutputFile discards what was written. Errors are
// crbm::Error naming the path the user gave.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::FILE* stream() const { return file_; }
  const OutputTarget& target() const { return target_; }
  // The first call publishes the file (see above); later calls (a file that keeps
  // growing, such as a metrics log) flush what was appended since. Throws on any
  // stream error.
  void commit();

 private:
  void discard() noexcept;
  [[noreturn]] void fail(const std::string& reason);

  std::string path_;  // as given, for messages
  OutputTarget target_;
  std::FILE* file_ = nullptr;
  std::string temp_;  // named temp (fallback), empty with O_TMPFILE or direct
  bool unnamed_ = false;
  bool committed_ = false;
};

// Writes `path` through OutputFile: `writer` fills the stream (fwrite/fprintf;
// stream errors are detected afterwards), then it is committed. On any failure
// (including an exception from `writer`) a replaced file is left untouched and
// crbm::Error names `path`.
void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& writer);

// Same, for a buffer already in memory.
void write_file_atomically(const std::string& path, const void* data, size_t size);

// Removes "<name>.tmp-<pid>-<n>" files beside `path` whose process is gone (pid
// not alive, or this process's pid with no such live temp); returns how many.
// write_target's callers run it before every write; exposed for tests.
int remove_stale_temps(const std::string& path);

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
