// Test helpers for files: a fresh directory per test, and reading and writing a
// file's bytes whole. Shared by the unit tests of the file formats and by the
// CLI tests (cli_fixture.hpp).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace crbm::testing {

namespace fs = std::filesystem;

// The whole file as bytes ("" if it cannot be opened).
std::string read_file(const fs::path& p);
// Replaces the file's contents by `bytes`.
void write_file(const fs::path& p, const std::string& bytes);
using Bytes = std::vector<uint8_t>;
Bytes read_bytes(const fs::path& p);
void write_bytes(const fs::path& p, const Bytes& bytes);
// The bytes of `values` as they lie in memory (little-endian on the hosts we build for).
template <typename T>
Bytes le_bytes(const std::vector<T>& values) {
  Bytes b(values.size() * sizeof(T));
  std::memcpy(b.data(), values.data(), b.size());
  return b;
}
// The files of a test source that writes a few fixed names without a fixture:
// path(name) = "<build dir>/<prefix>_<name>" (TempDirTest gives each test a fresh directory
// instead).
class BuildDirFiles {
 public:
  explicit BuildDirFiles(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string path(const std::string& name) const;

 private:
  std::string prefix_;
};
// The non-empty lines of `text`, without their newlines.
std::vector<std::string> nonempty_lines(const std::string& text);

// A fixture with a fresh directory per test, <temp>/crbm_<suite>_<test>_<pid>
// (the pid keeps ctest's parallel processes apart). It is removed after a
// passing test and kept after a failing one, to look at.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  fs::path path(const std::string& name) const { return dir_ / name; }
  // The names in the directory, sorted.
  std::vector<std::string> entries() const;

  fs::path dir_;
};

}  // namespace crbm::testing
