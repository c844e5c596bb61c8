// Helpers shared by the `crbm` subcommands: the subcommand registry, number
// formatting, checkpoint metadata (geometry, standardization), PNG tiling and
// Gibbs chains on a loaded model.
#include "common.hpp"

#include <fmt/format.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "crbm/atomic_file.hpp"
#include "crbm/image.hpp"
#include "crbm/recipes.hpp"
#include "crbm/safetensors.hpp"

namespace crbm::tools {
namespace {

std::vector<std::pair<int, RegisterFn>>& registry() {
  static std::vector<std::pair<int, RegisterFn>> entries;
  return entries;
}

int parse_int_metadata(const Metadata& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end()) return 0;
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    return 0;
  }
}

std::vector<float> parse_float_array(const std::string& text, const char* key,
                                     const std::string& path) {
  try {
    return nlohmann::json::parse(text).get<std::vector<float>>();
  } catch (const std::exception&) {
    CRBM_FAIL(path, ": metadata '", key, "' is not a JSON array of numbers");
  }
}

// The cores this process may run on (its CPU affinity), at least 1.
int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

SubcommandRegistrar::SubcommandRegistrar(int order, RegisterFn fn) {
  registry().emplace_back(order, fn);
}

std::vector<RegisterFn> registered_subcommands() {
  auto entries = registry();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<RegisterFn> out;
  for (const auto& e : entries) out.push_back(e.second);
  return out;
}

std::string with_thousands(double value) {
  if (!std::isfinite(value)) return "-";
  std::string digits = fmt::format("{:.0f}", std::fabs(value));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (value < 0 ? "-" : "") + out;
}

std::string hms(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  const auto s = static_cast<int64_t>(std::llround(seconds));
  return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

std::string one_line(std::string message) {
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

std::unique_ptr<Backend> open_backend(const std::string& device, int threads) {
  std::unique_ptr<Backend> backend;
  if (device == "cpu") {
    backend = make_cpu_backend(std::min(threads, usable_cores()));
  } else if (device == "cuda") {
    backend = make_cuda_backend(0);
  } else {
    CRBM_FAIL("--device: unknown device '", device, "' (choices: cpu, cuda)");
  }
  backend->set_precision(compute_precision());
  return backend;
}

std::string with_precision(const std::string& config_json) {
  nlohmann::json j = nlohmann::json::parse(config_json);
  j["precision"] = to_string(compute_precision());
  return j.dump();
}

// ---- geometry ----

Geometry choose_geometry(int64_t visible, int channels, int height, int width) {
  Geometry g;
  if (height > 0 && width > 0 && channels > 0 && int64_t{channels} * height * width == visible) {
    g.channels = channels;
    g.height = height;
    g.width = width;
    g.from_data = true;
    return g;
  }
  auto h = static_cast<int64_t>(std::floor(std::sqrt(static_cast<double>(visible))));
  while (h > 1 && visible % h != 0) --h;
  const int64_t w = visible / std::max<int64_t>(h, 1);
  if (h >= 1 && w <= 4 * h) {
    g.height = static_cast<int>(h);
    g.width = static_cast<int>(w);
  } else {
    auto side = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(visible))));
    g.height = g.width = static_cast<int>(std::max<int64_t>(side, 1));
  }
  return g;
}

Geometry geometry_from_metadata(int64_t visible, const Metadata& m) {
  const int c = parse_int_metadata(m, meta::kChannels);
  return choose_geometry(visible, c > 0 ? c : 1, parse_int_metadata(m, meta::kHeight),
                         parse_int_metadata(m, meta::kWidth));
}

EvalRequestOptions add_eval_request_options(CLI::App* cmd, EvalRequest& r,
                                            const EvalRequestHelp& help) {
  EvalRequestOptions o;
  o.ais = add_ais_options(cmd, r.ais_runs, r.ais_steps, help.ais_group, help.min_ais_runs);
  o.seed = cmd->add_option("--seed", r.seed, help.seed_help)->capture_default_str();
  if (help.seed_group != nullptr) o.seed->group(help.seed_group);
  add_compute_options(cmd, r.device, r.threads);
  o.output = add_output_options(cmd, nullptr, nullptr, &r.json, &r.quiet);
  o.output.quiet->description(help.quiet_help);
  return o;
}

void write_provenance(Metadata& m, const std::string& command, const std::string& data,
                      const std::string& recipe) {
  m[meta::kData] = data;
  m[meta::kVersion] = kVersion;
  m[meta::kCreatedBy] = "crbm " + command;
  if (!recipe.empty()) m[kRecipeMetadataKey] = recipe;
}

void write_geometry(Metadata& m, const Dataset& d) {
  if (!d.has_geometry()) return;
  m[meta::kChannels] = std::to_string(d.channels);
  m[meta::kHeight] = std::to_string(d.height);
  m[meta::kWidth] = std::to_string(d.width);
}

HostTensor tile_rows(const HostTensor& rows, const Geometry& g, float pad_value,
                     bool pad_with_row_mean) {
  const int64_t n = rows.rows(), v = rows.cols(), p = g.padded_size();
  CRBM_CHECK_THROW(p >= v, "tile of ", p, " pixels for ", v, " values");
  HostTensor out({n, p});
  for (int64_t r = 0; r < n; ++r) {
    const float* src = rows.data.data() + r * v;
    float* dst = out.data.data() + r * p;
    float fill = pad_value;
    if (pad_with_row_mean && v > 0) {
      double sum = 0;
      for (int64_t i = 0; i < v; ++i) sum += src[i];
      fill = static_cast<float>(sum / static_cast<double>(v));
    }
    std::copy(src, src + v, dst);
    std::fill(dst + v, dst + p, fill);
  }
  return out;
}

void write_tiles_png(const std::string& path, const HostTensor& rows, const Geometry& g,
                     int columns, bool unit_scale, bool per_tile) {
  GridOptions opt;
  const int64_t n = std::max<int64_t>(rows.rows(), 1);
  opt.columns =
      columns > 0 ? columns : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  opt.scale = unit_scale ? TileScale::unit : (per_tile ? TileScale::per_tile : TileScale::global);
  opt.padding = 1;
  opt.pad_value = 64;
  const int width_px = opt.columns * (g.width + opt.padding) + opt.padding;
  opt.zoom = std::clamp(400 / std::max(width_px, 1), 1, 16);
  const HostTensor tiles = tile_rows(rows, g, 0.0f, !unit_scale);
  write_png_grid(path, tiles, g.channels, g.height, g.width, opt);
}

// ---- standardization ----

std::optional<Standardization> standardization_from_metadata(const Metadata& m, int64_t visible,
                                                             const std::string& path) {
  auto mean = m.find(meta::kStdMean);
  auto stddev = m.find(meta::kStdStd);
  if (mean == m.end() || stddev == m.end()) return std::nullopt;
  Standardization s;
  s.mean = parse_float_array(mean->second, meta::kStdMean, path);
  s.stddev = parse_float_array(stddev->second, meta::kStdStd, path);
  if (static_cast<int64_t>(s.mean.size()) != visible ||
      static_cast<int64_t>(s.stddev.size()) != visible) {
    CRBM_FAIL(path, ": standardization metadata has ", s.mean.size(), " means and ",
              s.stddev.size(), " deviations for ", visible, " visible units");
  }
  return s;
}

void write_standardization(Metadata& m, const Standardization& s) {
  m[meta::kStdMean] = nlohmann::json(s.mean).dump();
  m[meta::kStdStd] = nlohmann::json(s.stddev).dump();
}

Dataset load_data_like_training(const std::string& spec, const RbmParams& params, const Metadata& m,
                                const std::string& model_path, const std::string& binarize_override,
                                uint64_t seed, int64_t limit) {
  LoadOptions opt;
  opt.limit = limit;
  opt.seed = seed;
  std::string how = binarize_override;
  if (how == "auto") {
    auto it = m.find(meta::kBinarize);
    how = it == m.end() ? "none" : it->second;
  }
  if (params.visible_type == VisibleType::bernoulli) {
    opt.binarize = parse_binarize(how);
    opt.unit_interval = true;
  }
  Dataset d = load_dataset(spec, opt);
  if (d.dim() != params.visible()) {
    CRBM_FAIL(d.source, ": rows have ", d.dim(), " values but the model '", model_path, "' has ",
              params.visible(), " visible units");
  }
  if (params.visible_type == VisibleType::gaussian) {
    if (auto s = standardization_from_metadata(m, params.visible(), model_path)) {
      apply_standardization(d.x, *s);
    }
  }
  return d;
}

// ---- Gibbs chains ----

void check_sample_chains(int64_t chains) {
  if (chains < 1 || chains > kMaxSampleChains) {
    CRBM_FAIL("--chains: from 1 to ", kMaxSampleChains,
              " chains (one tile each in the PNG grid), got ", chains);
  }
}

void unstandardize(HostTensor& rows, const std::optional<Standardization>& s) {
  if (!s) return;
  const int64_t n = rows.rows(), v = rows.cols();
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < v; ++c) {
      float& x = rows.data[r * v + c];
      x = x * s->stddev[c] + s->mean[c];
    }
  }
}

std::string checkpoint_model_kind(const std::string& path) {
  const SafetensorsFile f = load_checkpoint(path);
  const auto it = f.metadata.find("model");
  return it == f.metadata.end() ? "rbm" : it->second;
}

bool is_conv_model(const std::string& kind) {
  return kind == "conv_rbm" || kind == "cdbn";
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  if (path.empty()) return;
  const std::string text = j.dump(2) + "\n";
  write_file_atomically(path, text.data(), text.size());
}

nlohmann::json finite_or_null(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

std::optional<int64_t> metadata_int(const Metadata& m, const std::string& key,
                                    const std::string& path) {
  const auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  const std::string& text = it->second;
  size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < 0) {
    CRBM_FAIL(path, ": metadata '", key, "' is '", text, "', not a whole number >= 0");
  }
  return value;
}

MetricsFile::MetricsFile(const std::string& path) : path_(path) {
  if (path.empty()) return;
  out_ = std::make_unique<OutputFile>(path);
  out_->commit();
}

void MetricsFile::write(const nlohmann::json& record) {
  if (out_ == nullptr) return;
  const std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), out_->stream()) != line.size()) {
    CRBM_FAIL("cannot write metrics file '", path_, "': ", std::strerror(errno));
  }
  out_->commit();
}

}  // namespace crbm::tools
