// Convolutional models on the command line: options shared by `crbm conv ...`
// and (once the lead wires it) `crbm train --model conv`, and the entry points.
// In the conv commands `--filters` is the filter COUNT (a comma list for a CDBN:
// --filters 24,40 --filter-size 10,12 --pool 2,3); the filter image is --filters-png.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "crbm/conv_train.hpp"
#include "crbm/linear_svm.hpp"
#include "crbm/logreg.hpp"
#include "options.hpp"

namespace crbm::tools {

struct ConvCliOptions {
  std::string config;  // --config FILE
  // data
  std::string data = "builtin:bars6";  // 6x6 images; MNIST: mnist:DIR with --filter-size 10
  int64_t limit = 0;
  std::string binarize = "threshold";  // none | threshold | stochastic (Bernoulli input)
  bool standardize = false;            // per-image standardization (Gaussian input)
  bool whiten = false;                 // Lee's 1/f whitening (Gaussian input)
  // model: one entry per layer
  std::vector<int64_t> filters{8};
  std::vector<int64_t> filter_size{3};
  std::vector<int64_t> pool{2};
  std::string visible = "bernoulli";
  float sigma = 1.0f;
  float init_std = 0.01f, hidden_bias_init = 0.0f;
  // training: the same for every layer (seed + 1000 l per layer; sigma annealed in layer 0
  // only) except the per-layer sparsity targets
  ConvTrainConfig train;
  std::vector<float> sparsity_target{0.0f};
  // --recipe NAME (crbm conv train): each layer's training as the recipe sets it; the
  // options given (below, registered by add_conv_options) override it in every layer
  std::string recipe;
  std::vector<ConvTrainConfig> recipe_layers;
  SgdOptions sgd;
  CdOptions cd;
  CLI::Option *sigma_decay_opt = nullptr, *sigma_min_opt = nullptr;
  // output
  std::string out = "crbm_conv.safetensors";
  std::string filters_png;  // first-layer (and, for a stack, every layer's) filters
  std::string metrics;      // JSON Lines, one object per (layer, epoch)
  bool quiet = false;       // no per-epoch lines
  // compute
  std::string device = "cpu";
  int threads = 0;
  std::string conv_algo = "auto";
};

struct ConvTransformOptions {
  std::string model, data, out, output = "pooled", binarize = "threshold";
  int64_t limit = 0;
  int layer = -1;  // -1: last layer
  std::string device = "cpu", conv_algo = "auto";
  int threads = 0;
};

struct ConvSampleOptions {
  std::string model, out = "conv_samples.png";
  int64_t chains = 16;
  int steps = 1000;
  uint64_t seed = 1;
  std::string device = "cpu", conv_algo = "auto";
  int threads = 0;
};

struct ConvClassifyOptions {
  std::string model, train_data, test_data, binarize = "threshold";
  int64_t train_limit = 0, test_limit = 0;
  LogRegConfig train;  // the logistic regression (its seed also draws stochastic binarization)
  std::string classifier = "softmax";  // softmax (logistic regression) | svm (LinearSvm)
  LinearSvmConfig svm;                 // --svm-c; the recipe's SVM settings
  std::string recipe;                  // --recipe NAME: a CDBN recipe's SVM and binarization
  std::string json;                    // --json FILE: the summary, with error_rate
  std::string device = "cpu", conv_algo = "auto";
  int threads = 0;
};

// Adds the conv model/training/data/output options to `cmd` (used by `crbm conv
// train`; `crbm train --model conv` can call it on its own subcommand, leaving
// out the options it already has: pass with_common = false).
void add_conv_options(CLI::App& cmd, ConvCliOptions& o, bool with_common = true);
int run_conv_train(const ConvCliOptions& o);
int run_conv_transform(const ConvTransformOptions& o);
int run_conv_sample(const ConvSampleOptions& o);
int run_conv_classify(const ConvClassifyOptions& o);

}  // namespace crbm::tools
