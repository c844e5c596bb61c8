// Deep Boltzmann machines: DbmTrainConfig, DbmEpochStats, DbmParams, Dbm (greedy
// doubled-input pretraining, mean field, Gibbs sampling, exact / AIS log Z, the
// variational lower bound), DbmTrainer (joint mean-field + persistent-chain training)
// and the CLI's dbm checkpoints (crbm/dbm.hpp).
#include "crbm/dbm.hpp"

#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>

#include "arrays.hpp"
#include "bindings.hpp"

namespace crbm::python {
namespace {

using DbmWithTrainer = WithModel<Dbm, DbmTrainer>;

nb::list to_numpy_list(const std::vector<HostTensor>& tensors) {
  nb::list out;
  for (const HostTensor& t : tensors) out.append(to_numpy(HostTensor(t)));
  return out;
}

std::vector<HostTensor> to_host_tensors(const std::vector<AnyArray>& arrays, const char* name) {
  std::vector<HostTensor> out;
  for (const AnyArray& a : arrays) out.push_back(to_host_tensor(a, name));
  return out;
}

}  // namespace

void bind_dbm(nb::module_& m) {
  nb::class_<DbmTrainConfig, SgdConfig> config(
      m, "DbmTrainConfig", "Joint DBM training: mean field + persistent chains (crbm/dbm.hpp).");
  config.def(nb::init<>())
      .def("validate", &DbmTrainConfig::validate)
      .def("to_json", &DbmTrainConfig::to_json);
  readwrite_fields(config, "mean_field_sweeps chains gibbs_steps resample_binarization",
                   &DbmTrainConfig::mean_field_sweeps, &DbmTrainConfig::chains,
                   &DbmTrainConfig::gibbs_steps, &DbmTrainConfig::resample_binarization);

  using S = DbmEpochStats;
  nb::class_<S> stats(m, "DbmEpochStats", "Statistics of one joint DBM epoch.");
  readonly_fields(stats, "epoch seconds learning_rate momentum reconstruction_error", &S::epoch,
                  &S::seconds, &S::learning_rate, &S::momentum, &S::reconstruction_error);
  readonly_fields(stats, "mean_activation warnings", &S::mean_activation, &S::warnings);

  nb::class_<DbmParams>(m, "DbmParams", "Host copy of a DBM's parameters (a checkpoint).")
      .def(nb::init<>())
      .def_prop_rw(
          "weights", [](const DbmParams& p) { return to_numpy_list(p.weights); },
          [](DbmParams& p, const std::vector<AnyArray>& a) {
            p.weights = to_host_tensors(a, "weights");
          },
          "W_l [n_l, n_{l+1}] per hidden layer (NumPy copies).")
      .def_prop_rw(
          "biases", [](const DbmParams& p) { return to_numpy_list(p.biases); },
          [](DbmParams& p, const std::vector<AnyArray>& a) {
            p.biases = to_host_tensors(a, "biases");
          },
          "b_l [n_l] per layer, the visible bias first (NumPy copies).")
      .def("layer_size", &DbmParams::layer_size, nb::arg("l"));

  nb::class_<Dbm>(m, "Dbm", "A binary deep Boltzmann machine on a backend (crbm/dbm.hpp).")
      .def(nb::init<Backend&, int64_t, const std::vector<int64_t>&>(), nb::arg("backend"),
           nb::arg("visible"), nb::arg("hidden"), nb::keep_alive<1, 2>())
      .def(nb::init<Backend&, const DbmParams&>(), nb::arg("backend"), nb::arg("params"),
           nb::keep_alive<1, 2>())
      .def_prop_ro("depth", &Dbm::depth)
      .def("layer_size", &Dbm::layer_size, nb::arg("l"))
      .def(
          "pretrain",
          [](Dbm& d, const AnyArray& x, const std::vector<TrainConfig>& layers, float init_stddev,
             const Dbm::EpochCallback& on_epoch) {
            Input in(d.backend(), x, "X", d.layer_size(0));
            d.pretrain(in, layers, init_stddev, on_epoch);
          },
          nb::arg("data"), nb::arg("layers"), nb::arg("init_stddev") = 0.01f,
          nb::arg("on_epoch") = nb::none(),
          "Greedy doubled-input pretraining, one TrainConfig per hidden layer; "
          "on_epoch(layer, EpochStats) after each epoch.")
      .def(
          "mean_field",
          [](const Dbm& d, const AnyArray& x, int sweeps) {
            Input in(d.backend(), x, "X", d.layer_size(0));
            std::vector<Matrix> mu;
            {
              nb::gil_scoped_release release;
              d.mean_field(in, sweeps, mu);
            }
            nb::list out;
            for (const Matrix& layer : mu) out.append(to_numpy(layer));
            return out;
          },
          nb::arg("data"), nb::arg("sweeps") = 10,
          "Mean-field posteriors mu_l [N x n_l] of the hidden layers l = 1..L (NumPy).")
      .def(
          "sample",
          [](const Dbm& d, int64_t chains, int steps, uint64_t seed) {
            HostTensor t;
            {
              nb::gil_scoped_release release;
              t = d.sample(chains, steps, seed);
            }
            return to_numpy(std::move(t));
          },
          nb::arg("chains"), nb::arg("steps"), nb::arg("seed"),
          "Gibbs chains from random states: P(v|h1) after `steps` steps [chains x V].")
      .def("bipartite_rbm", &Dbm::bipartite_rbm,
           "The equivalent RBM between the even layers [v | h2] and the odd ones [h1 | h3].")
      .def("exact_log_partition", &Dbm::exact_log_partition,
           nb::call_guard<nb::gil_scoped_release>())
      .def(
          "ais_log_partition",
          [](const Dbm& d, const AnyArray& x, const AisConfig& config, int64_t base_rows) {
            Input in(d.backend(), x, "base_data", d.layer_size(0));
            nb::gil_scoped_release release;
            return d.ais_log_partition(in, config, base_rows);
          },
          nb::arg("base_data"), nb::arg("config") = AisConfig{}, nb::arg("base_rows") = 10000,
          "AIS on the bipartite RBM; base rates from base_data [N x V] (at most base_rows).")
      .def(
          "lower_bound",
          [](const Dbm& d, const AnyArray& x, double log_z, int sweeps, int64_t batch) {
            Input in(d.backend(), x, "X", d.layer_size(0));
            nb::gil_scoped_release release;
            return d.lower_bound(in, log_z, sweeps, batch);
          },
          nb::arg("data"), nb::arg("log_z"), nb::arg("sweeps") = 30, nb::arg("batch") = 1000,
          "The mean-field variational lower bound on log p(v) per row.")
      .def("to_host", &Dbm::to_host)
      .def("load", &Dbm::load, nb::arg("params"));

  nb::class_<DbmWithTrainer> trainer(m, "DbmTrainer", "Joint training of a Dbm (crbm/dbm.hpp).");
  def_train_methods(trainer, [](const Dbm& d) { return d.layer_size(0); });
  trainer
      .def(nb::init<Dbm&, const DbmTrainConfig&>(), nb::arg("dbm"), nb::arg("config"),
           nb::keep_alive<1, 2>())
      .def(
          "resume",
          [](DbmWithTrainer& t, int epochs_done, int64_t updates_done) {
            t.trainer.resume(epochs_done, updates_done);
          },
          nb::arg("epochs_done"), nb::arg("updates_done"),
          "Continue after epochs_done epochs and updates_done updates (before any update).")
      .def_prop_ro("epoch", [](const DbmWithTrainer& t) { return t.trainer.epoch(); })
      .def_prop_ro("updates", [](const DbmWithTrainer& t) { return t.trainer.updates(); });

  m.def("save_dbm", &save_dbm, nb::arg("path"), nb::arg("params"),
        nb::arg("metadata") = Metadata{});
  m.def("load_dbm_params", &with_metadata<DbmParams, &load_dbm_params>, nb::arg("path"),
        "(DbmParams, metadata) of a dbm checkpoint.");
}

}  // namespace crbm::python
