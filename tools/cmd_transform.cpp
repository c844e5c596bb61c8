// `crbm transform`: features for other tools. Every row v of a dataset becomes
// P(h=1|v) [H] under a trained model; the data is preprocessed as in training
// (binarization / standardization from the checkpoint) and processed in batches.
// Output: .npy float32 [N, H].
#include <fmt/format.h>

#include <algorithm>

#include "cmd_conv.hpp"
#include "common.hpp"

namespace crbm::tools {
namespace {

// The options of `crbm conv transform` (a convolutional checkpoint is handed on to it), with
// "auto" for --binarize (as in training) and --output (pooled for convolutional models), and the
// dense model's.
struct TransformOptions : ConvTransformOptions {
  uint64_t seed = 1;
  int64_t batch = 1024;
  TransformOptions() { binarize = output = "auto"; }
};

void run_transform(const TransformOptions& o) {
  if (o.batch < 1) CRBM_FAIL("--batch: must be >= 1, got ", o.batch);
  if (is_conv_model(checkpoint_model_kind(o.model))) {
    ConvTransformOptions c = o;
    if (o.output == "auto") c.output = "pooled";
    if (o.binarize == "auto") c.binarize = ConvTransformOptions{}.binarize;
    if (run_conv_transform(c) != 0) CRBM_FAIL("transform failed");
    return;
  }
  if (checkpoint_model_kind(o.model) == "softmax_rbm") {
    if (o.output == "pooled") CRBM_FAIL("--output pooled: '", o.model, "' has no pooling units");
    transform_softmax_model(o.model, o.data, o.limit, o.out, o.device, o.threads);
    return;
  }
  if (o.output == "pooled") {
    CRBM_FAIL("--output pooled: '", o.model, "' is a dense RBM, which has no pooling units");
  }
  Metadata metadata;
  const RbmParams params = load_rbm_params(o.model, &metadata);
  auto backend = open_backend(o.device, o.threads);
  Rbm rbm(*backend, params);
  const Dataset d =
      load_data_like_training(o.data, params, metadata, o.model, o.binarize, o.seed, o.limit);

  const int64_t n = d.size(), v = rbm.visible(), h = rbm.hidden();
  HostTensor features({n, h});
  const int64_t b = std::min(o.batch, std::max<int64_t>(n, 1));
  Matrix in(*backend, b, v), out(*backend, b, h);
  for (int64_t first = 0; first < n; first += b) {
    const int64_t rows = std::min(b, n - first);
    backend->upload(d.x.data.data() + first * v, in.rows_view(0, rows));
    rbm.hidden_given_visible(in.rows_view(0, rows), out.rows_view(0, rows));
    backend->download(out.rows_view(0, rows), features.data.data() + first * h);
  }
  write_npy(o.out, features);
  fmt::print("wrote {}: float32 [{}, {}] = P(h=1|v) of {} under {}\n", o.out, n, h, d.source,
             o.model);
}

void register_transform(CLI::App& app) {
  auto [cmd, o] = add_command<TransformOptions>(
      app, "transform",
      "Write the hidden-unit probabilities P(h=1|v) of every row of a dataset as a float32 "
      ".npy [N, hidden].\nExample: crbm transform mnist.safetensors --data mnist:DIR:test "
      "--out features.npy",
      run_transform);
  add_model_argument(cmd, "MODEL", o->model, "Checkpoint written by 'crbm train' (.safetensors)");
  add_data_options(cmd, o->data, o->limit,
                   "Dataset SPEC (builtin:NAME, mnist:DIR[:train|test], idx:FILE, npy:FILE, ...)")
      .data->required();
  cmd->add_option("--binarize", o->binarize,
                  "auto = as in training (from the checkpoint), or none|threshold|stochastic")
      ->type_name("MODE")
      ->check(CLI::IsMember({"auto", "none", "threshold", "stochastic"}))
      ->capture_default_str()
      ->group(kGroupData);
  cmd->add_option("--seed", o->seed, "Seed for stochastic binarization")
      ->type_name("S")
      ->capture_default_str()
      ->group(kGroupData);
  cmd->add_option("--out", o->out, "Output .npy file (float32, rows x hidden units)")
      ->type_name("FEATURES.npy")
      ->required()
      ->group(kGroupOutput);
  cmd->add_option("--output", o->output,
                  "Convolutional models: hidden = P(h=1|v) maps, pooled = P(pool unit on), "
                  "written as (N, K, rows, cols); auto = pooled. Dense models: hidden")
      ->check(CLI::IsMember({"auto", "hidden", "pooled"}))
      ->capture_default_str()
      ->group(kGroupOutput);
  cmd->add_option("--layer", o->layer, "Convolutional DBN: which layer's maps (-1 = the last)")
      ->capture_default_str()
      ->group(kGroupOutput);
  cmd->add_option("--conv-algo", o->conv_algo, "GPU convolutions: auto|custom|cudnn")
      ->capture_default_str()
      ->group(kGroupCompute);
  cmd->add_option("--batch", o->batch, "Rows per batch")
      ->type_name("B")
      ->capture_default_str()
      ->group(kGroupCompute);
  add_compute_options(cmd, o->device, o->threads);
}

const SubcommandRegistrar kRegistrar{30, register_transform};

}  // namespace
}  // namespace crbm::tools
