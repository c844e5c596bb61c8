#include "support/cli_fixture.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>

#ifndef CRBM_CLI_PATH
#error "CRBM_CLI_PATH must name the built crbm binary"
#endif

namespace crbm::testing {

CliResult CliFixture::run(const std::string& args) const {
  const std::string cmd = "cd '" + dir_.string() + "' && '" + CRBM_CLI_PATH + "' " + args +
                          " > stdout.txt 2> stderr.txt";
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = text("stdout.txt");
  r.err = text("stderr.txt");
  return r;
}

std::string CliFixture::expect_error(const std::string& args) const {
  const CliResult r = run(args);
  EXPECT_NE(r.code, 0) << args;
  EXPECT_EQ(nonempty_lines(r.err).size(), 1u) << "stderr of '" << args << "':\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("crbm: error: ", 0), 0u) << r.err;
  return r.err;
}

}  // namespace crbm::testing
