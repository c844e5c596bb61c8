// `crbm dbn-train`, `crbm finetune`, `crbm dbm-train` and `crbm deep-eval`: deep models from the
// command line. dbn-train pretrains a stack greedily (optionally with labels in the top RBM);
// finetune turns a DBN (or a random net of the same shape) into a sigmoid/softmax classifier
// trained by backprop; dbm-train pretrains a DBM with doubled inputs and trains it jointly
// (mean-field + persistent chains); deep-eval (and `crbm eval`, which dispatches here on the
// checkpoint's metadata "model") reports the DBN/DBM lower bounds and the MLP test error.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.hpp"
#include "crbm/atomic_file.hpp"
#include "crbm/dbm.hpp"
#include "crbm/dbn.hpp"
#include "crbm/exact.hpp"
#include "crbm/mlp.hpp"
#include "crbm/recipes.hpp"
#include "crbm/safetensors.hpp"

namespace crbm::tools {
namespace {

std::vector<int64_t> parse_sizes(const std::string& s, const char* flag) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long long v = std::stoll(item, &used);
      if (used != item.size() || v < 1) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      CRBM_FAIL(flag, " '", s, "': expected comma-separated positive sizes, e.g. 500,500,2000");
    }
  }
  if (out.empty()) CRBM_FAIL(flag, " is empty");
  return out;
}

struct CommonOptions {
  std::string config;
  std::string recipe;  // --recipe NAME (crbm/recipes.hpp): its settings as the defaults
  std::string data = "builtin:bars";
  int64_t limit = 0;
  std::string binarize = "stochastic";  // stochastic: resampled per minibatch in training
  std::string device = "cpu";
  int threads = 0;
  uint64_t seed = 1;
  std::string out;
  std::string json;
  bool quiet = false;
};

void add_common(CLI::App* cmd, CommonOptions& o, const char* default_out) {
  o.out = default_out;
  add_config_option(cmd, o.config);
  add_data_options(cmd, o.data, o.limit, "Training data spec (mnist:DIR:train, builtin:bars, ...)");
  cmd->add_option("--binarize", o.binarize,
                  "stochastic (resampled every minibatch), threshold (0.5) or none")
      ->capture_default_str()
      ->group(kGroupData);
  add_compute_options(cmd, o.device, o.threads);
  cmd->add_option("--seed", o.seed, "Seed for initialisation, shuffling and sampling")
      ->capture_default_str()
      ->group(kGroupTraining);
  add_output_options(cmd, &o.out, nullptr, &o.json, &o.quiet);
}

Dataset load_training(const CommonOptions& o) {
  LoadOptions load;
  load.limit = o.limit;
  load.seed = o.seed;
  const Binarize b = parse_binarize(o.binarize);
  // Stochastic binarization happens per minibatch in training (resample_binarization).
  load.binarize = b == Binarize::threshold ? Binarize::threshold : Binarize::none;
  load.unit_interval = true;  // DBN and DBM visible units are Bernoulli
  Dataset d = load_dataset(o.data, load);
  if (d.size() == 0) CRBM_FAIL(d.source, ": no rows");
  return d;
}

// --eval-data SPEC: after training, `crbm deep-eval` of the checkpoint just written (its JSON
// summary, with --json FILE, in FILE.eval.json), with these AIS settings.
struct EvalAfterTraining {
  std::string data;
  int ais_runs = 100;
  int64_t ais_steps = 0;
  int bound_samples = 0;  // DBN: samples of q(h|v) per row (--bound-samples)
};

// --eval-data (described by `data_help`), --ais-runs and --ais-steps in the Output group.
void add_eval_after_training(CLI::App* cmd, EvalAfterTraining& e, const char* data_help) {
  cmd->add_option("--eval-data", e.data, data_help)->group(kGroupOutput);
  add_ais_options(cmd, e.ais_runs, e.ais_steps, kGroupOutput)
      .runs->description("AIS runs for --eval-data");
}

void evaluate_written_model(const CommonOptions& c, const EvalAfterTraining& e) {
  if (e.data.empty()) return;
  EvalRequest r;
  r.model = c.out;
  r.data = e.data;
  r.ais_runs = e.ais_runs;
  r.ais_steps = e.ais_steps;
  r.seed = c.seed;
  r.device = c.device;
  r.threads = c.threads;
  r.json = c.json.empty() ? "" : c.json + ".eval.json";
  r.quiet = c.quiet;
  eval_deep_model(r, e.bound_samples);
}

// ---- dbn-train ----

struct DbnTrainOptions {
  CommonOptions common;
  std::string layers = "500,500,2000";
  bool labels = false;
  TrainConfig layer;  // every layer's training (seed: --seed + the layer's index)
  // --recipe: each layer's training as the recipe sets it (the options given override it)
  std::vector<TrainConfig> recipe_layers;
  float init_stddev = DbnConfig{}.init_stddev;
  SgdOptions sgd;
  CdOptions cd;
  bool pcd_top = false;
  std::string samples_png;
  EvalAfterTraining eval = {"", 100, 0, 10};
};

void run_dbn_train(const DbnTrainOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  auto backend = open_backend(o.common.device, o.common.threads);
  const Dataset data = load_training(o.common);
  DbnConfig cfg;
  cfg.init_stddev = o.init_stddev;
  for (int64_t h : parse_sizes(o.layers, "--hidden")) {
    LayerConfig lc;
    lc.hidden = h;
    lc.train = o.layer;
    if (!o.recipe_layers.empty()) {  // the recipe's layer, then the options given
      const size_t l = std::min(cfg.layers.size(), o.recipe_layers.size() - 1);
      lc.train = o.recipe_layers[l];
      o.sgd.copy_given(o.layer, lc.train);
      if (o.cd.cd->count() > 0) lc.train.cd_k = o.layer.cd_k;
    }
    lc.train.seed = o.common.seed + cfg.layers.size();
    cfg.layers.push_back(lc);
  }
  cfg.layers[0].train.resample_binarization = o.common.binarize == "stochastic";
  if (o.pcd_top) {
    cfg.layers.back().train.persistent = true;
    cfg.layers.back().train.learning_rate = std::min(o.layer.learning_rate, 0.01f);
  }
  if (o.labels) {
    if (data.num_classes < 2) CRBM_FAIL("--labels: ", data.source, " has no class labels");
    cfg.num_classes = data.num_classes;
  }
  Dbn dbn(*backend, data.dim(), cfg);
  Matrix x = Matrix::from_host(*backend, data.x);
  if (!o.common.quiet) {
    fmt::print("dbn-train: {} rows x {} on {}; layers {}{}\n", data.size(), data.dim(),
               backend->describe(), o.layers,
               o.labels ? fmt::format(" + {} labels", cfg.num_classes) : "");
  }
  nlohmann::json epochs = nlohmann::json::array();
  dbn.pretrain(x, data.labels, cfg, [&](size_t layer, const EpochStats& s) {
    epochs.push_back({{"layer", layer},
                      {"epoch", s.epoch},
                      {"reconstruction_error", s.reconstruction_error},
                      {"seconds", s.seconds}});
    if (!o.common.quiet) {
      fmt::print("  layer {} epoch {:3d}  recon {:8.3f}  mean h {:.3f}  {:.1f}s\n", layer, s.epoch,
                 s.reconstruction_error, s.mean_hidden_activation, s.seconds);
      std::fflush(stdout);
    }
  });
  const double train_seconds = seconds_since(start);
  Metadata m;
  write_provenance(m, "dbn-train", data.source, o.common.recipe);
  m[meta::kBinarize] = o.common.binarize;
  write_geometry(m, data);
  for (size_t l = 0; l < cfg.layers.size(); ++l) {
    m["layer" + std::to_string(l) + "." + meta::kTrainConfig] =
        with_precision(cfg.layers[l].train.to_json());
  }
  save_dbn(o.common.out, dbn.to_host(), m);
  if (!o.common.quiet) fmt::print("wrote {} ({:.1f}s of training)\n", o.common.out, train_seconds);
  if (!o.samples_png.empty()) {
    DbnSampleOptions so;
    so.chains = 100;
    so.gibbs_steps = 1000;
    so.seed = o.common.seed;
    const HostTensor s = dbn.sample(so);
    write_tiles_png(o.samples_png, s,
                    choose_geometry(data.dim(), data.channels, data.height, data.width), 10, true,
                    false);
  }
  nlohmann::json j = {{"command", "dbn-train"},         {"layers", o.layers},
                      {"labels", cfg.num_classes},      {"rows", data.size()},
                      {"train_seconds", train_seconds}, {"epochs", epochs},
                      {"device", backend->describe()}};
  if (!o.common.recipe.empty()) j["recipe"] = o.common.recipe;
  write_json_file(o.common.json, j);
  evaluate_written_model(o.common, o.eval);
}

// The callback of dbn-train: the config file, the recipe as the defaults, then the training.
void start_dbn_train(CLI::App* cmd, DbnTrainOptions& o) {
  apply_config_file(cmd, o.common.config);
  apply_recipe_defaults<DbnPlan>(cmd, o.common.recipe, RecipeModel::dbn, [&o](const DbnPlan& plan) {
    std::string sizes;
    for (const LayerConfig& lc : plan.dbn.layers) {
      sizes += (sizes.empty() ? "" : ",") + std::to_string(lc.hidden);
    }
    o.layers = sizes;
    o.labels = plan.dbn.num_classes > 0;
    o.init_stddev = plan.dbn.init_stddev;
    for (const LayerConfig& lc : plan.dbn.layers) o.recipe_layers.push_back(lc.train);
    o.layer = o.recipe_layers.front();
    const bool resample = o.layer.resample_binarization;
    o.common.binarize = resample ? "stochastic" : to_string(plan.binarize);
  });
  run_dbn_train(o);
}

// ---- finetune ----

struct FinetuneOptions {
  CommonOptions common;
  std::string dbn;
  std::string random_layers;
  std::string test;
  int test_every = 5;  // epochs between test-error measurements (the last epoch always)
  MlpConfig train;     // seed: --seed
  FinetuneOptions() { train.epochs = 30; }
};

void run_finetune(const FinetuneOptions& o) {
  if (o.dbn.empty() == o.random_layers.empty()) {
    CRBM_FAIL("give exactly one of --dbn MODEL (pretrained) or --random-layers SIZES");
  }
  const auto start = std::chrono::steady_clock::now();
  auto backend = open_backend(o.common.device, o.common.threads);
  CommonOptions c = o.common;
  if (c.binarize == "stochastic") c.binarize = "none";  // fine-tune on intensities
  const Dataset train = load_training(c);
  if (train.num_classes < 2) CRBM_FAIL(train.source, ": fine-tuning needs class labels");
  std::unique_ptr<Mlp> mlp;
  if (!o.dbn.empty()) {
    Dbn dbn(*backend, load_dbn_params(o.dbn));
    if (dbn.layer_size(0) != train.dim()) {
      CRBM_FAIL(o.dbn, " has ", dbn.layer_size(0), " visible units; ", train.source, " has ",
                train.dim(), " columns");
    }
    mlp = std::make_unique<Mlp>(Mlp::from_dbn(dbn, train.num_classes, o.common.seed));
  } else {
    std::vector<int64_t> sizes = {train.dim()};
    for (int64_t h : parse_sizes(o.random_layers, "--random-layers")) sizes.push_back(h);
    sizes.push_back(train.num_classes);
    mlp = std::make_unique<Mlp>(*backend, sizes);
    mlp->init_random(o.common.seed);
  }
  Dataset test;
  Matrix test_x;
  if (!o.test.empty()) {
    LoadOptions lt;
    lt.binarize = c.binarize == "threshold" ? Binarize::threshold : Binarize::none;
    test = load_dataset(o.test, lt);
    test_x = Matrix::from_host(*backend, test.x);
  }
  MlpConfig cfg = o.train;
  cfg.seed = o.common.seed;
  MlpTrainer trainer(*mlp, cfg);
  Matrix x = Matrix::from_host(*backend, train.x);
  nlohmann::json epochs = nlohmann::json::array();
  double test_error = NAN;
  for (int e = 0; e < cfg.epochs; ++e) {
    const MlpEpochStats s = trainer.train_epoch(x, train.labels);
    const bool last = e + 1 == cfg.epochs;
    // The test error of this epoch, or null in the JSON when it is not measured this epoch.
    double epoch_test_error = NAN;
    if (!o.test.empty() && (last || (e + 1) % o.test_every == 0)) {
      test_error = epoch_test_error = mlp->error_rate(test_x, test.labels);
    }
    epochs.push_back(
        {{"epoch", s.epoch},
         {"train_loss", s.train_loss},
         {"seconds", s.seconds},
         {"test_error", std::isfinite(epoch_test_error) ? nlohmann::json(epoch_test_error)
                                                        : nlohmann::json(nullptr)}});
    if (!o.common.quiet) {
      fmt::print("  epoch {:3d}  loss {:.4f}  {:.1f}s{}\n", s.epoch, s.train_loss, s.seconds,
                 std::isfinite(epoch_test_error)
                     ? fmt::format("  test error {:.2f}%", 100 * epoch_test_error)
                     : "");
      std::fflush(stdout);
    }
  }
  const double train_error = mlp->error_rate(x, train.labels);
  Metadata m;
  write_provenance(m, "finetune", train.source, o.common.recipe);
  m["init"] = o.dbn.empty() ? "random" : "dbn:" + o.dbn;
  m["finetune_config"] = with_precision(cfg.to_json());
  save_mlp(o.common.out, mlp->to_host(), m);
  const double seconds = seconds_since(start);
  if (!o.common.quiet) {
    fmt::print(
        "wrote {}: train error {:.2f}%{} ({:.1f}s)\n", o.common.out, 100 * train_error,
        std::isfinite(test_error) ? fmt::format(", test error {:.2f}%", 100 * test_error) : "",
        seconds);
  }
  write_json_file(o.common.json,
                  {{"command", "finetune"},
                   {"recipe", o.common.recipe.empty() ? nlohmann::json(nullptr)
                                                      : nlohmann::json(o.common.recipe)},
                   {"init", o.dbn.empty() ? "random" : o.dbn},
                   {"train_error", train_error},
                   {"test_error", std::isfinite(test_error) ? nlohmann::json(test_error)
                                                            : nlohmann::json(nullptr)},
                   {"seconds", seconds},
                   {"config", nlohmann::json::parse(cfg.to_json())},
                   {"epochs", epochs}});
}

// The callback of finetune: the config file, the recipe as the defaults, then the training.
void start_finetune(CLI::App* cmd, FinetuneOptions& o) {
  apply_config_file(cmd, o.common.config);
  apply_recipe_defaults<DbnPlan>(cmd, o.common.recipe, RecipeModel::dbn, [&o](const DbnPlan& plan) {
    o.train = plan.finetune;
    o.common.binarize = to_string(plan.binarize);
  });
  run_finetune(o);
}

// ---- dbm-train ----

struct DbmTrainOptions {
  CommonOptions common;
  std::string hidden = "500,1000";
  bool labels = false;                // --labels: the label group on the top layer
  bool recipe_labels = false;         // the recipe asks for it (data without labels: none)
  CLI::Option* labels_opt = nullptr;  // --labels / --no-labels given
  std::string shared_bias = "mean";   // --pretrain-shared-bias: Dbm::pretrain's SharedBias
  int pretrain_epochs = 10;
  float pretrain_lr = 0.05f;
  DbmTrainConfig train;  // joint training (seed: --seed); --batch also for pretraining
  // --recipe: each layer's pretraining and the initial weights' std as the recipe sets them
  // (--pretrain-epochs, --pretrain-lr and --batch given override them)
  std::vector<TrainConfig> recipe_pretrain;
  float init_stddev = 0.01f;
  CLI::Option *pretrain_epochs_opt = nullptr, *pretrain_lr_opt = nullptr, *batch_opt = nullptr;
  int save_every = 0;
  std::string resume;                 // a dbm-train checkpoint to continue joint training from
  CLI::Option* hidden_opt = nullptr;  // --hidden (given: checked against --resume)
  std::string metrics;
  std::string samples_png;
  int sample_steps = 1000;
  EvalAfterTraining eval;
};

void run_dbm_train(const DbmTrainOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<int64_t> hidden = parse_sizes(o.hidden, "--hidden");
  if (hidden.size() < 2 || hidden.size() > 3) {
    CRBM_FAIL("--hidden '", o.hidden, "': dbm-train trains 2 or 3 hidden layers, got ",
              hidden.size());
  }
  auto backend = open_backend(o.common.device, o.common.threads);
  const Dataset data = load_training(o.common);
  // --resume: the checkpoint's parameters and progress instead of pretraining.
  Metadata resumed;
  int epochs_done = 0;
  int64_t updates_done = 0;
  std::optional<DbmParams> start_params;
  if (!o.resume.empty()) {
    start_params = load_dbm_params(o.resume, &resumed);
    std::vector<int64_t> sizes;
    for (size_t l = 0; l < start_params->biases.size(); ++l) {
      sizes.push_back(start_params->layer_size(l));
    }
    const std::vector<int64_t> saved_hidden(sizes.begin() + 1, sizes.end());
    if (sizes.front() != data.dim()) {
      CRBM_FAIL("--resume ", o.resume, ": the DBM has ", sizes.front(), " visible units, ",
                data.source, " has ", data.dim(), " values per row");
    }
    if (o.hidden_opt->count() > 0 && saved_hidden != hidden) {
      CRBM_FAIL("--resume ", o.resume, ": its hidden sizes are ",
                fmt::format("{}", fmt::join(saved_hidden, ",")), ", not --hidden ", o.hidden,
                " (leave --hidden out when resuming)");
    }
    hidden = saved_hidden;
    const std::optional<int64_t> done = metadata_int(resumed, meta::kEpochs, o.resume);
    if (!done) {
      CRBM_FAIL("--resume ", o.resume, ": no '", meta::kEpochs,
                "' in its metadata (not written by crbm dbm-train)");
    }
    epochs_done = static_cast<int>(*done);
    if (epochs_done >= o.train.epochs) {
      CRBM_FAIL("--resume ", o.resume, ": it has ", epochs_done,
                " joint epochs already; --epochs is the total and must be larger (got ",
                o.train.epochs, ")");
    }
    // Checkpoints from before updates_done was written: the count the same data would give.
    updates_done =
        metadata_int(resumed, "updates_done", o.resume)
            .value_or(epochs_done * ((data.size() + o.train.batch_size - 1) / o.train.batch_size));
  }
  // The label group: --labels, or the recipe's when the data has class labels, or the
  // resumed checkpoint's.
  const bool asked = o.labels_opt->count() > 0 ? o.labels : o.recipe_labels;
  int64_t classes = 0;
  if (start_params) {
    classes = start_params->num_classes();
    if (o.labels_opt->count() > 0 && o.labels != (classes > 0)) {
      CRBM_FAIL("--resume ", o.resume, ": the DBM has ",
                classes > 0 ? fmt::format("a label group of {} classes", classes)
                            : std::string("no label group"),
                "; --", o.labels ? "" : "no-", "labels contradicts it (leave it out)");
    }
  } else if (asked) {
    if (data.num_classes >= 2) {
      classes = data.num_classes;
    } else if (o.labels_opt->count() > 0) {
      CRBM_FAIL("--labels: ", data.source, " has no class labels");
    } else if (!o.common.quiet) {
      fmt::print(stderr,
                 "dbm-train: recipe {} asks for label units; {} has no class labels: "
                 "training without\n",
                 o.common.recipe, data.source);
    }
  }
  if (classes > 0 && (data.labels.empty() || data.num_classes > classes)) {
    CRBM_FAIL(data.source,
              data.labels.empty() ? std::string(" has no class labels")
                                  : fmt::format(" has {} classes", data.num_classes),
              "; the DBM's label group has ", classes);
  }
  Dbm dbm =
      start_params ? Dbm(*backend, *start_params) : Dbm(*backend, data.dim(), hidden, classes);
  Matrix x = Matrix::from_host(*backend, data.x);
  const bool resample = o.common.binarize == "stochastic";
  std::vector<TrainConfig> pre(hidden.size());
  for (size_t l = 0; l < pre.size(); ++l) {
    if (o.recipe_pretrain.empty()) {
      pre[l].epochs = o.pretrain_epochs;
      pre[l].batch_size = o.train.batch_size;
      pre[l].learning_rate = o.pretrain_lr;
    } else {  // the recipe's layer (its last one for extra layers), then the options given
      pre[l] = o.recipe_pretrain[std::min(l, o.recipe_pretrain.size() - 1)];
      if (o.pretrain_epochs_opt->count() > 0) pre[l].epochs = o.pretrain_epochs;
      if (o.pretrain_lr_opt->count() > 0) pre[l].learning_rate = o.pretrain_lr;
      if (o.batch_opt->count() > 0) pre[l].batch_size = o.train.batch_size;
    }
    pre[l].seed = o.common.seed + l;
    pre[l].resample_binarization = l == 0 && resample;
  }
  if (!o.common.quiet) {
    fmt::print("dbm-train: {} rows x {} on {}; hidden {}{}\n", data.size(), data.dim(),
               backend->describe(), fmt::join(hidden, ","),
               classes > 0 ? fmt::format(" + {} labels", classes) : "");
    if (start_params) {
      fmt::print(
          "  resuming {} after joint epoch {} ({} updates): no pretraining; persistent "
          "chains restart from data\n",
          o.resume, epochs_done, updates_done);
    }
  }
  nlohmann::json log = nlohmann::json::array();
  MetricsFile metrics(o.metrics);
  if (!start_params) {
    const SharedBias shared_bias = parse_shared_bias(o.shared_bias);
    dbm.pretrain(
        x, pre, o.init_stddev,
        [&](size_t layer, const EpochStats& s) {
          const nlohmann::json j = {{"phase", "pretrain"},
                                    {"layer", layer},
                                    {"epoch", s.epoch},
                                    {"reconstruction_error", s.reconstruction_error},
                                    {"mean_hidden_activation", s.mean_hidden_activation},
                                    {"seconds", s.seconds}};
          log.push_back(j);
          metrics.write(j);
          if (!o.common.quiet) {
            fmt::print("  pretrain layer {} epoch {:3d}  recon {:8.3f}  act {:.3f}  {:.1f}s\n",
                       layer, s.epoch, s.reconstruction_error, s.mean_hidden_activation, s.seconds);
            std::fflush(stdout);
          }
        },
        shared_bias);
  }
  const double pretrain_seconds = seconds_since(start);
  DbmTrainConfig jc = o.train;
  jc.resample_binarization = resample;
  jc.seed = o.common.seed;
  DbmTrainer trainer(dbm, jc);
  if (start_params) trainer.resume(epochs_done, updates_done);
  Metadata m;
  write_provenance(m, "dbm-train", data.source, o.common.recipe);
  m[meta::kBinarize] = o.common.binarize;
  m["dbm_train_config"] = with_precision(jc.to_json());
  write_geometry(m, data);
  if (start_params) {
    m["resumed_from"] = fmt::format("{} after joint epoch {}", o.resume, epochs_done);
    // A resumed checkpoint keeps the record of how its pretraining was done.
    for (const char* key : {"pretrain_epochs", "pretrain_lr", "pretrain_shared_bias"}) {
      if (resumed.count(key) != 0) m[key] = resumed.at(key);
    }
  } else {
    m["pretrain_epochs"] = std::to_string(pre.front().epochs);
    m["pretrain_lr"] = fmt::format("{}", pre.front().learning_rate);
    m["pretrain_shared_bias"] = o.shared_bias;
  }
  auto save = [&](int joint_epochs) {
    m[meta::kEpochs] = std::to_string(joint_epochs);
    m["updates_done"] = std::to_string(trainer.updates());
    save_dbm(o.common.out, dbm.to_host(), m);  // atomic: the previous file stays until renamed
  };
  nlohmann::json warnings = nlohmann::json::array();
  const auto joint_start = std::chrono::steady_clock::now();
  for (int e = epochs_done; e < jc.epochs; ++e) {
    const DbmEpochStats s =
        classes > 0 ? trainer.train_epoch(x, data.labels) : trainer.train_epoch(x);
    nlohmann::json j = {{"phase", "joint"},
                        {"epoch", s.epoch},
                        {"reconstruction_error", s.reconstruction_error},
                        {"learning_rate", s.learning_rate},
                        {"momentum", s.momentum},
                        {"seconds", s.seconds},
                        {"mean_activation", s.mean_activation},
                        {"warnings", s.warnings}};
    if (classes > 0) j["label_error"] = s.label_error;
    log.push_back(j);
    metrics.write(j);
    for (const std::string& w : s.warnings) {
      warnings.push_back({{"epoch", s.epoch}, {"warning", w}});
      fmt::print(stderr, "dbm-train: warning (joint epoch {}): {}\n", s.epoch, w);
    }
    if (!o.common.quiet) {
      std::string act;
      for (double a : s.mean_activation) act += fmt::format(" {:.3f}", a);
      if (classes > 0) act += fmt::format("  err {:.3f}", s.label_error);
      const double elapsed = seconds_since(joint_start);
      fmt::print(
          "  joint epoch {:3d}/{}  recon {:8.3f}  act{}  lr {:g} mom {:g}  {:.1f}s  ETA {}\n",
          s.epoch, jc.epochs, s.reconstruction_error, act, s.learning_rate, s.momentum, s.seconds,
          hms(elapsed / (e + 1 - epochs_done) * (jc.epochs - e - 1)));
      std::fflush(stdout);
    }
    if (o.save_every > 0 && s.epoch % o.save_every == 0 && s.epoch < jc.epochs) save(s.epoch);
  }
  const double seconds = seconds_since(start);
  save(jc.epochs);
  if (!o.common.quiet) {
    fmt::print("wrote {} ({:.1f}s pretraining, {:.1f}s in all)\n", o.common.out, pretrain_seconds,
               seconds);
  }
  if (!o.samples_png.empty()) {
    const HostTensor samples = dbm.sample(100, o.sample_steps, o.common.seed);
    write_tiles_png(o.samples_png, samples,
                    choose_geometry(data.dim(), data.channels, data.height, data.width), 10, true,
                    false);
    if (!o.common.quiet) {
      fmt::print("wrote {} (100 chains, {} Gibbs steps)\n", o.samples_png, o.sample_steps);
    }
  }
  write_json_file(o.common.json,
                  {{"command", "dbm-train"},
                   {"recipe", o.common.recipe.empty() ? nlohmann::json(nullptr)
                                                      : nlohmann::json(o.common.recipe)},
                   {"hidden", fmt::format("{}", fmt::join(hidden, ","))},
                   {"labels", classes},
                   {"resumed_from", o.resume},
                   {"epochs_before", epochs_done},
                   {"rows", data.size()},
                   {"pretrain_seconds", pretrain_seconds},
                   {"seconds", seconds},
                   {"config", nlohmann::json::parse(jc.to_json())},
                   {"device", backend->describe()},
                   {"warnings", warnings},
                   {"log", log}});
  evaluate_written_model(o.common, o.eval);
}

// The callback of dbm-train: the config file, the recipe as the defaults, then the training.
void start_dbm_train(CLI::App* cmd, DbmTrainOptions& o) {
  apply_config_file(cmd, o.common.config);
  apply_recipe_defaults<DbmPlan>(cmd, o.common.recipe, RecipeModel::dbm, [&o](const DbmPlan& plan) {
    o.hidden = fmt::format("{}", fmt::join(plan.hidden, ","));
    o.init_stddev = plan.init_stddev;
    o.recipe_pretrain = plan.pretrain;
    o.pretrain_epochs = plan.pretrain.front().epochs;
    o.pretrain_lr = plan.pretrain.front().learning_rate;
    o.train = plan.joint;
    o.recipe_labels = plan.labels;
    o.shared_bias = to_string(plan.shared_bias);
    o.common.binarize = plan.joint.resample_binarization ? "stochastic" : to_string(plan.binarize);
  });
  run_dbm_train(o);
}

// deep-eval: the request (data default builtin:bars) and the DBN bound's samples of q per row.
struct DeepEvalOptions : EvalRequest {
  DeepEvalOptions() { data = "builtin:bars"; }
  int bound_samples = 10;
};

Dataset load_binary_eval(const std::string& spec, int64_t limit, uint64_t seed) {
  LoadOptions l;
  l.limit = limit;
  l.seed = seed;
  l.binarize = Binarize::stochastic;  // one fixed draw, as in Salakhutdinov & Murray
  l.unit_interval = true;
  Dataset d = load_dataset(spec, l);
  if (d.size() == 0) CRBM_FAIL(d.source, ": no rows to evaluate");
  return d;
}

// log Z of a DBN's top RBM or of a DBM, with its band (exact: low = high = log Z).
struct LogZ {
  double value = 0, low = 0, high = 0;
  bool exact = false;
  const char* method() const { return exact ? "exact" : "ais"; }
};

// Exact enumeration when the smaller layer (`smaller`) has at most 20 units, else AIS with a
// progress line on stderr naming `what`.
template <typename Exact, typename Ais>
LogZ deep_log_z(int64_t smaller, const char* what, const EvalRequest& r, const AisConfig& cfg,
                Exact exact_log_z, Ais ais) {
  LogZ z;
  z.exact = smaller <= 20;
  if (z.exact) {
    z.value = z.low = z.high = exact_log_z();
    return z;
  }
  if (!r.quiet) {
    fmt::print(stderr, "deep-eval: AIS on {} ({} runs x {} steps)...\n", what, r.ais_runs,
               ais_schedule(cfg).size() - 1);
  }
  const AisResult a = ais();
  z.value = a.log_z;
  z.low = a.log_z_low;
  z.high = a.log_z_high;
  return z;
}

// The keys crbm eval writes for every model (issue contract): log Z, its band, the method, and
// the likelihood figure (here a variational lower bound, its band carried over from log Z's).
void write_bound_summary(nlohmann::json& j, const LogZ& z, double bound, int64_t rows) {
  j["log_z"] = z.value;
  j["log_z_low"] = z.low;
  j["log_z_high"] = z.high;
  j["method"] = z.method();
  j["mean_log_likelihood"] = bound;
  j["mean_log_likelihood_is_lower_bound"] = true;
  j["mean_lower_bound"] = bound;
  j["mean_lower_bound_band"] = {bound - (z.high - z.value), bound + (z.value - z.low)};
  j["rows"] = rows;
}

}  // namespace

// ---- evaluation (also used by `crbm eval` for these models) ----

int eval_deep_model(const EvalRequest& r, int bound_samples) {
  const auto start = std::chrono::steady_clock::now();
  const SafetensorsFile file = load_checkpoint(r.model);
  const std::string model = require_metadata(file, "model", r.model);
  auto backend = open_backend(r.device, r.threads);
  AisConfig ais_cfg;
  ais_cfg.runs = r.ais_runs;
  ais_cfg.steps = r.ais_steps;
  ais_cfg.seed = r.seed;
  ais_cfg.validate();
  nlohmann::json j = {{"model", model}, {"checkpoint", r.model}, {"data", r.data}};
  if (model == "dbn") {
    Dbn dbn(*backend, load_dbn_params(r.model));
    const Dataset d = load_binary_eval(r.data, r.limit, r.seed);
    Matrix x = Matrix::from_host(*backend, d.x);
    const size_t top_in = dbn.depth() - 1;
    const LogZ z = deep_log_z(
        std::min(dbn.top().visible(), dbn.top().hidden()), "the top RBM", r, ais_cfg,
        [&] { return dbn.top_log_partition_exact(); },
        [&] {
          Matrix up(*backend, d.size(), dbn.layer_size(top_in));
          dbn.up_pass(x, top_in, up);
          return dbn.top_log_partition_ais(up.download(), ais_cfg);
        });
    const DbnBoundResult b = dbn.lower_bound(x, z.value, std::max(bound_samples, 1), r.seed);
    j["top_log_z"] = z.value;
    j["top_log_z_band"] = {z.low, z.high};
    j["top_log_z_method"] = z.method();
    write_bound_summary(j, z, b.mean_bound, d.size());
    j["mean_importance_estimate"] = b.mean_importance;
    j["bound_samples"] = bound_samples;
    if (!r.quiet) {
      fmt::print(
          "{}: {} rows of {}\n  top log Z {:.3f} ({}; band [{:.3f}, {:.3f}])\n"
          "  mean variational lower bound on log p(v): {:.3f} nats ({} samples of q)\n"
          "  mean importance-weighted estimate:         {:.3f} nats\n",
          r.model, d.size(), d.source, z.value, z.exact ? "exact" : "AIS", z.low, z.high,
          b.mean_bound, bound_samples, b.mean_importance);
    }
  } else if (model == "dbm") {
    Dbm dbm(*backend, load_dbm_params(r.model));
    const Dataset d = load_binary_eval(r.data, r.limit, r.seed);
    Matrix x = Matrix::from_host(*backend, d.x);
    const RbmParams bip = dbm.bipartite_rbm();
    const LogZ z = deep_log_z(
        std::min(bip.visible(), bip.hidden()), "the DBM", r, ais_cfg,
        [&] { return dbm.exact_log_partition(); },
        [&] { return dbm.ais_log_partition(x, ais_cfg); });
    const std::vector<double> bound = dbm.lower_bound(x, z.value, 30);
    double mean = 0;
    for (double v : bound) mean += v / double(bound.size());
    j["log_z_band"] = {z.low, z.high};
    j["log_z_method"] = z.method();
    write_bound_summary(j, z, mean, d.size());
    if (!r.quiet) {
      fmt::print(
          "{}: {} rows of {}\n  log Z {:.3f} ({}; band [{:.3f}, {:.3f}])\n"
          "  mean variational (mean-field) lower bound on log p(v): {:.3f} nats\n",
          r.model, d.size(), d.source, z.value, z.exact ? "exact" : "AIS", z.low, z.high, mean);
    }
    // A labelled DBM: classes by the free mean-field q(y) on the same (binarized) rows.
    j["num_classes"] = dbm.num_classes();
    if (dbm.labelled()) {
      if (d.labels.empty()) {
        if (!r.quiet) fmt::print("  (no class labels in {}: no test error)\n", d.source);
      } else {
        if (d.num_classes > dbm.num_classes()) {
          CRBM_FAIL(d.source, " has ", d.num_classes, " classes, the DBM's label group ",
                    dbm.num_classes());
        }
        const double err = dbm.error_rate(x, d.labels, 30);
        j["error_rate"] = err;
        if (!r.quiet) fmt::print("  classification error (argmax q(y)): {:.2f}%\n", 100 * err);
      }
    }
  } else if (model == "mlp") {
    Mlp mlp(*backend, load_mlp_params(r.model));
    LoadOptions l;
    l.limit = r.limit;
    const Dataset d = load_dataset(r.data, l);
    if (d.labels.empty()) CRBM_FAIL(d.source, ": the MLP's test error needs labels");
    Matrix x = Matrix::from_host(*backend, d.x);
    const double err = mlp.error_rate(x, d.labels);
    const double loss = mlp.loss(x, d.labels);
    j["error_rate"] = err;
    j["cross_entropy"] = loss;
    j["rows"] = d.size();
    if (!r.quiet) {
      fmt::print("{}: {} rows of {}\n  error {:.2f}%  cross-entropy {:.4f}\n", r.model, d.size(),
                 d.source, 100 * err, loss);
    }
  } else {
    CRBM_FAIL(r.model, ": deep-eval handles dbn, dbm and mlp checkpoints, not '", model, "'");
  }
  j["seconds"] = seconds_since(start);
  j["device"] = backend->describe();
  write_json_file(r.json, j);
  return 0;
}

namespace {

void register_deep(CLI::App& app) {
  {
    auto [cmd, o] = add_command<DbnTrainOptions>(
        app, "dbn-train",
        "Pretrain a deep belief net greedily (RBM per layer on the probabilities of the one "
        "below).\nExample: crbm dbn-train --data mnist:DIR:train --hidden 500,500,2000 --labels "
        "--epochs 50 --out dbn.safetensors",
        start_dbn_train);
    add_common(cmd, o->common, "dbn.safetensors");
    cmd->add_option("--hidden,--layers", o->layers, "Hidden sizes, bottom to top")
        ->type_name("N[,N...]")
        ->capture_default_str()
        ->group(kGroupModel);
    cmd->add_flag("--labels", o->labels,
                  "Model the class labels jointly in the top RBM (a softmax group)")
        ->group(kGroupModel);
    add_recipe_option(cmd, o->common.recipe, RecipeModel::dbn);
    o->cd = add_cd_options(cmd, o->layer, kCdSteps);
    cmd->add_flag("--pcd-top", o->pcd_top, "Train the top RBM with persistent chains (lr <= 0.01)")
        ->group(kGroupTraining);
    o->sgd = add_sgd_options(cmd, o->layer, kSgdMomentum | kSgdL1);
    o->sgd.epochs->description("Epochs per layer");
    cmd->add_option("--samples,--samples-png", o->samples_png, "Write 100 generated digits here")
        ->type_name("FILE.png")
        ->group(kGroupOutput);
    add_eval_after_training(cmd, o->eval, "Evaluate the lower bound on this data afterwards");
    cmd->add_option("--bound-samples", o->eval.bound_samples, "Samples of q(h|v) per row")
        ->group(kGroupOutput);
  }
  {
    auto [cmd, o] = add_command<FinetuneOptions>(
        app, "finetune",
        "Fine-tune a DBN as a sigmoid/softmax classifier with backprop (or train the same net "
        "from random weights).\nExample: crbm finetune --dbn dbn.safetensors --data "
        "mnist:DIR:train --test mnist:DIR:test --out mlp.safetensors",
        start_finetune);
    add_common(cmd, o->common, "mlp.safetensors");
    cmd->add_option("--dbn", o->dbn, "Pretrained DBN checkpoint")->group(kGroupModel);
    cmd->add_option("--random-layers", o->random_layers, "Hidden sizes for a random-init net")
        ->group(kGroupModel);
    cmd->add_option("--test", o->test, "Test data spec (error reported every --test-every epochs)")
        ->group(kGroupData);
    cmd->add_option("--test-every", o->test_every, "Measure the test error every N epochs")
        ->check(CLI::PositiveNumber)
        ->capture_default_str()
        ->group(kGroupData);
    add_recipe_option(cmd, o->common.recipe, RecipeModel::dbn);
    add_sgd_options(cmd, o->train, kSgdMomentum);
  }
  {
    auto [cmd, o] = add_command<DbmTrainOptions>(
        app, "dbm-train",
        "Train a deep Boltzmann machine: doubled-input pretraining, then mean-field + "
        "persistent chains.\nExample: crbm dbm-train --data mnist:DIR:train --hidden 500,1000 "
        "--out dbm.safetensors --eval-data mnist:DIR:test",
        start_dbm_train);
    add_common(cmd, o->common, "dbm.safetensors");
    o->hidden_opt = cmd->add_option("--hidden,--layers", o->hidden, "Hidden sizes (2 or 3 layers)")
                        ->type_name("N,N[,N]")
                        ->capture_default_str()
                        ->group(kGroupModel);
    add_recipe_option(cmd, o->common.recipe, RecipeModel::dbm);
    o->labels_opt = cmd->add_flag("--labels,!--no-labels", o->labels,
                                  "Joint training with a softmax label group on the top layer "
                                  "(the data's class labels: clamped in the mean-field phase, "
                                  "sampled in the chains); sh09-dbm turns it on")
                        ->group(kGroupModel);
    o->pretrain_epochs_opt =
        cmd->add_option("--pretrain-epochs", o->pretrain_epochs, "Epochs per pretrained layer")
            ->capture_default_str()
            ->group(kGroupTraining);
    o->pretrain_lr_opt =
        cmd->add_option("--pretrain-lr", o->pretrain_lr, "Pretraining learning rate")
            ->capture_default_str()
            ->group(kGroupTraining);
    cmd->add_option("--pretrain-shared-bias", o->shared_bias,
                    "A layer two pretrained RBMs share gets the mean or the sum of their biases "
                    "for it (sh09-dbm: sum, as dbm_mf.m)")
        ->check(CLI::IsMember({"mean", "sum"}))
        ->capture_default_str()
        ->group(kGroupTraining);
    const SgdOptions sgd =
        add_sgd_options(cmd, o->train, kSgdMomentum | kSgdSparsity | kSgdSparsityTarget);
    sgd.epochs->description("Joint-training epochs (the total, with --resume)");
    sgd.sparsity_target->description(
        "Joint training: target mean activation p of every hidden layer (0 = off)");
    cmd->add_option("--sparsity-targets", o->train.sparsity_targets,
                    "Joint training: one sparsity target per hidden layer (0 = off for that "
                    "layer), e.g. 0.2,0.1 as the authors' dbm_mf.m; with --sparsity-cost and "
                    "--sparsity-decay")
        ->delimiter(',')
        ->type_name("P,P[,P]")
        ->group(kGroupTraining);
    cmd->add_flag("--sparsity-weights,!--no-sparsity-weights", o->train.sparsity_weight_gradient,
                  "Joint training: the sparsity term also moves the weights next to each layer "
                  "(as dbm_mf.m), not only its bias")
        ->group(kGroupTraining);
    sgd.batch->description("Minibatch size (pretraining and joint training)");
    o->batch_opt = sgd.batch;
    sgd.lr->description("Joint learning rate");
    sgd.momentum->description("Joint momentum up to --momentum-switch-epoch");
    sgd.momentum->check(CLI::Range(0.0f, 0.999f));
    sgd.final_momentum->description("Joint momentum afterwards");
    sgd.final_momentum->check(CLI::Range(0.0f, 0.999f));
    sgd.momentum_switch->description(
        "Joint epochs 1..N use --momentum, later ones --final-momentum");
    cmd->add_option("--mf-sweeps", o->train.mean_field_sweeps, "Mean-field sweeps per update")
        ->capture_default_str()
        ->group(kGroupTraining);
    cmd->add_option("--chains", o->train.chains, "Persistent chains")
        ->capture_default_str()
        ->group(kGroupTraining);
    cmd->add_option("--gibbs-steps", o->train.gibbs_steps, "Gibbs steps per update")
        ->capture_default_str()
        ->group(kGroupTraining);
    cmd->add_option("--resume", o->resume,
                    "Continue the joint training of this dbm-train checkpoint up to --epochs "
                    "(the total); no pretraining, persistent chains restart from data")
        ->type_name("MODEL.safetensors")
        ->check(CLI::ExistingFile)
        ->group(kGroupTraining);
    cmd->add_option("--save-every", o->save_every,
                    "Also write the checkpoint (atomically) every N joint epochs (0 = at the end)")
        ->check(CLI::NonNegativeNumber)
        ->group(kGroupOutput);
    add_output_options(cmd, nullptr, &o->metrics, nullptr, nullptr)
        .metrics->description("One JSON object per epoch of each phase (JSONL)");
    cmd->add_option("--samples,--samples-png", o->samples_png,
                    "Write 100 samples (Gibbs chains from random states) here as a PNG grid")
        ->type_name("FILE.png")
        ->group(kGroupOutput);
    cmd->add_option("--sample-steps", o->sample_steps, "Gibbs steps for --samples")
        ->capture_default_str()
        ->check(CLI::PositiveNumber)
        ->group(kGroupOutput);
    add_eval_after_training(cmd, o->eval, "Evaluate log Z and the bound on this data");
  }
  {
    auto [cmd, o] = add_command<DeepEvalOptions>(
        app, "deep-eval",
        "Evaluate a DBN (top-RBM log Z + variational lower bound), a DBM (AIS log Z + "
        "mean-field bound) or an MLP (test error).\nExample: crbm deep-eval dbm.safetensors "
        "--data mnist:DIR:test",
        [](const DeepEvalOptions& o) { eval_deep_model(o, o.bound_samples); });
    add_model_argument(cmd, "model", o->model, "Checkpoint");
    cmd->add_option("--data", o->data, "Data spec (binarized stochastically for DBN/DBM)")
        ->capture_default_str();
    cmd->add_option("--limit", o->limit, "First N rows only");
    cmd->add_option("--bound-samples", o->bound_samples, "DBN: samples of q per row")
        ->capture_default_str();
    add_eval_request_options(
        cmd, *o,
        {nullptr, 1, "Seed (binarization, AIS, samples)", nullptr, "No output but the JSON"});
  }
}

const SubcommandRegistrar kRegistrar{60, register_deep};

}  // namespace
}  // namespace crbm::tools
