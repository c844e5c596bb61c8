// Reliability of the `crbm` command (issue 15): outputs never replace devices,
// FIFOs, symlinks or a file's mode; no temp names survive; every command loads
// checkpoints and data through one validation; sizes set by options fail with a
// named error; messages escape file bytes; training killed at random moments
// while it rewrites its checkpoint leaves only loadable checkpoints.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "crbm/data.hpp"
#include "crbm/safetensors.hpp"
#include "support/cli_fixture.hpp"

namespace crbm {
namespace {

namespace fs = std::filesystem;

bool all_printable_one_line(const std::string& s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return s.empty() || s.back() == '\n';
}

class ReliabilityTest : public testing::CliFixture {
 protected:
  // A small trained Bernoulli RBM (16 visible, 8 hidden) at m.safetensors.
  void train_model() const {
    const Result r = run("train --epochs 2 --hidden 8 --quiet --out m.safetensors");
    ASSERT_EQ(r.code, 0) << r.err;
  }

  // A float32 .npy of shape (rows, cols) filled with `value`.
  void write_npy_f4(const std::string& name, int64_t rows, int64_t cols, float value) const {
    HostTensor t({rows, cols}, value);
    write_npy(path(name).string(), t);
  }
};

// ---- defect 1: outputs ----

TEST_F(ReliabilityTest, OutputToACharacterDeviceKeepsTheDevice) {
  train_model();
  if (::mknod(path("n").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod failed (needs root): " << std::strerror(errno);
  }
  const Result r = run("sample m.safetensors --chains 4 --steps 5 --out n");
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::lstat(path("n").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device node was replaced";
  EXPECT_EQ(run("sample m.safetensors --chains 4 --steps 5 --out /dev/null").code, 0);
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(ReliabilityTest, OutputToAFifoWritesThroughIt) {
  train_model();
  ASSERT_EQ(::mkfifo(path("pipe").c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = text("pipe"); });
  const Result r = run("transform m.safetensors --data builtin:bars --out pipe");
  reader.join();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(got.substr(0, 6), "\x93NUMPY");
  struct stat st {};
  ASSERT_EQ(::lstat(path("pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(ReliabilityTest, OutputThroughASymlinkKeepsTheLinkAndTheMode) {
  train_model();
  fs::create_directories(path("store"));
  write("store/real.png", "old");
  ASSERT_EQ(::chmod(path("store/real.png").c_str(), 0600), 0);
  fs::create_symlink("store/real.png", path("link.png"));
  const Result r = run("sample m.safetensors --chains 4 --steps 5 --out link.png");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(path("link.png")));
  EXPECT_EQ(text("store/real.png").substr(1, 3), "PNG");
  struct stat st {};
  ASSERT_EQ(::stat(path("store/real.png").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // The checkpoint too: train over an existing 0600 checkpoint keeps 0600.
  ASSERT_EQ(::chmod(path("m.safetensors").c_str(), 0600), 0);
  train_model();
  ASSERT_EQ(::stat(path("m.safetensors").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(ReliabilityTest, OutputToADirectoryIsOneClearError) {
  train_model();
  fs::create_directories(path("outdir"));
  const Result r = run("sample m.safetensors --chains 4 --steps 5 --out outdir");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("outdir"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_directory(path("outdir")));
  const Result m = run("train --epochs 1 --hidden 4 --quiet --out x.safetensors --metrics outdir");
  EXPECT_EQ(m.code, 1);
  EXPECT_NE(m.err.find("is a directory"), std::string::npos) << m.err;
}

// ---- defect 2: stale temps ----

TEST_F(ReliabilityTest, StaleTempsOfDeadProcessesAreRemovedOnTheNextWrite) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  const std::string stale = "m.safetensors.tmp-" + std::to_string(child) + "-3";
  write(stale, std::string(4096, 'x'));
  train_model();
  EXPECT_FALSE(fs::exists(path(stale)));
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

// ---- defect 4: empty data ----

TEST_F(ReliabilityTest, DataWithoutRowsIsNamedNotAnInternalCheck) {
  write_npy_f4("empty.npy", 0, 16, 0.0f);
  const Result r = run("train --data npy:empty.npy --hidden 4 --epochs 1 --out m.safetensors");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("empty.npy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no rows"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("check '"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(".cpp:"), std::string::npos) << r.err;
  train_model();
  for (const std::string& cmd : {std::string("eval m.safetensors --data npy:empty.npy"),
                                 std::string("transform m.safetensors --data npy:empty.npy --out "
                                             "o.npy")}) {
    const Result e = run(cmd);
    EXPECT_EQ(e.code, 1) << cmd;
    EXPECT_NE(e.err.find("no rows"), std::string::npos) << cmd << ": " << e.err;
  }
}

// ---- defect 5: one checkpoint validation ----

TEST_F(ReliabilityTest, EveryCommandRejectsTheSameBrokenCheckpoints) {
  train_model();
  const SafetensorsFile good = load_checkpoint(path("m.safetensors").string());
  struct Case {
    std::string name, expect;
    SafetensorsFile file;
  };
  std::vector<Case> cases;
  {
    Case c{"no_weights.safetensors", "missing tensor 'weights'", good};
    c.file.tensors.erase("weights");
    cases.push_back(c);
  }
  {
    Case c{"visible17.safetensors", "contradicts", good};
    c.file.metadata["visible"] = "17";
    cases.push_back(c);
  }
  {
    Case c{"hidden2e9.safetensors", "contradicts", good};
    c.file.metadata["hidden"] = "2000000000";
    cases.push_back(c);
  }
  {
    Case c{"nan.safetensors", "NaN", good};
    c.file.tensors["hidden_bias"].data[1] = NAN;
    cases.push_back(c);
  }
  {
    Case c{"extra.safetensors", "not part of a rbm checkpoint", good};
    c.file.tensors["layer1.weights"] = HostTensor({2, 2}, 0.0f);
    cases.push_back(c);
  }
  for (const Case& c : cases) save_safetensors(path(c.name).string(), c.file);
  // Bytes after the last tensor.
  write("trailing.safetensors", text("m.safetensors") + "JUNKJUNK");
  cases.push_back({"trailing.safetensors", "after the last tensor", good});

  for (const Case& c : cases) {
    for (const std::string& cmd :
         {"info " + c.name, "sample " + c.name + " --chains 2 --steps 2 --out s.png",
          "transform " + c.name + " --data builtin:bars --out f.npy",
          "eval " + c.name + " --data builtin:bars"}) {
      const Result r = run(cmd);
      EXPECT_EQ(r.code, 1) << cmd << ": " << r.out << r.err;
      EXPECT_NE(r.err.find(c.expect), std::string::npos) << cmd << ": " << r.err;
      EXPECT_NE(r.err.find(c.name), std::string::npos) << cmd << ": " << r.err;
    }
  }
  EXPECT_EQ(run("info m.safetensors").code, 0);
}

// ---- defect 7: sizes set by options ----

TEST_F(ReliabilityTest, AnImpossibleAisScheduleIsANamedErrorNotBadAlloc) {
  train_model();
  const Result r = run("eval m.safetensors --ais --ais-runs 2 --ais-steps 1099511627776");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err.find("bad_alloc"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot allocate the AIS schedule"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--ais-steps"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("TiB"), std::string::npos) << r.err;
}

// ---- defect 8: escaped bytes ----

TEST_F(ReliabilityTest, ErrorMessagesEscapeControlBytesFromFiles) {
  // A .npy whose header carries an ANSI escape and a bell in its dtype.
  std::string header = "{'descr': '\x1b[31m\x07', 'fortran_order': False, 'shape': (2, 2), }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(header.size() & 0xff);
  file += static_cast<char>(header.size() >> 8);
  write("evil.npy", file + header + std::string(16, '\0'));
  // And a checkpoint whose tensor name holds a newline and a carriage return.
  const std::string ck = std::string("{\"a\\n\\rb\x7f\":{\"dtype\":\"XX\",\"shape\":[1],") +
                         "\"data_offsets\":[0,4]}}";
  std::string st(8, '\0');
  st[0] = static_cast<char>(ck.size());
  write("evil.safetensors", st + ck + "1234");
  const std::pair<std::string, std::string> cases[] = {
      {"train --data npy:evil.npy --out m.safetensors", "\\x1b[31m\\x07"},
      {"info evil.safetensors", "a\\n\\rb\\x7f"}};
  for (const auto& [cmd, escaped] : cases) {
    const Result r = run(cmd);
    EXPECT_EQ(r.code, 1) << cmd;
    EXPECT_TRUE(all_printable_one_line(r.err)) << cmd << ": " << printable(r.err);
    EXPECT_NE(r.err.find(escaped), std::string::npos) << cmd << ": " << printable(r.err);
  }
}

// ---- defect 9: value ranges ----

TEST_F(ReliabilityTest, EveryCommandRejectsOutOfRangeDataForBernoulliUnits) {
  train_model();
  write_npy_f4("big.npy", 3, 16, 2.0f);
  for (const std::string& cmd : {std::string("train --data npy:big.npy --hidden 4 --epochs 1 --out "
                                             "t.safetensors"),
                                 std::string("transform m.safetensors --data npy:big.npy --out "
                                             "f.npy"),
                                 std::string("eval m.safetensors --data npy:big.npy")}) {
    const Result r = run(cmd);
    EXPECT_EQ(r.code, 1) << cmd << ": " << r.out;
    EXPECT_NE(r.err.find("need data in [0, 1]"), std::string::npos) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("big.npy"), std::string::npos) << cmd << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(path("f.npy")));
}

// ---- kills during checkpoint writes ----

TEST_F(ReliabilityTest, KilledTrainingLeavesOnlyLoadableCheckpoints) {
  // 270 KB checkpoints rewritten after every epoch of one minibatch: most of
  // the run is spent writing them, so the kills land inside writes.
  constexpr int kKills = 40;
  std::mt19937_64 rng(15);
  int survived = 0, before_first_save = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int k = 0; k < kKills && std::chrono::steady_clock::now() < deadline; ++k) {
    const std::string out = "k" + std::to_string(k % 8) + ".safetensors";
    std::fflush(stdout);  // the child must not repeat buffered output
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (::chdir(dir_.c_str()) != 0) ::_exit(127);
      std::freopen("/dev/null", "w", stdout);
      std::freopen("/dev/null", "w", stderr);
      ::execl(CRBM_CLI_PATH, "crbm", "train", "--hidden", "4000", "--epochs", "100000", "--limit",
              "20", "--save-every", "1", "--quiet", "--threads", "1", "--out", out.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100000 + rng() % 800000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "crbm train exited by itself (status " << status << ")";
    if (!fs::exists(path(out))) {
      ++before_first_save;
      continue;
    }
    ++survived;
    EXPECT_NO_THROW(load_checkpoint(path(out).string())) << "after kill " << k;
  }
  int stale = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().find(".tmp-") != std::string::npos) ++stale;
  }
  std::printf(
      "[ kills ] %d kills: %d checkpoints loaded, %d before the first save, %d temp names "
      "left\n",
      survived + before_first_save, survived, before_first_save, stale);
  EXPECT_GE(survived + before_first_save, 30);
  EXPECT_GT(survived, 0);
  // The next write to each name removes whatever temps the killed runs left.
  for (int k = 0; k < 8; ++k) {
    const std::string out = "k" + std::to_string(k) + ".safetensors";
    if (!fs::exists(path(out))) continue;
    ASSERT_EQ(run("train --epochs 1 --hidden 4 --quiet --out " + out).code, 0);
  }
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace crbm
