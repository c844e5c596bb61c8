// Atomic writes (temp + fsync + rename + directory fsync) and bounded,
// gzip-transparent whole-file reads. POSIX only (fsync, rename semantics).
#include "crbm/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstring>

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

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& writer) {
  CRBM_CHECK_THROW(!path.empty(), "write_file_atomically: empty path");
  const std::string temp = temp_name_for(path);
  std::FILE* file = std::fopen(temp.c_str(), "wbx");
  if (file == nullptr) {
    const int err = errno;
    CRBM_FAIL("cannot write '", path, "': cannot create temporary file '", temp,
              "': ", errno_text(err));
  }
  auto discard = [&](const std::string& reason) {
    if (file != nullptr) std::fclose(file);
    std::remove(temp.c_str());
    CRBM_FAIL("cannot write '", path, "': ", reason);
  };
  try {
    writer(file);
  } catch (const std::exception& e) {
    discard(e.what());
  } catch (...) {
    discard("unknown exception while writing");
  }
  if (std::ferror(file) != 0) discard("write error on temporary file '" + temp + "'");
  if (std::fflush(file) != 0) discard(concat("flush failed: ", errno_text(errno)));
  if (::fsync(::fileno(file)) != 0) discard(concat("fsync failed: ", errno_text(errno)));
  const int close_status = std::fclose(file);
  file = nullptr;
  if (close_status != 0) discard(concat("close failed: ", errno_text(errno)));
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    discard(concat("rename from '", temp, "' failed: ", errno_text(err)));
  }
  fsync_directory(directory_of(path));
}

void write_file_atomically(const std::string& path, const void* data, size_t size) {
  write_file_atomically(path, [&](std::FILE* f) {
    if (size > 0 && std::fwrite(data, 1, size, f) != size) {
      CRBM_FAIL("short write (", errno_text(errno), ")");
    }
  });
}

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
