// The papers' training protocols as data: a table of named recipes, each filling every
// setting of one training command from its source (a paper section or a file of the
// authors' released code), with the settings the library cannot express yet listed so a
// command can say so instead of silently training something else. docs/recipes.md shows
// every recipe's settings with their sources.
//
// Use from a command (explicit flags override the recipe):
//   RbmPlan plan;                                   // the library's defaults
//   apply_recipe(find_recipe(name), plan);          // the recipe over them
//   ... bind each flag to its plan field, or overwrite the field when the flag was given;
//   ... warn with each RecipeGap of the recipe; train from the plan;
//   save_rbm(path, params, {{kRecipeMetadataKey, name}, ...});
// apply_recipe only writes the plan it is given: it holds no state and reads no flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crbm/conv_train.hpp"
#include "crbm/data.hpp"
#include "crbm/dbm.hpp"
#include "crbm/dbn.hpp"
#include "crbm/linear_svm.hpp"
#include "crbm/mlp.hpp"
#include "crbm/rbm.hpp"
#include "crbm/train.hpp"

namespace crbm {

// The checkpoint metadata key that records the recipe a model was trained with (its
// value: the recipe name, e.g. "sm08-cd25"). Absent when no recipe was used.
inline constexpr const char* kRecipeMetadataKey = "recipe";

// Which plan (and so which command) a recipe fills.
enum class RecipeModel { rbm, dbm, dbn, cdbn };
const char* to_string(RecipeModel model);

// One setting as applied, with where its value comes from (for docs and --help).
struct RecipeSetting {
  std::string name;    // the plan field it fills, e.g. "train.learning_rate"
  std::string value;   // as applied, e.g. "0.05"
  std::string source;  // e.g. "rbm.m (DBM code)"
};

// A setting the source uses that the library does not support yet, and what the recipe
// does instead: a command prints these before training.
struct RecipeGap {
  std::string setting;  // e.g. "ten softmax label units joined to the top layer"
  std::string source;   // e.g. "dbm_mf.m"
  std::string instead;  // e.g. "trained without labels"
};

// How a row of the reproduction table is evaluated.
struct RecipeEval {
  // Likelihood rows: AIS runs and the step counts every row reports (0 runs: not a
  // likelihood row). The test set is binarized as test_binarize with test_seed.
  int ais_runs = 0;
  std::vector<int64_t> ais_steps;
  Binarize test_binarize = Binarize::none;
  uint64_t test_seed = 7;
  int lower_bound_sweeps = 0;  // DBM: mean-field sweeps of the variational bound
  // Classification rows: the published test error (fraction), 0 for likelihood rows.
  double published_error = 0;
};

struct Recipe {
  std::string name;  // "sm08-cd25"
  RecipeModel model = RecipeModel::rbm;
  std::string description;  // one line
  std::string source;       // the paper (section) and the code files it follows
  std::string published;    // the number to reproduce, with its source
  RecipeEval eval;
  std::vector<RecipeSetting> settings;  // every setting the recipe fills
  std::vector<RecipeGap> unsupported;   // empty when the library runs the protocol as is
  // Settings whose source could not be read (the value is then our choice, said so in its
  // RecipeSetting::source); empty when every value comes from a source.
  std::vector<std::string> unverified;
};

// ---- the plans: every setting one command needs ----

// crbm train (dense binary RBM).
struct RbmPlan {
  int64_t hidden = 500;
  float init_stddev = 0.01f;
  Binarize binarize = Binarize::none;  // on load; train.resample_binarization redraws per batch
  TrainConfig train;
};

// crbm dbm-train: greedy pretraining (one TrainConfig per hidden layer), then joint training.
struct DbmPlan {
  std::vector<int64_t> hidden;
  float init_stddev = 0.01f;
  Binarize binarize = Binarize::none;
  std::vector<TrainConfig> pretrain;  // [hidden.size()]
  DbmTrainConfig joint;
  bool labels = false;  // the label group on the top layer (when the data has class labels)
  SharedBias shared_bias = SharedBias::mean;  // Dbm::pretrain's composition of shared biases
};

// crbm dbn train, then fine-tuning of the MLP it initialises.
struct DbnPlan {
  DbnConfig dbn;  // layers (hidden sizes and their TrainConfigs), labels, init
  Binarize binarize = Binarize::none;
  int classes = 10;    // the fine-tuned classifier's outputs
  MlpConfig finetune;  // backprop after pretraining
};

// crbm conv train (a CDBN, one ConvTrainConfig per layer), then a linear SVM on the
// pooled features of every layer.
struct CdbnLayerPlan {
  int64_t filters = 0;
  int64_t filter_size = 0;
  int64_t pool = 0;
  ConvTrainConfig train;
};
struct CdbnPlan {
  std::vector<CdbnLayerPlan> layers;
  VisibleType visible_type = VisibleType::bernoulli;  // layer 0's input units
  float sigma = 1.0f;                                 // Gaussian input only
  Binarize binarize = Binarize::none;
  LinearSvmConfig svm;
};

// The recipes, in table order.
const std::vector<Recipe>& recipes();
std::vector<std::string> recipe_names();
// Throws crbm::Error "unknown recipe 'NAME' (known: sm08-cd25, ...)".
const Recipe& find_recipe(const std::string& name);

// Fill every setting of the recipe into `plan` (fields the recipe does not name keep the
// value they had). Throws crbm::Error when the recipe is for another model ("recipe
// 'sh09-dbm' is for the dbm plan, not the rbm plan (...)"). The filled plan validates.
void apply_recipe(const Recipe& recipe, RbmPlan& plan);
void apply_recipe(const Recipe& recipe, DbmPlan& plan);
void apply_recipe(const Recipe& recipe, DbnPlan& plan);
void apply_recipe(const Recipe& recipe, CdbnPlan& plan);

// Validate every config in a plan (throws crbm::Error naming the field).
void validate(const RbmPlan& plan);
void validate(const DbmPlan& plan);
void validate(const DbnPlan& plan);
void validate(const CdbnPlan& plan);

// A recipe as plain text for `--help` or a `recipes` listing: the name and description,
// source, published number, one line per setting ("  train.cd_k = 25    (source)"), the
// gaps and the unverified settings.
std::string describe_recipe(const Recipe& recipe);

// The lines a command prints for a recipe's gaps: "recipe sh09-dbm: <setting> (<source>)
// is not supported yet; <instead>". Empty when there are none.
std::vector<std::string> recipe_gap_messages(const Recipe& recipe);

}  // namespace crbm
