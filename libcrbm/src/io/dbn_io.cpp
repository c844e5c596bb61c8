// DBN checkpoints (save_dbn, load_dbn_params; the format is in dbn.hpp).
#include <cmath>
#include <string>

#include "crbm/dbn.hpp"
#include "crbm/safetensors.hpp"

namespace crbm {

void save_dbn(const std::string& path, const DbnParams& params,
              const std::map<std::string, std::string>& extra) {
  SafetensorsFile file = new_checkpoint("dbn", extra);
  file.metadata["layers"] = std::to_string(params.layers.size());
  file.metadata["num_classes"] = std::to_string(params.num_classes);
  for (size_t l = 0; l < params.layers.size(); ++l) {
    append_rbm(file, params.layers[l], "layer" + std::to_string(l) + ".");
  }
  save_safetensors(path, file);
}

DbnParams load_dbn_params(const std::string& path, std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = load_checkpoint(path);
  require_model(file, "dbn", "a DBN", path);
  DbnParams p;
  const std::string& layers = require_metadata(file, "layers", path);
  int64_t n = 0;
  try {
    n = std::stoll(layers);
    auto it = file.metadata.find("num_classes");
    p.num_classes = it == file.metadata.end() ? 0 : std::stoi(it->second);
  } catch (const std::exception&) {
    CRBM_FAIL(path, ": metadata 'layers'/'num_classes' is not a number");
  }
  if (n < 1 || n > 64) CRBM_FAIL(path, ": metadata layers = ", n, " (expected 1..64)");
  for (int64_t l = 0; l < n; ++l) {
    p.layers.push_back(extract_rbm(file, path, "layer" + std::to_string(l) + "."));
  }
  for (int64_t l = 1; l < n; ++l) {
    const int64_t expect = p.layers[l - 1].hidden() + (l + 1 == n ? p.num_classes : 0);
    if (p.layers[l].visible() != expect) {
      CRBM_FAIL(path, ": layer", l, ".weights has ", p.layers[l].visible(), " rows; expected ",
                expect, " (layer", l - 1, " hidden",
                l + 1 == n && p.num_classes > 0 ? " + labels" : "", ")");
    }
  }
  if (metadata != nullptr) *metadata = file.metadata;
  return p;
}

}  // namespace crbm
