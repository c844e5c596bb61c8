// The recipe table (crbm/recipes.hpp): every recipe applies to its plan and validates, its
// recorded settings are the values applied, unknown names list the known ones, a recipe for
// another model is refused, and a field set after applying (an explicit flag) stays.
#include "crbm/recipes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/expect_error.hpp"

namespace crbm {
namespace {

const RecipeSetting* setting(const Recipe& r, const std::string& name) {
  for (const RecipeSetting& s : r.settings) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string value_of(const Recipe& r, const std::string& name) {
  const RecipeSetting* s = setting(r, name);
  return s ? s->value : "<missing " + name + ">";
}

template <typename Plan>
void expect_applies(const Recipe& r) {
  Plan plan;
  EXPECT_NO_THROW(apply_recipe(r, plan));
  EXPECT_NO_THROW(validate(plan));
}

TEST(Recipes, TableHoldsThePapersRecipes) {
  const std::vector<std::string> names = recipe_names();
  for (const char* wanted :
       {"sm08-cd25", "sm08-cd1", "sm08-cd3", "sh09-dbm", "hs06-dbn", "lee09-cdbn"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), wanted), names.end()) << wanted;
  }
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "duplicate name";
}

TEST(Recipes, EveryRecipeAppliesValidatesAndNamesItsSources) {
  for (const Recipe& r : recipes()) {
    SCOPED_TRACE(r.name);
    EXPECT_FALSE(r.description.empty());
    EXPECT_FALSE(r.source.empty());
    EXPECT_FALSE(r.published.empty());
    ASSERT_FALSE(r.settings.empty());
    for (const RecipeSetting& s : r.settings) {
      EXPECT_FALSE(s.value.empty()) << s.name;
      EXPECT_FALSE(s.source.empty()) << s.name;
    }
    for (const RecipeGap& g : r.unsupported) {
      EXPECT_FALSE(g.setting.empty());
      EXPECT_FALSE(g.source.empty());
      EXPECT_FALSE(g.instead.empty());
    }
    EXPECT_EQ(recipe_gap_messages(r).size(), r.unsupported.size());
    switch (r.model) {
      case RecipeModel::rbm:
        expect_applies<RbmPlan>(r);
        break;
      case RecipeModel::dbm:
        expect_applies<DbmPlan>(r);
        break;
      case RecipeModel::dbn:
        expect_applies<DbnPlan>(r);
        break;
      case RecipeModel::cdbn:
        expect_applies<CdbnPlan>(r);
        break;
    }
    const bool likelihood_row = r.model == RecipeModel::rbm || r.model == RecipeModel::dbm;
    EXPECT_EQ(r.eval.ais_runs > 0, likelihood_row);
    EXPECT_EQ(r.eval.published_error > 0.0, !likelihood_row);
  }
}

TEST(Recipes, LikelihoodRowsReportBothAisLengths) {
  for (const Recipe& r : recipes()) {
    if (r.eval.ais_runs == 0) continue;
    SCOPED_TRACE(r.name);
    const auto& steps = r.eval.ais_steps;
    EXPECT_NE(std::find(steps.begin(), steps.end(), 14500), steps.end());
    EXPECT_NE(std::find(steps.begin(), steps.end(), 100000), steps.end());
    EXPECT_EQ(r.eval.test_binarize, Binarize::stochastic);
  }
}

TEST(Recipes, Sm08Cd25FillsTheAuthorsRbmSettings) {
  const Recipe& r = find_recipe("sm08-cd25");
  RbmPlan plan;
  plan.train.learning_rate = 0.3f;  // a non-default value the recipe must replace
  plan.train.cd_k = 7;
  apply_recipe(r, plan);
  EXPECT_EQ(plan.hidden, 500);
  EXPECT_EQ(plan.train.cd_k, 25);
  EXPECT_FALSE(plan.train.persistent);
  EXPECT_FLOAT_EQ(plan.train.learning_rate, 0.05f);
  EXPECT_FLOAT_EQ(plan.train.weight_decay, 2e-4f);
  EXPECT_FLOAT_EQ(plan.train.momentum, 0.5f);
  EXPECT_FLOAT_EQ(plan.train.final_momentum, 0.9f);
  EXPECT_EQ(plan.train.momentum_switch_epoch, 5);
  EXPECT_EQ(plan.train.batch_size, 100);
  EXPECT_FLOAT_EQ(plan.init_stddev, 0.01f);
  EXPECT_EQ(plan.binarize, Binarize::stochastic);
  EXPECT_TRUE(plan.train.resample_binarization);
  // The recorded settings are the applied values, as text.
  EXPECT_EQ(value_of(r, "train.cd_k"), "25");
  EXPECT_EQ(value_of(r, "train.learning_rate"), "0.05");
  EXPECT_EQ(value_of(r, "train.weight_decay"), "0.0002");
  EXPECT_EQ(value_of(r, "binarize"), "stochastic");
  EXPECT_EQ(value_of(r, "train.epochs"), std::to_string(plan.train.epochs));
  EXPECT_EQ(find_recipe("sm08-cd1").settings.size(), r.settings.size());
  RbmPlan cd3;
  apply_recipe(find_recipe("sm08-cd3"), cd3);
  EXPECT_EQ(cd3.train.cd_k, 3);
}

TEST(Recipes, Sh09DbmFillsTheAuthorsScheduleAndListsWhatIsMissing) {
  const Recipe& r = find_recipe("sh09-dbm");
  DbmPlan plan;
  apply_recipe(r, plan);
  EXPECT_EQ(plan.hidden, (std::vector<int64_t>{500, 1000}));
  ASSERT_EQ(plan.pretrain.size(), 2u);
  EXPECT_FLOAT_EQ(plan.pretrain[0].weight_decay, 0.001f);
  EXPECT_FLOAT_EQ(plan.pretrain[0].learning_rate, 0.05f);
  EXPECT_EQ(plan.pretrain[0].epochs, 100);
  EXPECT_EQ(plan.pretrain[1].epochs, 200);
  EXPECT_EQ(plan.joint.lr_schedule, LrSchedule::exponential);
  EXPECT_DOUBLE_EQ(plan.joint.lr_decay_rate, 1.000015);
  EXPECT_FLOAT_EQ(plan.joint.lr_floor, 1e-4f);
  EXPECT_FLOAT_EQ(plan.joint.learning_rate, 0.001f);
  EXPECT_FLOAT_EQ(plan.joint.final_momentum, 0.9f);
  EXPECT_EQ(plan.joint.momentum_switch_epoch, 5);
  EXPECT_EQ(plan.joint.chains, 100);
  EXPECT_EQ(plan.joint.gibbs_steps, 5);
  EXPECT_EQ(plan.joint.mean_field_sweeps, 10);
  EXPECT_EQ(plan.joint.epochs, 500);
  // The schedule the recipe asks for: 0.001 / 1.000015^u, floored at 0.0001.
  EXPECT_NEAR(plan.joint.learning_rate_at(0, 6000), 0.001 / std::pow(1.000015, 6000), 1e-9);
  EXPECT_NEAR(plan.joint.learning_rate_at(0, 1000000), 1e-4, 1e-9);
  EXPECT_EQ(value_of(r, "hidden"), "500,1000");
  EXPECT_EQ(value_of(r, "joint.lr_decay_rate"), "1.000015");
  // The label units are reported, not silently dropped.
  const std::vector<std::string> gaps = recipe_gap_messages(r);
  auto mentions = [&](const std::string& part) {
    return std::any_of(gaps.begin(), gaps.end(),
                       [&](const std::string& g) { return g.find(part) != std::string::npos; });
  };
  EXPECT_TRUE(mentions("label units"));
  EXPECT_TRUE(plan.labels);  // joint training with dbm_mf.m's label group
  // The per-layer sparsity of dbm_mf.m is applied now, no longer a gap.
  EXPECT_FALSE(mentions("sparsity targets 0.2"));
  EXPECT_EQ(plan.joint.sparsity_targets, (std::vector<float>{0.2f, 0.1f}));
  EXPECT_FLOAT_EQ(plan.joint.sparsity_cost, 0.001f);
  EXPECT_TRUE(plan.joint.sparsity_weight_gradient);
  EXPECT_EQ(value_of(r, "joint.sparsity_targets[1]"), "0.1");
  EXPECT_TRUE(mentions("ceil(epoch/20)"));
  EXPECT_NE(std::find(r.eval.ais_steps.begin(), r.eval.ais_steps.end(), 20000),
            r.eval.ais_steps.end());
}

TEST(Recipes, Hs06DbnAndLee09CdbnFillTheirStacks) {
  DbnPlan dbn;
  apply_recipe(find_recipe("hs06-dbn"), dbn);
  ASSERT_EQ(dbn.dbn.layers.size(), 3u);
  EXPECT_EQ(dbn.dbn.layers[0].hidden, 500);
  EXPECT_EQ(dbn.dbn.layers[1].hidden, 500);
  EXPECT_EQ(dbn.dbn.layers[2].hidden, 2000);
  for (const LayerConfig& l : dbn.dbn.layers) {
    EXPECT_FLOAT_EQ(l.train.learning_rate, 0.1f);
    EXPECT_EQ(l.train.epochs, 50);
    EXPECT_FALSE(l.train.resample_binarization);
  }
  EXPECT_FLOAT_EQ(dbn.dbn.init_stddev, 0.1f);
  EXPECT_EQ(dbn.finetune.epochs, 200);
  EXPECT_FLOAT_EQ(dbn.finetune.weight_decay, 0.0f);
  EXPECT_EQ(dbn.classes, 10);

  CdbnPlan cdbn;
  apply_recipe(find_recipe("lee09-cdbn"), cdbn);
  ASSERT_EQ(cdbn.layers.size(), 2u);
  EXPECT_EQ(cdbn.layers[0].filters, 24);
  EXPECT_EQ(cdbn.layers[0].filter_size, 10);
  EXPECT_EQ(cdbn.layers[1].filters, 40);
  EXPECT_FLOAT_EQ(cdbn.layers[0].train.sparsity_target, 0.002f);
  EXPECT_FLOAT_EQ(cdbn.layers[1].train.sparsity_target, 0.003f);
  EXPECT_FLOAT_EQ(cdbn.layers[0].train.sparsity_cost, 5.0f);
  EXPECT_FLOAT_EQ(cdbn.layers[0].train.learning_rate, 0.02f);
  EXPECT_EQ(cdbn.layers[0].train.lr_schedule, LrSchedule::inverse);
  EXPECT_DOUBLE_EQ(cdbn.svm.C, 1.0);
}

TEST(Recipes, DescriptionShowsEverySettingAndGap) {
  for (const Recipe& r : recipes()) {
    const std::string text = describe_recipe(r);
    EXPECT_EQ(text.rfind(r.name + " (", 0), 0u) << text;
    for (const RecipeSetting& s : r.settings) {
      EXPECT_NE(text.find("    " + s.name + " = " + s.value + " "), std::string::npos)
          << r.name << ": " << s.name;
    }
    for (const RecipeGap& g : r.unsupported) {
      EXPECT_NE(text.find(g.setting), std::string::npos) << r.name << ": " << g.setting;
    }
    EXPECT_EQ(text.find("not supported yet") != std::string::npos, !r.unsupported.empty());
  }
}

TEST(Recipes, UnknownNameFailsListingTheKnownOnes) {
  std::vector<std::string> fragments = {"unknown recipe 'sm08-cd26'"};
  for (const std::string& n : recipe_names()) fragments.push_back(n);
  testing::expect_error([] { find_recipe("sm08-cd26"); }, fragments);
}

TEST(Recipes, RecipeForAnotherModelIsRefused) {
  RbmPlan rbm;
  try {
    apply_recipe(find_recipe("sh09-dbm"), rbm);
    FAIL() << "a DBM recipe applied to an RBM plan";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is for the dbm plan, not the rbm plan"),
              std::string::npos)
        << e.what();
  }
  DbmPlan dbm;
  EXPECT_THROW(apply_recipe(find_recipe("sm08-cd25"), dbm), Error);
  CdbnPlan cdbn;
  EXPECT_THROW(apply_recipe(find_recipe("hs06-dbn"), cdbn), Error);
}

TEST(Recipes, ExplicitSettingAfterApplyingOverridesTheRecipe) {
  // What a command does: defaults, the recipe, then the flags the user gave.
  RbmPlan plan;
  apply_recipe(find_recipe("sm08-cd25"), plan);
  plan.train.epochs = 3;             // --epochs 3
  plan.train.learning_rate = 0.01f;  // --lr 0.01
  EXPECT_NO_THROW(validate(plan));
  EXPECT_EQ(plan.train.epochs, 3);
  EXPECT_FLOAT_EQ(plan.train.learning_rate, 0.01f);
  EXPECT_EQ(plan.train.cd_k, 25);  // untouched fields keep the recipe's value

  DbmPlan dbm;
  apply_recipe(find_recipe("sh09-dbm"), dbm);
  dbm.joint.epochs = 2;
  dbm.pretrain[1].epochs = 1;
  EXPECT_NO_THROW(validate(dbm));
  EXPECT_EQ(dbm.joint.epochs, 2);
  EXPECT_DOUBLE_EQ(dbm.joint.lr_decay_rate, 1.000015);

  // A bad override is caught by the plan's validation, naming the field.
  plan.train.batch_size = 0;
  try {
    validate(plan);
    FAIL() << "batch_size 0 validated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
  }
}

TEST(Recipes, DocsShowEveryRecipesSettingsAsApplied) {
  std::ifstream in(std::string(CRBM_SOURCE_DIR) + "/docs/recipes.md");
  ASSERT_TRUE(in) << "docs/recipes.md missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const Recipe& r : recipes()) {
    // The recipe's section runs from its heading to the next "## " heading.
    const size_t begin = doc.find("## `" + r.name + "`");
    ASSERT_NE(begin, std::string::npos) << "no section for " << r.name;
    const size_t end = doc.find("\n## ", begin + 1);
    const std::string section = doc.substr(begin, end == std::string::npos ? end : end - begin);
    for (const RecipeSetting& s : r.settings) {
      const std::string row = "| `" + s.name + "` | " + s.value + " |";
      EXPECT_NE(section.find(row), std::string::npos)
          << r.name << ": docs/recipes.md lacks the row " << row;
    }
    for (const RecipeGap& g : r.unsupported) {
      EXPECT_NE(section.find(g.setting), std::string::npos) << r.name << ": gap " << g.setting;
    }
  }
  EXPECT_NE(doc.find(std::string("`") + kRecipeMetadataKey + "`"), std::string::npos);
}

}  // namespace
}  // namespace crbm
