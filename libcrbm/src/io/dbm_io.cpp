// DBM checkpoints (save_dbm, load_dbm_params; the format is in dbm.hpp).
#include <string>

#include "crbm/dbm.hpp"
#include "crbm/safetensors.hpp"

namespace crbm {

void save_dbm(const std::string& path, const DbmParams& p,
              const std::map<std::string, std::string>& extra) {
  SafetensorsFile file = new_checkpoint("dbm", extra);
  file.metadata["layers"] = std::to_string(p.weights.size());
  std::string sizes;
  for (size_t l = 0; l < p.biases.size(); ++l) {
    sizes += (l ? "," : "") + std::to_string(p.biases[l].numel());
  }
  file.metadata["sizes"] = sizes;
  file.tensors["layer0.visible_bias"] = p.biases[0];
  for (size_t l = 0; l < p.weights.size(); ++l) {
    const std::string pre = "layer" + std::to_string(l) + ".";
    file.tensors[pre + "weights"] = p.weights[l];
    file.tensors[pre + "hidden_bias"] = p.biases[l + 1];
  }
  if (p.num_classes() > 0) {
    file.metadata["num_classes"] = std::to_string(p.num_classes());
    file.tensors["labels.weights"] = p.label_weights;
    file.tensors["labels.bias"] = p.label_bias;
  }
  save_safetensors(path, file);
}

DbmParams load_dbm_params(const std::string& path, std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = load_checkpoint(path);
  const std::string& model = require_metadata(file, "model", path);
  if (model != "dbm") CRBM_FAIL(path, ": holds a '", model, "' model, not a DBM");
  int64_t n = 0;
  try {
    n = std::stoll(require_metadata(file, "layers", path));
  } catch (const std::invalid_argument&) {
    CRBM_FAIL(path, ": metadata 'layers' is not a number");
  }
  if (n < 1 || n > 8) CRBM_FAIL(path, ": metadata layers = ", n, " (expected 1..8)");
  DbmParams p;
  p.biases.push_back(require_tensor(file, "layer0.visible_bias", {-1}, path));
  int64_t rows = p.biases[0].numel();
  for (int64_t l = 0; l < n; ++l) {
    const std::string pre = "layer" + std::to_string(l) + ".";
    const HostTensor& w = require_tensor(file, pre + "weights", {rows, -1}, path);
    p.weights.push_back(w);
    p.biases.push_back(require_tensor(file, pre + "hidden_bias", {w.shape[1]}, path));
    rows = w.shape[1];
  }
  // The label group: num_classes absent or 0 means none (every checkpoint before it);
  // load_checkpoint has checked the number and that the tensors agree with it.
  const auto it = file.metadata.find("num_classes");
  const int64_t classes = it == file.metadata.end() ? 0 : std::stoll(it->second);
  if (classes > 0) {
    p.label_weights = require_tensor(file, "labels.weights", {rows, classes}, path);
    p.label_bias = require_tensor(file, "labels.bias", {classes}, path);
  }
  if (metadata != nullptr) *metadata = file.metadata;
  return p;
}

}  // namespace crbm
