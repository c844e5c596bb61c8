#include "support/temp_dir.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace crbm::testing {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Bytes read_bytes(const fs::path& p) {
  const std::string s = read_file(p);
  return Bytes(s.begin(), s.end());
}

void write_bytes(const fs::path& p, const Bytes& bytes) {
  write_file(p, std::string(bytes.begin(), bytes.end()));
}

std::string BuildDirFiles::path(const std::string& name) const {
  return std::string(CRBM_BINARY_DIR) + "/" + prefix_ + "_" + name;
}

std::vector<std::string> nonempty_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void TempDirTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  // Parameterised suites and tests have '/' in their names.
  std::string name = std::string("crbm_") + info->test_suite_name() + "_" + info->name() + "_" +
                     std::to_string(::getpid());
  std::replace(name.begin(), name.end(), '/', '_');
  dir_ = fs::temp_directory_path() / name;
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

void TempDirTest::TearDown() {
  if (!HasFailure()) fs::remove_all(dir_);
}

std::vector<std::string> TempDirTest::entries() const {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace crbm::testing
