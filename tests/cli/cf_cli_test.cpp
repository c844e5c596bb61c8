// `crbm cf-train`, `crbm cf-predict` and `crbm info` on a ratings RBM, end to end: the
// metrics JSONL, progress lines, the checkpoint, cf-predict reproducing cf-train's split
// (same held-out RMSE), top-N, and one-line errors for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#ifndef CRBM_CLI_PATH
#error "CRBM_CLI_PATH must name the built crbm binary"
#endif

namespace crbm {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int code = -1;
  std::string out, err;
};

class CfCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("crbm_cf_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
         "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string text(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  CliRun run(const std::string& args) const {
    const std::string cmd =
        "cd '" + dir_.string() + "' && '" + CRBM_CLI_PATH + "' " + args + " > out.txt 2> err.txt";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text("out.txt"), text("err.txt")};
  }
  std::string expect_error(const std::string& args) const {
    const CliRun r = run(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_EQ(r.err.rfind("crbm: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    return r.err;
  }
  fs::path dir_;
};

std::vector<std::string> lines(const std::string& t) {
  std::vector<std::string> out;
  std::stringstream ss(t);
  for (std::string l; std::getline(ss, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

TEST_F(CfCli, TrainPredictInfo) {
  const CliRun t =
      run("cf-train --data builtin:ratings:300x60 --hidden 8 --epochs 3 --threads 1 --cd 1,2@3 "
          "--metrics m.jsonl --json t.json --out r.safetensors");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.err.find("epoch   3/3  CD-2"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("ratings/s"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("ETA"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("generator's true means"), std::string::npos) << t.err;
  const std::vector<std::string> m = lines(text("m.jsonl"));
  ASSERT_EQ(m.size(), 3u);
  for (size_t e = 0; e < m.size(); ++e) {
    const auto j = nlohmann::json::parse(m[e]);
    EXPECT_EQ(j["epoch"], int(e) + 1);
    EXPECT_TRUE(j["test_rmse"].is_number());
    EXPECT_GT(j["ratings_per_second"].get<double>(), 0);
  }
  const auto summary = nlohmann::json::parse(text("t.json"));
  const double train_rmse = summary["test_rmse"].get<double>();

  const CliRun info = run("info r.safetensors");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("ratings RBM (collaborative filtering), 60 items x 5 rating levels, 8 "),
            std::string::npos)
      << info.out;

  const CliRun p = run("cf-predict r.safetensors --data builtin:ratings:300x60 --json p.json");
  ASSERT_EQ(p.code, 0) << p.err;
  const std::vector<std::string> rows = lines(text("predictions.tsv"));
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], "user\titem\trating\tpredicted");
  EXPECT_EQ(int64_t(rows.size()) - 1, summary["test_ratings"].get<int64_t>());
  const auto pj = nlohmann::json::parse(text("p.json"));
  EXPECT_NEAR(pj["test_rmse"].get<double>(), train_rmse, 1e-9);  // the same split and model

  const CliRun top = run("cf-predict r.safetensors --data builtin:ratings:300x60 --user 5 --top 4");
  ASSERT_EQ(top.code, 0) << top.err;
  const std::vector<std::string> ranked = lines(top.out);
  ASSERT_EQ(ranked.size(), 5u) << top.out;
  EXPECT_EQ(ranked[0], "rank\titem\tpredicted");
  double prev = 1e9;
  for (size_t r = 1; r < ranked.size(); ++r) {
    const double score = std::stod(ranked[r].substr(ranked[r].rfind('\t') + 1));
    EXPECT_LE(score, prev);
    prev = score;
  }
}

TEST_F(CfCli, BadInputIsOneLineError) {
  std::ofstream(dir_ / "u.data") << "1\t1\t5\t0\n1\t2\t4\n2\t1\toops\t0\n";
  std::string e = expect_error("cf-train --data u.data --epochs 1");
  EXPECT_NE(e.find("u.data:3: rating 'oops' is not a finite number"), std::string::npos) << e;
  e = expect_error("cf-train --data builtin:ratings:100x30 --cd 1,x@3 --epochs 1");
  EXPECT_NE(e.find("'x@3' is not K or K@EPOCH"), std::string::npos) << e;
  e = expect_error("cf-predict missing.safetensors --data builtin:ratings");
  EXPECT_NE(e.find("missing.safetensors"), std::string::npos) << e;
  ASSERT_EQ(run("cf-train --data builtin:ratings:100x30 --hidden 4 --epochs 1 -q --out r.st").code,
            0);
  e = expect_error("cf-predict r.st --data builtin:ratings:100x30 --user 100000");
  EXPECT_NE(e.find("--user 100000: no such user"), std::string::npos) << e;
}

}  // namespace
}  // namespace crbm
