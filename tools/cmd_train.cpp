// `crbm train`: loads a dataset, trains a dense RBM by CD-k or PCD-k, prints one
// progress line per epoch, logs metrics as JSONL, checkpoints atomically every
// --save-every epochs, draws the filters as a PNG and reports the exact
// log-likelihood when the model is small enough to enumerate.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "cmd_conv.hpp"
#include "common.hpp"
#include "crbm/ais.hpp"
#include "crbm/exact.hpp"
#include "crbm/recipes.hpp"
#include "crbm/train.hpp"

namespace crbm::tools {
namespace {

// --profile-startup: where the time to the first update goes, one stderr line per step:
// wall and CPU seconds since the process started (CPU: all threads), and each step's share.
class StartupProfile {
 public:
  explicit StartupProfile(bool on) : on_(on) {
    if (!on_) return;
    // The kernel's start time of this process (clock ticks after boot) against the uptime:
    // the wall time before main (exec, dynamic loading), at 10 ms resolution.
    std::ifstream stat("/proc/self/stat"), uptime("/proc/uptime");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    double up = 0.0, started = 0.0;
    const size_t paren = text.rfind(')');
    if (uptime >> up && paren != std::string::npos) {
      std::istringstream fields(text.substr(paren + 2));  // field 3 onwards
      std::string field;
      for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i == 22) started = std::stod(field) / static_cast<double>(::sysconf(_SC_CLK_TCK));
      }
    }
    offset_ = started > 0.0 ? std::max(0.0, up - started) : 0.0;
    mark("process start to the train command (exec, libraries, options)");
  }
  void mark(const char* step) {
    if (!on_) return;
    const double wall =
        offset_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    print(wall, cpu_seconds(), step);
  }
  // A step that ended earlier, timed by the trainer in wall seconds (the first update): its
  // CPU share is not known, so the CPU total printed is the one at its start.
  void mark_after(const char* step, double wall_seconds) {
    if (on_) print(last_wall_ + wall_seconds, last_cpu_, step);
  }

 private:
  static double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }
  void print(double wall, double cpu, const char* step) {
    fmt::print(stderr, "startup: wall {:6.3f} s (+{:.3f})  cpu {:6.3f} s (+{:.3f})  {}\n", wall,
               wall - last_wall_, cpu, cpu - last_cpu_, step);
    last_wall_ = wall;
    last_cpu_ = cpu;
  }
  bool on_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double offset_ = 0.0, last_wall_ = 0.0, last_cpu_ = 0.0;
};

struct TrainOptions {
  std::string config;
  std::string recipe;  // --recipe NAME: the recipe's settings as the defaults
  // Data
  std::string data = "builtin:bars";
  std::string binarize = "auto";
  int64_t limit = 0;
  double holdout = 0.1;
  // Model
  std::string model = "dense";  // dense | conv
  int64_t hidden = 64;
  // --model conv: filter counts per layer (in dense mode --filters is the PNG path)
  std::vector<int64_t> filter_size;
  std::vector<int64_t> pool;
  std::string filters_png;
  bool standardize = false, whiten = false;
  float sigma = 1.0f, sigma_decay = 1.0f, sigma_min = 0.0f;
  std::string conv_algo = "auto";
  std::string visible = "bernoulli";
  float init_std = 0.01f;
  // Training: the SGD and CD options bound to the trainer's configuration (its defaults;
  // epochs, batch and lr get data-dependent defaults after loading, when not given).
  TrainConfig train;
  // Compute
  std::string device = "cpu";
  int threads = 0;
  // Output
  std::string out = "crbm-model.safetensors";
  std::string metrics;
  std::string filters;
  std::string samples;
  int save_every = 1;
  double save_interval = 10.0;
  int exact_every = 0;
  int eval_every = 0;
  int64_t eval_ais_steps = 1000;
  int eval_ais_runs = 100;
  int64_t stats_rows = 1000;
  bool quiet = false;
  bool profile_startup = false;

  // Options whose default depends on the data (set after parsing when absent).
  CLI::Option* hidden_opt = nullptr;
  CLI::Option* holdout_opt = nullptr;
  CLI::Option* binarize_opt = nullptr;
  CLI::Option* recipe_opt = nullptr;
  SgdOptions sgd;
  CdOptions cd;
};

// Defaults for the built-in toy data: a few seconds on 2 cores, near the best
// possible likelihood on bars-and-stripes (measured; see docs/user-guide.md).
constexpr int64_t kBuiltinHidden = 64;
constexpr int kBuiltinEpochs = 100;
constexpr int64_t kBuiltinBatch = 20;
constexpr float kBuiltinLr = 0.05f;
constexpr int64_t kDataHidden = 500;
constexpr int kDataEpochs = 20;
constexpr int64_t kDataBatch = 100;
constexpr float kDataLr = 0.05f;
constexpr float kGaussianLr = 0.005f;
// Exact log Z during training when at most 2^16 configurations (about 20 times
// per run by default), else once at the end (up to 2^20).
constexpr int kExactEveryEpochUnits = 16;
constexpr int kExactMaxUnits = 20;
constexpr int kExactEvaluationsPerRun = 20;

bool is_builtin(const std::string& spec) {
  return spec.empty() || spec.rfind("builtin:", 0) == 0;
}

bool all_binary(const HostTensor& x) {
  for (float v : x.data) {
    if (v != 0.0f && v != 1.0f) return false;
  }
  return true;
}

bool all_binary(const Dataset& d) {
  if (!d.stored_as_bytes()) return all_binary(d.x);
  const HostBytes& b = d.bytes;
  bool seen[256] = {};
  for (const uint8_t v : b.data) seen[v] = true;
  for (int v = 0; v < 256; ++v) {
    const float value = static_cast<float>(v) * b.scale;
    if (seen[v] && value != 0.0f && value != 1.0f) return false;
  }
  return true;
}

// Mean log-probability of the rows under their own empirical distribution: no
// model can exceed it on this data (binary rows only). `distinct` receives the
// number of distinct rows.
double empirical_log_likelihood(const HostTensor& x, int64_t* distinct) {
  const int64_t n = x.rows(), v = x.cols();
  std::unordered_map<std::string, int64_t> counts;
  for (int64_t r = 0; r < n; ++r) {
    std::string key(static_cast<size_t>(v), '0');
    for (int64_t c = 0; c < v; ++c) key[c] = x.data[r * v + c] > 0.5f ? '1' : '0';
    ++counts[key];
  }
  *distinct = static_cast<int64_t>(counts.size());
  double ll = 0.0;
  for (const auto& [key, count] : counts) {
    const double p = static_cast<double>(count) / static_cast<double>(n);
    ll += static_cast<double>(count) * std::log(p);
  }
  return ll / static_cast<double>(n);
}

void register_options(CLI::App* cmd, TrainOptions& o) {
  add_config_option(cmd, o.config);

  add_data_options(cmd, o.data, o.limit,
                   "Dataset SPEC: builtin:bars|bars3|bars6|blobs, mnist:DIR[:train|test], "
                   "fashion-mnist[:train|test], idx:FILE, npy:FILE, amat:FILE");
  o.binarize_opt =
      cmd->add_option("--binarize", o.binarize,
                      "Bernoulli models on non-binary data: stochastic (pixel > uniform, redrawn "
                      "every minibatch), threshold (> 0.5, once), none (use the values as "
                      "probabilities); auto = stochastic unless the data is already 0/1")
          ->type_name("MODE")
          ->check(CLI::IsMember({"auto", "none", "threshold", "stochastic"}))
          ->capture_default_str()
          ->group(kGroupData);
  o.holdout_opt = cmd->add_option("--holdout", o.holdout,
                                  "Fraction of the rows held out of training for the free-energy "
                                  "gap [default: 0.1 when the data has more than 1,000 rows, "
                                  "else 0]")
                      ->type_name("FRACTION")
                      ->group(kGroupData);

  o.hidden_opt = cmd->add_option("--hidden", o.hidden,
                                 "Number of hidden units [default: 64 on builtin data, 500 "
                                 "otherwise]")
                     ->type_name("N")
                     ->group(kGroupModel);
  cmd->add_option("--visible", o.visible,
                  "Visible units: bernoulli (binary data in [0,1]) or gaussian (real data; "
                  "standardized per column, statistics stored in the checkpoint)")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"bernoulli", "gaussian"}))
      ->capture_default_str()
      ->group(kGroupModel);
  cmd->add_option("--init-std", o.init_std, "Initial weights ~ N(0, std^2)")
      ->type_name("STD")
      ->capture_default_str()
      ->group(kGroupModel);

  o.recipe_opt = add_recipe_option(cmd, o.recipe, RecipeModel::rbm);
  o.cd = add_cd_options(cmd, o.train, kCdAll);
  o.sgd = add_sgd_options(cmd, o.train, kSgdAll);
  // Defaults that depend on the data (apply_data_dependent_defaults).
  o.sgd.epochs->description(
      "Passes over the training rows [default: 100 on builtin data, 20 otherwise]");
  o.sgd.epochs->default_str("");
  o.sgd.batch->description(
      "Rows per minibatch (one parameter update each) [default: 20 on builtin data, 100 "
      "otherwise]");
  o.sgd.batch->default_str("");
  o.sgd.lr->description("Learning rate [default: 0.05; 0.005 for gaussian visible units]");
  o.sgd.lr->default_str("");

  add_compute_options(cmd, o.device, o.threads,
                      "CPU threads for BLAS and loops (0 = all cores, or 1 for tiny models where "
                      "visible x hidden x batch < 2^20)");

  const OutputOptions out = add_output_options(cmd, &o.out, &o.metrics, nullptr, &o.quiet);
  out.out->description(
      "Model checkpoint (.safetensors), rewritten atomically every --save-every epochs and at "
      "the end");
  out.metrics->description(
      "Write one JSON object per epoch (JSON Lines; schema in docs/formats.md)");
  cmd->add_option("--save-every", o.save_every, "Checkpoint every N epochs (0 = only at the end)")
      ->type_name("N")
      ->capture_default_str()
      ->group(kGroupOutput);
  cmd->add_option("--save-interval", o.save_interval,
                  "Minimum seconds between two epoch checkpoints: a due checkpoint is skipped "
                  "while the last one is younger (fsync is slow on some disks; 0 = never skip; "
                  "the first and the final checkpoints are always written)")
      ->type_name("SECONDS")
      ->capture_default_str()
      ->group(kGroupOutput);
  cmd->add_option("--exact-every", o.exact_every,
                  "Exact log-likelihood every N epochs when the smaller layer has <= 16 units "
                  "(0 = about 20 times per run; with 17-20 units only at the end)")
      ->type_name("N")
      ->capture_default_str()
      ->group(kGroupOutput);
  cmd->add_option("--eval-every", o.eval_every,
                  "Estimate the log-likelihood of the training and held-out rows every N "
                  "epochs: exact when log Z is enumerable, else AIS (0 = off)")
      ->type_name("N")
      ->capture_default_str()
      ->group(kGroupOutput);
  cmd->add_option("--eval-ais-steps", o.eval_ais_steps,
                  "AIS steps for --eval-every (the three-segment schedule, scaled)")
      ->type_name("K")
      ->capture_default_str()
      ->group(kGroupOutput);
  cmd->add_option("--eval-ais-runs", o.eval_ais_runs, "AIS runs for --eval-every")
      ->type_name("M")
      ->capture_default_str()
      ->group(kGroupOutput);
  cmd->add_option("--filters", o.filters,
                  "Dense: write the weights of each hidden unit as a PNG grid (one tile per "
                  "unit). --model conv: the number of filters K per layer (comma list for a "
                  "convolutional DBN, e.g. 24,40)")
      ->type_name("FILE.png|K")
      ->group(kGroupOutput);
  // ---- convolutional models (--model conv) ----
  const char* kGroupConv = "Convolutional model (--model conv)";
  cmd->add_option("--model", o.model,
                  "dense: a dense RBM; conv: a convolutional RBM with probabilistic max-pooling "
                  "(a convolutional DBN when --filters lists several layers)")
      ->check(CLI::IsMember({"dense", "conv"}))
      ->capture_default_str()
      ->group(kGroupModel);
  cmd->add_option("--filter-size", o.filter_size, "Filter size F per layer (default 10)")
      ->delimiter(',')
      ->type_name("F[,F...]")
      ->group(kGroupConv);
  cmd->add_option("--pool", o.pool, "Pooling block size P per layer (default 2)")
      ->delimiter(',')
      ->type_name("P[,P...]")
      ->group(kGroupConv);
  cmd->add_option("--filters-png", o.filters_png, "Write the filters of every layer as PNG grids")
      ->type_name("FILE.png")
      ->group(kGroupConv);
  cmd->add_flag("--standardize", o.standardize, "Per-image standardization (Gaussian input)")
      ->group(kGroupConv);
  cmd->add_flag("--whiten", o.whiten, "Lee's 1/f whitening filter (Gaussian input)")
      ->group(kGroupConv);
  cmd->add_option("--sigma", o.sigma, "Gaussian visible sigma (Lee: 0.2)")
      ->capture_default_str()
      ->group(kGroupConv);
  cmd->add_option("--sigma-decay", o.sigma_decay, "sigma *= this after each epoch (Lee: 0.99)")
      ->capture_default_str()
      ->group(kGroupConv);
  cmd->add_option("--sigma-min", o.sigma_min, "Lower bound of the annealed sigma")
      ->capture_default_str()
      ->group(kGroupConv);
  cmd->add_option("--conv-algo", o.conv_algo, "GPU convolutions: auto|custom|cudnn")
      ->capture_default_str()
      ->group(kGroupConv);
  cmd->add_option("--samples", o.samples,
                  "Write 64 samples (1,000 Gibbs steps from random states) as a PNG grid")
      ->type_name("FILE.png")
      ->group(kGroupOutput);
  cmd->add_option("--stats-rows", o.stats_rows,
                  "Rows used for the per-epoch reconstruction error and free energies")
      ->type_name("N")
      ->capture_default_str()
      ->group(kGroupOutput);
  cmd->add_flag("--profile-startup", o.profile_startup,
                "Print on stderr the seconds each step takes up to the first update (loading, "
                "preprocessing, backend, model, upload, first minibatch)")
      ->group(kGroupOutput);
}

// --recipe NAME: the recipe over the command's defaults, then every option given again, so
// that explicit flags win (the recipe's hidden, epochs, batch and learning rate replace the
// data-dependent defaults).
void apply_recipe_options(CLI::App* cmd, TrainOptions& o) {
  RbmPlan defaults;
  defaults.init_stddev = TrainOptions{}.init_std;
  apply_recipe_defaults(
      cmd, o.recipe, RecipeModel::rbm,
      [&o](const RbmPlan& plan) {
        if (o.model == "conv") {
          CRBM_FAIL("--recipe ", o.recipe,
                    " is for a dense RBM, not --model conv (a CDBN recipe runs "
                    "with 'crbm conv train --recipe')");
        }
        o.hidden = plan.hidden;
        o.init_std = plan.init_stddev;
        o.train = plan.train;
        o.binarize = plan.train.resample_binarization ? "stochastic" : to_string(plan.binarize);
      },
      defaults);
}

void apply_data_dependent_defaults(TrainOptions& o, const Dataset& d) {
  if (!o.recipe.empty()) {  // the recipe fills the model and training settings
    if (o.holdout_opt->count() == 0) o.holdout = d.size() > 1000 ? 0.1 : 0.0;
    return;
  }
  const bool builtin = is_builtin(o.data);
  if (o.hidden_opt->count() == 0) o.hidden = builtin ? kBuiltinHidden : kDataHidden;
  if (o.sgd.epochs->count() == 0) o.train.epochs = builtin ? kBuiltinEpochs : kDataEpochs;
  if (o.sgd.batch->count() == 0) o.train.batch_size = builtin ? kBuiltinBatch : kDataBatch;
  if (o.sgd.lr->count() == 0) {
    o.train.learning_rate =
        o.visible == "gaussian" ? kGaussianLr : (builtin ? kBuiltinLr : kDataLr);
  }
  if (o.holdout_opt->count() == 0) o.holdout = d.size() > 1000 ? 0.1 : 0.0;
}

void validate_options(const TrainOptions& o) {
  if (o.hidden < 1) CRBM_FAIL("--hidden: the number of hidden units must be >= 1, got ", o.hidden);
  if (!(o.holdout >= 0.0 && o.holdout < 1.0)) {
    CRBM_FAIL("--holdout: the held-out fraction must be in [0, 1), got ", o.holdout);
  }
  if (o.save_every < 0) CRBM_FAIL("--save-every: must be >= 0, got ", o.save_every);
  if (o.save_interval < 0) CRBM_FAIL("--save-interval: must be >= 0, got ", o.save_interval);
  if (o.exact_every < 0) CRBM_FAIL("--exact-every: must be >= 0, got ", o.exact_every);
  if (o.stats_rows < 1) CRBM_FAIL("--stats-rows: must be >= 1, got ", o.stats_rows);
  if (!(o.init_std > 0.0f) || !std::isfinite(o.init_std)) {
    CRBM_FAIL("--init-std: must be positive, got ", o.init_std);
  }
  if (o.out.empty()) CRBM_FAIL("--out: the checkpoint path is empty");
}

// Exact mean log-likelihood of `data` (log Z computed once per call).
struct ExactResult {
  double log_z = NAN;
  double train = NAN;
  double holdout = NAN;
};

ExactResult exact_likelihood(const Rbm& rbm, CMatRef train, CMatRef holdout) {
  ExactOptions opt;
  opt.max_enumerated_units = kExactMaxUnits;
  ExactResult r;
  r.log_z = exact_log_partition(rbm, opt);
  r.train = mean_log_likelihood(rbm, train, r.log_z);
  if (holdout.rows > 0) r.holdout = mean_log_likelihood(rbm, holdout, r.log_z);
  return r;
}

// Parses "24,40" into filter counts.
std::vector<int64_t> parse_filter_counts(const std::string& s) {
  std::vector<int64_t> counts;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string item =
        s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    const long long k = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || k < 1) {
      CRBM_FAIL("--filters '", s,
                "': with --model conv this is the number of filters per layer "
                "(e.g. 24 or 24,40); write the filter image with --filters-png");
    }
    counts.push_back(k);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return counts;
}

// `crbm train --model conv`: the shared options mapped onto the conv trainer's.
int run_train_conv(const TrainOptions& o) {
  if (o.eval_every > 0) {
    CRBM_FAIL(
        "--eval-every is not supported with --model conv yet (evaluate features with "
        "'crbm conv classify')");
  }
  ConvCliOptions c;
  const bool builtin = is_builtin(o.data);
  // The built-in default for convolutional models: 6x6 bars-and-stripes images.
  c.data = builtin && (o.data.empty() || o.data == "builtin:bars") ? "builtin:bars6" : o.data;
  c.limit = o.limit;
  if (o.binarize_opt->count() > 0 && o.binarize != "auto") c.binarize = o.binarize;
  c.standardize = o.standardize;
  c.whiten = o.whiten;
  c.filters =
      o.filters.empty() ? std::vector<int64_t>{builtin ? 8 : 24} : parse_filter_counts(o.filters);
  c.filter_size = o.filter_size.empty() ? std::vector<int64_t>{builtin ? 3 : 10} : o.filter_size;
  c.pool = o.pool.empty() ? std::vector<int64_t>{2} : o.pool;
  c.visible = o.visible;
  c.sigma = o.sigma;
  c.train.sigma_decay = o.sigma_decay;
  c.train.sigma_min = o.sigma_min;
  c.init_std = o.init_std;
  // The shared training options over the conv trainer's defaults: those given win.
  static_cast<CdConfig&>(c.train) = o.train;
  o.sgd.copy_given(o.train, c.train);
  c.sparsity_target = {o.train.sparsity_target};
  c.out = o.out;
  c.filters_png = o.filters_png;
  c.metrics = o.metrics;
  c.quiet = o.quiet;
  c.device = o.device;
  c.threads = o.threads;
  c.conv_algo = o.conv_algo;
  const int rc = run_conv_train(c);
  if (rc != 0 || o.samples.empty()) return rc;
  // --samples: Gibbs chains in the trained model (its top layer for a stack), as
  // `crbm sample` draws them.
  ConvSampleOptions s;
  s.model = o.out;
  s.out = o.samples;
  s.seed = o.train.seed;
  s.device = o.device;
  s.threads = o.threads;
  s.conv_algo = o.conv_algo;
  return run_conv_sample(s);
}

// A log-likelihood estimate during training: exact when enumerable, else AIS.
struct EvalResult {
  std::string method;
  double log_z = NAN, log_z_low = NAN, log_z_high = NAN;
  double train = NAN, holdout = NAN;
};

void run_train(TrainOptions& o) {
  if (o.model == "conv") {
    if (run_train_conv(o) != 0) CRBM_FAIL("convolutional training failed");
    return;
  }
  if (!o.filter_size.empty() || !o.pool.empty() || !o.filters_png.empty() || o.whiten) {
    CRBM_FAIL(
        "--filter-size/--pool/--filters-png/--whiten apply to --model conv; this is a "
        "dense RBM (add --model conv)");
  }
  if (o.eval_every < 0) CRBM_FAIL("--eval-every: must be >= 0, got ", o.eval_every);
  StartupProfile profile(o.profile_startup);
  if (o.device == "cuda") open_backend(o.device, 0);  // fail before loading data
  const VisibleType visible_type = parse_visible_type(o.visible);
  const bool gaussian = visible_type == VisibleType::gaussian;

  // ---- data ----
  if (gaussian && o.binarize != "auto" && o.binarize != "none") {
    CRBM_FAIL("--binarize ", o.binarize,
              ": gaussian visible units take real values; drop --binarize or use "
              "--visible bernoulli");
  }
  LoadOptions load;
  load.limit = o.limit;
  load.seed = o.train.seed;
  if (o.binarize == "threshold") load.binarize = Binarize::threshold;
  load.unit_interval = !gaussian;
  // uint8 data stays uint8 on the CPU (converted per minibatch); the CUDA trainer gathers
  // its minibatches from float data on the device.
  load.keep_bytes = !gaussian && o.device == "cpu";
  Dataset train = load_dataset(o.data, load);
  profile.mark("load_dataset (read, gzip decode, IDX parse, to float, scale, checks)");
  apply_data_dependent_defaults(o, train);
  validate_options(o);

  std::string binarize = gaussian ? "none" : o.binarize;
  if (!gaussian) {
    if (binarize == "auto") binarize = all_binary(train) ? "none" : "stochastic";
  }
  const bool resample = binarize == "stochastic";

  Dataset holdout;
  if (o.holdout > 0.0 && train.size() > 1) holdout = split_holdout(train, o.holdout, o.train.seed);
  profile.mark("binary check and hold-out split");
  Metadata metadata;
  if (gaussian) {
    const Standardization s = standardize(train.x);
    if (holdout.size() > 0) apply_standardization(holdout.x, s);
    write_standardization(metadata, s);
  }
  // Likelihoods need binary rows (stochastic data gets one fixed draw, always binary).
  const bool ll_meaningful = gaussian || resample || all_binary(train);
  profile.mark("standardization, binary check");

  // ---- model and trainer ----
  TrainConfig config = o.train;
  config.resample_binarization = resample;
  config.validate();
  // Tiny models run faster on one thread than on several (fork/join overhead
  // dwarfs the work, and spinning workers hurt on a shared machine).
  const bool tiny = train.dim() * o.hidden * o.train.batch_size < (int64_t{1} << 20);
  auto backend = open_backend(o.device, o.threads > 0 ? o.threads : (tiny ? 1 : 0));
  profile.mark("backend");
  Rbm rbm(*backend, train.dim(), o.hidden, visible_type);
  if (train.stored_as_bytes()) {
    rbm.init_random(o.train.seed, o.init_std, train.bytes.column_means());
  } else {
    rbm.init_random(o.train.seed, o.init_std, &train.x);
  }
  CdTrainer trainer(rbm, config);
  profile.mark("model and trainer (weights, log-odds visible bias over the data)");

  metadata[meta::kTrainConfig] = with_precision(config.to_json());
  write_provenance(metadata, "train", o.data, o.recipe);
  metadata[meta::kBinarize] = binarize;
  write_geometry(metadata, train);

  // Bytes stay on the host; the trainer reads only the first --stats-rows held-out rows.
  Matrix data, held;
  if (train.stored_as_bytes()) {
    if (holdout.size() > 0) {
      held = Matrix::from_host(*backend,
                               holdout.bytes.to_float(0, std::min(holdout.size(), o.stats_rows)));
    }
  } else {
    data = Matrix::from_host(*backend, train.x);
    if (holdout.size() > 0) held = Matrix::from_host(*backend, holdout.x);
  }
  profile.mark("upload (training and held-out data)");

  ExactOptions exact_opt;
  exact_opt.max_enumerated_units = kExactMaxUnits;
  const bool exact_ok = ll_meaningful && exact_feasible(rbm, exact_opt);
  // The likelihood data (binary rows), made only when a likelihood is computed.
  HostTensor ll_train, ll_holdout;
  Matrix ll_data, ll_held;
  if (exact_ok || (o.eval_every > 0 && ll_meaningful)) {
    ll_train = train.stored_as_bytes() ? train.bytes.to_float() : train.x;
    if (holdout.size() > 0) {
      ll_holdout = holdout.stored_as_bytes() ? holdout.bytes.to_float() : holdout.x;
    }
    if (resample) {
      binarize_stochastic(ll_train, o.train.seed);
      if (holdout.size() > 0) binarize_stochastic(ll_holdout, o.train.seed + 1);
    }
    ll_data = Matrix::from_host(*backend, ll_train);
    if (holdout.size() > 0) ll_held = Matrix::from_host(*backend, ll_holdout);
  }
  // Exact log Z enumerates the smaller layer; with Gaussian visible units, the hidden one.
  const int64_t enumerated = gaussian ? rbm.hidden() : std::min(rbm.visible(), rbm.hidden());
  const bool exact_during_training = exact_ok && enumerated <= kExactEveryEpochUnits;
  const int exact_every =
      o.exact_every > 0 ? o.exact_every : std::max(1, o.train.epochs / kExactEvaluationsPerRun);

  MetricsFile metrics(o.metrics);
  profile.mark("metrics file");

  if (!o.quiet) {
    fmt::print(stderr,
               "crbm train: {} rows x {} values from {}{} | {} visible ({}) x {} hidden | {}-{} "
               "| {} epochs, batch {}, lr {} | {}\n",
               with_thousands(static_cast<double>(train.size())), train.dim(), train.source,
               holdout.size() > 0 ? fmt::format(" (+{} held out)", holdout.size()) : "",
               rbm.visible(), to_string(visible_type), rbm.hidden(),
               config.persistent ? "PCD" : "CD", config.cd_k, o.train.epochs, o.train.batch_size,
               o.train.learning_rate, backend->describe());
  }

  auto save = [&](int epochs_done) {
    metadata[meta::kEpochs] = std::to_string(epochs_done);
    save_rbm(o.out, rbm, metadata);
  };

  int last_saved_epoch = -1;
  const auto run_start = std::chrono::steady_clock::now();
  auto last_save = run_start;
  ExactResult exact;
  EvalResult last_eval;
  for (int e = 1; e <= o.train.epochs; ++e) {
    EpochStats stats;
    try {
      stats = train.stored_as_bytes() ? trainer.train_epoch(train.bytes, held.cref(), o.stats_rows)
                                      : trainer.train_epoch(data, held.cref(), o.stats_rows);
      if (e == 1) {
        profile.mark_after("first update (the epoch's shuffle and minibatch 1)",
                           stats.first_update_seconds);
      }
    } catch (const DivergenceError& err) {
      const std::string kept =
          last_saved_epoch >= 0
              ? fmt::format("'{}' keeps the checkpoint of epoch {}", o.out, last_saved_epoch)
              : fmt::format("nothing was written to '{}'", o.out);
      throw DivergenceError(fmt::format("{} ({})", err.what(), kept));
    }
    ExactResult epoch_exact;
    const bool exact_now = exact_during_training && (e % exact_every == 0 || e == o.train.epochs);
    if (exact_now) epoch_exact = exact_likelihood(rbm, ll_data, ll_held.cref());
    EvalResult eval;
    if (o.eval_every > 0 && ll_meaningful && (e % o.eval_every == 0 || e == o.train.epochs)) {
      if (exact_ok) {
        const ExactResult r =
            exact_now ? epoch_exact : exact_likelihood(rbm, ll_data, ll_held.cref());
        eval = EvalResult{"exact", r.log_z, r.log_z, r.log_z, r.train, r.holdout};
      } else {
        AisConfig ais;
        ais.runs = o.eval_ais_runs;
        ais.steps = o.eval_ais_steps;
        ais.seed = o.train.seed + static_cast<uint64_t>(e);
        const AisResult r = ais_log_partition(rbm, ll_train, ais);
        eval.method = "ais";
        eval.log_z = r.log_z;
        eval.log_z_low = r.log_z_low;
        eval.log_z_high = r.log_z_high;
        eval.train = mean_log_likelihood(rbm, ll_data, r.log_z);
        if (holdout.size() > 0) eval.holdout = mean_log_likelihood(rbm, ll_held, r.log_z);
      }
    }
    const double gap =
        holdout.size() > 0 ? stats.free_energy_holdout - stats.free_energy_train : NAN;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
    const double eta = elapsed / e * (o.train.epochs - e);

    if (!o.quiet) {
      std::string line =
          fmt::format("epoch {}/{}  recon {:.4f}  F(train) {:.2f}", e, o.train.epochs,
                      stats.reconstruction_error, stats.free_energy_train);
      if (holdout.size() > 0) {
        line += fmt::format("  F(holdout) {:.2f}  gap {:.2f}", stats.free_energy_holdout, gap);
      }
      line +=
          fmt::format("  {} samples/s  ETA {}", with_thousands(stats.samples_per_second), hms(eta));
      if (exact_now) line += fmt::format("  LL {:.4f}", epoch_exact.train);
      if (eval.method == "exact" && !exact_now) line += fmt::format("  LL {:.4f}", eval.train);
      if (eval.method == "ais") {
        line += fmt::format("  LL(AIS) {:.2f} [{:.2f}, {:.2f}]", eval.train,
                            eval.train - (eval.log_z_high - eval.log_z),
                            eval.train + (eval.log_z - eval.log_z_low));
        if (std::isfinite(eval.holdout)) line += fmt::format(" holdout {:.2f}", eval.holdout);
      }
      fmt::print(stderr, "{}\n", line);
    }
    if (metrics.is_open()) {
      nlohmann::json j;
      j["epoch"] = stats.epoch;
      j["updates"] = stats.updates;
      j["recon_error"] = stats.reconstruction_error;
      j["free_energy_train"] = stats.free_energy_train;
      j["free_energy_holdout"] =
          holdout.size() > 0 ? finite_or_null(stats.free_energy_holdout) : nullptr;
      j["free_energy_gap"] = finite_or_null(gap);
      j["samples_per_sec"] = stats.samples_per_second;
      j["seconds"] = stats.seconds;
      j["lr"] = stats.learning_rate;
      j["momentum"] = stats.momentum;
      j["mean_hidden_activation"] = stats.mean_hidden_activation;
      j["exact_log_likelihood"] = finite_or_null(epoch_exact.train);
      j["exact_log_likelihood_holdout"] = finite_or_null(epoch_exact.holdout);
      j["log_partition"] = finite_or_null(epoch_exact.log_z);
      if (!eval.method.empty()) {
        j["eval_method"] = eval.method;
        j["eval_log_z"] = finite_or_null(eval.log_z);
        j["eval_log_z_low"] = finite_or_null(eval.log_z_low);
        j["eval_log_z_high"] = finite_or_null(eval.log_z_high);
        j["eval_log_likelihood"] = finite_or_null(eval.train);
        j["eval_log_likelihood_holdout"] = finite_or_null(eval.holdout);
      }
      metrics.write(j);
    }
    const auto now = std::chrono::steady_clock::now();
    const bool due = o.save_every > 0 && e % o.save_every == 0 &&
                     (last_saved_epoch < 0 || e == o.train.epochs ||
                      std::chrono::duration<double>(now - last_save).count() >= o.save_interval);
    if (due) {
      save(e);
      last_saved_epoch = e;
      last_save = std::chrono::steady_clock::now();
    }
    if (e == o.train.epochs) exact = epoch_exact;
    if (!eval.method.empty()) last_eval = eval;
  }
  if (last_saved_epoch != o.train.epochs) save(o.train.epochs);
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();

  // ---- results ----
  fmt::print(
      "trained a {}-{} RBM ({} visible units) on {} ({} rows) for {} epochs of {}-{} in "
      "{:.1f} s on {}\n",
      rbm.visible(), rbm.hidden(), to_string(visible_type), train.source, train.size(),
      o.train.epochs, config.persistent ? "PCD" : "CD", config.cd_k, total, backend->describe());
  if (exact_ok) {
    if (!std::isfinite(exact.log_z)) exact = exact_likelihood(rbm, ll_data, ll_held.cref());
    const char* what = gaussian ? "exact mean log-density (train, standardized data)"
                                : "exact mean log-likelihood (train)";
    fmt::print("{}: {:.4f} nats (log Z = {:.4f}, exact)\n", what, exact.train, exact.log_z);
    if (std::isfinite(exact.holdout)) {
      fmt::print("exact mean log-likelihood (holdout): {:.4f} nats\n", exact.holdout);
    }
    int64_t distinct = 0;
    const double best = gaussian ? 0.0 : empirical_log_likelihood(ll_train, &distinct);
    if (!gaussian && 2 * distinct <= ll_train.rows()) {  // informative only with repeats
      fmt::print(
          "best possible on this data (its empirical distribution over {} distinct "
          "rows): {:.4f} nats\n",
          distinct, best);
    }
  } else if (ll_meaningful && last_eval.method == "ais") {
    fmt::print(
        "AIS mean log-likelihood (train, {} runs x {} steps): {:.4f} nats (log Z = {:.4f}, band "
        "[{:.4f}, {:.4f}]); exact enumeration would need 2^{} configurations\n",
        o.eval_ais_runs, o.eval_ais_steps, last_eval.train, last_eval.log_z, last_eval.log_z_low,
        last_eval.log_z_high, enumerated);
  } else if (ll_meaningful) {
    fmt::print(
        "exact log-likelihood: not computed (log Z would enumerate 2^{} configurations, "
        "more than 2^{}; estimate it with AIS: --eval-every N, or crbm eval)\n",
        enumerated, kExactMaxUnits);
  }
  fmt::print("model: {}\n", o.out);
  if (!o.metrics.empty()) fmt::print("metrics: {}\n", o.metrics);

  const RbmParams params = rbm.to_host();
  const Geometry g = choose_geometry(rbm.visible(), train.channels, train.height, train.width);
  if (!o.filters.empty()) {
    HostTensor filters({rbm.hidden(), rbm.visible()});
    for (int64_t i = 0; i < rbm.visible(); ++i)
      for (int64_t j = 0; j < rbm.hidden(); ++j)
        filters.data[j * rbm.visible() + i] = params.weights.data[i * rbm.hidden() + j];
    write_tiles_png(o.filters, filters, g, 0, /*unit_scale=*/false, /*per_tile=*/true);
    fmt::print("filters: {} ({} tiles of {}x{})\n", o.filters, rbm.hidden(), g.height, g.width);
  }
  if (!o.samples.empty()) {
    const HostTensor starts = random_chain_starts(rbm, 64, o.train.seed);
    HostTensor samples = run_gibbs_chains(rbm, starts, 1000, o.train.seed, 0, nullptr);
    if (gaussian) {
      unstandardize(samples, standardization_from_metadata(metadata, rbm.visible(), o.out));
    }
    write_tiles_png(o.samples, samples, g, 0, /*unit_scale=*/!gaussian, /*per_tile=*/false);
    fmt::print("samples: {}\n", o.samples);
  }
}

void register_train(CLI::App& app) {
  auto [cmd, o] = add_command<TrainOptions>(
      app, "train",
      "Train a dense RBM (CD-k or PCD-k), or a convolutional RBM / CDBN with --model conv, and "
      "save it as a safetensors checkpoint.\n"
      "With no options it trains on the built-in bars-and-stripes data in a few seconds and "
      "prints the exact log-likelihood.\n"
      "Example: crbm train --data mnist:DIR --hidden 500 --epochs 20 --out mnist.safetensors "
      "--filters filters.png --metrics metrics.jsonl",
      [](CLI::App* cmd, TrainOptions& o) {
        apply_config_file(cmd, o.config);
        apply_recipe_options(cmd, o);
        run_train(o);
      });
  register_options(cmd, *o);
}

const SubcommandRegistrar kRegistrar{10, register_train};

}  // namespace
}  // namespace crbm::tools
