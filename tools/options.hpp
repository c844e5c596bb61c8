// The option families of the `crbm` subcommands, each registered by one function and bound
// directly to the library's configuration fields: the SGD options (crbm::SgdConfig), the
// contrastive-divergence options (crbm::CdConfig), the compute options (--device, --threads),
// the config file (--config) and the output path (--out). Every training subcommand calls
// the same functions, so a flag is spelled, described and checked the same everywhere;
// older spellings stay accepted as hidden aliases (HelpFormatter leaves them out of --help).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/recipes.hpp"
#include "crbm/sgd.hpp"

namespace crbm::tools {

// Option groups, in the order `--help` shows them.
inline constexpr const char* kGroupData = "Data";
inline constexpr const char* kGroupModel = "Model";
inline constexpr const char* kGroupTraining = "Training";
inline constexpr const char* kGroupOutput = "Output";
inline constexpr const char* kGroupCompute = "Compute";

// ---- hidden aliases ----
// The spellings accepted on the command line and in config files but not shown by --help:
// the canonical spelling comes first in an option's names ("--batch,--batch-size"), the
// aliases listed here follow it. The canonical spellings: --batch (not --batch-size),
// --cd (not --cd-k), --momentum-switch-epoch (not --momentum-switch), --hidden (not
// --layers), --samples (not --samples-png).
bool is_hidden_alias(const std::string& long_name);

// CLI11's formatter without the hidden aliases in the option column.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override;
};

// ---- SGD (crbm::SgdConfig) ----
// Which of the optional SGD options a command's trainer honours (the others are not
// registered, so that no option is silently ignored).
enum SgdParts : unsigned {
  kSgdBasic = 0,                 // --epochs --batch --lr --lr-schedule --lr-decay --lr-decay-rate
                                 // --lr-floor --weight-decay
  kSgdMomentum = 1u << 0,        // --momentum --final-momentum --momentum-switch-epoch
  kSgdL1 = 1u << 1,              // --l1
  kSgdSparsity = 1u << 2,        // --sparsity-cost --sparsity-decay
  kSgdSparsityTarget = 1u << 3,  // --sparsity-target P (one value)
  kSgdSeed = 1u << 4,            // --seed (bound to SgdConfig::seed)
  kSgdAll = 0x1f,
};

// The registered options (nullptr where a part is left out): callers adjust a description or
// a default shown by --help, add checks, or ask whether an option was given (count() > 0,
// on the command line or in a config file).
struct SgdOptions {
  CLI::Option *epochs = nullptr, *batch = nullptr, *lr = nullptr, *lr_schedule = nullptr,
              *lr_decay = nullptr, *lr_decay_rate = nullptr, *lr_floor = nullptr,
              *momentum = nullptr, *final_momentum = nullptr, *momentum_switch = nullptr,
              *weight_decay = nullptr, *l1 = nullptr, *sparsity_target = nullptr,
              *sparsity_cost = nullptr, *sparsity_decay = nullptr, *seed = nullptr;
  // Copies into `to` the fields whose option was given (the others keep to's defaults): how
  // `crbm train --model conv` applies the shared options over the conv trainer's defaults.
  void copy_given(const SgdConfig& from, SgdConfig& to) const;

  std::vector<std::pair<CLI::Option*, std::function<void(const SgdConfig&, SgdConfig&)>>> fields;
};

// Registers the SGD options of `parts` in the Training group, bound to `c` (whose current
// values are the defaults --help shows: set a command's defaults before calling).
SgdOptions add_sgd_options(CLI::App* cmd, SgdConfig& c, unsigned parts);

// ---- contrastive divergence (crbm::CdConfig) ----
enum CdParts : unsigned {
  kCdSteps = 0,                 // --cd K
  kCdPersistent = 1u << 0,      // --pcd [K], --pcd-chains N
  kCdSampleNegative = 1u << 1,  // --sample-negative
  kCdAll = 0x3,
};
struct CdOptions {
  CLI::Option *cd = nullptr, *pcd = nullptr, *pcd_chains = nullptr, *sample_negative = nullptr;
};
// --cd K sets cd_k; --pcd K is persistent CD with K steps; a bare --pcd makes the --cd K
// steps persistent. Giving both --cd K and --pcd K is an error.
CdOptions add_cd_options(CLI::App* cmd, CdConfig& c, unsigned parts);

// ---- data ----
// --data SPEC (its default shown) and --limit N (the first N rows; 0 = all; negative is an
// error), in the Data group. `rows` names what a row is ("rows", "images", "documents").
struct DataOptions {
  CLI::Option *data = nullptr, *limit = nullptr;
};
DataOptions add_data_options(CLI::App* cmd, std::string& spec, int64_t& limit,
                             const std::string& spec_help, const char* rows = "rows");

// ---- the checkpoint a command reads ----
// The required positional argument `name` (MODEL.safetensors), bound to `path`.
CLI::Option* add_model_argument(CLI::App* cmd, const std::string& name, std::string& path,
                                const std::string& help);

// ---- output ----
// --out,-o FILE (its default shown), --metrics FILE.jsonl, --json FILE and -q/--quiet in
// the Output group; a null target leaves that option out. Commands replace a description
// through the returned options.
struct OutputOptions {
  CLI::Option *out = nullptr, *metrics = nullptr, *json = nullptr, *quiet = nullptr;
};
OutputOptions add_output_options(CLI::App* cmd, std::string* out, std::string* metrics,
                                 std::string* json, bool* quiet);

// ---- AIS (crbm::estimate_log_z and the models' AIS) ----
// The most annealing runs and inverse temperatures --ais-runs and --ais-steps accept.
inline constexpr int kMaxAisRuns = 1000000;
inline constexpr int64_t kMaxAisSteps = int64_t{1} << 40;
struct AisOptions {
  CLI::Option *runs = nullptr, *steps = nullptr;
};
// --ais-runs M (min_runs..kMaxAisRuns) and --ais-steps K (0..kMaxAisSteps; 0 = the authors'
// 14,500-step schedule), their defaults shown, in `group` (nullptr: the command's ungrouped
// options). Commands replace a description through the returned options.
AisOptions add_ais_options(CLI::App* cmd, int& runs, int64_t& steps, const char* group,
                           int min_runs = 1);

// ---- compute ----
// The most CPU threads --threads accepts.
inline constexpr int kMaxThreads = 1024;
// --device cpu|cuda, --threads N (0..kMaxThreads; 0 = all cores) and --precision
// fp32|tf32|bf16 (the arithmetic of the dense products, crbm::Precision; default fp32), the
// same on every subcommand (Compute group). `threads_help` replaces the description of
// --threads.
void add_compute_options(CLI::App* cmd, std::string& device, int& threads,
                         const char* threads_help = nullptr);
// The --precision given to the subcommand that runs (fp32 when none was): one subcommand runs
// per process, so every command gets it through open_backend, which sets it on each backend
// it opens, without a field of its own.
Precision compute_precision();

// ---- recipes (crbm/recipes.hpp, docs/recipes.md) ----
// --recipe NAME in the Training group; --help lists the recipes for `model` with their
// one-line descriptions. The name is checked when the recipe is used (use_recipe), so that
// an unknown one fails listing every known recipe.
CLI::Option* add_recipe_option(CLI::App* cmd, std::string& name, RecipeModel model);

// The recipe named by --recipe, checked against the command's model (an unknown name fails
// listing the known ones; a recipe for another model fails naming both), with its gaps
// printed to stderr as warnings ("warning: recipe NAME: ... is not supported yet; ..."),
// also with --quiet.
// Returns nullptr when `name` is empty.
const Recipe* use_recipe(const std::string& name, RecipeModel model);

// After a recipe has overwritten the option-bound fields: runs again the callback of every
// option given (on the command line or in a config file; count() > 0) except those in
// `skip`, so that explicit flags override the recipe's values.
void reapply_given_options(CLI::App* cmd, const std::vector<const CLI::Option*>& skip = {});

// --recipe NAME as the defaults of a command: the recipe checked and its gaps printed
// (use_recipe), its settings written into `plan` (crbm::apply_recipe, over the values `plan`
// comes with), `use(plan)` copying them into the option-bound fields, and every option given run
// again (reapply_given_options). Nothing when `name` is empty.
template <typename Plan, typename Use>
void apply_recipe_defaults(CLI::App* cmd, const std::string& name, RecipeModel model, Use use,
                           Plan plan = {}) {
  const Recipe* recipe = use_recipe(name, model);
  if (recipe == nullptr) return;
  apply_recipe(*recipe, plan);
  use(plan);
  reapply_given_options(cmd);
}

// ---- config files ----
// CLI11 2.1 reads config files only for the top-level app, so subcommands add their own
// option and apply it from their callback: every key (a long option name, or a hidden
// alias, at the top level or under a [<subcommand>] section) sets that option unless it was
// given on the command line. Unknown keys, directories and unreadable files are errors.
CLI::Option* add_config_option(CLI::App* cmd, std::string& path);
void apply_config_file(CLI::App* cmd, const std::string& path);

}  // namespace crbm::tools
