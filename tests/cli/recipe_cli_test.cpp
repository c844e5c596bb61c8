// `--recipe NAME` on the training commands end to end (crbm/recipes.hpp, docs/recipes.md):
// the recipe's settings become the defaults, explicit flags override them, unknown and
// mismatched recipes fail clearly, and the checkpoint records the recipe. Tiny data and one
// epoch, so that each test runs in a second or two.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "crbm/recipes.hpp"
#include "crbm/safetensors.hpp"
#include "support/cli_fixture.hpp"

namespace crbm {
namespace {

namespace fs = std::filesystem;

class RecipeCliTest : public testing::CliFixture {
 protected:
  // The checkpoint's metadata and its training configuration.
  std::map<std::string, std::string> metadata(const std::string& name) const {
    return load_safetensors(path(name).string()).metadata;
  }
  // `crbm <command> --recipe <recipe> <args> --out <out>`: it succeeds and the checkpoint
  // records the recipe. Returns the checkpoint's metadata (empty, the test failed, when the
  // command failed).
  std::map<std::string, std::string> trained_with(const std::string& command,
                                                  const std::string& recipe,
                                                  const std::string& args, const std::string& out) {
    const Result r = run(command + " --recipe " + recipe + " " + args + " --out " + out);
    EXPECT_EQ(r.code, 0) << r.err;
    if (r.code != 0) return {};
    std::map<std::string, std::string> m = metadata(out);
    EXPECT_EQ(m[kRecipeMetadataKey], recipe) << "the checkpoint records the recipe";
    return m;
  }
};

// A tiny `crbm train` run with the recipe sm08-cd25.
const char* kTinyTrain = "train --recipe sm08-cd25 --data builtin:bars --limit 20 --epochs 1 -q";

TEST_F(RecipeCliTest, TrainRecipeSetsItsValuesAndIsRecorded) {
  const Result r = run(std::string(kTinyTrain) + " --out m.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto m = metadata("m.safetensors");
  ASSERT_TRUE(m.count(kRecipeMetadataKey)) << "the checkpoint records the recipe";
  EXPECT_EQ(m.at(kRecipeMetadataKey), "sm08-cd25");
  const auto config = nlohmann::json::parse(m.at("train_config"));
  EXPECT_EQ(config["k"], 25);  // the recipe's CD-25
  EXPECT_FLOAT_EQ(config["learning_rate"].get<float>(), 0.05f);
  EXPECT_EQ(config["batch_size"], 100);  // not the builtin data's default of 20
  EXPECT_EQ(config["resample_binarization"], true);
  EXPECT_EQ(config["epochs"], 1);                                   // the explicit --epochs wins
  EXPECT_NE(r.out.find("16-500 RBM"), std::string::npos) << r.out;  // the recipe's 500 hidden
}

TEST_F(RecipeCliTest, ExplicitFlagsOverrideTheRecipe) {
  const Result r =
      run(std::string(kTinyTrain) + " --cd 2 --lr 0.01 --hidden 8 --batch 10 --out m.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto config = nlohmann::json::parse(metadata("m.safetensors").at("train_config"));
  EXPECT_EQ(config["k"], 2);
  EXPECT_FLOAT_EQ(config["learning_rate"].get<float>(), 0.01f);
  EXPECT_EQ(config["batch_size"], 10);
  EXPECT_NE(r.out.find("16-8 RBM"), std::string::npos) << r.out;
}

TEST_F(RecipeCliTest, ConfigFileValuesOverrideTheRecipeToo) {
  std::ofstream(path("c.toml")) << "cd = 3\n";
  const Result r = run(std::string(kTinyTrain) + " --config c.toml --out m.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto config = nlohmann::json::parse(metadata("m.safetensors").at("train_config"));
  EXPECT_EQ(config["k"], 3);
}

TEST_F(RecipeCliTest, NoRecipeNoMetadataKey) {
  const Result r = run("train --data builtin:bars --limit 20 --epochs 1 -q --out m.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(metadata("m.safetensors").count(kRecipeMetadataKey), 0u);
}

TEST_F(RecipeCliTest, UnknownRecipeFailsListingTheKnownOnes) {
  const Result r = run("train --recipe sm08-cd26 --epochs 1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("unknown recipe 'sm08-cd26'"), std::string::npos) << r.err;
  for (const std::string& name : recipe_names()) {
    EXPECT_NE(r.err.find(name), std::string::npos) << name << " in: " << r.err;
  }
  EXPECT_FALSE(fs::exists(path("crbm-model.safetensors")));
}

TEST_F(RecipeCliTest, RecipeForAnotherModelFails) {
  const Result r = run("train --recipe sh09-dbm --epochs 1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("sh09-dbm"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dbm model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sm08-cd25"), std::string::npos) << "names the recipes that fit: " << r.err;
}

TEST_F(RecipeCliTest, HelpListsTheRecipes) {
  const Result r = run("train --help");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("--recipe"), std::string::npos);
  EXPECT_NE(r.out.find("sm08-cd25: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("sh09-dbm: "), std::string::npos) << "only this command's recipes";
}

TEST_F(RecipeCliTest, GapsAreWarnedOnStderrEvenWhenQuiet) {
  const Recipe& hs06 = find_recipe("hs06-dbn");
  ASSERT_FALSE(recipe_gap_messages(hs06).empty());
  const Result r =
      run("dbn-train --recipe hs06-dbn --data builtin:bars --limit 20 --epochs 1 --hidden 8,6 -q "
          "--out d.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const std::string& line : recipe_gap_messages(hs06)) {
    EXPECT_NE(r.err.find("warning: " + line), std::string::npos) << line << " in: " << r.err;
  }
}

TEST_F(RecipeCliTest, DbnTrainRecipeSetsEveryLayerAndFlagsOverride) {
  const auto m = trained_with("dbn-train", "hs06-dbn",
                              "--data builtin:bars --limit 20 --epochs 1 --hidden 8,6 --lr 0.02 -q "
                              "--json d.json",
                              "d.safetensors");
  EXPECT_EQ(m.at("binarize"), "none");  // the recipe's grey levels, not the default stochastic
  for (const char* key : {"layer0.train_config", "layer1.train_config"}) {
    const auto config = nlohmann::json::parse(m.at(key));
    EXPECT_FLOAT_EQ(config["learning_rate"].get<float>(), 0.02f) << key;   // the flag
    EXPECT_FLOAT_EQ(config["weight_decay"].get<float>(), 0.0002f) << key;  // the recipe
    EXPECT_EQ(config["batch_size"], 100) << key;
    EXPECT_EQ(config["epochs"], 1) << key;
  }
  const auto j = nlohmann::json::parse(text("d.json"));
  EXPECT_EQ(j["recipe"], "hs06-dbn");
  EXPECT_EQ(j["layers"], "8,6");
}

TEST_F(RecipeCliTest, DbnTrainRejectsAnRbmRecipe) {
  const Result r = run("dbn-train --recipe sm08-cd25 --epochs 1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("rbm model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hs06-dbn"), std::string::npos) << r.err;
}

TEST_F(RecipeCliTest, FinetuneRecipeInJsonAndMetadata) {
  trained_with("finetune", "hs06-dbn",
               "--random-layers 4 --data builtin:blobs --binarize threshold --limit 40 --epochs 1 "
               "-q --json f.json",
               "f.safetensors");
  const auto j = nlohmann::json::parse(text("f.json"));
  EXPECT_EQ(j["recipe"], "hs06-dbn");
  EXPECT_EQ(j["config"]["epochs"], 1);                              // the flag
  EXPECT_FLOAT_EQ(j["config"]["weight_decay"].get<float>(), 0.0f);  // the recipe
  EXPECT_EQ(j["config"]["batch_size"], 100);
}

TEST_F(RecipeCliTest, DbmTrainRecipeSetsPretrainingAndJointTraining) {
  const auto m = trained_with("dbm-train", "sh09-dbm",
                              "--data builtin:bars --limit 20 --hidden 8,6 --pretrain-epochs 1 "
                              "--epochs 1 --gibbs-steps 2 -q --json j.json",
                              "m.safetensors");
  EXPECT_EQ(m.at("pretrain_epochs"), "1");         // the flag
  EXPECT_EQ(m.at("pretrain_lr"), "0.05");          // the recipe
  EXPECT_EQ(m.at("pretrain_shared_bias"), "sum");  // the recipe (dbm_mf.m), not the mean
  const auto joint = nlohmann::json::parse(m.at("dbm_train_config"));
  EXPECT_FLOAT_EQ(joint["learning_rate"].get<float>(), 0.001f);  // the recipe, not 0.005
  EXPECT_EQ(joint["gibbs_steps"], 2);                            // the flag
  EXPECT_EQ(joint["epochs"], 1);
  EXPECT_EQ(nlohmann::json::parse(text("j.json"))["recipe"], "sh09-dbm");
}

TEST_F(RecipeCliTest, DbmTrainSharedBiasFlagOverridesTheRecipeAndIsChecked) {
  const auto m = trained_with("dbm-train", "sh09-dbm",
                              "--data builtin:bars --limit 20 --hidden 8,6 --pretrain-epochs 1 "
                              "--epochs 1 --pretrain-shared-bias mean -q",
                              "mean.safetensors");
  EXPECT_EQ(m.at("pretrain_shared_bias"), "mean");
  const Result bad =
      run("dbm-train --data builtin:bars --limit 20 --hidden 8,6 --pretrain-shared-bias median "
          "--out bad.safetensors");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--pretrain-shared-bias"), std::string::npos) << bad.err;
}

TEST_F(RecipeCliTest, ConvTrainRecipeSetsEveryLayerAndFlagsOverride) {
  const Recipe& lee = find_recipe("lee09-cdbn");
  CdbnPlan plan;
  apply_recipe(lee, plan);
  ASSERT_EQ(plan.layers.size(), 2u);
  const auto m = trained_with("conv train", "lee09-cdbn",
                              "--data builtin:bars6 --limit 10 --epochs 1 --filters 4,3 "
                              "--filter-size 3,1 --pool 2,1 --lr 0.01 -q",
                              "c.safetensors");
  EXPECT_EQ(m.at("binarize"), to_string(plan.binarize));
  const auto top = nlohmann::json::parse(m.at("layer1.train_config"));  // the last layer's
  EXPECT_FLOAT_EQ(top["learning_rate"].get<float>(), 0.01f);            // the flag
  EXPECT_FLOAT_EQ(top["sparsity_target"].get<float>(), plan.layers[1].train.sparsity_target);
  EXPECT_FLOAT_EQ(top["weight_decay"].get<float>(), plan.layers[1].train.weight_decay);
  EXPECT_EQ(top["epochs"], 1);
}

TEST_F(RecipeCliTest, ConvTrainRejectsADbnRecipe) {
  const Result r = run("conv train --recipe hs06-dbn --epochs 1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("lee09-cdbn"), std::string::npos) << r.err;
}

// Writes a tiny MNIST-like directory (28x28 images, label c: bright rows c, c+10, ...).
void write_tiny_mnist(const fs::path& dir, int n) {
  fs::create_directories(dir);
  auto be32 = [](std::ofstream& f, uint32_t v) {
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    f.write(b, 4);
  };
  for (const char* split : {"train", "t10k"}) {
    std::ofstream images(dir / (std::string(split) + "-images-idx3-ubyte"), std::ios::binary);
    std::ofstream labels(dir / (std::string(split) + "-labels-idx1-ubyte"), std::ios::binary);
    be32(images, 2051);
    be32(images, n);
    be32(images, 28);
    be32(images, 28);
    be32(labels, 2049);
    be32(labels, n);
    for (int i = 0; i < n; ++i) {
      const int c = i % 10;
      labels.put(char(c));
      for (int r = 0; r < 28; ++r) {
        for (int col = 0; col < 28; ++col) images.put((r / 3) % 10 == c ? char(255) : char(0));
      }
    }
  }
}

// dbm-train --labels: the data's class labels as a softmax group on the top layer, written
// to the checkpoint (num_classes, labels.*), reported per joint epoch and by deep-eval.
TEST_F(RecipeCliTest, DbmTrainLabelsTrainsALabelledDbm) {
  write_tiny_mnist(path("mn"), 20);
  const Result r =
      run("dbm-train --data mnist:mn:train --hidden 8,6 --pretrain-epochs 1 --epochs 2 --batch 10 "
          "--chains 10 --labels -q --json j.json --out l.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto m = metadata("l.safetensors");
  EXPECT_EQ(m.at("num_classes"), "10");
  const auto j = nlohmann::json::parse(text("j.json"));
  EXPECT_EQ(j["labels"], 10);
  const auto& last = j["log"].back();
  EXPECT_EQ(last["phase"], "joint");
  EXPECT_GE(last["label_error"].get<double>(), 0.0);
  EXPECT_LE(last["label_error"].get<double>(), 1.0);
  const Result e = run("deep-eval l.safetensors --data mnist:mn:test --json e.json");
  ASSERT_EQ(e.code, 0) << e.err;
  const auto ej = nlohmann::json::parse(text("e.json"));
  EXPECT_EQ(ej["num_classes"], 10);
  EXPECT_EQ(ej["log_z_method"], "exact");  // 8 odd units: enumerated, once per class
  EXPECT_GE(ej["error_rate"].get<double>(), 0.0);
  EXPECT_LE(ej["error_rate"].get<double>(), 1.0);
  EXPECT_LT(ej["mean_lower_bound"].get<double>(), 0.0);
  // Without --labels: no label group (as before).
  ASSERT_EQ(run("dbm-train --data mnist:mn:train --hidden 8,6 --pretrain-epochs 1 --epochs 1 "
                "--batch 10 --chains 10 -q --out u.safetensors")
                .code,
            0);
  EXPECT_EQ(metadata("u.safetensors").count("num_classes"), 0u);
  // The recipe turns labels on for labelled data; --no-labels turns them off.
  ASSERT_EQ(run("dbm-train --recipe sh09-dbm --data mnist:mn:train --hidden 8,6 "
                "--pretrain-epochs 1 --epochs 1 --chains 10 -q --out r.safetensors")
                .code,
            0);
  EXPECT_EQ(metadata("r.safetensors").at("num_classes"), "10");
  ASSERT_EQ(run("dbm-train --recipe sh09-dbm --no-labels --data mnist:mn:train --hidden 8,6 "
                "--pretrain-epochs 1 --epochs 1 --chains 10 -q --out n.safetensors")
                .code,
            0);
  EXPECT_EQ(metadata("n.safetensors").count("num_classes"), 0u);
  // Data without class labels: a clear error naming the source.
  const Result bad = run("dbm-train --data builtin:bars --hidden 8,6 --labels --out b.safetensors");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--labels: builtin:bars has no class labels"), std::string::npos)
      << bad.err;
  // --resume keeps the checkpoint's label group; a contradicting flag is refused.
  const Result resumed =
      run("dbm-train --resume l.safetensors --data mnist:mn:train --epochs 3 --batch 10 "
          "--chains 10 -q --out l2.safetensors");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(metadata("l2.safetensors").at("num_classes"), "10");
  const Result contra =
      run("dbm-train --resume l.safetensors --no-labels --data mnist:mn:train --epochs 3 "
          "--out l3.safetensors");
  EXPECT_NE(contra.code, 0);
  EXPECT_NE(contra.err.find("a label group of 10 classes"), std::string::npos) << contra.err;
}

TEST_F(RecipeCliTest, ConvClassifyRecipeUsesTheSvmAndWritesErrorRate) {
  write_tiny_mnist(path("mn"), 20);
  ASSERT_EQ(run("conv train --data mnist:mn:train --epochs 1 --filter-size 10 --filters 4 -q "
                "--out c.safetensors")
                .code,
            0);
  const Result r =
      run("conv classify c.safetensors --recipe lee09-cdbn --train-data mnist:mn:train --test-data "
          "mnist:mn:test --svm-c 0.5 --json e.json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(text("e.json"));
  EXPECT_EQ(j["classifier"], "svm");  // the recipe's classifier
  EXPECT_EQ(j["recipe"], "lee09-cdbn");
  EXPECT_DOUBLE_EQ(j["svm"]["C"].get<double>(), 0.5);  // the flag over the recipe's C
  EXPECT_TRUE(j["error_rate"].is_number());
  EXPECT_LE(j["error_rate"].get<double>(), 0.5);
  // --classifier softmax overrides the recipe's SVM.
  const Result s =
      run("conv classify c.safetensors --recipe lee09-cdbn --classifier softmax --epochs 1 "
          "--train-data mnist:mn:train --test-data mnist:mn:test --json s.json");
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(nlohmann::json::parse(text("s.json"))["classifier"], "softmax");
}

}  // namespace
}  // namespace crbm
