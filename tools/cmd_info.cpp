// `crbm info`: what a checkpoint holds — model kind, unit types and sizes, the
// tensors with their shapes, the metadata (training configuration pretty-
// printed) and summary statistics of the parameters; `--json` for scripts.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "crbm/safetensors.hpp"

namespace crbm::tools {
namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
};

nlohmann::json tensor_stats(const HostTensor& t) {
  nlohmann::json j;
  if (t.data.empty()) return j;
  double sum = 0, sum_abs = 0, sum_sq = 0;
  float lo = t.data[0], hi = t.data[0];
  for (float x : t.data) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    sum += x;
    sum_abs += std::fabs(x);
    sum_sq += double{x} * x;
  }
  const auto n = static_cast<double>(t.data.size());
  j["min"] = lo;
  j["max"] = hi;
  j["mean"] = sum / n;
  j["mean_abs"] = sum_abs / n;
  j["std"] = std::sqrt(std::max(0.0, sum_sq / n - (sum / n) * (sum / n)));
  return j;
}

// Metadata values that hold JSON (the training configuration, standardization)
// are returned parsed; the rest stay strings.
nlohmann::json metadata_json(const Metadata& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : m) {
    const bool looks_json = !value.empty() && (value.front() == '{' || value.front() == '[');
    if (looks_json) {
      try {
        j[key] = nlohmann::json::parse(value);
        continue;
      } catch (const std::exception&) {
      }
    }
    j[key] = value;
  }
  return j;
}

void run_info(const InfoOptions& o) {
  const SafetensorsFile file = load_checkpoint(o.model);
  std::optional<RbmParams> rbm;
  auto model_kind = file.metadata.find("model");
  const bool is_rbm = file.tensors.count("weights") > 0 &&
                      (model_kind == file.metadata.end() || model_kind->second == "rbm");
  if (is_rbm) rbm = extract_rbm(file, o.model);  // validates shapes and values

  nlohmann::json j;
  j["path"] = o.model;
  j["model"] =
      model_kind != file.metadata.end() ? model_kind->second : (is_rbm ? "rbm" : "unknown");
  nlohmann::json tensors = nlohmann::json::object();
  int64_t parameters = 0;
  for (const auto& [name, t] : file.tensors) {
    tensors[name] = {{"shape", t.shape}, {"stats", tensor_stats(t)}};
    parameters += t.numel();
  }
  j["parameters"] = parameters;
  if (rbm) {
    j["visible"] = rbm->visible();
    j["hidden"] = rbm->hidden();
    j["visible_units"] = to_string(rbm->visible_type);
    j["hidden_units"] = "bernoulli";
  }
  j["tensors"] = tensors;
  j["metadata"] = metadata_json(file.metadata);

  if (o.json) {
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("{}\n", o.model);
  if (rbm) {
    fmt::print("  model:      dense RBM, {} {} visible x {} bernoulli hidden units\n",
               rbm->visible(), to_string(rbm->visible_type), rbm->hidden());
  } else if (j["model"] == "ratings_rbm" && file.tensors.count("weights") > 0 &&
             file.tensors.at("weights").shape.size() == 3) {
    const std::vector<int64_t>& s = file.tensors.at("weights").shape;  // [items, levels, hidden]
    fmt::print(
        "  model:      ratings RBM (collaborative filtering), {} items x {} rating levels, "
        "{} bernoulli hidden units{}\n",
        s[0], s[1], s[2], file.tensors.count("rated_weights") ? ", conditional" : "");
  } else {
    fmt::print("  model:      {}\n", j["model"].get<std::string>());
  }
  fmt::print("  parameters: {}\n", with_thousands(static_cast<double>(parameters)));
  auto meta_or = [&](const char* key, const char* fallback) {
    auto it = file.metadata.find(key);
    return it == file.metadata.end() ? std::string(fallback) : it->second;
  };
  if (file.metadata.count(meta::kHeight)) {
    fmt::print("  image:      {} x {} x {} (channels x height x width)\n",
               meta_or(meta::kChannels, "1"), meta_or(meta::kHeight, "?"),
               meta_or(meta::kWidth, "?"));
  }
  if (file.metadata.count(meta::kData)) {
    fmt::print("  trained on: {} (binarize {}), {} epochs, crbm {}\n", meta_or(meta::kData, "?"),
               meta_or(meta::kBinarize, "none"), meta_or(meta::kEpochs, "?"),
               meta_or(meta::kVersion, "?"));
  }
  fmt::print("tensors:\n");
  size_t width = 4;
  for (const auto& [name, t] : file.tensors) width = std::max(width, name.size());
  for (const auto& [name, t] : file.tensors) {
    const nlohmann::json& s = tensors[name]["stats"];
    if (s.is_null()) {
      fmt::print("  {:<{}}  {}\n", name, width, t.shape_string());
      continue;
    }
    fmt::print("  {:<{}}  {:<12} min {:9.4f}  max {:9.4f}  mean {:9.4f}  mean|x| {:8.4f}\n", name,
               width, t.shape_string(), s["min"].get<double>(), s["max"].get<double>(),
               s["mean"].get<double>(), s["mean_abs"].get<double>());
  }
  fmt::print("metadata:\n");
  const nlohmann::json md = j["metadata"];
  for (const auto& [key, value] : md.items()) {
    if (key == meta::kTrainConfig && value.is_object()) {
      fmt::print("  {}:\n", key);
      for (const auto& [k, v] : value.items()) {
        // Floats were stored from float32: print 7 significant digits, not 0.8999999761.
        const std::string text =
            v.is_number_float() ? fmt::format("{:.7g}", v.get<double>()) : v.dump();
        fmt::print("    {:<24} {}\n", k, text);
      }
    } else if (value.is_string()) {
      fmt::print("  {}: {}\n", key, value.get<std::string>());
    } else {
      std::string text = value.dump();
      if (text.size() > 100) text = text.substr(0, 97) + "...";
      fmt::print("  {}: {}\n", key, text);
    }
  }
}

void register_info(CLI::App& app) {
  auto [cmd, o] = add_command<InfoOptions>(
      app, "info",
      "Show what a checkpoint holds: model, sizes, tensors and their statistics, training "
      "configuration.\nExample: crbm info crbm-model.safetensors --json",
      run_info);
  add_model_argument(cmd, "MODEL", o->model, "Checkpoint (.safetensors)");
  cmd->add_flag("--json", o->json, "Print everything as one JSON object")->group(kGroupOutput);
}

const SubcommandRegistrar kRegistrar{90, register_info};

}  // namespace
}  // namespace crbm::tools
