// `crbm eval MODEL`: how good a dense RBM is on a dataset. log Z exactly (enumerating
// the smaller layer, when it has <= --exact-max-units units) or by AIS with its +-3 sigma
// band; mean log P(v) = -mean F(v) - log Z with the band carried over; pseudo-likelihood
// (scikit-learn's stochastic version), reconstruction error, mean free energy and, with
// --train-data, the free-energy gap. The data is preprocessed as in training.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "crbm/ais.hpp"
#include "crbm/atomic_file.hpp"
#include "crbm/exact.hpp"
#include "crbm/metrics.hpp"
#include "crbm/safetensors.hpp"

namespace crbm::tools {
namespace {

constexpr int kExactHardLimit = 30;  // --exact refuses beyond 2^30 configurations

// The request handed on for deep and softmax models (EvalRequest; data empty: the checkpoint's
// training data, else builtin:bars) and the dense model's own options.
struct EvalOptions : EvalRequest {
  std::string train_data;
  std::string binarize = "auto";
  bool force_exact = false;
  bool force_ais = false;
  int exact_max_units = 20;
};

bool all_binary(const HostTensor& x) {
  for (float v : x.data) {
    if (v != 0.0f && v != 1.0f) return false;
  }
  return true;
}

// The default --data: what the checkpoint was trained on (metadata "data"), else builtin:bars.
std::string training_data(const Metadata& m) {
  const auto it = m.find(meta::kData);
  return it != m.end() && !it->second.empty() ? it->second : "builtin:bars";
}

void run_eval(const EvalOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.force_exact && o.force_ais) CRBM_FAIL("--exact and --ais exclude each other");
  const std::string kind = checkpoint_model_kind(o.model);
  if (kind == "dbn" || kind == "dbm" || kind == "mlp" || kind == "softmax_rbm") {
    if (o.force_exact || o.force_ais) {
      CRBM_FAIL("--exact/--ais apply to dense RBMs; for a ", kind,
                " crbm eval uses the exact log Z when it is enumerable and AIS otherwise");
    }
    EvalRequest r = o;
    if (r.data.empty()) r.data = training_data(load_checkpoint(o.model).metadata);
    const int rc = kind == "softmax_rbm" ? eval_softmax_model(r) : eval_deep_model(r, 10);
    if (rc != 0) {
      CRBM_FAIL("evaluation of '", o.model, "' failed");
    }
    return;
  }
  if (is_conv_model(kind)) {
    CRBM_FAIL(
        "'", o.model, "' is a ", kind,
        ": crbm eval handles dense RBMs, DBNs, DBMs, MLPs and softmax RBMs; evaluate convolutional "
        "features with 'crbm conv classify'");
  }
  Metadata metadata;
  const RbmParams params = load_rbm_params(o.model, &metadata);
  auto backend = open_backend(o.device, o.threads);
  Rbm rbm(*backend, params);
  const bool gaussian = rbm.visible_type() == VisibleType::gaussian;

  const std::string spec = o.data.empty() ? training_data(metadata) : o.data;
  if (gaussian && o.binarize != "auto" && o.binarize != "none") {
    CRBM_FAIL("--binarize ", o.binarize, ": the model has gaussian visible units");
  }
  // Stochastic binarization (as the model was trained) is one fixed draw from --seed.
  const Dataset data =
      load_data_like_training(spec, params, metadata, o.model, o.binarize, o.seed, o.limit);
  if (data.size() == 0) CRBM_FAIL(data.source, ": no rows to evaluate");
  std::string binarized = "none";
  if (!gaussian) {
    binarized = o.binarize;
    if (binarized == "auto") {
      auto it = metadata.find(meta::kBinarize);
      binarized = it == metadata.end() ? "none" : it->second;
    }
  }
  const bool binary = gaussian || all_binary(data.x);
  Matrix x = Matrix::from_host(*backend, data.x);

  // ---- log Z ----
  ExactOptions exact_opt;
  exact_opt.max_enumerated_units = o.force_exact ? kExactHardLimit : o.exact_max_units;
  const int64_t enumerated = gaussian ? rbm.hidden() : std::min(rbm.visible(), rbm.hidden());
  if (o.force_exact && !exact_feasible(rbm, exact_opt)) {
    CRBM_FAIL("--exact: the model needs 2^", enumerated, " configurations (", rbm.visible(),
              " visible x ", rbm.hidden(), " hidden); exact enumeration stops at 2^",
              kExactHardLimit, ". Drop --exact to use AIS");
  }
  const bool use_exact = !o.force_ais && exact_feasible(rbm, exact_opt);
  const auto z_start = std::chrono::steady_clock::now();
  double log_z = 0, log_z_low = 0, log_z_high = 0, log_z_base = NAN;
  AisResult ais;
  if (use_exact) {
    log_z = log_z_low = log_z_high = exact_log_partition(rbm, exact_opt);
  } else {
    AisConfig cfg;
    cfg.runs = o.ais_runs;
    cfg.steps = o.ais_steps;
    cfg.seed = o.seed;
    cfg.validate();
    if (!o.quiet) {
      fmt::print(stderr, "crbm eval: AIS with {} runs x {} steps on {} ...\n", cfg.runs,
                 with_thousands(static_cast<double>(ais_schedule(cfg).size() - 1)),
                 backend->describe());
    }
    ais = ais_log_partition(rbm, data.x, cfg);
    log_z = ais.log_z;
    log_z_low = ais.log_z_low;
    log_z_high = ais.log_z_high;
    log_z_base = ais.log_z_base;
  }
  const double z_seconds = seconds_since(z_start);

  // ---- likelihood and the other measures ----
  const double mean_f = rbm.mean_free_energy(x);
  const double ll = binary ? -mean_f - log_z : NAN;
  const double ll_low = binary ? -mean_f - log_z_high : NAN;
  const double ll_high = binary ? -mean_f - log_z_low : NAN;
  const double pl = gaussian ? NAN : pseudo_log_likelihood(rbm, x, o.seed);
  const double recon = reconstruction_error(rbm, x);
  std::optional<FreeEnergyGap> gap;
  if (!o.train_data.empty()) {
    const Dataset train = load_data_like_training(o.train_data, params, metadata, o.model,
                                                  o.binarize, o.seed, o.limit);
    Matrix t = Matrix::from_host(*backend, train.x);
    gap = free_energy_gap(rbm, t, x);
  }
  const double seconds = seconds_since(start);

  // ---- report ----
  const std::string method = use_exact ? "exact" : "ais";
  fmt::print("model: {} ({} visible {} x {} hidden)\n", o.model, rbm.visible(),
             to_string(rbm.visible_type()), rbm.hidden());
  fmt::print("data: {} ({} rows{})\n", data.source, with_thousands(double(data.size())),
             binarized == "stochastic"  ? fmt::format(", binarized stochastically, seed {}", o.seed)
             : binarized == "threshold" ? ", binarized at 0.5"
                                        : "");
  if (use_exact) {
    fmt::print("log Z: {:.4f} (exact: 2^{} configurations, {:.2f} s)\n", log_z, enumerated,
               z_seconds);
  } else {
    fmt::print(
        "log Z: {:.4f}  band [{:.4f}, {:.4f}] (AIS: {} runs x {} steps, base log Z {:.4f}, "
        "{:.2f} s)\n",
        log_z, log_z_low, log_z_high, ais.runs, with_thousands(double(ais.steps)), log_z_base,
        z_seconds);
  }
  if (binary) {
    if (use_exact) {
      fmt::print("mean log-likelihood: {:.4f} nats\n", ll);
    } else {
      fmt::print("mean log-likelihood: {:.4f} nats  band [{:.4f}, {:.4f}]\n", ll, ll_low, ll_high);
    }
  } else {
    fmt::print(
        "mean log-likelihood: n/a (the rows are not binary; evaluate with --binarize "
        "stochastic or threshold)\n");
  }
  if (!gaussian) {
    fmt::print("pseudo-likelihood: {:.4f} (per example, sum over units, as scikit-learn)\n", pl);
  }
  fmt::print("reconstruction error: {:.4f} (squared error per example)\n", recon);
  fmt::print("mean free energy: {:.4f}\n", mean_f);
  if (gap) {
    fmt::print("free energy gap: {:.4f} (data {:.4f} - train {:.4f})\n", gap->gap, gap->holdout,
               gap->train);
  }

  if (!o.json.empty()) {
    nlohmann::json j;
    j["model"] = o.model;
    j["data"] = data.source;
    j["rows"] = data.size();
    j["binarize"] = binarized;
    j["seed"] = o.seed;
    j["device"] = to_string(backend->device());
    j["precision"] = to_string(backend->precision());  // of the products (--precision)
    j["method"] = method;
    j["log_z"] = log_z;
    j["log_z_low"] = finite_or_null(log_z_low);
    j["log_z_high"] = log_z_high;
    j["log_z_base"] = finite_or_null(log_z_base);
    j["log_z_seconds"] = z_seconds;
    j["ais_runs"] = use_exact ? nlohmann::json(nullptr) : nlohmann::json(ais.runs);
    j["ais_steps"] = use_exact ? nlohmann::json(nullptr) : nlohmann::json(ais.steps);
    j["mean_log_likelihood"] = finite_or_null(ll);
    j["mean_log_likelihood_low"] = finite_or_null(ll_low);
    j["mean_log_likelihood_high"] = finite_or_null(ll_high);
    j["pseudo_log_likelihood"] = finite_or_null(pl);
    j["reconstruction_error"] = recon;
    j["mean_free_energy"] = mean_f;
    if (gap) {
      j["free_energy_train"] = gap->train;
      j["free_energy_gap"] = gap->gap;
    }
    j["seconds"] = seconds;
    write_json_file(o.json, j);
  }
}

void register_eval(CLI::App& app) {
  auto [cmd, o] = add_command<EvalOptions>(
      app, "eval",
      "Evaluate a checkpoint (dense RBM, DBN, DBM or MLP) on data: log Z (exact when the smaller "
      "layer is small, "
      "else annealed importance sampling with a +-3 sigma band), mean log-likelihood, "
      "pseudo-likelihood, reconstruction error.\n"
      "Example: crbm eval mnist.safetensors --data mnist:DIR:test --json eval.json",
      run_eval);
  add_model_argument(cmd, "model", o->model, "Checkpoint (.safetensors) written by crbm train")
      ->check(CLI::ExistingFile);
  add_data_options(cmd, o->data, o->limit,
                   "Dataset SPEC (as for crbm train); default: the model's training data, or "
                   "builtin:bars");
  cmd->add_option("--train-data", o->train_data,
                  "Also report the free-energy gap between this (training) data and --data")
      ->group(kGroupData);
  cmd->add_option("--binarize", o->binarize,
                  "auto = as in training (a stochastic model gets one fixed draw from --seed); "
                  "none|threshold|stochastic")
      ->check(CLI::IsMember({"auto", "none", "threshold", "stochastic"}))
      ->capture_default_str()
      ->group(kGroupData);
  cmd->add_flag("--exact", o->force_exact,
                "Exact log Z even beyond --exact-max-units (fails beyond 2^30 configurations)")
      ->group(kGroupModel);
  cmd->add_flag("--ais", o->force_ais, "AIS even when exact enumeration is feasible")
      ->group(kGroupModel);
  cmd->add_option("--exact-max-units", o->exact_max_units,
                  "Enumerate exactly when the smaller layer has at most this many units")
      ->check(CLI::Range(1, kExactHardLimit))
      ->capture_default_str()
      ->group(kGroupModel);
  // At least 2 AIS runs: the +-3 sigma band needs a spread.
  add_eval_request_options(
      cmd, *o,
      {kGroupModel, 2, "Seed for AIS, binarization and the pseudo-likelihood flips", kGroupModel,
       "No progress line on stderr"});
}

const SubcommandRegistrar kRegistrar{40, register_eval};

}  // namespace
}  // namespace crbm::tools
