// `crbm sample`: runs N Gibbs chains (v -> h -> v) for K steps on a trained
// checkpoint, starting from random states or from data rows, and writes the
// final visible means (optionally every K2 steps as extra rows) as a PNG grid; for DBNs,
// also inpainting (--inpaint): rows of data with a part hidden, completed by the model.
#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "cmd_conv.hpp"
#include "common.hpp"
#include "crbm/dbm.hpp"
#include "crbm/dbn.hpp"

namespace crbm::tools {
namespace {

// The options of `crbm conv sample` (a convolutional checkpoint is handed on to it) and those
// of the dense and deep models.
struct SampleOptions : ConvSampleOptions {
  SampleOptions() {
    chains = 64;
    out.clear();
  }
  int every = 0;
  std::string init = "random";
  int label = -1;               // labelled DBNs: clamp the label units to this class
  std::string inpaint;          // DBN: data spec whose rows are completed
  std::string mask = "bottom";  // the part hidden from the model: top|bottom|left|right|random:P
  int rounds = 20;              // inpainting rounds (up pass, top Gibbs, down pass)
  int top_steps = 1;            // Gibbs steps in the top RBM per round
  int average = 10;             // completions averaged per row (independent seeds)
};

// The known units (1) of a row for --mask: the named half of each image (all channels) is
// hidden (0), or, for random:P, each pixel independently with probability P.
HostTensor inpainting_mask(const std::string& spec, const Geometry& g, int64_t rows,
                           int64_t visible, uint64_t seed) {
  HostTensor mask({rows, visible});
  std::fill(mask.data.begin(), mask.data.end(), 1.0f);
  if (spec.rfind("random:", 0) == 0) {
    double p = -1;
    try {
      p = std::stod(spec.substr(7));
    } catch (const std::exception&) {
    }
    if (!(p > 0 && p < 1)) CRBM_FAIL("--mask random:P: P must be in (0, 1), got '", spec, "'");
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (float& m : mask.data) m = u(rng) < p ? 0.0f : 1.0f;
    return mask;
  }
  if (spec != "top" && spec != "bottom" && spec != "left" && spec != "right") {
    CRBM_FAIL("--mask: expected top, bottom, left, right or random:P, got '", spec, "'");
  }
  if (g.padded_size() != visible) {
    CRBM_FAIL("--mask ", spec, ": the checkpoint has no image geometry for its ", visible,
              " visible units; use --mask random:P");
  }
  for (int c = 0; c < g.channels; ++c) {
    for (int y = 0; y < g.height; ++y) {
      for (int x = 0; x < g.width; ++x) {
        const bool hidden =
            (spec == "top" && y < g.height / 2) || (spec == "bottom" && y >= g.height / 2) ||
            (spec == "left" && x < g.width / 2) || (spec == "right" && x >= g.width / 2);
        if (!hidden) continue;
        const int64_t i = (int64_t{c} * g.height + y) * g.width + x;
        for (int64_t r = 0; r < rows; ++r) mask.data[r * visible + i] = 0.0f;
      }
    }
  }
  return mask;
}

// DBN inpainting: the first --chains rows of --inpaint, the part --mask names hidden and
// completed by Dbn::inpaint. The grid has three rows: originals, the known part (hidden
// pixels grey), completions; the mean squared error on the hidden pixels is printed next
// to that of filling them with the data's mean pixel values.
void inpaint_dbn(const SampleOptions& o) {
  if (o.rounds < 1) CRBM_FAIL("--rounds: must be >= 1, got ", o.rounds);
  if (o.top_steps < 1) CRBM_FAIL("--top-steps: must be >= 1, got ", o.top_steps);
  if (o.average < 1) CRBM_FAIL("--average: must be >= 1, got ", o.average);
  auto backend = open_backend(o.device, o.threads);
  Metadata metadata;
  const DbnParams params = load_dbn_params(o.model, &metadata);
  Dbn dbn(*backend, params);
  LoadOptions load;
  load.limit = o.chains;
  load.unit_interval = true;
  const Dataset d = load_dataset(o.inpaint, load);
  const int64_t v = d.dim(), n = d.size();
  if (n == 0) CRBM_FAIL(d.source, ": no rows to inpaint");
  if (v != dbn.visible()) {
    CRBM_FAIL("--inpaint ", d.source, ": rows have ", v, " values, the DBN has ", dbn.visible(),
              " visible units");
  }
  const Geometry g = geometry_from_metadata(v, metadata);
  const HostTensor mask = inpainting_mask(o.mask, g, n, v, o.seed);
  const Matrix vm = Matrix::from_host(*backend, d.x);
  const Matrix mm = Matrix::from_host(*backend, mask);
  // Each inpainting run ends in one draw from (an approximation of) p(hidden | known); the
  // mean of --average runs estimates E[hidden | known], the completion with the least
  // squared error. Both are scored.
  const HostTensor first = dbn.inpaint(vm, mm, o.rounds, o.top_steps, o.seed);
  HostTensor done = first;
  for (int k = 1; k < o.average; ++k) {
    const HostTensor more = dbn.inpaint(vm, mm, o.rounds, o.top_steps, o.seed + 1000003u * k);
    for (size_t i = 0; i < done.data.size(); ++i) done.data[i] += more.data[i];
  }
  for (float& x : done.data) x /= static_cast<float>(o.average);

  std::vector<double> mean(static_cast<size_t>(v), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < v; ++i) mean[i] += d.x.data[r * v + i] / static_cast<double>(n);
  }
  double err = 0, err_one = 0, err_mean = 0;
  int64_t hidden = 0;
  HostTensor grid({3 * n, v});
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < v; ++i) {
      const float x = d.x.data[r * v + i];
      const bool known = mask.data[r * v + i] != 0.0f;
      grid.data[r * v + i] = x;
      grid.data[(n + r) * v + i] = known ? x : 0.5f;
      grid.data[(2 * n + r) * v + i] = done.data[r * v + i];
      if (!known) {
        err += (done.data[r * v + i] - x) * (done.data[r * v + i] - x);
        err_one += (first.data[r * v + i] - x) * (first.data[r * v + i] - x);
        err_mean += (mean[i] - x) * (mean[i] - x);
        ++hidden;
      }
    }
  }
  write_tiles_png(o.out, grid, g, static_cast<int>(n), /*unit_scale=*/true, /*per_tile=*/false);
  fmt::print(
      "wrote {}: {} rows of {} with the {} part hidden; rows: originals, known part, "
      "completions (mean of {} runs of {} rounds x {} top Gibbs steps)\n",
      o.out, n, d.source, o.mask, o.average, o.rounds, o.top_steps);
  if (hidden > 0) {
    fmt::print(
        "  mean squared error per hidden pixel: {:.4f} for the mean completion, {:.4f} for a "
        "single one; {:.4f} filling in the mean image of these rows\n",
        err / hidden, err_one / hidden, err_mean / hidden);
  }
}

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
  check_sample_chains(o.chains);
  if (o.steps < 1) CRBM_FAIL("--steps: must be >= 1, got ", o.steps);
  if (o.every < 0) CRBM_FAIL("--every: must be >= 0, got ", o.every);
  if (o.every > 0) {  // one grid row of --chains tiles per snapshot
    constexpr int64_t kMaxTiles = 65536;
    const int64_t rows = (o.steps - 1) / o.every + 1;
    if (rows * o.chains > kMaxTiles) {
      CRBM_FAIL("--every ", o.every, ": ", rows, " snapshots of ", o.chains, " chains are ",
                rows * o.chains, " tiles, more than the ", kMaxTiles,
                " a grid holds (raise --every or lower --chains)");
    }
  }
  const std::string kind = checkpoint_model_kind(o.model);
  if (!o.inpaint.empty()) {
    if (kind != "dbn") {
      CRBM_FAIL("--inpaint: only DBN checkpoints can inpaint; ", o.model, " is a ", kind,
                " checkpoint");
    }
    inpaint_dbn(o);
    return;
  }
  if (kind == "dbn" || kind == "dbm") {
    sample_deep(o, kind);
    return;
  }
  if (o.label >= 0) CRBM_FAIL("--label: only DBNs trained with labels have label units");
  if (is_conv_model(kind)) {
    if (o.init != "random" || o.every != 0) {
      CRBM_FAIL("--init/--every: convolutional models sample from random starts only");
    }
    if (run_conv_sample(o) != 0) CRBM_FAIL("sampling failed");
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

void register_sample(CLI::App& app) {
  auto [cmd, o] = add_command<SampleOptions>(
      app, "sample",
      "Draw samples from a trained model by Gibbs sampling and write them as a PNG grid.\n"
      "Example: crbm sample crbm-model.safetensors --chains 64 --steps 1000 --out samples.png",
      run_sample);
  add_model_argument(cmd, "MODEL", o->model, "Checkpoint written by 'crbm train' (.safetensors)");
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
  cmd->add_option("--inpaint", o->inpaint,
                  "DBN: complete the first --chains rows of this data spec, the part --mask "
                  "names hidden (grid rows: originals, known part, completions)")
      ->type_name("SPEC")
      ->group("Inpainting");
  cmd->add_option("--mask", o->mask,
                  "Part hidden from the model: top, bottom, left, right "
                  "(half of each image) or random:P (each pixel with P)")
      ->capture_default_str()
      ->group("Inpainting");
  cmd->add_option("--rounds", o->rounds,
                  "Inpainting rounds (up pass, top-RBM Gibbs, down pass, re-clamp)")
      ->capture_default_str()
      ->group("Inpainting");
  cmd->add_option("--top-steps", o->top_steps, "Gibbs steps in the top RBM per round")
      ->capture_default_str()
      ->group("Inpainting");
  cmd->add_option("--average", o->average,
                  "Independent inpainting runs averaged into the completion shown")
      ->capture_default_str()
      ->group("Inpainting");
  cmd->add_option("--every", o->every,
                  "Also show the chains every K2 steps: one grid row per snapshot (0 = only "
                  "the final state)")
      ->type_name("K2")
      ->capture_default_str()
      ->group(kGroupOutput);
  add_compute_options(cmd, o->device, o->threads);
}

const SubcommandRegistrar kRegistrar{20, register_sample};

}  // namespace
}  // namespace crbm::tools
