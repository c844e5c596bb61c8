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

struct TransformOptions {
  std::string model;
  std::string data;
  std::string out;
  std::string binarize = "auto";
  int64_t limit = 0;
  int64_t batch = 1024;
  uint64_t seed = 1;
  std::string device = "cpu";
  int threads = 0;
  std::string output = "auto";  // hidden | pooled (convolutional models); auto: pooled for conv
  int layer = -1;
  std::string conv_algo = "auto";
};

void run_transform(const TransformOptions& o) {
  if (o.batch < 1) CRBM_FAIL("--batch: must be >= 1, got ", o.batch);
  if (is_conv_model(checkpoint_model_kind(o.model))) {
    ConvTransformOptions c;
    c.model = o.model;
    c.data = o.data;
    c.out = o.out;
    c.output = o.output == "auto" ? "pooled" : o.output;
    if (o.binarize != "auto") c.binarize = o.binarize;
    c.limit = o.limit;
    c.layer = o.layer;
    c.device = o.device;
    c.threads = o.threads;
    c.conv_algo = o.conv_algo;
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

}  // namespace

void register_transform(CLI::App& app) {
  auto o = std::make_shared<TransformOptions>();
  CLI::App* cmd = app.add_subcommand(
      "transform",
      "Write the hidden-unit probabilities P(h=1|v) of every row of a dataset as a float32 "
      ".npy [N, hidden].\nExample: crbm transform mnist.safetensors --data mnist:DIR:test "
      "--out features.npy");
  cmd->add_option("MODEL", o->model, "Checkpoint written by 'crbm train' (.safetensors)")
      ->type_name("MODEL.safetensors")
      ->required();
  cmd->add_option("--data", o->data,
                  "Dataset SPEC (builtin:NAME, mnist:DIR[:train|test], idx:FILE, npy:FILE, ...)")
      ->type_name("SPEC")
      ->required()
      ->group(kGroupData);
  cmd->add_option("--binarize", o->binarize,
                  "auto = as in training (from the checkpoint), or none|threshold|stochastic")
      ->type_name("MODE")
      ->check(CLI::IsMember({"auto", "none", "threshold", "stochastic"}))
      ->capture_default_str()
      ->group(kGroupData);
  cmd->add_option("--limit", o->limit, "Only the first N rows (0 = all)")
      ->type_name("N")
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
  cmd->callback([o] { run_transform(*o); });
}

namespace {
const SubcommandRegistrar kRegistrar{30, register_transform};
}  // namespace

}  // namespace crbm::tools
