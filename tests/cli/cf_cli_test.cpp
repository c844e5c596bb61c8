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

#include "support/cli_fixture.hpp"

namespace crbm {
namespace {

namespace fs = std::filesystem;

class CfCli : public testing::CliFixture {};

TEST_F(CfCli, TrainPredictInfo) {
  const Result t =
      run("cf-train --data builtin:ratings:300x60 --hidden 8 --epochs 3 --threads 1 --cd 1,2@3 "
          "--metrics m.jsonl --json t.json --out r.safetensors");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.err.find("epoch   3/3  CD-2"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("ratings/s"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("ETA"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("generator's true means"), std::string::npos) << t.err;
  const std::vector<std::string> m = nonempty_lines(text("m.jsonl"));
  ASSERT_EQ(m.size(), 3u);
  for (size_t e = 0; e < m.size(); ++e) {
    const auto j = nlohmann::json::parse(m[e]);
    EXPECT_EQ(j["epoch"], int(e) + 1);
    EXPECT_TRUE(j["test_rmse"].is_number());
    EXPECT_GT(j["ratings_per_second"].get<double>(), 0);
  }
  const auto summary = nlohmann::json::parse(text("t.json"));
  const double train_rmse = summary["test_rmse"].get<double>();

  const Result info = run("info r.safetensors");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("ratings RBM (collaborative filtering), 60 items x 5 rating levels, 8 "),
            std::string::npos)
      << info.out;

  const Result p = run("cf-predict r.safetensors --data builtin:ratings:300x60 --json p.json");
  ASSERT_EQ(p.code, 0) << p.err;
  const std::vector<std::string> rows = nonempty_lines(text("predictions.tsv"));
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], "user\titem\trating\tpredicted");
  EXPECT_EQ(int64_t(rows.size()) - 1, summary["test_ratings"].get<int64_t>());
  const auto pj = nlohmann::json::parse(text("p.json"));
  EXPECT_NEAR(pj["test_rmse"].get<double>(), train_rmse, 1e-9);  // the same split and model

  const Result top = run("cf-predict r.safetensors --data builtin:ratings:300x60 --user 5 --top 4");
  ASSERT_EQ(top.code, 0) << top.err;
  const std::vector<std::string> ranked = nonempty_lines(top.out);
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
