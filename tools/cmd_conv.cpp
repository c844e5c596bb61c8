// `crbm conv train|transform|sample|classify`: convolutional RBMs and CDBNs on the
// command line (library: conv_rbm.hpp, cdbn.hpp, preprocess.hpp, logreg.hpp).
// A stack is given by comma lists (--filters 24,40 --filter-size 10,12 --pool 2,3)
// and trained greedily, layer after layer; the checkpoint is written after each.
#include "cmd_conv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "crbm/cdbn.hpp"
#include "crbm/data.hpp"
#include "crbm/image.hpp"
#include "crbm/logreg.hpp"
#include "crbm/preprocess.hpp"
#include "crbm/recipes.hpp"

namespace crbm::tools {
namespace {

// Loads a dataset with geometry and applies the model's input preprocessing.
Dataset load_images(const std::string& spec, const std::string& binarize, int64_t limit,
                    uint64_t seed, bool standardize, bool whiten, bool gaussian) {
  LoadOptions lo;
  lo.binarize = gaussian ? Binarize::none : parse_binarize(binarize);
  lo.seed = seed;
  lo.limit = limit;
  Dataset d = load_dataset(spec, lo);
  if (!d.has_geometry()) {
    CRBM_FAIL(spec, ": convolutional models need images; this dataset has no geometry (", d.dim(),
              " columns). Use an image source (mnist:, idx:, or npy of (N, C, H, W))");
  }
  if (standardize) standardize_rows(d.x);
  if (whiten) {
    whiten_rows(d.x, d.channels, d.height, d.width);
    if (standardize) standardize_rows(d.x);
  }
  return d;
}

// A checkpoint of `crbm conv train` and the input preprocessing it was trained with
// (metadata standardize and whiten; the first layer's visible units).
struct ConvCheckpoint {
  Cdbn net;
  bool standardize = false, whiten = false;
  // The images of `spec`, preprocessed as in training.
  Dataset images(const std::string& spec, const std::string& binarize, int64_t limit,
                 uint64_t seed) const {
    const bool gaussian = net.layer(0).visible_type() == VisibleType::gaussian;
    return load_images(spec, binarize, limit, seed, standardize, whiten, gaussian);
  }
};

ConvCheckpoint load_conv_checkpoint(const std::string& path, Backend& backend,
                                    const std::string& conv_algo) {
  Metadata m;
  Cdbn net = load_cdbn(path, backend, parse_conv_algo(conv_algo), &m);
  return {std::move(net), m["standardize"] == "true", m["whiten"] == "true"};
}

template <typename T>
T layer_value(const std::vector<T>& v, size_t layer, const char* name) {
  if (v.empty()) CRBM_FAIL("--", name, " is empty");
  return layer < v.size() ? v[layer] : v.back();
}

void write_filter_pngs(const Cdbn& net, const std::string& path) {
  if (path.empty()) return;
  const int64_t c0 = net.layer(0).shape(1).channels;
  for (size_t l = 0; l < net.size(); ++l) {
    int64_t size = 0;
    HostTensor tiles = net.visualise_filters(l, &size);
    int channels = int(c0);
    if (c0 != 1 && c0 != 3) {  // one gray tile per (filter, channel)
      tiles.shape = {tiles.rows() * c0, size * size};
      channels = 1;
    }
    GridOptions g;
    g.zoom = size < 16 ? 3 : 2;
    g.pad_value = 255;
    std::string file = path;
    if (l > 0) {
      const size_t dot = path.rfind('.');
      file = (dot == std::string::npos ? path : path.substr(0, dot)) + "_layer" +
             std::to_string(l) + ".png";
    }
    write_png_grid(file, tiles, channels, int(size), int(size), g);
    fmt::print("wrote {} ({} filters of layer {}, {}x{} in the input space)\n", file, tiles.rows(),
               l, size, size);
  }
}

}  // namespace

void add_conv_options(CLI::App& cmd, ConvCliOptions& o, bool with_common) {
  if (with_common) {
    add_config_option(&cmd, o.config);
    add_data_options(&cmd, o.data, o.limit, "Training images (mnist:DIR[:train|test], idx:, npy:)",
                     "images");
    add_recipe_option(&cmd, o.recipe, RecipeModel::cdbn);
    o.cd = add_cd_options(&cmd, o.train, kCdAll);
    o.sgd = add_sgd_options(&cmd, o.train, kSgdAll & ~kSgdSparsityTarget);
    o.sgd.epochs->description("Epochs per layer");
    o.sgd.seed->description("Random seed (layer l: seed + 1000 l)");
    const OutputOptions out = add_output_options(&cmd, &o.out, &o.metrics, nullptr, &o.quiet);
    out.out->description("Checkpoint (.safetensors), written after each layer");
    out.metrics->description("Write one JSON object per layer and epoch (JSONL)");
    add_compute_options(&cmd, o.device, o.threads);
    cmd.add_option("--visible", o.visible, "bernoulli or gaussian")
        ->group(kGroupModel)
        ->capture_default_str();
  }
  cmd.add_option("--binarize", o.binarize, "Bernoulli input: none|threshold|stochastic")
      ->group(kGroupData)
      ->capture_default_str();
  cmd.add_flag("--standardize", o.standardize, "Per-image standardization (Gaussian input)")
      ->group(kGroupData);
  cmd.add_flag("--whiten", o.whiten, "Lee's 1/f whitening filter (Gaussian input)")
      ->group(kGroupData);
  cmd.add_option("--filters", o.filters, "Filter count per layer (comma list for a CDBN)")
      ->delimiter(',')
      ->group(kGroupModel)
      ->capture_default_str();
  cmd.add_option("--filter-size", o.filter_size, "Filter size F per layer")
      ->delimiter(',')
      ->group(kGroupModel)
      ->capture_default_str();
  cmd.add_option("--pool", o.pool, "Pooling block size P per layer")
      ->delimiter(',')
      ->group(kGroupModel)
      ->capture_default_str();
  cmd.add_option("--sigma", o.sigma, "Gaussian visible sigma (Lee: 0.2)")->group(kGroupModel);
  o.sigma_decay_opt = cmd.add_option("--sigma-decay", o.train.sigma_decay,
                                     "sigma *= this after each epoch of layer 0 (Lee: 0.99)")
                          ->capture_default_str()
                          ->group(kGroupTraining);
  o.sigma_min_opt =
      cmd.add_option("--sigma-min", o.train.sigma_min, "Lower bound of the annealed sigma")
          ->capture_default_str()
          ->group(kGroupTraining);
  cmd.add_option("--init-std", o.init_std, "Initial filter stddev")->group(kGroupModel);
  cmd.add_option("--hidden-bias-init", o.hidden_bias_init, "Initial hidden bias")
      ->group(kGroupModel);
  cmd.add_option("--sparsity-target", o.sparsity_target, "Target p per layer (0 = off)")
      ->delimiter(',')
      ->type_name("P[,P...]")
      ->group(kGroupTraining);
  cmd.add_option("--filters-png", o.filters_png,
                 "Write the filters as a PNG grid (layer l > 0: FILE_layer<l>.png, "
                 "visualised through the layers below)")
      ->group(kGroupOutput);
  cmd.add_option("--conv-algo", o.conv_algo, "auto|custom|cudnn (GPU)")->group(kGroupCompute);
}

int run_conv_train(const ConvCliOptions& o) {
  const VisibleType vt = parse_visible_type(o.visible);
  const bool gaussian = vt == VisibleType::gaussian;
  auto backend = open_backend(o.device, o.threads);
  const Dataset d =
      load_images(o.data, o.binarize, o.limit, o.train.seed, o.standardize, o.whiten, gaussian);
  fmt::print("data: {} images {}x{}x{} from {} ({})\n", d.size(), d.channels, d.height, d.width,
             o.data, gaussian ? "gaussian" : o.binarize);
  fmt::print("device: {}\n", backend->describe());
  Matrix x = Matrix::from_host(*backend, d.x);
  Cdbn net(*backend, d.channels, d.height, d.width, parse_conv_algo(o.conv_algo));
  MetricsFile metrics(o.metrics);
  const size_t layers = o.filters.size();
  for (size_t l = 0; l < layers; ++l) {
    ConvRbm& rbm = net.add_layer(o.filters[l], layer_value(o.filter_size, l, "filter-size"),
                                 layer_value(o.pool, l, "pool"),
                                 l == 0 ? vt : VisibleType::bernoulli, o.sigma);
    rbm.init_random(o.train.seed + l, o.init_std, l == 0 ? &d.x : nullptr, o.hidden_bias_init);
    ConvTrainConfig cfg = o.train;
    if (!o.recipe_layers.empty()) {  // the recipe's layer (its last for extra ones), then flags
      cfg = o.recipe_layers[std::min(l, o.recipe_layers.size() - 1)];
      o.sgd.copy_given(o.train, cfg);
      const auto given = [](const CLI::Option* opt) { return opt != nullptr && opt->count() > 0; };
      if (given(o.cd.cd) || given(o.cd.pcd)) cfg.cd_k = o.train.cd_k;
      if (given(o.cd.pcd)) cfg.persistent = o.train.persistent;
      if (given(o.cd.pcd_chains)) cfg.pcd_chains = o.train.pcd_chains;
      if (given(o.cd.sample_negative)) {
        cfg.sample_negative_visible = o.train.sample_negative_visible;
      }
      if (given(o.sigma_decay_opt)) cfg.sigma_decay = o.train.sigma_decay;
      if (given(o.sigma_min_opt)) cfg.sigma_min = o.train.sigma_min;
    }
    cfg.sparsity_target = layer_value(o.sparsity_target, l, "sparsity-target");
    cfg.sigma_decay = l == 0 ? o.train.sigma_decay : 1.0f;
    cfg.seed = o.train.seed + 1000 * l;
    const ConvShape s = rbm.shape(1);
    fmt::print("layer {}: {}x{}x{} -> {} filters {}x{}, hidden {}x{}{}, pool {} -> {}x{}\n", l,
               s.channels, s.height, s.width, s.filters, s.filter_size, s.filter_size,
               s.hidden_height(), s.hidden_width(),
               s.cropped() ? fmt::format(" (valid {}x{} cropped to a multiple of P)",
                                         s.valid_height(), s.valid_width())
                           : "",
               s.pool, s.pooled_height(), s.pooled_width());
    net.train_layer(l, x, cfg, [&](const ConvEpochStats& e) {
      if (!o.quiet) {
        const double eta = e.seconds * (o.train.epochs - e.epoch);
        fmt::print(
            "  epoch {:3d}  recon {:9.4f}  F {:10.3f}  P(h) {:.4f}  P(pool) {:.4f}  sigma {:.3f}  "
            "{:7.1f} img/s  ETA {}\n",
            e.epoch, e.reconstruction_error, e.free_energy, e.mean_hidden_activation,
            e.mean_pooled_activation, e.sigma, e.samples_per_second, hms(eta));
        std::fflush(stdout);
      }
      if (metrics.is_open()) {
        const nlohmann::json j = {{"layer", l},
                                  {"epoch", e.epoch},
                                  {"updates", e.updates},
                                  {"recon_error", e.reconstruction_error},
                                  {"free_energy_train", e.free_energy},
                                  {"mean_hidden_activation", e.mean_hidden_activation},
                                  {"mean_pooled_activation", e.mean_pooled_activation},
                                  {"sigma", e.sigma},
                                  {"lr", e.learning_rate},
                                  {"seconds", e.seconds},
                                  {"samples_per_sec", e.samples_per_second}};
        metrics.write(j);
      }
    });
    Metadata m;
    write_provenance(m, "conv train", o.data, o.recipe);
    m[meta::kBinarize] = gaussian ? "none" : o.binarize;
    m["standardize"] = o.standardize ? "true" : "false";
    m["whiten"] = o.whiten ? "true" : "false";
    m[fmt::format("layer{}.train_config", l)] = with_precision(cfg.to_json());
    save_cdbn(o.out, net, m);
    fmt::print("wrote {} ({} layer{})\n", o.out, net.size(), net.size() > 1 ? "s" : "");
  }
  write_filter_pngs(net, o.filters_png);
  return 0;
}

int run_conv_transform(const ConvTransformOptions& o) {
  auto backend = open_backend(o.device, o.threads);
  const ConvCheckpoint model = load_conv_checkpoint(o.model, *backend, o.conv_algo);
  const Cdbn& net = model.net;
  const Dataset d = model.images(o.data, o.binarize, o.limit, 1);
  const size_t layer = o.layer < 0 ? net.size() - 1 : size_t(o.layer);
  if (layer >= net.size())
    CRBM_FAIL("--layer ", o.layer, ": the model has ", net.size(), " layers");
  if (o.output != "hidden" && o.output != "pooled") {
    CRBM_FAIL("--output '", o.output, "' (expected hidden or pooled)");
  }
  Matrix x = Matrix::from_host(*backend, d.x);
  const Matrix input = net.layer_input(layer, x);
  const ConvRbm& rbm = net.layer(layer);
  const ConvShape s = rbm.shape(1);
  const bool pooled = o.output == "pooled";
  const int64_t cols = pooled ? s.pooled_size() : s.hidden_size();
  HostTensor out({d.size(), s.filters, pooled ? s.pooled_height() : s.hidden_height(),
                  pooled ? s.pooled_width() : s.hidden_width()});
  constexpr int64_t kChunk = 500;
  for (int64_t first = 0; first < d.size(); first += kChunk) {
    const int64_t rows = std::min(kChunk, d.size() - first);
    Matrix h(*backend, rows, s.hidden_size()), p(*backend, rows, s.pooled_size());
    rbm.hidden_given_visible(input.rows_view(first, rows), h, p);
    const HostTensor host = pooled ? p.download() : h.download();
    std::copy(host.data.begin(), host.data.end(), out.data.begin() + first * cols);
  }
  write_npy(o.out, out);
  fmt::print("wrote {} {} ({} of layer {})\n", o.out, out.shape_string(),
             pooled ? "P(pool on|v)" : "P(h=1|v)", layer);
  return 0;
}

int run_conv_sample(const ConvSampleOptions& o) {
  check_sample_chains(o.chains);
  auto backend = open_backend(o.device, o.threads);
  Cdbn net = load_cdbn(o.model, *backend, parse_conv_algo(o.conv_algo));
  const ConvRbm& rbm = net.layer(0);
  const ConvShape s = rbm.shape(o.chains);
  HostTensor images = run_conv_gibbs_chains(rbm, o.chains, o.steps, o.seed);
  GridOptions g;
  g.zoom = 2;
  g.scale = rbm.visible_type() == VisibleType::bernoulli ? TileScale::unit : TileScale::per_tile;
  if (s.channels != 1 && s.channels != 3)
    CRBM_FAIL("sample: cannot draw ", s.channels, "-channel images");
  write_png_grid(o.out, images, int(s.channels), int(s.height), int(s.width), g);
  fmt::print("wrote {} ({} chains, {} Gibbs steps of layer 0; visible means)\n", o.out, o.chains,
             o.steps);
  return 0;
}

int run_conv_classify(const ConvClassifyOptions& o) {
  auto backend = open_backend(o.device, o.threads);
  const ConvCheckpoint model = load_conv_checkpoint(o.model, *backend, o.conv_algo);
  const Cdbn& net = model.net;
  auto features_of = [&](const std::string& spec, int64_t limit, std::vector<int32_t>* labels) {
    const Dataset d = model.images(spec, o.binarize, limit, o.train.seed);
    if (d.labels.empty()) CRBM_FAIL(spec, ": classification needs labels");
    *labels = d.labels;
    Matrix x = Matrix::from_host(*backend, d.x);
    return net.features(x);
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> train_labels, test_labels;
  const HostTensor train_f = features_of(o.train_data, o.train_limit, &train_labels);
  const HostTensor test_f = features_of(o.test_data, o.test_limit, &test_labels);
  fmt::print("features: {} per image ({} layers), {} train / {} test images, {:.1f} s\n",
             net.feature_size(), net.size(), train_f.rows(), test_f.rows(),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  double train_err = 0, test_err = 0;
  if (o.classifier == "svm") {
    const LinearSvm svm = LinearSvm::train(train_f, train_labels, o.svm);
    train_err = svm.error_rate(train_f, train_labels);
    test_err = svm.error_rate(test_f, test_labels);
  } else {
    Matrix xtr = Matrix::from_host(*backend, train_f), xte = Matrix::from_host(*backend, test_f);
    LogisticRegression clf(*backend, net.feature_size(), 10);
    clf.fit(xtr, train_labels, o.train, [](int epoch, double loss) {
      if (epoch % 5 == 0) fmt::print("  logreg epoch {:3d}  cross-entropy {:.4f}\n", epoch, loss);
    });
    train_err = clf.error_rate(xtr, train_labels);
    test_err = clf.error_rate(xte, test_labels);
  }
  fmt::print("{}: train error {:.2f}%  test error {:.2f}%  ({} test images)\n", o.classifier,
             100 * train_err, 100 * test_err, test_labels.size());
  nlohmann::json j = {
      {"command", "conv classify"},
      {"model", o.model},
      {"classifier", o.classifier},
      {"error_rate", test_err},
      {"train_error_rate", train_err},
      {"test_images", test_labels.size()},
      {"features", net.feature_size()},
      {"recipe", o.recipe.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.recipe)}};
  if (o.classifier == "svm") j["svm"] = nlohmann::json::parse(o.svm.to_json());
  write_json_file(o.json, j);
  return 0;
}

namespace {

// The callback of `crbm conv train`: the config file, the recipe as the defaults (its layers
// replace --filters, --filter-size, --pool and --sparsity-target), then the training.
void start_conv_train(CLI::App* cmd, ConvCliOptions& o) {
  apply_config_file(cmd, o.config);
  apply_recipe_defaults<CdbnPlan>(cmd, o.recipe, RecipeModel::cdbn, [&o](const CdbnPlan& plan) {
    o.filters.clear();
    o.filter_size.clear();
    o.pool.clear();
    o.sparsity_target.clear();
    o.recipe_layers.clear();
    for (const CdbnLayerPlan& l : plan.layers) {
      o.filters.push_back(l.filters);
      o.filter_size.push_back(l.filter_size);
      o.pool.push_back(l.pool);
      o.sparsity_target.push_back(l.train.sparsity_target);
      o.recipe_layers.push_back(l.train);
    }
    o.train = plan.layers.front().train;
    o.visible = to_string(plan.visible_type);
    o.sigma = plan.sigma;
    o.binarize = to_string(plan.binarize);
  });
  run_conv_train(o);
}

// The callback of `crbm conv classify`: a CDBN recipe's SVM and binarization as the defaults
// (and --classifier svm unless given), then the classification.
void start_conv_classify(CLI::App* cmd, ConvClassifyOptions& o) {
  apply_recipe_defaults<CdbnPlan>(cmd, o.recipe, RecipeModel::cdbn, [&](const CdbnPlan& plan) {
    o.svm = plan.svm;
    o.binarize = to_string(plan.binarize);
    if (cmd->get_option("--classifier")->count() == 0) o.classifier = "svm";
  });
  run_conv_classify(o);
}

void register_conv(CLI::App& app) {
  CLI::App* conv = app.add_subcommand(
      "conv", "Convolutional RBMs with probabilistic max-pooling and CDBN stacks");
  conv->require_subcommand(1);

  {
    auto [train, o] = add_command<ConvCliOptions>(*conv, "train", "Train a conv RBM / greedy CDBN",
                                                  start_conv_train);
    add_conv_options(*train, *o);
  }
  {
    auto [transform, t] = add_command<ConvTransformOptions>(
        *conv, "transform", "Write P(h=1|v) or P(pool on|v) maps as (N, K, rows, cols) .npy",
        run_conv_transform);
    add_model_argument(transform, "model", t->model, "Checkpoint");
    transform->add_option("--data", t->data, "Images")->required();
    transform->add_option("--out,-o", t->out, "Output .npy")->required();
    transform->add_option("--output", t->output, "hidden or pooled")->capture_default_str();
    transform->add_option("--layer", t->layer, "Layer (default: the last)");
    transform->add_option("--binarize", t->binarize, "Input binarization")->capture_default_str();
    transform->add_option("--limit", t->limit, "First N images");
    add_compute_options(transform, t->device, t->threads);
    transform->add_option("--conv-algo", t->conv_algo, "auto|custom|cudnn");
  }
  {
    auto [sample, sm] = add_command<ConvSampleOptions>(
        *conv, "sample", "Gibbs samples of the first layer as a PNG", run_conv_sample);
    add_model_argument(sample, "model", sm->model, "Checkpoint");
    sample->add_option("--out,-o", sm->out, "PNG")->capture_default_str();
    sample->add_option("--chains", sm->chains, "Number of chains")->capture_default_str();
    sample->add_option("--steps", sm->steps, "Gibbs steps")->capture_default_str();
    sample->add_option("--seed", sm->seed, "Seed");
    add_compute_options(sample, sm->device, sm->threads);
    sample->add_option("--conv-algo", sm->conv_algo, "auto|custom|cudnn");
  }
  {
    auto [classify, c] = add_command<ConvClassifyOptions>(
        *conv, "classify", "Logistic regression on the pooled features of every layer; test error",
        start_conv_classify);
    add_model_argument(classify, "model", c->model, "Checkpoint");
    classify->add_option("--train-data", c->train_data, "Labelled training images (e.g. mnist:DIR)")
        ->required();
    classify->add_option("--test-data", c->test_data, "Labelled test images (e.g. mnist:DIR:test)")
        ->required();
    classify->add_option("--train-limit", c->train_limit, "First N training images");
    classify->add_option("--test-limit", c->test_limit, "First N test images");
    classify->add_option("--binarize", c->binarize, "Input binarization")->capture_default_str();
    const SgdOptions sgd = add_sgd_options(classify, c->train, kSgdSeed);
    sgd.epochs->description("Logistic regression epochs");
    sgd.seed->description("Seed (the logistic regression, stochastic binarization)");
    add_recipe_option(classify, c->recipe, RecipeModel::cdbn)
        ->description(
            "A CDBN recipe (docs/recipes.md): its classifier (the linear SVM), SVM settings and "
            "input binarization; options given override them. Recipes: lee09-cdbn");
    classify
        ->add_option("--classifier", c->classifier,
                     "softmax: logistic regression (SGD); svm: a linear SVM (liblinear, "
                     "one-vs-rest) [default: svm with --recipe]")
        ->check(CLI::IsMember({"softmax", "svm"}))
        ->capture_default_str();
    classify->add_option("--svm-c", c->svm.C, "--classifier svm: the cost C (liblinear -c)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    add_output_options(classify, nullptr, nullptr, &c->json, nullptr)
        .json->description("Write a JSON summary here (error_rate: the test error)");
    add_compute_options(classify, c->device, c->threads);
    classify->add_option("--conv-algo", c->conv_algo, "auto|custom|cudnn");
  }
}

const SubcommandRegistrar kRegistrar{50, register_conv};

}  // namespace
}  // namespace crbm::tools
