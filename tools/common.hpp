// Shared pieces of the `crbm` command: subcommand registration, error
// reporting, checkpoint metadata (image geometry, preprocessing)
// and the helpers several subcommands use (backends, PNG grids, Gibbs chains).
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "crbm/atomic_file.hpp"
#include "crbm/backend.hpp"
#include "crbm/data.hpp"
#include "crbm/gibbs.hpp"  // run_gibbs_chains, random_chain_starts (the library)
#include "crbm/rbm.hpp"
#include "crbm/version.hpp"
#include "options.hpp"

namespace crbm::tools {

// Version string recorded in checkpoints.
inline constexpr const char* kVersion = crbm::kVersionString;

// ---- subcommands ----
// Each tools/cmd_<name>.cpp defines, in its anonymous namespace, `void register_<name>(CLI::App&)`,
// which adds its subcommands (add_command below), and registers it at static-initialisation time:
//   const SubcommandRegistrar kRegistrar{40, register_eval};
// so a new subcommand is one new file (the tools/ directory is globbed).
// `order` sorts the subcommands in `crbm --help`.
using RegisterFn = void (*)(CLI::App&);
struct SubcommandRegistrar {
  SubcommandRegistrar(int order, RegisterFn fn);
};
// The registered functions, sorted by order.
std::vector<RegisterFn> registered_subcommands();

// A subcommand and the options value it owns (see add_command).
template <typename Options>
struct Command {
  CLI::App* cmd;
  Options* options;
};

// Adds the subcommand `name` (--help text `help`) to `parent` with an `Options` value that lives
// as long as the subcommand: bind the flags to *options; after parsing, the callback calls
// run(options), or run(cmd, options) for a command that needs the subcommand itself (its config
// file, its recipe, which options were given).
template <typename Options, typename Run>
Command<Options> add_command(CLI::App& parent, const std::string& name, const std::string& help,
                             Run run) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand(name, help);
  cmd->callback([cmd, options, run] {
    if constexpr (std::is_invocable_v<Run, CLI::App*, Options&>) {
      run(cmd, *options);
    } else {
      run(*options);
    }
  });
  return {cmd, options.get()};
}

// ---- small utilities ----
// 1234567 -> "1,234,567".
std::string with_thousands(double value);
// Seconds -> "H:MM:SS".
std::string hms(double seconds);
// Collapses newlines so an error stays on one line.
std::string one_line(std::string message);
// Wall seconds since `t` (steady clock).
double seconds_since(std::chrono::steady_clock::time_point t);
// Writes `j` (indented, newline-terminated) to `path` atomically; nothing when path is empty.
void write_json_file(const std::string& path, const nlohmann::json& j);
// x as a JSON number, or null when it is NaN or infinite (JSON has no such numbers).
nlohmann::json finite_or_null(double x);

// A JSONL metrics file (--metrics): replaced by an empty file when opened (through the library's
// output routine, crbm::OutputFile: a symlink's target, a device or FIFO written in place), one
// compact JSON object per line, flushed after every line so that a long run can be followed with
// `tail -f`. An empty path opens nothing and write() does nothing. Errors name the file.
class MetricsFile {
 public:
  explicit MetricsFile(const std::string& path);
  bool is_open() const { return out_ != nullptr; }
  void write(const nlohmann::json& record);

 private:
  std::string path_;
  std::unique_ptr<OutputFile> out_;
};

// "cpu" (threads <= 0: all cores; more than the cores this process may use: that many) or
// "cuda"; make_cuda_backend's Error passes through. The backend computes its products in
// the --precision of the command (compute_precision()).
std::unique_ptr<Backend> open_backend(const std::string& device, int threads);

// A trainer's configuration JSON (an object, e.g. TrainConfig::to_json()) with the
// "precision" of the command's products added, as the checkpoints record it.
std::string with_precision(const std::string& config_json);

// ---- checkpoint metadata written by `crbm train` ----
namespace meta {
inline constexpr const char* kTrainConfig = "train_config";  // TrainConfig::to_json()
inline constexpr const char* kData = "data";                 // the dataset spec
inline constexpr const char* kBinarize = "binarize";         // none|threshold|stochastic
inline constexpr const char* kChannels = "image_channels";   // geometry (when known)
inline constexpr const char* kHeight = "image_height";
inline constexpr const char* kWidth = "image_width";
inline constexpr const char* kStdMean = "standardize_mean";  // JSON array (Gaussian)
inline constexpr const char* kStdStd = "standardize_std";    // JSON array (Gaussian)
inline constexpr const char* kVersion = "crbm_version";
inline constexpr const char* kEpochs = "epochs_done";
inline constexpr const char* kCreatedBy = "created_by";
}  // namespace meta

using Metadata = std::map<std::string, std::string>;

// The provenance every training command records: the data spec, crbm's version, "crbm
// <command>" (created_by) and, when one was used, the recipe's name (crbm/recipes.hpp).
void write_provenance(Metadata& m, const std::string& command, const std::string& data,
                      const std::string& recipe = "");

// A non-negative integer metadata entry: nullopt when absent; an error naming `path` and the
// key when it is not a whole number >= 0.
std::optional<int64_t> metadata_int(const Metadata& m, const std::string& key,
                                    const std::string& path);

// How to draw a V-dimensional vector as an image tile. `padded_size` = C*H*W may
// exceed V for non-image data (the tile is padded; see tile_rows).
struct Geometry {
  int channels = 1, height = 1, width = 1;
  bool from_data = false;  // true: the data's own image geometry
  int64_t padded_size() const { return int64_t{channels} * height * width; }
};
// The data's geometry when it has one (and C*H*W == V); otherwise a near-square
// tile: H x W with H*W == V and W <= 4H when such a factorisation exists (8 ->
// 2x4, 10 -> 2x5), else a ceil(sqrt(V))-sided square padded at the end.
Geometry choose_geometry(int64_t visible, int channels, int height, int width);
Geometry geometry_from_metadata(int64_t visible, const Metadata& m);
void write_geometry(Metadata& m, const Dataset& d);

// Rows [N, V] -> [N, padded_size] tiles; padding takes `pad_value`, or each row's
// mean when pad_with_row_mean (filters: the padding then looks neutral).
HostTensor tile_rows(const HostTensor& rows, const Geometry& g, float pad_value,
                     bool pad_with_row_mean);
// Writes rows [N, V] as a PNG grid (columns 0 = square-ish), zoomed so that the
// image is at least ~400 pixels wide.
void write_tiles_png(const std::string& path, const HostTensor& rows, const Geometry& g,
                     int columns, bool unit_scale, bool per_tile);

// Gaussian models: the standardization the training data went through.
std::optional<Standardization> standardization_from_metadata(const Metadata& m, int64_t visible,
                                                             const std::string& path);
void write_standardization(Metadata& m, const Standardization& s);

// Loads a dataset and applies the checkpoint's preprocessing (binarization as in
// training, standardization with the training statistics); checks the width.
// `binarize_override` "auto" means "as in training".
Dataset load_data_like_training(const std::string& spec, const RbmParams& params, const Metadata& m,
                                const std::string& model_path, const std::string& binarize_override,
                                uint64_t seed, int64_t limit);

// The most chains `crbm sample` draws: one tile each in the PNG grid.
inline constexpr int64_t kMaxSampleChains = 1024;
// An error naming --chains unless 1 <= chains <= kMaxSampleChains.
void check_sample_chains(int64_t chains);

// The checkpoint's model kind (metadata "model": rbm, conv_rbm, cdbn, dbn, dbm, ...);
// "rbm" when the file has no such key.
std::string checkpoint_model_kind(const std::string& path);
bool is_conv_model(const std::string& kind);

// What `crbm eval` hands on to the evaluation of a deep or softmax model: the checkpoint, the
// data (its first `limit` rows; 0 = all), AIS runs and steps (0 = the authors' 14,500), the seed,
// the backend, the JSON summary's path (empty: none) and --quiet.
struct EvalRequest {
  std::string model;
  std::string data;
  int64_t limit = 0;
  int ais_runs = 100;
  int64_t ais_steps = 0;
  uint64_t seed = 1;
  std::string device = "cpu";
  int threads = 0;
  std::string json;
  bool quiet = false;
};

// The options every evaluation command (`crbm eval`, `deep-eval`, `rsm-eval`) binds to its
// EvalRequest, registered once: --ais-runs and --ais-steps (add_ais_options, in `ais_group`),
// --seed (`seed_help`, in `seed_group`), the compute options (--device, --threads,
// --precision) and --json and --quiet (`quiet_help`) in the Output group. A null group leaves
// the options among the command's ungrouped ones. Commands pass it as {ais_group, min_ais_runs,
// seed_help, seed_group, quiet_help}.
struct EvalRequestHelp {
  const char* ais_group = nullptr;
  int min_ais_runs = 1;
  const char* seed_help = "Seed";
  const char* seed_group = nullptr;
  const char* quiet_help = "No progress output";
};
struct EvalRequestOptions {
  AisOptions ais;
  CLI::Option* seed = nullptr;
  OutputOptions output;
};
EvalRequestOptions add_eval_request_options(CLI::App* cmd, EvalRequest& r,
                                            const EvalRequestHelp& help);

// `crbm eval` of a DBN, DBM or MLP checkpoint (tools/cmd_dbn.cpp): log Z of the
// top RBM / the DBM (exact or AIS), the variational lower bound (a DBN's with `bound_samples`
// samples of q per row), test error.
int eval_deep_model(const EvalRequest& r, int bound_samples);

// `crbm eval` / `crbm transform` of a softmax_rbm checkpoint (tools/cmd_rsm.cpp): log p(v)
// and perplexity by AIS per document length; P(h=1|v) as float32 .npy [N, H].
int eval_softmax_model(const EvalRequest& r);
void transform_softmax_model(const std::string& model_path, const std::string& data_spec,
                             int64_t limit, const std::string& out, const std::string& device,
                             int threads);

// Maps Gaussian-model outputs back to data units (x * std + mean); no-op otherwise.
void unstandardize(HostTensor& rows, const std::optional<Standardization>& s);

}  // namespace crbm::tools
