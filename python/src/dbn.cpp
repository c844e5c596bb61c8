// Deep belief networks and their fine-tuned classifiers: LayerConfig, DbnConfig,
// Dbn (greedy pretraining, up pass, generative classification, sampling, checkpoints)
// and Mlp / MlpTrainer (backpropagation from a DBN) (crbm/dbn.hpp, mlp.hpp).
#include "crbm/dbn.hpp"

#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "crbm/mlp.hpp"

namespace crbm::python {
namespace {

// An MlpTrainer with the Mlp it trains.
struct MlpWithTrainer {
  MlpWithTrainer(Mlp m, const MlpConfig& c) : mlp(std::move(m)), trainer(mlp, c) {}
  Mlp mlp;
  MlpTrainer trainer;
};

}  // namespace

void bind_dbn(nb::module_& m) {
  nb::class_<LayerConfig> layer(m, "LayerConfig", "One layer of a DBN: hidden size and training.");
  readwrite_fields(layer, "hidden train", &LayerConfig::hidden, &LayerConfig::train);
  layer.def(nb::init<>())
      .def_prop_rw(
          "visible_type",
          [](const LayerConfig& l) { return std::string(to_string(l.visible_type)); },
          [](LayerConfig& l, const std::string& s) { l.visible_type = parse_visible_type(s); });
  nb::class_<DbnConfig> config(m, "DbnConfig", "Architecture and greedy training of a DBN.");
  config.def(nb::init<>()).def("validate", &DbnConfig::validate);
  readwrite_fields(config, "layers num_classes init_stddev", &DbnConfig::layers,
                   &DbnConfig::num_classes, &DbnConfig::init_stddev);
  nb::class_<DbnParams> params(m, "DbnParams", "Host copy of a DBN (a checkpoint).");
  readonly_fields(params, "layers num_classes", &DbnParams::layers, &DbnParams::num_classes);

  nb::class_<Dbn>(m, "Dbn", "A deep belief network on a backend (crbm/dbn.hpp).")
      .def(nb::init<Backend&, int64_t, const DbnConfig&>(), nb::arg("backend"), nb::arg("visible"),
           nb::arg("config"), nb::keep_alive<1, 2>())
      .def(nb::init<Backend&, const DbnParams&>(), nb::arg("backend"), nb::arg("params"),
           nb::keep_alive<1, 2>())
      .def_prop_ro("depth", &Dbn::depth)
      .def_prop_ro("visible", &Dbn::visible)
      .def_prop_ro("num_classes", &Dbn::num_classes)
      .def("layer_size", &Dbn::layer_size, nb::arg("l"))
      .def(
          "pretrain",
          [](Dbn& d, const AnyArray& x, const std::vector<int32_t>& labels, const DbnConfig& config,
             const Dbn::EpochCallback& on_epoch) {
            Input in(d.backend(), x, "X", d.layer_size(0));
            d.pretrain(in, labels, config, on_epoch);
          },
          nb::arg("data"), nb::arg("labels"), nb::arg("config"), nb::arg("on_epoch") = nb::none(),
          "Greedy layer-wise training; on_epoch(layer, EpochStats) after each epoch.")
      .def(
          "up_pass",
          [](const Dbn& d, const AnyArray& x, size_t upto) {
            return map_rows(d.backend(), x, "X", d.layer_size(0), d.layer_size(upto),
                            [&](CMatRef in, MatRef out) { d.up_pass(in, upto, out); });
          },
          nb::arg("data"), nb::arg("upto"))
      .def(
          "classify",
          [](const Dbn& d, const AnyArray& x) {
            Input in(d.backend(), x, "X", d.layer_size(0));
            return d.classify(in);
          },
          nb::arg("data"))
      .def(
          "class_free_energies",
          [](const Dbn& d, const AnyArray& x) {
            Input in(d.backend(), x, "X", d.layer_size(0));
            return to_numpy(d.class_free_energies(in));
          },
          nb::arg("data"))
      .def("to_host", &Dbn::to_host);

  nb::class_<MlpConfig, SgdConfig>(m, "MlpConfig", "Backpropagation settings (crbm/mlp.hpp).")
      .def(nb::init<>())
      .def("validate", &MlpConfig::validate)
      .def("to_json", &MlpConfig::to_json);
  nb::class_<MlpEpochStats> mlp_stats(m, "MlpEpochStats");
  readonly_fields(mlp_stats, "epoch train_loss train_error seconds learning_rate",
                  &MlpEpochStats::epoch, &MlpEpochStats::train_loss, &MlpEpochStats::train_error,
                  &MlpEpochStats::seconds, &MlpEpochStats::learning_rate);

  nb::class_<MlpWithTrainer>(m, "MlpTrainer",
                             "A classifier initialised from a DBN and its backpropagation.")
      .def(
          "__init__",
          [](MlpWithTrainer* self, const Dbn& dbn, int classes, uint64_t seed,
             const MlpConfig& config) {
            new (self) MlpWithTrainer(Mlp::from_dbn(dbn, classes, seed), config);
          },
          nb::arg("dbn"), nb::arg("classes"), nb::arg("seed"), nb::arg("config"),
          nb::keep_alive<1, 2>())
      .def(
          "__init__",
          [](MlpWithTrainer* self, Backend& backend, const std::string& path,
             const MlpConfig& config) {
            new (self) MlpWithTrainer(Mlp(backend, load_mlp_params(path)), config);
          },
          nb::arg("backend"), nb::arg("path"), nb::arg("config"), nb::keep_alive<1, 2>(),
          "The classifier of an mlp checkpoint (save() or `crbm finetune`) on a backend.")
      .def(
          "train_epoch",
          [](MlpWithTrainer& t, const AnyArray& x, const std::vector<int32_t>& labels) {
            Input in(t.mlp.backend(), x, "X", t.mlp.sizes().front());
            nb::gil_scoped_release release;
            return t.trainer.train_epoch(in, labels);
          },
          nb::arg("data"), nb::arg("labels"))
      .def(
          "predict",
          [](MlpWithTrainer& t, const AnyArray& x) {
            Input in(t.mlp.backend(), x, "X", t.mlp.sizes().front());
            return t.mlp.predict(in);
          },
          nb::arg("data"))
      .def("save", [](const MlpWithTrainer& t, const std::string& path, const Metadata& extra) {
        save_mlp(path, t.mlp.to_host(), extra);
      });

  m.def("save_dbn", &save_dbn, nb::arg("path"), nb::arg("params"),
        nb::arg("metadata") = Metadata{});
  m.def("load_dbn_params", &with_metadata<DbnParams, &load_dbn_params>, nb::arg("path"),
        "(DbnParams, metadata) of a dbn checkpoint.");
}

}  // namespace crbm::python
