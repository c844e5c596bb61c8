// The fixture of the CLI tests: runs the built `crbm` binary (CRBM_CLI_PATH) in
// the test's own directory and captures its exit code, stdout and stderr.
#pragma once

#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace crbm::testing {

struct CliResult {
  int code = -1;
  std::string out, err;
};

class CliFixture : public TempDirTest {
 protected:
  using Result = CliResult;

  // Runs `crbm ARGS` in the test directory (a shell command line: ARGS may
  // redirect or pipe), capturing stdout and stderr.
  CliResult run(const std::string& args) const;
  // A failing run: non-zero exit and exactly one line "crbm: error: ...\n" on
  // stderr, which it returns.
  std::string expect_error(const std::string& args) const;
  // A file of the test directory, whole.
  std::string text(const std::string& name) const { return read_file(path(name)); }
  // Writes `bytes` to a file of the test directory.
  void write(const std::string& name, const std::string& bytes) const {
    write_file(path(name), bytes);
  }
  static std::vector<std::string> nonempty_lines(const std::string& text) {
    return testing::nonempty_lines(text);
  }
};

}  // namespace crbm::testing
