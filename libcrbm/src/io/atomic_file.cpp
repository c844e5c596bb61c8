// The output routine (write_target, OutputFile: atomic replacement of regular
// files via O_TMPFILE + linkat or a named temp + rename, direct writes to
// devices and FIFOs) and bounded, gzip-transparent whole-file reads. POSIX and
// Linux (O_TMPFILE, linkat with AT_EMPTY_PATH, /proc/self/fd) with fallbacks.
#include "crbm/atomic_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef CRBM_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "crbm/error.hpp"

namespace crbm {
namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Named temps of this process that are still being written (not stale).
std::mutex& live_temps_mutex() {
  static std::mutex m;
  return m;
}
std::set<std::string>& live_temps() {
  static std::set<std::string> s;
  return s;
}

// The key of a temp in live_temps(): "<dir>/<name>", as remove_stale_temps sees it.
std::string temp_key(const std::string& temp) {
  return directory_of(temp) + "/" + base_name(temp);
}

std::string temp_name_for(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return concat(path, ".tmp-", static_cast<long>(::getpid()), "-", counter.fetch_add(1));
}

// Best effort: a directory fsync makes the rename durable; some file systems
// refuse it (EINVAL), which is not an error for the caller.
void fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

const char* kind_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file, character device or FIFO";
}

// True when `dir` resolves into /proc (where symlinks are magic links to open files).
bool in_proc(const std::string& dir) {
  char* real = ::realpath(dir.c_str(), nullptr);
  if (real == nullptr) return false;
  const bool proc = std::strncmp(real, "/proc/", 6) == 0 || std::strcmp(real, "/proc") == 0;
  std::free(real);
  return proc;
}

// Gives the unnamed (O_TMPFILE) file `fd` the name `name`: linkat with
// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, the /proc/self/fd route does not.
bool link_unnamed(int fd, const std::string& name) {
  if (::linkat(fd, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0) return true;
  if (errno == EEXIST) return false;
  const std::string proc = concat("/proc/self/fd/", fd);
  return ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0;
}

// Copies everything in `from` (from offset 0) to `to`; false with errno set on failure.
bool copy_fd(int from, int to) {
  char buffer[1 << 16];
  off_t offset = 0;
  for (;;) {
    const ssize_t got = ::pread(from, buffer, sizeof buffer, offset);
    if (got < 0) return false;
    if (got == 0) return true;
    for (ssize_t done = 0; done < got;) {
      const ssize_t put = ::write(to, buffer + done, static_cast<size_t>(got - done));
      if (put < 0) return false;
      done += put;
    }
    offset += got;
  }
}

}  // namespace

OutputTarget write_target(const std::string& path) {
  if (path.empty()) CRBM_FAIL("cannot write '': empty output path");
  std::string cur = path;
  for (int hop = 0; hop < 40; ++hop) {
    struct stat st {};
    // Devices and pipes, however reached (/dev/stdout -> /proc/self/fd/1 ->
    // pipe:[...] is a magic link, not a path), are written in place.
    if (::stat(cur.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
      return {cur, OutputKind::direct, true};
    }
    if (::lstat(cur.c_str(), &st) != 0) {
      const int err = errno;
      if (err != ENOENT) CRBM_FAIL("cannot write '", path, "': ", errno_text(err));
      const std::string dir = directory_of(cur);
      struct stat dir_st {};
      const int dir_status = ::stat(dir.c_str(), &dir_st);
      if (dir_status != 0 || !S_ISDIR(dir_st.st_mode)) {
        const int dir_err = dir_status != 0 ? errno : ENOTDIR;
        CRBM_FAIL("cannot write '", path, "': directory '", dir, "': ", errno_text(dir_err));
      }
      return {cur, OutputKind::replace, false};
    }
    if (S_ISLNK(st.st_mode)) {
      if (in_proc(directory_of(cur))) {
        // A /proc magic link to an open regular file (stdout redirected by the
        // shell): written in place, the shell's file stays the one it opened.
        if (::stat(cur.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
          return {cur, OutputKind::direct, true};
        }
        CRBM_FAIL("cannot write '", path, "': '", cur, "' is not a file, device or FIFO");
      }
      std::string target(4096, '\0');
      const ssize_t n = ::readlink(cur.c_str(), target.data(), target.size());
      if (n < 0 || static_cast<size_t>(n) >= target.size()) {
        CRBM_FAIL("cannot write '", path, "': cannot read symbolic link '", cur, "'");
      }
      target.resize(static_cast<size_t>(n));
      cur = !target.empty() && target[0] == '/' ? target : directory_of(cur) + "/" + target;
      continue;
    }
    if (S_ISREG(st.st_mode)) return {cur, OutputKind::replace, true};
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return {cur, OutputKind::direct, true};
    CRBM_FAIL("cannot write '", path, "': ", cur == path ? "it" : "'" + cur + "'", " is ",
              kind_name(st.st_mode));
  }
  CRBM_FAIL("cannot write '", path, "': too many levels of symbolic links");
}

int remove_stale_temps(const std::string& path) {
  const std::string dir = directory_of(path);
  const std::string prefix = base_name(path) + ".tmp-";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  int removed = 0;
  const long self = static_cast<long>(::getpid());
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (!starts_with(name, prefix)) continue;
    // "<pid>-<counter>", digits only.
    const std::string rest = name.substr(prefix.size());
    const size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || dash + 1 == rest.size() ||
        rest.find_first_not_of("0123456789-") != std::string::npos ||
        rest.find('-', dash + 1) != std::string::npos || dash > 9) {
      continue;
    }
    const long pid = std::stol(rest.substr(0, dash));
    const std::string full = dir + "/" + name;
    bool alive;
    if (pid == self) {
      std::lock_guard<std::mutex> lock(live_temps_mutex());
      alive = live_temps().count(full) > 0;
    } else {
      alive = pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
    }
    struct stat st {};
    if (!alive && ::lstat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::unlink(full.c_str()) == 0) {
      ++removed;
    }
  }
  ::closedir(d);
  return removed;
}

OutputFile::OutputFile(const std::string& path) : path_(path), target_(write_target(path)) {
  int fd = -1;
  if (target_.kind == OutputKind::direct) {
    struct stat st {};
    const bool regular = ::stat(target_.path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    // A regular file behind /proc (stdout redirected by the shell) is appended
    // to, so that `>>` and the command's own stdout lines are kept.
    fd = ::open(target_.path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC | (regular ? O_APPEND : 0));
    if (fd < 0) {
      const int err = errno;
      CRBM_FAIL("cannot write '", path_, "': ", errno_text(err));
    }
  } else {
    remove_stale_temps(target_.path);
    const std::string dir = directory_of(target_.path);
    fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    unnamed_ = fd >= 0;
    if (!unnamed_) {  // the file system has no O_TMPFILE (EOPNOTSUPP, EISDIR, ...)
      temp_ = temp_name_for(target_.path);
      fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0) {
        const int err = errno;
        CRBM_FAIL("cannot write '", path_, "': cannot create temporary file '", temp_,
                  "': ", errno_text(err));
      }
      std::lock_guard<std::mutex> lock(live_temps_mutex());
      live_temps().insert(temp_key(temp_));
    }
    struct stat st {};
    if (target_.exists && ::stat(target_.path.c_str(), &st) == 0) {
      (void)::fchmod(fd, st.st_mode & 07777);
      if (::geteuid() == 0) (void)::fchown(fd, st.st_uid, st.st_gid);
    }
  }
  file_ = ::fdopen(fd, "wb");
  if (file_ == nullptr) {
    const int err = errno;
    ::close(fd);
    discard();
    CRBM_FAIL("cannot write '", path_, "': ", errno_text(err));
  }
}

OutputFile::~OutputFile() {
  if (!committed_) {
    discard();
  } else if (file_ != nullptr) {
    std::fclose(file_);
  }
}

void OutputFile::discard() noexcept {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  if (!temp_.empty()) {
    ::unlink(temp_.c_str());
    std::lock_guard<std::mutex> lock(live_temps_mutex());
    live_temps().erase(temp_key(temp_));
    temp_.clear();
  }
}

void OutputFile::fail(const std::string& reason) {
  discard();
  committed_ = false;
  CRBM_FAIL("cannot write '", path_, "': ", reason);
}

void OutputFile::commit() {
  if (file_ == nullptr) CRBM_FAIL("cannot write '", path_, "': the file was already discarded");
  if (std::ferror(file_) != 0) fail("write error");
  if (std::fflush(file_) != 0) fail(concat("flush failed: ", errno_text(errno)));
  if (committed_ || target_.kind == OutputKind::direct) {
    committed_ = true;
    return;
  }
  const int fd = ::fileno(file_);
  if (::fsync(fd) != 0) fail(concat("fsync failed: ", errno_text(errno)));
  const std::string& final_path = target_.path;
  if (unnamed_) {
    // A new name can be linked in place directly; an existing file is replaced
    // through a named temp (only between the link and the rename).
    bool done = !target_.exists && link_unnamed(fd, final_path);
    if (!done) {
      temp_ = temp_name_for(final_path);
      {
        std::lock_guard<std::mutex> lock(live_temps_mutex());
        live_temps().insert(temp_key(temp_));
      }
      if (!link_unnamed(fd, temp_)) {
        // No way to name an unnamed file here: copy it into a named temp.
        const int copy = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        struct stat st {};
        const bool ok = copy >= 0 && ::fstat(fd, &st) == 0 &&
                        ::fchmod(copy, st.st_mode & 07777) == 0 && copy_fd(fd, copy) &&
                        ::fsync(copy) == 0;
        const int err = errno;
        if (copy >= 0) ::close(copy);
        if (!ok) fail(concat("cannot create temporary file '", temp_, "': ", errno_text(err)));
      }
    }
  }
  if (!temp_.empty()) {
    if (std::rename(temp_.c_str(), final_path.c_str()) != 0) {
      const int err = errno;
      fail(concat("rename from '", temp_, "' failed: ", errno_text(err)));
    }
    std::lock_guard<std::mutex> lock(live_temps_mutex());
    live_temps().erase(temp_key(temp_));
    temp_.clear();
  }
  fsync_directory(directory_of(final_path));
  committed_ = true;
}

void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& writer) {
  OutputFile out(path);
  try {
    writer(out.stream());
  } catch (const std::exception& e) {
    CRBM_FAIL("cannot write '", path, "': ", e.what());  // ~OutputFile discards
  } catch (...) {
    CRBM_FAIL("cannot write '", path, "': unknown exception while writing");
  }
  out.commit();
}

void write_file_atomically(const std::string& path, const void* data, size_t size) {
  write_file_atomically(path, [&](std::FILE* f) {
    if (size > 0 && std::fwrite(data, 1, size, f) != size) {
      CRBM_FAIL("short write (", errno_text(errno), ")");
    }
  });
}

#ifdef CRBM_HAVE_LIBDEFLATE
namespace {

// A regular single-member gzip file decoded in one libdeflate call (2-3x zlib's speed):
// the whole compressed file in memory, the output sized by the trailer's ISIZE. Returns
// nothing (the caller then reads with zlib, which reports any damage) for anything else:
// not gzip, empty, several members, an ISIZE that does not match (files over 4 GiB) or
// above max_bytes, corrupt data.
std::vector<uint8_t> inflate_whole_gzip(int fd, uint64_t file_size, uint64_t max_bytes) {
  constexpr uint64_t kMinGzip = 18;  // 10-byte header, empty deflate stream, 8-byte trailer
  if (file_size < kMinGzip || file_size > (uint64_t{1} << 40)) return {};
  unsigned char magic[2] = {0, 0};
  if (::pread(fd, magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) return {};
  std::vector<uint8_t> in(static_cast<size_t>(file_size));
  size_t got = 0;
  while (got < in.size()) {
    const ssize_t n = ::pread(fd, in.data() + got, in.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    got += static_cast<size_t>(n);
  }
  const uint8_t* t = in.data() + in.size() - 4;
  const uint64_t isize =
      uint64_t{t[0]} | (uint64_t{t[1]} << 8) | (uint64_t{t[2]} << 16) | (uint64_t{t[3]} << 24);
  if (isize == 0 || isize > max_bytes) return {};
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  if (d == nullptr) return {};
  std::vector<uint8_t> out(static_cast<size_t>(isize));
  size_t in_used = 0, out_made = 0;
  const libdeflate_result r = libdeflate_gzip_decompress_ex(d, in.data(), in.size(), out.data(),
                                                            out.size(), &in_used, &out_made);
  libdeflate_free_decompressor(d);
  if (r != LIBDEFLATE_SUCCESS || in_used != in.size() || out_made != out.size()) return {};
  return out;
}

}  // namespace
#endif

std::vector<uint8_t> read_file_contents(const std::string& path, uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    CRBM_FAIL("cannot open '", path, "': ", errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    CRBM_FAIL("cannot open '", path, "': ", errno_text(err));
  }
#ifdef CRBM_HAVE_LIBDEFLATE
  if (S_ISREG(st.st_mode)) {
    std::vector<uint8_t> whole =
        inflate_whole_gzip(fd, static_cast<uint64_t>(st.st_size), max_bytes);
    if (!whole.empty()) {
      ::close(fd);
      return whole;
    }
  }
#endif
  // gzdopen reads non-gzip files as they are, so one loop serves both.
  gzFile gz = ::gzdopen(fd, "rb");
  if (gz == nullptr) {
    ::close(fd);
    CRBM_FAIL("cannot open '", path, "': zlib could not allocate a reader");
  }
  ::gzbuffer(gz, 1 << 17);
  std::vector<uint8_t> bytes;
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) <= max_bytes) {
    bytes.reserve(static_cast<size_t>(st.st_size));
  }
  constexpr size_t kChunk = size_t{1} << 20;
  for (;;) {
    const size_t old_size = bytes.size();
    if (old_size > max_bytes) {
      ::gzclose(gz);
      CRBM_FAIL(path, ": larger than ", max_bytes, " bytes (after decompression)");
    }
    bytes.resize(old_size + kChunk);
    const int got = ::gzread(gz, bytes.data() + old_size, static_cast<unsigned>(kChunk));
    if (got < 0) {
      int code = 0;
      const char* message = ::gzerror(gz, &code);
      const std::string reason = code == Z_ERRNO ? errno_text(errno) : std::string(message);
      ::gzclose(gz);
      CRBM_FAIL(path, ": read error: ", reason);
    }
    bytes.resize(old_size + static_cast<size_t>(got));
    if (got == 0) break;
  }
  // gzread returns a short count at EOF even for a truncated gzip stream; the
  // error is only visible here.
  int code = 0;
  const char* message = ::gzerror(gz, &code);
  if (code != Z_OK && code != Z_BUF_ERROR) {
    const std::string reason(message);
    ::gzclose(gz);
    CRBM_FAIL(path, ": corrupt gzip data: ", reason);
  }
  const bool direct = ::gzdirect(gz) != 0;
  const int close_status = ::gzclose(gz);
  if (!direct && close_status == Z_BUF_ERROR) {
    CRBM_FAIL(path, ": truncated gzip data (stream ends early)");
  }
  if (bytes.size() > max_bytes) {
    CRBM_FAIL(path, ": larger than ", max_bytes, " bytes (after decompression)");
  }
  bytes.shrink_to_fit();
  return bytes;
}

bool is_gzip_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  unsigned char magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, f);
  std::fclose(f);
  return got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

}  // namespace crbm
