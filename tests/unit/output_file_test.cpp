// The output routine (crbm/atomic_file.hpp): regular files replaced atomically
// with their mode kept, symlinks written through, devices and FIFOs written in
// place, directories refused, no temp names left behind, stale temps removed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "crbm/atomic_file.hpp"
#include "crbm/error.hpp"
#include "support/temp_dir.hpp"

namespace crbm {
namespace {

namespace fs = std::filesystem;

class OutputFileTest : public testing::TempDirTest {
 protected:
  std::string p(const std::string& name) const { return path(name).string(); }
  static std::string read(const std::string& path) { return testing::read_file(path); }
  static void put(const std::string& path, const std::string& text) {
    write_file_atomically(path, text.data(), text.size());
  }
};

TEST_F(OutputFileTest, CreatesAndReplacesRegularFiles) {
  put(p("a.txt"), "one");
  EXPECT_EQ(read(p("a.txt")), "one");
  put(p("a.txt"), "two, longer");
  EXPECT_EQ(read(p("a.txt")), "two, longer");
  EXPECT_EQ(entries(), std::vector<std::string>{"a.txt"});
  EXPECT_EQ(write_target(p("a.txt")).kind, OutputKind::replace);
}

TEST_F(OutputFileTest, KeepsAnExistingFilesMode) {
  put(p("m.txt"), "x");
  ASSERT_EQ(::chmod(p("m.txt").c_str(), 0600), 0);
  put(p("m.txt"), "y");
  struct stat st {};
  ASSERT_EQ(::stat(p("m.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::chmod(p("m.txt").c_str(), 0640), 0);
  put(p("m.txt"), "z");
  ASSERT_EQ(::stat(p("m.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(read(p("m.txt")), "z");
}

TEST_F(OutputFileTest, WritesASymlinksTargetAndKeepsTheLink) {
  fs::create_directories(dir_ / "real");
  put(p("real/t.txt"), "old");
  fs::create_symlink("real/t.txt", dir_ / "link");  // relative to the link's directory
  put(p("link"), "new");
  EXPECT_TRUE(fs::is_symlink(dir_ / "link"));
  EXPECT_EQ(read(p("real/t.txt")), "new");
  EXPECT_EQ(write_target(p("link")).path, p("real/t.txt"));
  // A chain of links, and a dangling one: the final name is created.
  fs::create_symlink(p("link"), dir_ / "link2");
  put(p("link2"), "chained");
  EXPECT_EQ(read(p("real/t.txt")), "chained");
  fs::create_symlink("real/fresh.txt", dir_ / "dangling");
  put(p("dangling"), "created");
  EXPECT_TRUE(fs::is_symlink(dir_ / "dangling"));
  EXPECT_EQ(read(p("real/fresh.txt")), "created");
}

TEST_F(OutputFileTest, RefusesDirectoriesLoopsAndMissingParents) {
  fs::create_directories(dir_ / "sub");
  try {
    put(p("sub"), "x");
    FAIL() << "writing over a directory succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(p("sub")), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(dir_ / "sub"));
  fs::create_symlink("loop_b", dir_ / "loop_a");
  fs::create_symlink("loop_a", dir_ / "loop_b");
  EXPECT_THROW(put(p("loop_a"), "x"), Error);
  try {
    put(p("no/such/dir/f.txt"), "x");
    FAIL() << "writing into a missing directory succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(put("", "x"), Error);
}

TEST_F(OutputFileTest, WritesCharacterDevicesInPlace) {
  // /dev/null itself stays a device (the routine never renames over it).
  put("/dev/null", "discarded");
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(write_target("/dev/null").kind, OutputKind::direct);
  // stdout, whether a terminal, a pipe or a file the shell opened: in place.
  EXPECT_EQ(write_target("/dev/stdout").kind, OutputKind::direct);
  EXPECT_EQ(write_target("/dev/fd/1").kind, OutputKind::direct);
  // A private copy of /dev/null (needs root for mknod; skipped otherwise).
  if (::mknod(p("null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod failed (not root?): " << std::strerror(errno);
  }
  put(p("null"), "discarded");
  ASSERT_EQ(::lstat(p("null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(OutputFileTest, WritesFifosInPlace) {
  ASSERT_EQ(::mkfifo(p("fifo").c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = read(p("fifo")); });
  put(p("fifo"), "through the pipe");
  reader.join();
  EXPECT_EQ(got, "through the pipe");
  struct stat st {};
  ASSERT_EQ(::lstat(p("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(OutputFileTest, AFailedWriteLeavesTheOldFileAndNoTemp) {
  put(p("keep.txt"), "precious");
  EXPECT_THROW(write_file_atomically(p("keep.txt"),
                                     [](std::FILE* f) {
                                       std::fputs("half", f);
                                       throw Error("disk on fire");
                                     }),
               Error);
  EXPECT_EQ(read(p("keep.txt")), "precious");
  EXPECT_EQ(entries(), std::vector<std::string>{"keep.txt"});
}

TEST_F(OutputFileTest, NoNamedTempWhileWritingANewFile) {
  // With O_TMPFILE (tmpfs, ext4, xfs, btrfs) the bytes in flight have no name,
  // so a kill leaves nothing; other file systems use a named temp.
  std::vector<std::string> during;
  write_file_atomically(p("new.bin"), [&](std::FILE* f) {
    std::fputs("data", f);
    during = entries();
  });
  const int probe = ::open(dir_.c_str(), O_TMPFILE | O_WRONLY, 0600);
  if (probe >= 0) {
    ::close(probe);
    EXPECT_TRUE(during.empty()) << during.front();
  } else {
    EXPECT_EQ(during.size(), 1u);
  }
  EXPECT_EQ(read(p("new.bin")), "data");
}

TEST_F(OutputFileTest, RemovesStaleTempsOfDeadProcesses) {
  put(p("ck.safetensors"), "v1");
  // A process that has exited: fork one and reap it, so its pid is free.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  const std::string dead = p("ck.safetensors.tmp-" + std::to_string(child) + "-0");
  const std::string mine = p("ck.safetensors.tmp-" + std::to_string(::getpid()) + "-999");
  const std::string alive = p("ck.safetensors.tmp-1-0");  // init never dies
  const std::string other = p("other.tmp-" + std::to_string(child) + "-0");
  for (const std::string& f : {dead, mine, alive, other}) std::ofstream(f) << "junk";
  put(p("ck.safetensors"), "v2");
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(mine));  // this process's pid, but not a temp it is writing
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(other));  // another file's temps are not touched
  EXPECT_EQ(read(p("ck.safetensors")), "v2");
  EXPECT_EQ(remove_stale_temps(p("ck.safetensors")), 0);
}

TEST_F(OutputFileTest, AGrowingFileIsPublishedOnceThenAppended) {
  put(p("log.jsonl"), "old run\n");
  OutputFile out(p("log.jsonl"));
  EXPECT_EQ(read(p("log.jsonl")), "old run\n");  // nothing replaced before commit
  out.commit();
  EXPECT_EQ(read(p("log.jsonl")), "");
  std::fputs("line 1\n", out.stream());
  out.commit();
  std::fputs("line 2\n", out.stream());
  out.commit();
  EXPECT_EQ(read(p("log.jsonl")), "line 1\nline 2\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"log.jsonl"});
}

}  // namespace
}  // namespace crbm
