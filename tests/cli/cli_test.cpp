// The `crbm` command end to end: runs the built binary (CRBM_CLI_PATH) in a
// temporary directory and checks exit codes, the one-line error messages and
// the files it writes (checkpoint, metrics JSONL, PNGs, features .npy).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/data.hpp"
#include "crbm/dbm.hpp"
#include "crbm/image.hpp"
#include "crbm/rbm.hpp"
#include "crbm/safetensors.hpp"
#include "support/cli_fixture.hpp"

namespace crbm {
namespace {

namespace fs = std::filesystem;

class CliTest : public testing::CliFixture {
 protected:
  // Trains a small model quickly (builtin:bars, few epochs).
  void train_small(const std::string& out, const std::string& extra = "") const {
    const Result r = run("train --epochs 3 --hidden 8 --quiet --out " + out + " " + extra);
    ASSERT_EQ(r.code, 0) << r.err;
  }
};

TEST_F(CliTest, TrainWritesModelMetricsAndFilters) {
  const Result r =
      run("train --epochs 4 --hidden 10 --out m.safetensors --metrics m.jsonl --filters f.png "
          "--samples s.png");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("exact mean log-likelihood (train)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("epoch 4/4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("samples/s"), std::string::npos) << r.err;

  std::map<std::string, std::string> metadata;
  const RbmParams p = load_rbm_params(path("m.safetensors").string(), &metadata);
  EXPECT_EQ(p.visible(), 16);
  EXPECT_EQ(p.hidden(), 10);
  EXPECT_EQ(metadata.at("epochs_done"), "4");
  EXPECT_EQ(metadata.at("data"), "builtin:bars");
  EXPECT_EQ(metadata.at("image_height"), "4");
  EXPECT_TRUE(nlohmann::json::parse(metadata.at("train_config")).is_object());

  const auto lines = nonempty_lines(text("m.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    for (const char* key : {"epoch", "updates", "recon_error", "free_energy_train",
                            "free_energy_holdout", "free_energy_gap", "samples_per_sec", "seconds",
                            "lr", "momentum", "mean_hidden_activation", "exact_log_likelihood"}) {
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << lines[i];
    }
    EXPECT_EQ(j["epoch"].get<int>(), static_cast<int>(i) + 1);
  }
  // 16 visible units, 10 hidden: the last epoch has the exact likelihood.
  const auto last = nlohmann::json::parse(lines.back());
  ASSERT_TRUE(last["exact_log_likelihood"].is_number());
  EXPECT_LT(last["exact_log_likelihood"].get<double>(), 0.0);

  const HostTensor filters = read_image(path("f.png").string());
  EXPECT_EQ(filters.shape.size(), 3u);
  EXPECT_GT(filters.shape[1], 16);
  EXPECT_NO_THROW(read_image(path("s.png").string()));
}

TEST_F(CliTest, InfoListsTensorsAndJson) {
  train_small("m.safetensors");
  const Result r = run("info m.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* name : {"weights", "visible_bias", "hidden_bias", "train_config"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name << " not in:\n" << r.out;
  }
  const Result js = run("info m.safetensors --json");
  ASSERT_EQ(js.code, 0) << js.err;
  const auto j = nlohmann::json::parse(js.out);
  EXPECT_EQ(j["hidden"].get<int>(), 8);
  EXPECT_EQ(j["tensors"]["weights"]["shape"], nlohmann::json({16, 8}));
  EXPECT_TRUE(j["metadata"]["train_config"].is_object());
}

TEST_F(CliTest, SampleWritesPng) {
  train_small("m.safetensors");
  const Result r = run("sample m.safetensors --chains 6 --steps 20 --every 5 --out s.png");
  ASSERT_EQ(r.code, 0) << r.err;
  const HostTensor img = read_image(path("s.png").string());
  ASSERT_EQ(img.shape.size(), 3u);
  EXPECT_GT(img.shape[1], 4);
  EXPECT_GT(img.shape[2], 6 * 4);
}

TEST_F(CliTest, TransformWritesFeatures) {
  train_small("m.safetensors");
  const Result r = run("transform m.safetensors --data builtin:bars --out f.npy --batch 64");
  ASSERT_EQ(r.code, 0) << r.err;
  const HostTensor f = read_npy(path("f.npy").string());
  ASSERT_EQ(f.shape, (std::vector<int64_t>{600, 8}));
  for (float x : f.data) {
    ASSERT_GE(x, 0.0f);
    ASSERT_LE(x, 1.0f);
  }
}

// The convolutional contract: crbm train --model conv --filters K --filter-size F
// --pool P, then transform --output hidden|pooled as (N, K, rows, cols), and sample.
TEST_F(CliTest, ConvolutionalTrainTransformSample) {
  const Result r =
      run("train --model conv --data builtin:bars6 --filters 3 --filter-size 3 --pool 2 --epochs 2 "
          "--out c.safetensors --filters-png cf.png --metrics c.jsonl --samples cs.png");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_EQ(nonempty_lines(text("c.jsonl")).size(), 2u);  // one line per epoch
  EXPECT_NO_THROW(read_image(path("cs.png").string()));
  const SafetensorsFile f = load_safetensors(path("c.safetensors").string());
  bool has_filters = false;
  for (const auto& [name, t] : f.tensors) {
    if (name.size() >= 7 && name.compare(name.size() - 7, 7, "filters") == 0) {
      has_filters = true;
      EXPECT_EQ(t.shape, (std::vector<int64_t>{3, 1, 3, 3})) << name;
    }
  }
  EXPECT_TRUE(has_filters);
  EXPECT_NO_THROW(read_image(path("cf.png").string()));

  // 6x6 images, 3x3 filters: hidden maps 4x4, pooled 2x2.
  ASSERT_EQ(run("transform c.safetensors --data builtin:bars6 --out p.npy").code, 0);
  EXPECT_EQ(read_npy(path("p.npy").string()).shape, (std::vector<int64_t>{2520, 3, 2, 2}));
  ASSERT_EQ(run("transform c.safetensors --data builtin:bars6 --out h.npy --output hidden").code,
            0);
  EXPECT_EQ(read_npy(path("h.npy").string()).shape, (std::vector<int64_t>{2520, 3, 4, 4}));
  ASSERT_EQ(run("sample c.safetensors --chains 4 --steps 5 --out s.png").code, 0);
  EXPECT_NO_THROW(read_image(path("s.png").string()));

  // Metrics JSONL for convolutional training: one object per (layer, epoch).
  ASSERT_EQ(run("train --model conv --data builtin:bars6 --filters 2 --filter-size 3 --pool 2 "
                "--epochs 2 -q --metrics cm.jsonl --out c2.safetensors")
                .code,
            0);
  const auto conv_lines = nonempty_lines(text("cm.jsonl"));
  ASSERT_EQ(conv_lines.size(), 2u);
  for (const auto& line : conv_lines) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"layer", "epoch", "recon_error", "mean_hidden_activation",
                            "mean_pooled_activation", "samples_per_sec"}) {
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    }
  }

  const std::string err = expect_error("train --model conv --filters f.png --data builtin:bars6");
  EXPECT_NE(err.find("--filters"), std::string::npos) << err;
  const std::string dense = expect_error("train --pool 2 --epochs 1");
  EXPECT_NE(dense.find("--model conv"), std::string::npos) << dense;
}

TEST_F(CliTest, EvalEveryReportsAisWhenNotEnumerable) {
  const Result r =
      run("train --data builtin:bars6 --hidden 24 --epochs 2 --eval-every 1 --eval-ais-steps 300 "
          "--quiet --out m.safetensors --metrics m.jsonl");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = nonempty_lines(text("m.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    const auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j["eval_method"], "ais") << line;  // min(36, 24) = 24 units: beyond exact
    EXPECT_LE(j["eval_log_z_low"].get<double>(), j["eval_log_z"].get<double>());
    EXPECT_GE(j["eval_log_z_high"].get<double>(), j["eval_log_z"].get<double>());
    EXPECT_LT(j["eval_log_likelihood"].get<double>(), 0.0);
  }
}

// crbm eval's JSON contract: log_z, log_z_low, log_z_high (equal when exact),
// method (exact|ais) and mean_log_likelihood; AIS agrees with exact in its band.
TEST_F(CliTest, EvalJsonExactAndAis) {
  ASSERT_EQ(run("train --epochs 30 --hidden 10 --quiet --out m.safetensors").code, 0);
  ASSERT_EQ(run("eval m.safetensors --data builtin:bars --json exact.json").code, 0);
  const auto exact = nlohmann::json::parse(text("exact.json"));
  EXPECT_EQ(exact["method"], "exact");
  EXPECT_EQ(exact["precision"], "fp32");  // the default --precision, recorded
  EXPECT_EQ(exact["log_z_low"], exact["log_z"]);
  EXPECT_EQ(exact["log_z_high"], exact["log_z"]);
  EXPECT_LT(exact["mean_log_likelihood"].get<double>(), 0.0);
  ASSERT_EQ(run("eval m.safetensors --data builtin:bars --precision bf16 --json bf16.json").code,
            0);
  EXPECT_EQ(nlohmann::json::parse(text("bf16.json"))["precision"], "bf16");
  const Result r =
      run("eval m.safetensors --data builtin:bars --ais --ais-steps 3000 --ais-runs 100 --json "
          "ais.json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto ais = nlohmann::json::parse(text("ais.json"));
  EXPECT_EQ(ais["method"], "ais");
  const double z = exact["log_z"].get<double>();
  // The band is +-3 sigma of the estimate; allow float rounding on top.
  EXPECT_LE(ais["log_z_low"].get<double>(), z + 0.02);
  EXPECT_GE(ais["log_z_high"].get<double>(), z - 0.02);
}

TEST_F(CliTest, EvalDispatchesDeepModels) {
  ASSERT_EQ(run("dbn-train --layers 8,6 --epochs 2 --batch 50 --out dbn.safetensors").code, 0);
  ASSERT_EQ(run("eval dbn.safetensors --data builtin:bars --json dbn.json").code, 0);
  const auto dbn = nlohmann::json::parse(text("dbn.json"));
  EXPECT_EQ(dbn["method"], "exact");
  EXPECT_TRUE(dbn["mean_log_likelihood_is_lower_bound"].get<bool>());
  ASSERT_EQ(run("dbm-train --hidden 8,6 --epochs 2 --out dbm.safetensors").code, 0);
  ASSERT_EQ(run("eval dbm.safetensors --data builtin:bars --json dbm.json").code, 0);
  const auto dbm = nlohmann::json::parse(text("dbm.json"));
  EXPECT_LE(dbm["mean_log_likelihood"].get<double>(), 0.0);
  EXPECT_EQ(dbm["model"], "dbm");
  // crbm sample dispatches on the checkpoint kind too.
  ASSERT_EQ(run("sample dbn.safetensors --chains 4 --steps 20 --out dbn.png").code, 0);
  EXPECT_NO_THROW(read_image(path("dbn.png").string()));
  ASSERT_EQ(run("sample dbm.safetensors --chains 4 --steps 20 --out dbm.png").code, 0);
  EXPECT_NO_THROW(read_image(path("dbm.png").string()));
  const std::string err = expect_error("sample dbm.safetensors --label 1 --out x.png");
  EXPECT_NE(err.find("--label"), std::string::npos) << err;
}

// dbm-train --resume continues joint training to the --epochs total from a checkpoint's
// epochs_done/updates_done, without pretraining; impossible requests are named.
TEST_F(CliTest, DbmTrainResume) {
  ASSERT_EQ(
      run("dbm-train --hidden 8,6 --epochs 3 --lr-decay 0.5 --out a.safetensors --quiet").code, 0);
  const Result r =
      run("dbm-train --resume a.safetensors --epochs 5 --lr-decay 0.5 --metrics m.jsonl "
          "--out b.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("resuming a.safetensors after joint epoch 3"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pretrain layer"), std::string::npos) << r.out;
  const auto lines = nonempty_lines(text("m.jsonl"));
  ASSERT_EQ(lines.size(), 2u);  // joint epochs 4 and 5 only
  const auto fourth = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(fourth["phase"], "joint");
  EXPECT_EQ(fourth["epoch"].get<int>(), 4);
  EXPECT_NEAR(fourth["learning_rate"].get<double>(), 0.005 / (1 + 0.5 * 3), 1e-7);

  std::map<std::string, std::string> before, after;
  load_dbm_params(path("a.safetensors").string(), &before);
  load_dbm_params(path("b.safetensors").string(), &after);
  EXPECT_EQ(after.at("epochs_done"), "5");
  const int64_t per_epoch = std::stoll(before.at("updates_done")) / 3;
  EXPECT_EQ(std::stoll(after.at("updates_done")), 5 * per_epoch);
  EXPECT_NE(after.at("resumed_from").find("a.safetensors"), std::string::npos);

  std::string err = expect_error("dbm-train --resume b.safetensors --epochs 5 --out c.safetensors");
  EXPECT_NE(err.find("5 joint epochs already"), std::string::npos) << err;
  err =
      expect_error("dbm-train --resume b.safetensors --hidden 8,7 --epochs 9 --out c.safetensors");
  EXPECT_NE(err.find("8,6"), std::string::npos) << err;
  err = expect_error(
      "dbm-train --resume b.safetensors --data builtin:bars3 --epochs 9 --out c.safetensors");
  EXPECT_NE(err.find("16 visible units"), std::string::npos) << err;
}

// dbm-train's per-layer sparsity options reach the joint trainer's configuration (recorded
// in the JSON report and the checkpoint), and a bad target is refused by name.
TEST_F(CliTest, DbmTrainSparsityTargets) {
  const Result r =
      run("dbm-train --hidden 8,6 --pretrain-epochs 1 --epochs 2 --sparsity-targets 0.2,0.1 "
          "--sparsity-cost 0.01 --sparsity-weights --json out.json --out dbm.safetensors --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto config = nlohmann::json::parse(text("out.json"))["config"];
  ASSERT_EQ(config["sparsity_targets"].size(), 2u);
  EXPECT_DOUBLE_EQ(config["sparsity_targets"][1].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(config["sparsity_cost"].get<double>(), 0.01);
  EXPECT_TRUE(config["sparsity_weight_gradient"].get<bool>());
  std::map<std::string, std::string> metadata;
  load_dbm_params(path("dbm.safetensors").string(), &metadata);
  EXPECT_NE(metadata.at("dbm_train_config").find("\"sparsity_targets\":[0.2,0.1]"),
            std::string::npos)
      << metadata.at("dbm_train_config");
  const std::string err =
      expect_error("dbm-train --hidden 8,6 --sparsity-targets 0.2,1.5 --out x.safetensors");
  EXPECT_NE(err.find("sparsity_targets[1] = 1.5"), std::string::npos) << err;
}

// dbm-train's monitoring options: momentum schedule, JSONL metrics for both phases, periodic
// atomic checkpoints, a sample grid, and the JSON report with device and warnings.
TEST_F(CliTest, DbmTrainMonitoringOptions) {
  const Result r = run(
      "dbm-train --hidden 8,6 --pretrain-epochs 2 --epochs 3 --momentum 0.3 --final-momentum 0.6 "
      "--momentum-switch-epoch 2 --save-every 1 --metrics m.jsonl --samples-png s.png "
      "--sample-steps 30 --json out.json --out dbm.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("joint epoch   3/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ETA"), std::string::npos) << r.out;

  const auto lines = nonempty_lines(text("m.jsonl"));
  std::vector<nlohmann::json> joint;
  int pretrain = 0;
  for (const std::string& line : lines) {
    const auto j = nlohmann::json::parse(line);
    if (j["phase"] == "pretrain") {
      ++pretrain;
      const double act = j.value("mean_hidden_activation", -1.0);
      EXPECT_GT(act, 0.0) << line;
      EXPECT_LT(act, 1.0) << line;
    } else {
      joint.push_back(j);
    }
  }
  EXPECT_EQ(pretrain, 4);  // two layers, two epochs each
  ASSERT_EQ(joint.size(), 3u);
  EXPECT_FLOAT_EQ(joint[0]["momentum"].get<float>(), 0.3f);
  EXPECT_FLOAT_EQ(joint[1]["momentum"].get<float>(), 0.3f);
  EXPECT_FLOAT_EQ(joint[2]["momentum"].get<float>(), 0.6f);
  for (const auto& j : joint) {
    EXPECT_EQ(j["mean_activation"].size(), 2u);
    EXPECT_TRUE(j["warnings"].is_array());
  }

  std::map<std::string, std::string> metadata;
  load_dbm_params(path("dbm.safetensors").string(), &metadata);
  EXPECT_EQ(metadata.at("epochs_done"), "3");
  const auto cfg = nlohmann::json::parse(metadata.at("dbm_train_config"));
  EXPECT_EQ(cfg["momentum_switch_epoch"].get<int>(), 2);

  const auto report = nlohmann::json::parse(text("out.json"));
  EXPECT_TRUE(report["device"].is_string());
  EXPECT_TRUE(report["warnings"].is_array());
  const HostTensor grid = read_image(path("s.png").string());
  EXPECT_GT(grid.shape[1], 4 * 10);  // 10 x 10 tiles of the 4 x 4 bars

  const std::string err = expect_error("dbm-train --hidden 8,6 --momentum 1.5 --out x.safetensors");
  EXPECT_NE(err.find("--momentum"), std::string::npos) << err;
}

// crbm sample --inpaint: a DBN completes bars with 30% of the pixels hidden far better than
// the mean image does; the grid has the three rows; other checkpoints and bad masks are named.
TEST_F(CliTest, DbnInpainting) {
  ASSERT_EQ(run("dbn-train --layers 16,16 --epochs 100 --batch 20 --lr 0.1 --out dbn.safetensors "
                "--quiet")
                .code,
            0);
  const Result r = run(
      "sample dbn.safetensors --inpaint builtin:bars --chains 30 --mask random:0.3 --out i.png");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string key = "mean squared error per hidden pixel: ";
  const size_t at = r.out.find(key);
  ASSERT_NE(at, std::string::npos) << r.out;
  const double completion = std::stod(r.out.substr(at + key.size()));
  const size_t mean_at = r.out.find("; ", at);
  ASSERT_NE(mean_at, std::string::npos) << r.out;
  const double mean_image = std::stod(r.out.substr(mean_at + 2));
  EXPECT_LT(completion, 0.5 * mean_image) << r.out;
  const HostTensor grid = read_image(path("i.png").string());
  EXPECT_GT(grid.shape[1], 3 * 4);  // three rows of 4 x 4 tiles

  ASSERT_EQ(
      run("sample dbn.safetensors --inpaint builtin:bars --mask top --chains 5 --out t.png").code,
      0);
  std::string err = expect_error(
      "sample dbn.safetensors --inpaint builtin:bars --mask middle "
      "--out x.png");
  EXPECT_NE(err.find("--mask"), std::string::npos) << err;
  err = expect_error("sample dbn.safetensors --inpaint builtin:bars3 --out x.png");
  EXPECT_NE(err.find("9 values"), std::string::npos) << err;
  train_small("rbm.safetensors");
  err = expect_error("sample rbm.safetensors --inpaint builtin:bars --out x.png");
  EXPECT_NE(err.find("only DBN checkpoints"), std::string::npos) << err;
}

// Replicated softmax end to end on the builtin documents: training beats the unigram model
// of the same words (exact log Z: 10 hidden units), the hidden units separate the topics,
// `crbm eval` / `crbm transform` dispatch on the checkpoint, and bad counts are named.
TEST_F(CliTest, ReplicatedSoftmaxTrainEvalTransform) {
  const Result r =
      run("rsm-train --hidden 10 --epochs 30 --lr 0.01 --out rsm.safetensors --metrics rsm.jsonl "
          "--json rsm.json --test builtin:docs --eval-docs 40 --classify-epochs 20");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_EQ(nonempty_lines(text("rsm.jsonl")).size(), 30u);
  const auto j = nlohmann::json::parse(text("rsm.json"));
  const auto& t = j["test"];
  EXPECT_EQ(t["documents"].get<int>(), 40);
  EXPECT_EQ(t["log_z_method"], "exact");
  EXPECT_LT(t["perplexity"].get<double>(), 0.9 * t["unigram_perplexity"].get<double>()) << t;
  EXPECT_LT(j["classification"]["test_error"].get<double>(), 0.3) << j["classification"];

  ASSERT_EQ(run("eval rsm.safetensors --data builtin:docs --limit 25 --json e.json").code, 0);
  const auto e = nlohmann::json::parse(text("e.json"));
  EXPECT_EQ(e["documents"].get<int>(), 25);
  EXPECT_LT(e["mean_log_prob"].get<double>(), 0.0);
  ASSERT_EQ(run("transform rsm.safetensors --data builtin:docs --limit 7 --out h.npy").code, 0);
  EXPECT_EQ(read_npy(path("h.npy").string()).shape, (std::vector<int64_t>{7, 10}));

  const std::string groups = expect_error("rsm-train --kind groups --out g.safetensors");
  EXPECT_NE(groups.find("--group"), std::string::npos) << groups;
  HostTensor bad({2, 3}, 1.0f);
  bad.data[4] = 1.5f;
  write_npy(path("bad.npy").string(), bad);
  const std::string counts = expect_error("rsm-train --data npy:bad.npy --out b.safetensors");
  EXPECT_NE(counts.find("row 1, column 1"), std::string::npos) << counts;
}

TEST_F(CliTest, ConfigFileAndCommandLineOverride) {
  std::ofstream(path("c.toml")) << "# a config file\nhidden = 12\nepochs = 3\nlr = 0.02\n"
                                   "metrics = \"c.jsonl\"\nquiet = true\n";
  const Result r = run("train --config c.toml --epochs 2 --out c.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  std::map<std::string, std::string> metadata;
  const RbmParams p = load_rbm_params(path("c.safetensors").string(), &metadata);
  EXPECT_EQ(p.hidden(), 12);  // from the file
  const auto config = nlohmann::json::parse(metadata.at("train_config"));
  EXPECT_EQ(config["epochs"].get<int>(), 2);  // the command line wins
  EXPECT_NEAR(config["learning_rate"].get<double>(), 0.02, 1e-6);
  EXPECT_EQ(nonempty_lines(text("c.jsonl")).size(), 2u);
  EXPECT_EQ(r.err.find("epoch 1/"), std::string::npos) << "quiet = true ignored";

  std::ofstream(path("bad.toml")) << "hiden = 3\n";
  EXPECT_NE(expect_error("train --config bad.toml").find("hiden"), std::string::npos);
}

TEST_F(CliTest, UnknownOptionIsOneLineWithHint) {
  const std::string err = expect_error("train --no-such-option 3");
  EXPECT_NE(err.find("--no-such-option"), std::string::npos) << err;
  EXPECT_NE(err.find("crbm train --help"), std::string::npos) << err;
  EXPECT_NE(expect_error("frobnicate").find("frobnicate"), std::string::npos);
}

TEST_F(CliTest, MissingDataFileIsNamed) {
  const std::string err = expect_error("train --data idx:does-not-exist.idx --out m.safetensors");
  EXPECT_NE(err.find("does-not-exist.idx"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
}

TEST_F(CliTest, TruncatedIdxIsReported) {
  // Header: uint8, 3 dims 10 x 28 x 28, but only 100 pixel bytes follow.
  std::vector<unsigned char> bytes = {0, 0, 0x08, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28};
  bytes.resize(bytes.size() + 100, 7);
  std::ofstream(path("t.idx"), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  const std::string err = expect_error("train --data idx:t.idx");
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  EXPECT_NE(err.find("t.idx"), std::string::npos) << err;
}

TEST_F(CliTest, NanInNpyIsReported) {
  HostTensor x({4, 6}, 0.5f);
  x.data[9] = std::numeric_limits<float>::quiet_NaN();
  write_npy(path("nan.npy").string(), x);
  const std::string err = expect_error("train --data npy:nan.npy");
  EXPECT_NE(err.find("NaN"), std::string::npos) << err;
}

TEST_F(CliTest, InvalidValuesNameTheField) {
  EXPECT_NE(expect_error("train --hidden 0").find("hidden"), std::string::npos);
  EXPECT_NE(expect_error("train --batch 0").find("batch"), std::string::npos);
  EXPECT_NE(expect_error("train --visible ternary").find("--visible"), std::string::npos);
  EXPECT_NE(expect_error("train --data builtin:blobs").find("gaussian"), std::string::npos);
}

TEST_F(CliTest, CudaWithoutGpuIsOneClearLine) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present; the error path does not apply";
  const std::string err = expect_error("train --device cuda --epochs 1");
  EXPECT_NE(err.find("cuda"), std::string::npos) << err;
}

TEST_F(CliTest, WrongTensorShapesAreExplained) {
  SafetensorsFile f;
  f.tensors["weights"] = HostTensor({16, 8}, 0.0f);
  f.tensors["visible_bias"] = HostTensor({10}, 0.0f);
  f.tensors["hidden_bias"] = HostTensor({8}, 0.0f);
  f.metadata["model"] = "rbm";
  save_safetensors(path("bad.safetensors").string(), f);
  for (const char* cmd :
       {"sample bad.safetensors --out s.png --steps 2",
        "transform bad.safetensors --data builtin:bars --out f.npy", "info bad.safetensors"}) {
    const std::string err = expect_error(cmd);
    EXPECT_NE(err.find("visible_bias"), std::string::npos) << err;
    EXPECT_NE(err.find("[10]"), std::string::npos) << err;
  }
}

TEST_F(CliTest, TransformRejectsDataOfTheWrongWidth) {
  train_small("m.safetensors");
  const std::string err = expect_error("transform m.safetensors --data builtin:bars3 --out f.npy");
  EXPECT_NE(err.find("visible units"), std::string::npos) << err;
}

TEST_F(CliTest, GaussianModelRoundTrip) {
  const Result r =
      run("train --data builtin:blobs --visible gaussian --hidden 6 --epochs 3 --quiet "
          "--out g.safetensors --filters f.png");
  ASSERT_EQ(r.code, 0) << r.err;
  std::map<std::string, std::string> metadata;
  const RbmParams p = load_rbm_params(path("g.safetensors").string(), &metadata);
  EXPECT_EQ(p.visible_type, VisibleType::gaussian);
  EXPECT_TRUE(metadata.count("standardize_mean"));
  const Result t = run("transform g.safetensors --data builtin:blobs --out f.npy");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(read_npy(path("f.npy").string()).shape, (std::vector<int64_t>{1000, 6}));
}

TEST_F(CliTest, DivergenceKeepsThePreviousCheckpoint) {
  train_small("m.safetensors");
  const std::string before = text("m.safetensors");
  ASSERT_FALSE(before.empty());
  const Result r = run("train --epochs 3 --hidden 8 --quiet --lr 1e30 --out m.safetensors");
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(nonempty_lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("diverged"), std::string::npos) << r.err;
  EXPECT_EQ(text("m.safetensors"), before) << "the checkpoint was overwritten";
  EXPECT_NO_THROW(load_rbm_params(path("m.safetensors").string()));
}

TEST_F(CliTest, HelpIsGroupedAndExitsZero) {
  const Result r = run("train --help");
  EXPECT_EQ(r.code, 0);
  for (const char* group : {"Data:", "Model:", "Training:", "Output:", "--hidden", "--pcd"}) {
    EXPECT_NE(r.out.find(group), std::string::npos) << group;
  }
}

// One spelling per flag: the canonical ones are shown by --help, the older spellings still
// work (hidden aliases) on the command line and in config files.
TEST_F(CliTest, OldSpellingsAreHiddenAliases) {
  ASSERT_EQ(run("train --epochs 3 --hidden 8 --quiet --batch-size 30 --momentum-switch 2 "
                "--cd-k 2 --out a.safetensors")
                .code,
            0);
  std::map<std::string, std::string> metadata;
  load_rbm_params(path("a.safetensors").string(), &metadata);
  auto config = nlohmann::json::parse(metadata.at("train_config"));
  EXPECT_EQ(config["batch_size"].get<int>(), 30);
  EXPECT_EQ(config["momentum_switch_epoch"].get<int>(), 2);
  EXPECT_EQ(config["k"].get<int>(), 2);

  std::ofstream(path("old.toml")) << "batch-size = 40\nmomentum-switch = 3\nepochs = 2\n";
  ASSERT_EQ(run("train --config old.toml --hidden 8 --quiet --out b.safetensors").code, 0);
  load_rbm_params(path("b.safetensors").string(), &metadata);
  config = nlohmann::json::parse(metadata.at("train_config"));
  EXPECT_EQ(config["batch_size"].get<int>(), 40);
  EXPECT_EQ(config["momentum_switch_epoch"].get<int>(), 3);

  // The conv commands' spellings: --batch-size, --cd-k, a bare --pcd (persistent --cd K).
  ASSERT_EQ(run("conv train --filters 2 --epochs 1 --batch-size 10 --cd-k 2 --pcd -q "
                "--out c.safetensors")
                .code,
            0);
  const SafetensorsFile conv = load_safetensors(path("c.safetensors").string());
  const auto layer0 = nlohmann::json::parse(conv.metadata.at("layer0.train_config"));
  EXPECT_EQ(layer0["batch_size"].get<int>(), 10);
  EXPECT_EQ(layer0["algorithm"], "pcd");
  // dbn-train/dbm-train: --layers and --samples-png.
  ASSERT_EQ(
      run("dbn-train --layers 6,4 --epochs 1 --samples-png d.png -q --out d.safetensors").code, 0);
  EXPECT_NO_THROW(read_image(path("d.png").string()));

  for (const char* cmd : {"train", "conv train", "dbn-train", "finetune", "dbm-train", "rsm-train",
                          "conv classify"}) {
    const Result help = run(std::string(cmd) + " --help");
    ASSERT_EQ(help.code, 0) << cmd;
    for (const char* alias :
         {"--batch-size", "--cd-k", "--momentum-switch ", "--layers", "--samples-png"}) {
      EXPECT_EQ(help.out.find(alias), std::string::npos) << cmd << " shows " << alias;
    }
    for (const char* canonical : {"--batch", "--lr-schedule", "--lr-decay-rate", "--lr-floor"}) {
      EXPECT_NE(help.out.find(canonical), std::string::npos) << cmd << " lacks " << canonical;
    }
  }
  EXPECT_NE(expect_error("train --cd 2 --pcd 3").find("--pcd"), std::string::npos);
}

// The learning-rate schedule options exist on every training command and reject bad values
// by name.
TEST_F(CliTest, LrScheduleOptionsAreChecked) {
  ASSERT_EQ(run("train --epochs 2 --hidden 8 --quiet --lr-schedule exponential --lr-decay-rate "
                "1.001 --lr-floor 0.001 --out m.safetensors")
                .code,
            0);
  std::string err = expect_error("train --lr-schedule linear");
  EXPECT_NE(err.find("--lr-schedule"), std::string::npos) << err;
  EXPECT_NE(err.find("linear"), std::string::npos) << err;
  err = expect_error("dbm-train --lr-decay-rate 0.5");
  EXPECT_NE(err.find("--lr-decay-rate"), std::string::npos) << err;
  err = expect_error("rsm-train --lr-floor -1");
  EXPECT_NE(err.find("--lr-floor"), std::string::npos) << err;
}

// Issue 15, defect 3: a directory given as --config is an error, not silently ignored.
TEST_F(CliTest, ConfigDirectoryIsAnError) {
  fs::create_directories(path("conf.d"));
  const std::string err = expect_error("train --config conf.d --epochs 1 --out m.safetensors");
  EXPECT_NE(err.find("conf.d"), std::string::npos) << err;
  EXPECT_NE(err.find("directory"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
}

// Issue 15, defect 6: --threads is 0..1024; a negative or huge count is named.
TEST_F(CliTest, ThreadsAreValidated) {
  for (const char* bad : {"-1", "5000", "two"}) {
    const std::string err =
        expect_error(std::string("train --epochs 1 --out m.safetensors --threads ") + bad);
    EXPECT_NE(err.find("--threads"), std::string::npos) << err;
  }
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
  EXPECT_NE(expect_error("dbm-train --threads -3").find("--threads"), std::string::npos);
}

// --precision (issue 12): every product-computing command takes it from the shared compute
// options; a bad value names the flag and the choices; the checkpoint's training
// configuration records it (fp32 when not given); tf32 changes the trained weights (the CPU
// emulates it), fp32 given explicitly does not.
TEST_F(CliTest, PrecisionIsValidatedRecordedAndHonoured) {
  for (const char* cmd : {"train", "dbn-train", "dbm-train", "finetune", "eval", "sample"}) {
    const std::string err = expect_error(std::string(cmd) + " --precision fp16");
    EXPECT_NE(err.find("--precision"), std::string::npos) << cmd << ": " << err;
    EXPECT_NE(err.find("fp32, tf32 or bf16"), std::string::npos) << cmd << ": " << err;
    EXPECT_NE(err.find("fp16"), std::string::npos) << cmd << ": " << err;
  }
  train_small("default.safetensors", "--seed 3");
  train_small("fp32.safetensors", "--seed 3 --precision fp32");
  train_small("tf32.safetensors", "--seed 3 --precision tf32");
  std::map<std::string, std::string> m_default, m_fp32, m_tf32;
  const RbmParams p_default = load_rbm_params(path("default.safetensors").string(), &m_default);
  const RbmParams p_fp32 = load_rbm_params(path("fp32.safetensors").string(), &m_fp32);
  const RbmParams p_tf32 = load_rbm_params(path("tf32.safetensors").string(), &m_tf32);
  EXPECT_EQ(nlohmann::json::parse(m_default.at("train_config")).at("precision"), "fp32");
  EXPECT_EQ(nlohmann::json::parse(m_fp32.at("train_config")).at("precision"), "fp32");
  EXPECT_EQ(nlohmann::json::parse(m_tf32.at("train_config")).at("precision"), "tf32");
  EXPECT_EQ(p_fp32.weights.data, p_default.weights.data);
  EXPECT_NE(p_tf32.weights.data, p_default.weights.data);

  const Result dbn =
      run("dbn-train --hidden 8,4 --epochs 1 --precision bf16 -q --out d.safetensors");
  ASSERT_EQ(dbn.code, 0) << dbn.err;
  const auto dbn_meta = load_safetensors(path("d.safetensors").string()).metadata;
  EXPECT_EQ(nlohmann::json::parse(dbn_meta.at("layer1.train_config")).at("precision"), "bf16");
}

// Issue 15, defect 10: dbm-train trains 2 or 3 hidden layers, as its help says.
TEST_F(CliTest, DbmTrainNeedsTwoOrThreeLayers) {
  for (const char* hidden : {"8", "8,8,8,8"}) {
    const std::string err =
        expect_error(std::string("dbm-train --epochs 1 --out d.safetensors --hidden ") + hidden);
    EXPECT_NE(err.find("--hidden"), std::string::npos) << err;
    EXPECT_NE(err.find("2 or 3"), std::string::npos) << err;
  }
  EXPECT_FALSE(fs::exists(path("d.safetensors")));
}

// Issue 15, defect 11: sample --chains is capped (one tile per chain in the PNG).
TEST_F(CliTest, SampleChainsAreCapped) {
  train_small("m.safetensors");
  const std::string err = expect_error("sample m.safetensors --chains 10000000 --out s.png");
  EXPECT_NE(err.find("--chains"), std::string::npos) << err;
  EXPECT_NE(err.find("1024"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(path("s.png")));
  ASSERT_EQ(run("sample m.safetensors --chains 1024 --steps 1 --out s.png").code, 0);
}

}  // namespace
}  // namespace crbm
