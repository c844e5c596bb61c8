// The one validation of libcrbm checkpoints (load_checkpoint): every tensor the
// model kind needs, with shapes that chain layer to layer and agree with the
// size metadata, no tensor the kind does not have, and only finite values.
// Every command loads checkpoints through it, so they accept and reject alike.
#include <cmath>
#include <set>

#include "crbm/conv_rbm.hpp"
#include "crbm/error.hpp"
#include "crbm/safetensors.hpp"

namespace crbm {
namespace {

class Checker {
 public:
  Checker(const SafetensorsFile& f, const std::string& path) : f_(f), path_(path) {}

  const HostTensor& tensor(const std::string& name, const std::vector<int64_t>& shape) {
    expected_.insert(name);
    return require_tensor(f_, name, shape, path_);
  }

  // A whole number metadata value in [lo, hi]; nullopt-like -1 when absent and optional.
  int64_t integer(const std::string& key, int64_t lo, int64_t hi, bool required) {
    const auto it = f_.metadata.find(key);
    if (it == f_.metadata.end()) {
      if (required) CRBM_FAIL(path_, ": missing metadata '", key, "'");
      return -1;
    }
    const std::string& text = it->second;
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || v < lo || v > hi) {
      CRBM_FAIL(path_, ": metadata '", key, "' is '", printable(text),
                "', expected a whole number in ", lo, "..", hi);
    }
    return v;
  }

  // Metadata `key`, when present, must state `actual` (the tensors' size).
  void agrees(const std::string& key, int64_t actual, const std::string& tensor_name) {
    const int64_t stated = integer(key, 0, INT64_MAX, false);
    if (stated >= 0 && stated != actual) {
      CRBM_FAIL(path_, ": metadata '", key, "' = ", stated, " contradicts tensor '", tensor_name,
                "' (", actual, ")");
    }
  }

  std::string text(const std::string& key, const std::string& fallback) const {
    const auto it = f_.metadata.find(key);
    return it == f_.metadata.end() ? fallback : it->second;
  }

  // weights [V, H] (V = `rows` when >= 0), visible_bias [V], hidden_bias [H],
  // visible_sigma [V] for gaussian units. Returns H.
  int64_t dense_rbm(const std::string& pre, int64_t rows, bool softmax_visible) {
    const std::string units = text(pre + "visible_units", "bernoulli");
    const bool known = units == "bernoulli" || units == "binary" || units == "gaussian" ||
                       (softmax_visible && units == "softmax");
    if (!known) {
      CRBM_FAIL(path_, ": metadata '", pre, "visible_units' is '", printable(units),
                "' (expected bernoulli or gaussian)");
    }
    const HostTensor& w = tensor(pre + "weights", {rows, -1});
    const int64_t v = w.shape[0], h = w.shape[1];
    tensor(pre + "visible_bias", {v});
    tensor(pre + "hidden_bias", {h});
    if (units == "gaussian") tensor(pre + "visible_sigma", {v});
    agrees(pre + "visible", v, pre + "weights");
    agrees(pre + "hidden", h, pre + "weights");
    return h;
  }

  // filters [K, C, F, F], hidden_bias [K], visible_bias [C] (C = `channels` when >= 0).
  int64_t conv_rbm(const std::string& pre, int64_t channels) {
    const std::string units = text(pre + "visible_units", "");
    if (units != "bernoulli" && units != "binary" && units != "gaussian") {
      CRBM_FAIL(path_, ": metadata '", pre, "visible_units' is '", printable(units),
                "' (expected bernoulli or gaussian)");
    }
    const HostTensor& filters = tensor(pre + "filters", {-1, channels, -1, -1});
    const int64_t k = filters.shape[0], c = filters.shape[1];
    tensor(pre + "hidden_bias", {k});
    tensor(pre + "visible_bias", {c});
    const int64_t height = integer(pre + "height", 1, int64_t{1} << 20, true);
    const int64_t width = integer(pre + "width", 1, int64_t{1} << 20, true);
    integer(pre + "pool", 1, int64_t{1} << 20, true);
    if (filters.shape[2] != filters.shape[3] || filters.shape[2] > height ||
        filters.shape[2] > width) {
      CRBM_FAIL(path_, ": ", pre, "filters are ", filters.shape_string(), " for ", height, " x ",
                width, " inputs (square filters no larger than the input expected)");
    }
    agrees(pre + "channels", c, pre + "filters");
    agrees(pre + "filters", k, pre + "filters");
    agrees(pre + "filter_size", filters.shape[2], pre + "filters");
    extract_conv_rbm(f_, path_, pre);  // the model's own checks (pooling, geometry)
    return k;
  }

  void finish(const std::string& model) {
    for (const auto& [name, t] : f_.tensors) {
      if (expected_.count(name) == 0) {
        CRBM_FAIL(path_, ": tensor '", printable(name), "' is not part of a ", model,
                  " checkpoint (metadata and tensors disagree)");
      }
      for (size_t i = 0; i < t.data.size(); ++i) {
        if (!std::isfinite(t.data[i])) {
          CRBM_FAIL(path_, ": tensor '", name, "' element ", i, " is ",
                    std::isnan(t.data[i]) ? "NaN" : "Inf");
        }
      }
    }
  }

 private:
  const SafetensorsFile& f_;
  const std::string& path_;
  std::set<std::string> expected_;
};

std::string layer(int64_t l) {
  return "layer" + std::to_string(l) + ".";
}

}  // namespace

const std::vector<std::string>& checkpoint_model_kinds() {
  static const std::vector<std::string> kinds = {"rbm", "softmax_rbm", "dbn",  "dbm",
                                                 "mlp", "conv_rbm",    "cdbn", "ratings_rbm"};
  return kinds;
}

void validate_checkpoint(const SafetensorsFile& f, const std::string& path) {
  Checker c(f, path);
  const std::string model = c.text("model", "rbm");
  if (model == "rbm") {
    c.dense_rbm("", -1, false);
  } else if (model == "softmax_rbm") {
    const std::string kind = c.text("softmax_kind", "");
    if (kind != "groups" && kind != "replicated") {
      CRBM_FAIL(path, ": metadata 'softmax_kind' is '", printable(kind),
                "' (expected groups or replicated)");
    }
    c.integer("softmax_group", 0, int64_t{1} << 40, true);
    c.dense_rbm("", -1, true);
  } else if (model == "dbn") {
    const int64_t n = c.integer("layers", 1, 64, true);
    const int64_t classes = c.integer("num_classes", 0, int64_t{1} << 30, false);
    int64_t rows = -1;
    for (int64_t l = 0; l < n; ++l) {
      const int64_t h = c.dense_rbm(layer(l), rows, false);
      rows = h + (l + 2 == n && classes > 0 ? classes : 0);
    }
  } else if (model == "dbm") {
    const int64_t n = c.integer("layers", 1, 8, true);
    std::string sizes = std::to_string(c.tensor("layer0.visible_bias", {-1}).numel());
    int64_t rows = c.tensor("layer0.visible_bias", {-1}).numel();
    for (int64_t l = 0; l < n; ++l) {
      const HostTensor& w = c.tensor(layer(l) + "weights", {rows, -1});
      rows = w.shape[1];
      c.tensor(layer(l) + "hidden_bias", {rows});
      sizes += "," + std::to_string(rows);
    }
    // The label group on the top layer (dbm.hpp): absent or 0 = none.
    const int64_t classes = c.integer("num_classes", 0, int64_t{1} << 30, false);
    if (classes == 1) {
      CRBM_FAIL(path, ": metadata num_classes = 1 (0: no labels, or a group of >= 2 classes)");
    }
    if (classes > 0) {
      c.tensor("labels.weights", {rows, classes});
      c.tensor("labels.bias", {classes});
    }
    const std::string stated = c.text("sizes", sizes);
    if (stated != sizes) {
      CRBM_FAIL(path, ": metadata 'sizes' = '", printable(stated), "' contradicts the tensors (",
                sizes, ")");
    }
  } else if (model == "mlp") {
    const int64_t n = c.integer("layers", 1, 64, true);
    int64_t rows = -1;
    for (int64_t l = 0; l < n; ++l) {
      rows = c.tensor(layer(l) + "weights", {rows, -1}).shape[1];
      c.tensor(layer(l) + "bias", {rows});
    }
  } else if (model == "conv_rbm") {
    c.conv_rbm("", -1);
  } else if (model == "cdbn") {
    const int64_t n = c.integer("layers", 1, 64, true);
    int64_t channels = -1;
    for (int64_t l = 0; l < n; ++l) channels = c.conv_rbm(layer(l), channels);
  } else if (model == "ratings_rbm") {
    // weights [I, K, H], visible_bias [I, K], hidden_bias [H], rating_values [K];
    // rated_weights [I, H] for the conditional model.
    const HostTensor& w = c.tensor("weights", {-1, -1, -1});
    const int64_t items = w.shape[0], levels = w.shape[1], hidden = w.shape[2];
    c.tensor("visible_bias", {items, levels});
    c.tensor("hidden_bias", {hidden});
    c.tensor("rating_values", {levels});
    if (c.text("conditional", "false") == "true") c.tensor("rated_weights", {items, hidden});
    c.agrees("items", items, "weights");
    c.agrees("levels", levels, "weights");
    c.agrees("hidden", hidden, "weights");
  } else {
    std::string kinds;
    for (const std::string& k : checkpoint_model_kinds()) kinds += (kinds.empty() ? "" : ", ") + k;
    CRBM_FAIL(path, ": metadata 'model' is '", printable(model),
              "', not a model kind libcrbm knows (", kinds, ")");
  }
  c.finish(model);
}

SafetensorsFile load_checkpoint(const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  validate_checkpoint(f, path);
  return f;
}

}  // namespace crbm
