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

using ConvRbmTrainer = WithModel<ConvRbm, ConvTrainer>;

}  // namespace

void bind_conv(nb::module_& m) {
  nb::class_<ConvShape> shape(m, "ConvShape", "Geometry of a convolutional RBM (crbm/conv.hpp).");
  shape.def(nb::init<>());
  readwrite_fields(shape, "channels height width filters filter_size pool", &ConvShape::channels,
                   &ConvShape::height, &ConvShape::width, &ConvShape::filters,
                   &ConvShape::filter_size, &ConvShape::pool);
  shape.def_prop_ro("hidden_height", &ConvShape::hidden_height)
      .def_prop_ro("hidden_width", &ConvShape::hidden_width)
      .def_prop_ro("pooled_height", &ConvShape::pooled_height)
      .def_prop_ro("pooled_width", &ConvShape::pooled_width)
      .def("validate", &ConvShape::validate)
      .def("__repr__", &ConvShape::to_string);

  nb::class_<ConvTrainConfig, SgdConfig> config(m, "ConvTrainConfig",
                                                "ConvTrainer settings (crbm/conv_train.hpp).");
  config.def(nb::init<>())
      .def("validate", &ConvTrainConfig::validate)
      .def("to_json", &ConvTrainConfig::to_json);
  readwrite_fields(config, "sigma_decay sigma_min", &ConvTrainConfig::sigma_decay,
                   &ConvTrainConfig::sigma_min);
  add_cd_part(config);

  nb::class_<ConvEpochStats> stats(m, "ConvEpochStats", "Statistics of one ConvTrainer epoch.");
  readonly_fields(stats,
                  "epoch updates reconstruction_error free_energy mean_hidden_activation "
                  "mean_pooled_activation sigma learning_rate seconds samples_per_second",
                  &ConvEpochStats::epoch, &ConvEpochStats::updates,
                  &ConvEpochStats::reconstruction_error, &ConvEpochStats::free_energy,
                  &ConvEpochStats::mean_hidden_activation, &ConvEpochStats::mean_pooled_activation,
                  &ConvEpochStats::sigma, &ConvEpochStats::learning_rate, &ConvEpochStats::seconds,
                  &ConvEpochStats::samples_per_second);

  nb::class_<ConvRbmParams> params(m, "ConvRbmParams", "Host copy of a ConvRbm (a checkpoint).");
  tensor_fields(params, "filters hidden_bias visible_bias", &ConvRbmParams::filters,
                &ConvRbmParams::hidden_bias, &ConvRbmParams::visible_bias);
  readwrite_fields(params, "sigma height width pool", &ConvRbmParams::sigma, &ConvRbmParams::height,
                   &ConvRbmParams::width, &ConvRbmParams::pool);
  params.def(nb::init<>())
      .def_prop_rw(
          "visible_type",
          [](const ConvRbmParams& p) { return std::string(to_string(p.visible_type)); },
          [](ConvRbmParams& p, const std::string& s) { p.visible_type = parse_visible_type(s); })
      .def("shape", &ConvRbmParams::shape, nb::arg("batch") = 1);

  nb::class_<ConvRbm> rbm(m, "ConvRbm", "A convolutional RBM on a backend (crbm/conv_rbm.hpp).");
  rbm.def(
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
            const std::optional<HostTensor> t = to_host_tensor(data, "data");
            r.init_random(seed, stddev, t ? &*t : nullptr, hidden_bias_init);
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
          "P(pool on|v) (N, K, Hp, Wp), or with pooled=False P(h=1|v) (N, K, Hh, Wh).");

  def_rows(rbm, "visible_mean_given_hidden", &ConvRbm::visible_mean_given_hidden,
           &ConvRbm::hidden_size, &ConvRbm::visible_size, "h", "H", "E[v|h] [N x C*H*W].");
  def_rows(rbm, "free_energy", &ConvRbm::free_energy, &ConvRbm::visible_size, nullptr, "v", "X",
           "F(v) [N].");

  trainer_class<ConvRbmTrainer, ConvTrainConfig>(m, "ConvTrainer",
                                                 "CD-k / PCD-k training of a ConvRbm.", "rbm")
      .def(
          "train_epoch",
          [](ConvRbmTrainer& t, const AnyArray& data, int64_t stats_rows) {
            Input in(t.model->backend(), data, "X", t.model->visible_size());
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
  m.def("save_conv_rbm", &save_conv_rbm, nb::arg("path"), nb::arg("rbm"),
        nb::arg("metadata") = Metadata{});
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
