// `crbm sample`: runs N Gibbs chains (v -> h -> v) for K steps on a trained
// checkpoint, starting from random states or from data rows, and writes the
// final visible means (optionally every K2 steps as extra rows) as a PNG grid.
#include <fmt/format.h>

#include <algorithm>

#include "cmd_conv.hpp"
#include "common.hpp"
#include "crbm/dbm.hpp"
#include "crbm/dbn.hpp"

namespace crbm::tools {
namespace {

struct SampleOptions {
  std::string model;
  int64_t chains = 64;
  int steps = 1000;
  std::string out;
  uint64_t seed = 1;
  int every = 0;
  std::string init = "random";
  std::string device = "cpu";
  int threads = 0;
  int label = -1;  // labelled DBNs: clamp the label units to this class
};

// DBN: Gibbs in the top RBM, then a down pass; DBM: Gibbs over all layers.
// Writes the visible means as a PNG grid.
void sample_deep(const SampleOptions& o, const std::string& kind) {
  if (o.init != "random" || o.every != 0) {
    CRBM_FAIL("--init/--every: ", kind, " models sample from random starts only");
  }
  auto backend = open_backend(o.device, o.threads);
  Metadata metadata;
  HostTensor samples;
  int64_t visible = 0;
  if (kind == "dbn") {
    const DbnParams params = load_dbn_params(o.model, &metadata);
    Dbn dbn(*backend, params);
    DbnSampleOptions so;
    so.chains = o.chains;
    so.gibbs_steps = o.steps;
    so.seed = o.seed;
    so.clamp_label = o.label;
    samples = dbn.sample(so);
  } else {
    if (o.label >= 0) CRBM_FAIL("--label: only DBNs trained with labels have label units");
    const DbmParams params = load_dbm_params(o.model, &metadata);
    Dbm dbm(*backend, params);
    samples = dbm.sample(o.chains, o.steps, o.seed);
  }
  visible = samples.cols();
  write_tiles_png(o.out, samples, geometry_from_metadata(visible, metadata), 0,
                  /*unit_scale=*/true, /*per_tile=*/false);
  fmt::print("wrote {} ({} chains, {} Gibbs steps of the {}; visible means)\n", o.out, o.chains,
             o.steps, kind);
}

void run_sample(const SampleOptions& o) {
  if (o.chains < 1) CRBM_FAIL("--chains: must be >= 1, got ", o.chains);
  if (o.steps < 1) CRBM_FAIL("--steps: must be >= 1, got ", o.steps);
  if (o.every < 0) CRBM_FAIL("--every: must be >= 0, got ", o.every);
  const std::string kind = checkpoint_model_kind(o.model);
  if (kind == "dbn" || kind == "dbm") {
    sample_deep(o, kind);
    return;
  }
  if (o.label >= 0) CRBM_FAIL("--label: only DBNs trained with labels have label units");
  if (is_conv_model(kind)) {
    if (o.init != "random" || o.every != 0) {
      CRBM_FAIL("--init/--every: convolutional models sample from random starts only");
    }
    ConvSampleOptions c;
    c.model = o.model;
    c.out = o.out;
    c.chains = o.chains;
    c.steps = o.steps;
    c.seed = o.seed;
    c.device = o.device;
    c.threads = o.threads;
    if (run_conv_sample(c) != 0) CRBM_FAIL("sampling failed");
    return;
  }
  Metadata metadata;
  const RbmParams params = load_rbm_params(o.model, &metadata);
  auto backend = open_backend(o.device, o.threads);
  Rbm rbm(*backend, params);
  const auto standardization = standardization_from_metadata(metadata, rbm.visible(), o.model);

  HostTensor starts;
  if (o.init == "random") {
    starts = random_chain_starts(rbm, o.chains, o.seed);
  } else if (o.init.rfind("data:", 0) == 0) {
    const Dataset d =
        load_data_like_training(o.init.substr(5), params, metadata, o.model, "auto", o.seed, 0);
    if (d.size() == 0) CRBM_FAIL(d.source, ": no rows to start the chains from");
    starts = HostTensor({o.chains, rbm.visible()});
    for (int64_t r = 0; r < o.chains; ++r) {
      const int64_t src = r % d.size();
      std::copy_n(d.x.data.begin() + src * rbm.visible(), rbm.visible(),
                  starts.data.begin() + r * rbm.visible());
    }
  } else {
    CRBM_FAIL("--init: expected 'random' or 'data:SPEC', got '", o.init, "'");
  }

  std::vector<HostTensor> snapshots;
  HostTensor final_means = run_gibbs_chains(rbm, starts, o.steps, o.seed, o.every, &snapshots);
  // With --every: one grid row per snapshot, time running down the grid.
  HostTensor grid = final_means;
  int columns = 0;
  if (o.every > 0) {
    snapshots.push_back(final_means);
    const int64_t v = rbm.visible();
    grid = HostTensor({static_cast<int64_t>(snapshots.size()) * o.chains, v});
    for (size_t s = 0; s < snapshots.size(); ++s) {
      std::copy(snapshots[s].data.begin(), snapshots[s].data.end(),
                grid.data.begin() + static_cast<int64_t>(s) * o.chains * v);
    }
    columns = static_cast<int>(o.chains);
  }
  unstandardize(grid, standardization);
  const Geometry g = geometry_from_metadata(rbm.visible(), metadata);
  const bool gaussian = rbm.visible_type() == VisibleType::gaussian;
  write_tiles_png(o.out, grid, g, columns, /*unit_scale=*/!gaussian, /*per_tile=*/false);
  fmt::print("wrote {}: {} chains x {} Gibbs steps{} ({}x{} tiles) from {}\n", o.out, o.chains,
             o.steps, o.every > 0 ? fmt::format(", a row every {} steps", o.every) : std::string(),
             g.height, g.width, o.model);
}

}  // namespace

void register_sample(CLI::App& app) {
  auto o = std::make_shared<SampleOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sample",
      "Draw samples from a trained model by Gibbs sampling and write them as a PNG grid.\n"
      "Example: crbm sample crbm-model.safetensors --chains 64 --steps 1000 --out samples.png");
  cmd->add_option("MODEL", o->model, "Checkpoint written by 'crbm train' (.safetensors)")
      ->type_name("MODEL.safetensors")
      ->required();
  cmd->add_option("--chains", o->chains, "Number of independent chains (tiles)")
      ->type_name("N")
      ->capture_default_str()
      ->group("Sampling");
  cmd->add_option("--steps", o->steps, "Gibbs steps per chain (one step: v -> h -> v)")
      ->type_name("K")
      ->capture_default_str()
      ->group("Sampling");
  cmd->add_option("--init", o->init,
                  "Chain starts: random (uniform binary, or N(0,1) for gaussian units) or "
                  "data:SPEC (the first rows of a dataset, preprocessed as in training)")
      ->type_name("random|data:SPEC")
      ->capture_default_str()
      ->group("Sampling");
  cmd->add_option("--seed", o->seed, "Random seed")
      ->type_name("S")
      ->capture_default_str()
      ->group("Sampling");
  cmd->add_option("--out", o->out, "PNG file to write")
      ->type_name("FILE.png")
      ->required()
      ->group(kGroupOutput);
  cmd->add_option("--label", o->label,
                  "DBN with label units: clamp every chain to this class (-1 = free)")
      ->type_name("CLASS")
      ->capture_default_str();
  cmd->add_option("--every", o->every,
                  "Also show the chains every K2 steps: one grid row per snapshot (0 = only "
                  "the final state)")
      ->type_name("K2")
      ->capture_default_str()
      ->group(kGroupOutput);
  add_compute_options(cmd, o->device, o->threads);
  cmd->callback([o] { run_sample(*o); });
}

namespace {
const SubcommandRegistrar kRegistrar{20, register_sample};
}  // namespace

}  // namespace crbm::tools
