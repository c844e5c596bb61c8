// The option families of the `crbm` subcommands (see options.hpp): one registration function
// per concept, bound to the library's configuration fields, and the help formatter that
// hides the older spellings kept as aliases.
#include "options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <system_error>

#include "crbm/error.hpp"

namespace crbm::tools {
namespace {

// Older spellings of canonical options (accepted, not shown by --help).
const std::set<std::string>& hidden_aliases() {
  static const std::set<std::string> names = {"batch-size", "cd-k", "momentum-switch", "layers",
                                              "samples-png"};
  return names;
}

// Adds `names` bound to the field `member` of `c`, records how to copy that field, and shows
// c's current value as the default.
template <typename T>
CLI::Option* add_field(CLI::App* cmd, SgdOptions& o, SgdConfig& c, T SgdConfig::*member,
                       const std::string& names, const std::string& help, const char* type) {
  CLI::Option* opt = cmd->add_option(names, c.*member, help)
                         ->type_name(type)
                         ->capture_default_str()
                         ->group(kGroupTraining);
  o.fields.emplace_back(
      opt, [member](const SgdConfig& from, SgdConfig& to) { to.*member = from.*member; });
  return opt;
}

// A check that the value is a finite number >= `min`.
CLI::Validator at_least(double min) {
  return CLI::Validator(
      [min](std::string& value) -> std::string {
        size_t used = 0;
        double x = NAN;
        try {
          x = std::stod(value, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != value.size() || !std::isfinite(x) || x < min) {
          return fmt::format("must be a number >= {}, got '{}'", min, value);
        }
        return {};
      },
      "", fmt::format(">= {}", min));
}

}  // namespace

bool is_hidden_alias(const std::string& long_name) {
  return hidden_aliases().count(long_name) > 0;
}

std::string HelpFormatter::make_option_name(const CLI::Option* opt, bool is_positional) const {
  if (is_positional) return CLI::Formatter::make_option_name(opt, is_positional);
  std::vector<std::string> names;
  for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
  for (const std::string& l : opt->get_lnames()) {
    if (!is_hidden_alias(l) || opt->get_lnames().size() == 1) names.push_back("--" + l);
  }
  return CLI::detail::join(names);
}

// ---- SGD ----

void SgdOptions::copy_given(const SgdConfig& from, SgdConfig& to) const {
  for (const auto& [opt, copy] : fields) {
    if (opt->count() > 0) copy(from, to);
  }
}

SgdOptions add_sgd_options(CLI::App* cmd, SgdConfig& c, unsigned parts) {
  SgdOptions o;
  o.epochs =
      add_field(cmd, o, c, &SgdConfig::epochs, "--epochs", "Passes over the training rows", "E");
  o.batch = add_field(cmd, o, c, &SgdConfig::batch_size, "--batch,--batch-size",
                      "Rows per minibatch (one parameter update each)", "B");
  o.lr = add_field(cmd, o, c, &SgdConfig::learning_rate, "--lr", "Learning rate", "X");
  // --lr-schedule: the library's names (lr_schedule_from_string names a wrong one).
  o.lr_schedule =
      cmd->add_option_function<std::string>(
             "--lr-schedule",
             [&c](const std::string& name) {
               try {
                 c.lr_schedule = lr_schedule_from_string(name);
               } catch (const Error& e) {
                 throw CLI::ValidationError("--lr-schedule", e.what());
               }
             },
             "Learning-rate schedule: constant; inverse = lr / (1 + D * epoch) with --lr-decay "
             "D (D = 0: constant); exponential = max(lr / R^updates, F) with --lr-decay-rate R "
             "and --lr-floor F")
          ->type_name("SCHEDULE")
          ->default_str(to_string(c.lr_schedule))
          ->group(kGroupTraining);
  o.fields.emplace_back(o.lr_schedule, [](const SgdConfig& from, SgdConfig& to) {
    to.lr_schedule = from.lr_schedule;
  });
  o.lr_decay =
      add_field(cmd, o, c, &SgdConfig::lr_decay, "--lr-decay",
                "--lr-schedule inverse: learning rate lr / (1 + D * epoch); 0 = constant", "D");
  o.lr_decay_rate = add_field(cmd, o, c, &SgdConfig::lr_decay_rate, "--lr-decay-rate",
                              "--lr-schedule exponential: divide the learning rate by R (>= 1) "
                              "after every update (the authors' DBM code: 1.000015)",
                              "R")
                        ->check(at_least(1.0));
  o.lr_floor = add_field(cmd, o, c, &SgdConfig::lr_floor, "--lr-floor",
                         "--lr-schedule exponential: the learning rate never falls below F", "F")
                   ->check(at_least(0.0));
  if ((parts & kSgdMomentum) != 0) {
    o.momentum = add_field(cmd, o, c, &SgdConfig::momentum, "--momentum",
                           "Momentum for epochs 1..N (N = --momentum-switch-epoch)", "M");
    o.final_momentum = add_field(cmd, o, c, &SgdConfig::final_momentum, "--final-momentum",
                                 "Momentum from epoch N+1 on", "M");
    o.momentum_switch = add_field(cmd, o, c, &SgdConfig::momentum_switch_epoch,
                                  "--momentum-switch-epoch,--momentum-switch",
                                  "Epochs 1..N use --momentum, later ones --final-momentum", "N");
  }
  o.weight_decay = add_field(cmd, o, c, &SgdConfig::weight_decay, "--weight-decay",
                             "L2 penalty on the weights", "D");
  if ((parts & kSgdL1) != 0) {
    o.l1 = add_field(cmd, o, c, &SgdConfig::l1_decay, "--l1", "L1 penalty on the weights", "D");
  }
  if ((parts & kSgdSparsityTarget) != 0) {
    o.sparsity_target = add_field(cmd, o, c, &SgdConfig::sparsity_target, "--sparsity-target",
                                  "Target mean activation p of each hidden unit (0 = off)", "P");
  }
  if ((parts & kSgdSparsity) != 0) {
    o.sparsity_cost = add_field(
        cmd, o, c, &SgdConfig::sparsity_cost, "--sparsity-cost",
        "Strength lambda of the sparsity term (hidden bias += lr * lambda * (p - q))", "LAMBDA");
    o.sparsity_decay =
        add_field(cmd, o, c, &SgdConfig::sparsity_decay, "--sparsity-decay",
                  "Running-mean decay of q (q <- decay * q + (1 - decay) * mean h)", "DECAY");
  }
  if ((parts & kSgdSeed) != 0) {
    o.seed =
        add_field(cmd, o, c, &SgdConfig::seed, "--seed",
                  "Random seed (initialisation, shuffling, sampling); same seed, same run", "S");
  }
  return o;
}

// ---- contrastive divergence ----

CdOptions add_cd_options(CLI::App* cmd, CdConfig& c, unsigned parts) {
  CdOptions o;
  o.cd = cmd->add_option("--cd,--cd-k", c.cd_k, "Contrastive divergence with K Gibbs steps (CD-K)")
             ->type_name("K")
             ->capture_default_str()
             ->group(kGroupTraining);
  if ((parts & kCdPersistent) != 0) {
    CLI::Option* cd = o.cd;
    // A string, so that a bare --pcd (K from --cd) differs from any number given.
    o.pcd = cmd->add_option_function<std::string>(
                   "--pcd",
                   [&c, cd](const std::string& k) {
                     c.persistent = true;
                     if (k.empty() || k == "true")
                       return;  // bare --pcd: the --cd K steps, persistent
                     int steps = 0;
                     size_t used = 0;
                     try {
                       steps = std::stoi(k, &used);
                     } catch (const std::exception&) {
                       used = 0;
                     }
                     if (used == 0 || used != k.size() || steps < 1) {
                       throw CLI::ValidationError(
                           "--pcd",
                           "the number of Gibbs steps must be a whole number >= 1, "
                           "got '" +
                               k + "'");
                     }
                     if (cd->count() > 0 && c.cd_k != steps) {
                       throw CLI::ValidationError(
                           "--pcd", "give the Gibbs steps once: --pcd K, or --cd K --pcd");
                     }
                     c.cd_k = steps;
                   },
                   "Persistent CD with K Gibbs steps per update (a bare --pcd: the --cd K "
                   "steps)")
                ->expected(0, 1)
                ->default_str("")
                ->option_text("[K]")
                ->group(kGroupTraining);
    o.pcd_chains = cmd->add_option("--pcd-chains", c.pcd_chains,
                                   "Number of persistent chains (0 = one per minibatch row)")
                       ->type_name("N")
                       ->capture_default_str()
                       ->group(kGroupTraining);
  }
  if ((parts & kCdSampleNegative) != 0) {
    o.sample_negative =
        cmd->add_flag("--sample-negative", c.sample_negative_visible,
                      "Sample the last negative visible state instead of using its mean")
            ->group(kGroupTraining);
  }
  return o;
}

// ---- data ----

DataOptions add_data_options(CLI::App* cmd, std::string& spec, int64_t& limit,
                             const std::string& spec_help, const char* rows) {
  DataOptions o;
  o.data = cmd->add_option("--data", spec, spec_help)
               ->type_name("SPEC")
               ->capture_default_str()
               ->group(kGroupData);
  o.limit =
      cmd->add_option("--limit", limit, fmt::format("Use only the first N {} (0 = all)", rows))
          ->type_name("N")
          ->check(CLI::NonNegativeNumber)
          ->capture_default_str()
          ->group(kGroupData);
  return o;
}

// ---- the checkpoint a command reads ----

CLI::Option* add_model_argument(CLI::App* cmd, const std::string& name, std::string& path,
                                const std::string& help) {
  return cmd->add_option(name, path, help)->type_name("MODEL.safetensors")->required();
}

// ---- output ----

OutputOptions add_output_options(CLI::App* cmd, std::string* out, std::string* metrics,
                                 std::string* json, bool* quiet) {
  OutputOptions o;
  if (out != nullptr) {
    o.out = cmd->add_option("--out,-o", *out, "Checkpoint to write")
                ->type_name("MODEL.safetensors")
                ->capture_default_str()
                ->group(kGroupOutput);
  }
  if (metrics != nullptr) {
    o.metrics = cmd->add_option("--metrics", *metrics,
                                "Write one JSON object per epoch (JSON Lines, flushed per line)")
                    ->type_name("FILE.jsonl")
                    ->group(kGroupOutput);
  }
  if (json != nullptr) {
    o.json = cmd->add_option("--json", *json, "Write a JSON summary here")
                 ->type_name("FILE.json")
                 ->group(kGroupOutput);
  }
  if (quiet != nullptr) {
    o.quiet =
        cmd->add_flag("--quiet,-q", *quiet, "No per-epoch progress lines")->group(kGroupOutput);
  }
  return o;
}

// ---- AIS ----

AisOptions add_ais_options(CLI::App* cmd, int& runs, int64_t& steps, const char* group,
                           int min_runs) {
  AisOptions o;
  o.runs = cmd->add_option("--ais-runs", runs, "AIS: parallel annealing runs")
               ->check(CLI::Range(min_runs, kMaxAisRuns))
               ->capture_default_str();
  o.steps = cmd->add_option("--ais-steps", steps,
                            "AIS: inverse temperatures (0 = the authors' 14,500-step schedule; K "
                            "> 0: K steps in the same three segments)")
                ->check(CLI::Range(int64_t{0}, kMaxAisSteps))
                ->capture_default_str();
  if (group != nullptr) {
    o.runs->group(group);
    o.steps->group(group);
  }
  return o;
}

// ---- compute ----

namespace {
// The value of --precision: one string shared by every subcommand's option (only the
// subcommand that runs parses its arguments into it).
std::string& precision_value() {
  static std::string value = "fp32";
  return value;
}
}  // namespace

Precision compute_precision() {
  return parse_precision(precision_value());
}

void add_compute_options(CLI::App* cmd, std::string& device, int& threads,
                         const char* threads_help) {
  cmd->add_option("--device", device, "Where to run: cpu or cuda (GPU 0)")
      ->type_name("DEVICE")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str()
      ->group(kGroupCompute);
  const std::string help =
      threads_help != nullptr ? threads_help : "CPU threads for BLAS and loops (0 = all cores)";
  cmd->add_option("--threads", threads,
                  fmt::format("{}; at most {}, and never more than the cores this process may "
                              "use (BLAS and OpenMP get the same number)",
                              help, kMaxThreads))
      ->type_name("N")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            size_t used = 0;
            long long n = -1;
            try {
              n = std::stoll(value, &used);
            } catch (const std::exception&) {
              used = 0;
            }
            if (used == 0 || used != value.size() || n < 0 || n > kMaxThreads) {
              return fmt::format("must be a whole number from 0 (all cores) to {}, got '{}'",
                                 kMaxThreads, value);
            }
            return {};
          },
          "", "0.." + std::to_string(kMaxThreads)))
      ->capture_default_str()
      ->group(kGroupCompute);
  cmd->add_option("--precision", precision_value(),
                  "Arithmetic of the dense products: fp32 (exact), tf32 or bf16 (operands "
                  "rounded to TF32 or bfloat16, fp32 accumulation: tensor cores on cuda, "
                  "emulated on cpu); convolutions stay fp32")
      ->type_name("PRECISION")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            try {
              parse_precision(value);
            } catch (const Error&) {
              return fmt::format("must be fp32, tf32 or bf16, got '{}'", value);
            }
            return {};
          },
          "", "fp32|tf32|bf16"))
      ->capture_default_str()
      ->group(kGroupCompute);
}

// ---- recipes ----

CLI::Option* add_recipe_option(CLI::App* cmd, std::string& name, RecipeModel model) {
  std::string help = fmt::format(
      "Train with a paper's protocol (docs/recipes.md): the recipe sets the defaults, every "
      "option given explicitly overrides its value. Recipes for this command:");
  for (const Recipe& r : recipes()) {
    if (r.model == model) help += fmt::format("\n  {}: {}", r.name, r.description);
  }
  return cmd->add_option("--recipe", name, help)->type_name("NAME")->group(kGroupTraining);
}

const Recipe* use_recipe(const std::string& name, RecipeModel model) {
  if (name.empty()) return nullptr;
  const Recipe& r = find_recipe(name);  // unknown: "unknown recipe 'X' (known: ...)"
  if (r.model != model) {
    std::vector<std::string> same;
    for (const Recipe& other : recipes()) {
      if (other.model == model) same.push_back(other.name);
    }
    CRBM_FAIL("--recipe ", name, ": this recipe is for the ", to_string(r.model),
              " model, not the ", to_string(model), " model of this command (",
              same.empty() ? std::string("no recipe fits it")
                           : "its recipes: " + CLI::detail::join(same, ", "),
              ")");
  }
  for (const std::string& line : recipe_gap_messages(r)) fmt::print(stderr, "warning: {}\n", line);
  return &r;
}

void reapply_given_options(CLI::App* cmd, const std::vector<const CLI::Option*>& skip) {
  for (CLI::Option* opt : cmd->get_options()) {
    if (opt->count() == 0) continue;
    if (std::find(skip.begin(), skip.end(), opt) != skip.end()) continue;
    if (opt->check_lname("recipe") || opt->check_lname("config") || opt == cmd->get_help_ptr()) {
      continue;
    }
    opt->run_callback();
  }
}

// ---- config files ----

CLI::Option* add_config_option(CLI::App* cmd, std::string& path) {
  return cmd
      ->add_option("--config", path,
                   "Read options from a TOML or INI file: one 'name = value' per line, names "
                   "are the long options without '--' (e.g. hidden = 500); options given on "
                   "the command line win")
      ->type_name("FILE");
}

void apply_config_file(CLI::App* cmd, const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    CRBM_FAIL("--config: cannot open config file '", path, "' (no such file)");
  }
  if (std::filesystem::is_directory(status)) {
    CRBM_FAIL("--config: '", path, "' is a directory, not a config file");
  }
  std::vector<CLI::ConfigItem> items;
  try {
    items = cmd->get_config_formatter()->from_file(path);
  } catch (const CLI::FileError&) {
    CRBM_FAIL("--config: cannot open config file '", path, "'");
  } catch (const CLI::ParseError& e) {
    CRBM_FAIL(path, ": ", printable(e.what()));
  }
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    const bool ours =
        item.parents.empty() || (item.parents.size() == 1 && item.parents[0] == cmd->get_name());
    if (!ours) {
      CRBM_FAIL(path, ": key '", printable(item.fullname()), "' is not an option of 'crbm ",
                cmd->get_name(), "'");
    }
    CLI::Option* opt = cmd->get_option_no_throw("--" + item.name);
    if (opt == nullptr || item.name == "config" || item.name == "help") {
      CRBM_FAIL(path, ": unknown option '", printable(item.name),
                "' (keys are the long options of 'crbm ", cmd->get_name(),
                " --help' without the leading --)");
    }
    if (opt->count() > 0) continue;  // the command line wins
    try {
      if (opt->get_items_expected_min() == 0) {  // a flag (true/false/1/0) or an optional value
        const std::string value = item.inputs.empty() ? "true" : item.inputs.front();
        opt->add_result(opt->get_flag_value(item.name, value));
      } else {
        for (const std::string& value : item.inputs) opt->add_result(value);
      }
      opt->run_callback();
    } catch (const CLI::Error& e) {
      CRBM_FAIL(path, ": option '", printable(item.name), "': ", printable(e.what()));
    }
  }
}

}  // namespace crbm::tools
