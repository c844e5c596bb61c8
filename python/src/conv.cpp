// Convolutional RBMs with probabilistic max-pooling: ConvShape, ConvRbmParams,
// ConvRbm, ConvTrainer (ConvTrainConfig, ConvEpochStats) and their checkpoints
// (crbm/conv.hpp, conv_rbm.hpp, conv_train.hpp, cdbn.hpp).
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>

#include <optional>

#include "arrays.hpp"
#include "bindings.hpp"
#include "crbm/conv_rbm.hpp"
#include "crbm/conv_train.hpp"
#include "crbm/safetensors.hpp"

namespace crbm::python {
namespace {

using Metadata = std::map<std::string, std::string>;

// A ConvTrainer with the ConvRbm it trains.
struct ConvRbmTrainer {
  ConvRbmTrainer(ConvRbm& r, const ConvTrainConfig& c) : rbm(&r), trainer(r, c) {}
  ConvRbm* rbm;
  ConvTrainer trainer;
};

nb::object tensor_get(const HostTensor& t) {
  return to_numpy(HostTensor(t));
}

}  // namespace

void bind_conv(nb::module_& m) {
  nb::class_<ConvShape>(m, "ConvShape", "Geometry of a convolutional RBM (crbm/conv.hpp).")
      .def(nb::init<>())
      .def_rw("channels", &ConvShape::channels)
      .def_rw("height", &ConvShape::height)
      .def_rw("width", &ConvShape::width)
      .def_rw("filters", &ConvShape::filters)
      .def_rw("filter_size", &ConvShape::filter_size)
      .def_rw("pool", &ConvShape::pool)
      .def_prop_ro("hidden_height", &ConvShape::hidden_height)
      .def_prop_ro("hidden_width", &ConvShape::hidden_width)
      .def_prop_ro("pooled_height", &ConvShape::pooled_height)
      .def_prop_ro("pooled_width", &ConvShape::pooled_width)
      .def("validate", &ConvShape::validate)
      .def("__repr__", &ConvShape::to_string);

  nb::class_<ConvTrainConfig> config(m, "ConvTrainConfig",
                                     "ConvTrainer settings (crbm/conv_train.hpp).");
  config.def(nb::init<>());
  add_sgd_fields(config);
  add_cd_fields(config);
  config.def_rw("sigma_decay", &ConvTrainConfig::sigma_decay)
      .def_rw("sigma_min", &ConvTrainConfig::sigma_min)
      .def("validate", &ConvTrainConfig::validate)
      .def("to_json", &ConvTrainConfig::to_json);

  nb::class_<ConvEpochStats>(m, "ConvEpochStats", "Statistics of one ConvTrainer epoch.")
      .def_ro("epoch", &ConvEpochStats::epoch)
      .def_ro("updates", &ConvEpochStats::updates)
      .def_ro("reconstruction_error", &ConvEpochStats::reconstruction_error)
      .def_ro("free_energy", &ConvEpochStats::free_energy)
      .def_ro("mean_hidden_activation", &ConvEpochStats::mean_hidden_activation)
      .def_ro("mean_pooled_activation", &ConvEpochStats::mean_pooled_activation)
      .def_ro("sigma", &ConvEpochStats::sigma)
      .def_ro("learning_rate", &ConvEpochStats::learning_rate)
      .def_ro("seconds", &ConvEpochStats::seconds)
      .def_ro("samples_per_second", &ConvEpochStats::samples_per_second);

  nb::class_<ConvRbmParams>(m, "ConvRbmParams", "Host copy of a ConvRbm (a checkpoint).")
      .def(nb::init<>())
      .def_prop_rw(
          "visible_type",
          [](const ConvRbmParams& p) { return std::string(to_string(p.visible_type)); },
          [](ConvRbmParams& p, const std::string& s) { p.visible_type = parse_visible_type(s); })
      .def_rw("sigma", &ConvRbmParams::sigma)
      .def_rw("height", &ConvRbmParams::height)
      .def_rw("width", &ConvRbmParams::width)
      .def_rw("pool", &ConvRbmParams::pool)
      .def_prop_rw(
          "filters", [](const ConvRbmParams& p) { return tensor_get(p.filters); },
          [](ConvRbmParams& p, const AnyArray& a) { p.filters = to_host_tensor(a, "filters"); })
      .def_prop_rw(
          "hidden_bias", [](const ConvRbmParams& p) { return tensor_get(p.hidden_bias); },
          [](ConvRbmParams& p, const AnyArray& a) {
            p.hidden_bias = to_host_tensor(a, "hidden_bias");
          })
      .def_prop_rw(
          "visible_bias", [](const ConvRbmParams& p) { return tensor_get(p.visible_bias); },
          [](ConvRbmParams& p, const AnyArray& a) {
            p.visible_bias = to_host_tensor(a, "visible_bias");
          })
      .def("shape", &ConvRbmParams::shape, nb::arg("batch") = 1);

  nb::class_<ConvRbm>(m, "ConvRbm", "A convolutional RBM on a backend (crbm/conv_rbm.hpp).")
      .def(
          "__init__",
          [](ConvRbm* self, Backend& be, const ConvShape& shape, const std::string& type,
             const std::string& algo) {
            new (self) ConvRbm(be, shape, parse_visible_type(type), parse_conv_algo(algo));
          },
          nb::arg("backend"), nb::arg("shape"), nb::arg("visible_type") = "bernoulli",
          nb::arg("algo") = "auto", nb::keep_alive<1, 2>())
      .def(
          "__init__",
          [](ConvRbm* self, Backend& be, const ConvRbmParams& p, const std::string& algo) {
            new (self) ConvRbm(be, p, parse_conv_algo(algo));
          },
          nb::arg("backend"), nb::arg("params"), nb::arg("algo") = "auto", nb::keep_alive<1, 2>())
      .def(
          "init_random",
          [](ConvRbm& r, uint64_t seed, float stddev, std::optional<AnyArray> data,
             float hidden_bias_init) {
            if (!data) return r.init_random(seed, stddev, nullptr, hidden_bias_init);
            const HostTensor t = to_host_tensor(*data, "data");
            r.init_random(seed, stddev, &t, hidden_bias_init);
          },
          nb::arg("seed"), nb::arg("stddev") = 0.01f, nb::arg("data") = nb::none(),
          nb::arg("hidden_bias_init") = 0.0f)
      .def("shape", &ConvRbm::shape, nb::arg("batch") = 1)
      .def_prop_ro("visible_size", &ConvRbm::visible_size)
      .def_prop_ro("hidden_size", &ConvRbm::hidden_size)
      .def_prop_ro("pooled_size", &ConvRbm::pooled_size)
      .def_prop_ro("sigma", &ConvRbm::sigma)
      .def_prop_ro("visible_type",
                   [](const ConvRbm& r) { return std::string(to_string(r.visible_type())); })
      .def("to_host", &ConvRbm::to_host)
      .def("load", &ConvRbm::load, nb::arg("params"))
      .def(
          "hidden_given_visible",
          [](const ConvRbm& r, const AnyArray& v, bool pooled) {
            Input in(r.backend(), v, "X", r.visible_size());
            const int64_t rows = in.ref().rows;
            const ConvShape s = r.shape(rows);
            Output hidden(r.backend(), rows, r.hidden_size(), in.on_device());
            Output pool(r.backend(), pooled ? rows : 0, r.pooled_size(), in.on_device());
            {
              nb::gil_scoped_release release;
              r.hidden_given_visible(in, hidden, pooled ? pool.ref() : MatRef{});
            }
            const auto n = static_cast<size_t>(rows), k = static_cast<size_t>(s.filters);
            if (pooled) {
              return pool.finish({n, k, static_cast<size_t>(s.pooled_height()),
                                  static_cast<size_t>(s.pooled_width())});
            }
            return hidden.finish({n, k, static_cast<size_t>(s.hidden_height()),
                                  static_cast<size_t>(s.hidden_width())});
          },
          nb::arg("v"), nb::arg("pooled") = true,
          "P(pool on|v) (N, K, Hp, Wp), or with pooled=False P(h=1|v) (N, K, Hh, Wh).")
      .def(
          "visible_mean_given_hidden",
          [](const ConvRbm& r, const AnyArray& h) {
            Input in(r.backend(), h, "H", r.hidden_size());
            Output out(r.backend(), in.ref().rows, r.visible_size(), in.on_device());
            r.visible_mean_given_hidden(in, out);
            return out.finish();
          },
          nb::arg("h"))
      .def(
          "free_energy",
          [](const ConvRbm& r, const AnyArray& v) {
            Input in(r.backend(), v, "X", r.visible_size());
            Output out(r.backend(), in.ref().rows, 1, in.on_device());
            {
              nb::gil_scoped_release release;
              r.free_energy(in, out);
            }
            return out.finish({static_cast<size_t>(in.ref().rows)});
          },
          nb::arg("v"));

  nb::class_<ConvRbmTrainer>(m, "ConvTrainer", "CD-k / PCD-k training of a ConvRbm.")
      .def(nb::init<ConvRbm&, const ConvTrainConfig&>(), nb::arg("rbm"), nb::arg("config"),
           nb::keep_alive<1, 2>())
      .def(
          "train_epoch",
          [](ConvRbmTrainer& t, const AnyArray& data, int64_t stats_rows) {
            Input in(t.rbm->backend(), data, "X", t.rbm->visible_size());
            nb::gil_scoped_release release;
            return t.trainer.train_epoch(in, stats_rows);
          },
          nb::arg("data"), nb::arg("stats_rows") = 500)
      .def_prop_ro("config", [](const ConvRbmTrainer& t) { return t.trainer.config(); })
      .def_prop_ro("epoch", [](const ConvRbmTrainer& t) { return t.trainer.epoch(); });

  m.def(
      "conv_exact_log_partition",
      [](const ConvRbm& r, int max_visible_units) {
        nb::gil_scoped_release release;
        return exact_log_partition(r, max_visible_units);
      },
      nb::arg("rbm"), nb::arg("max_visible_units") = 24);
  m.def(
      "save_conv_rbm",
      [](const std::string& path, const ConvRbm& r, const Metadata& extra) {
        save_conv_rbm(path, r, extra);
      },
      nb::arg("path"), nb::arg("rbm"), nb::arg("metadata") = Metadata{});
  m.def(
      "load_conv_rbm_params",
      [](const std::string& path, int layer) {
        const SafetensorsFile f = load_safetensors(path);
        const auto it = f.metadata.find("model");
        const bool stack = it != f.metadata.end() && it->second == "cdbn";
        const std::string prefix = stack ? "layer" + std::to_string(layer) + "." : "";
        return std::make_pair(extract_conv_rbm(f, path, prefix), f.metadata);
      },
      nb::arg("path"), nb::arg("layer") = 0,
      "(ConvRbmParams, metadata) of a conv_rbm checkpoint or of one layer of a cdbn.");
}

}  // namespace crbm::python
