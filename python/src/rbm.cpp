// Dense RBMs: RbmParams, Rbm, CdTrainer (TrainConfig, EpochStats), exact log Z,
// AIS and the safetensors checkpoints of the CLI (crbm/rbm.hpp, train.hpp,
// exact.hpp, ais.hpp, safetensors.hpp).
#include "crbm/rbm.hpp"

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>

#include "arrays.hpp"
#include "bindings.hpp"
#include "crbm/ais.hpp"
#include "crbm/exact.hpp"
#include "crbm/safetensors.hpp"
#include "crbm/train.hpp"

namespace crbm::python {

void bind_config(nb::module_& m) {
  nb::class_<SgdConfig> sgd(m, "SgdConfig",
                            "The optimizer settings every trainer config has (crbm/sgd.hpp).");
  sgd.def(nb::init<>());
  readwrite_fields(sgd,
                   "epochs batch_size learning_rate lr_decay lr_decay_rate lr_floor momentum "
                   "final_momentum momentum_switch_epoch weight_decay l1_decay sparsity_target "
                   "sparsity_cost sparsity_decay seed",
                   &SgdConfig::epochs, &SgdConfig::batch_size, &SgdConfig::learning_rate,
                   &SgdConfig::lr_decay, &SgdConfig::lr_decay_rate, &SgdConfig::lr_floor,
                   &SgdConfig::momentum, &SgdConfig::final_momentum,
                   &SgdConfig::momentum_switch_epoch, &SgdConfig::weight_decay,
                   &SgdConfig::l1_decay, &SgdConfig::sparsity_target, &SgdConfig::sparsity_cost,
                   &SgdConfig::sparsity_decay, &SgdConfig::seed);
  sgd.def_prop_rw(
         "lr_schedule", [](const SgdConfig& t) { return std::string(to_string(t.lr_schedule)); },
         [](SgdConfig& t, const std::string& v) { t.lr_schedule = lr_schedule_from_string(v); })
      .def("learning_rate_at", &SgdConfig::learning_rate_at, nb::arg("epoch"), nb::arg("updates"))
      .def("momentum_at", &SgdConfig::momentum_at, nb::arg("epoch"));

  nb::class_<CdConfig> cd(m, "CdConfig",
                          "Contrastive-divergence settings of the RBM trainers (crbm/sgd.hpp).");
  cd.def(nb::init<>());
  readwrite_fields(cd, "cd_k persistent pcd_chains sample_negative_visible divergence_check_every",
                   &CdConfig::cd_k, &CdConfig::persistent, &CdConfig::pcd_chains,
                   &CdConfig::sample_negative_visible, &CdConfig::divergence_check_every);

  nb::class_<TrainConfig, SgdConfig> train(m, "TrainConfig",
                                           "CD-k / PCD-k settings (crbm/train.hpp).");
  train.def(nb::init<>())
      .def("validate", &TrainConfig::validate)
      .def("to_json", &TrainConfig::to_json);
  readwrite_fields(train, "resample_binarization use_cuda_graphs",
                   &TrainConfig::resample_binarization, &TrainConfig::use_cuda_graphs);
  add_cd_part(train);

  nb::class_<EpochStats> stats(m, "EpochStats", "Statistics of one training epoch.");
  readonly_fields(stats,
                  "epoch updates reconstruction_error free_energy_train free_energy_holdout "
                  "seconds samples_per_second learning_rate momentum mean_hidden_activation",
                  &EpochStats::epoch, &EpochStats::updates, &EpochStats::reconstruction_error,
                  &EpochStats::free_energy_train, &EpochStats::free_energy_holdout,
                  &EpochStats::seconds, &EpochStats::samples_per_second, &EpochStats::learning_rate,
                  &EpochStats::momentum, &EpochStats::mean_hidden_activation);

  nb::class_<AisConfig> ais(m, "AisConfig",
                            "Annealed importance sampling settings (crbm/ais.hpp).");
  ais.def(nb::init<>()).def("validate", &AisConfig::validate);
  readwrite_fields(ais, "runs betas steps seed flush_every", &AisConfig::runs, &AisConfig::betas,
                   &AisConfig::steps, &AisConfig::seed, &AisConfig::flush_every);
  m.def("ais_schedule", &ais_schedule, nb::arg("config"));

  nb::class_<AisResult> result(m, "AisResult", "An AIS estimate of log Z with its 3-sigma band.");
  readonly_fields(result, "log_z log_z_low log_z_high log_z_base runs steps seconds log_weights",
                  &AisResult::log_z, &AisResult::log_z_low, &AisResult::log_z_high,
                  &AisResult::log_z_base, &AisResult::runs, &AisResult::steps, &AisResult::seconds,
                  &AisResult::log_weights);
  nb::class_<LikelihoodEstimate> estimate(m, "LikelihoodEstimate");
  readonly_fields(estimate, "mean low high", &LikelihoodEstimate::mean, &LikelihoodEstimate::low,
                  &LikelihoodEstimate::high);
}

namespace {

RngKey key(uint64_t seed, uint32_t stream, uint64_t step) {
  return RngKey{seed, stream, step};
}

using RbmTrainer = WithModel<Rbm, CdTrainer>;

}  // namespace

void bind_rbm(nb::module_& m) {
  m.def("parse_visible_type",
        [](const std::string& s) { return std::string(to_string(parse_visible_type(s))); });

  nb::class_<RbmParams> params(m, "RbmParams", "Host copy of an RBM's parameters (a checkpoint).");
  tensor_fields(params, "weights visible_bias hidden_bias visible_sigma", &RbmParams::weights,
                &RbmParams::visible_bias, &RbmParams::hidden_bias, &RbmParams::visible_sigma);
  params.def(nb::init<>())
      .def_prop_rw(
          "visible_type", [](const RbmParams& p) { return std::string(to_string(p.visible_type)); },
          [](RbmParams& p, const std::string& s) { p.visible_type = parse_visible_type(s); })
      .def_prop_ro("visible", &RbmParams::visible)
      .def_prop_ro("hidden", &RbmParams::hidden);

  nb::class_<Rbm> rbm(m, "Rbm", "A dense RBM on a backend (crbm/rbm.hpp).");
  rbm.def(
         "__init__",
         [](Rbm* self, Backend& be, int64_t visible, int64_t hidden, const std::string& type) {
           new (self) Rbm(be, visible, hidden, parse_visible_type(type));
         },
         nb::arg("backend"), nb::arg("visible"), nb::arg("hidden"),
         nb::arg("visible_type") = "bernoulli", nb::keep_alive<1, 2>())
      .def(nb::init<Backend&, const RbmParams&>(), nb::arg("backend"), nb::arg("params"),
           nb::keep_alive<1, 2>())
      .def(
          "init_random",
          [](Rbm& r, uint64_t seed, float stddev, std::optional<AnyArray> data) {
            const std::optional<HostTensor> t = to_host_tensor(data, "data");
            r.init_random(seed, stddev, t ? &*t : nullptr);
          },
          nb::arg("seed"), nb::arg("stddev") = 0.01f, nb::arg("data") = nb::none())
      .def_prop_ro("visible", &Rbm::visible)
      .def_prop_ro("hidden", &Rbm::hidden)
      .def_prop_ro("visible_type",
                   [](const Rbm& r) { return std::string(to_string(r.visible_type())); })
      .def_prop_ro("device",
                   [](const Rbm& r) { return std::string(to_string(r.backend().device())); })
      .def("to_host", &Rbm::to_host)
      .def("load", &Rbm::load, nb::arg("params"))
      .def("parameters_finite", &Rbm::parameters_finite)
      .def(
          "sample_hidden",
          [](const Rbm& r, const AnyArray& probs, uint64_t seed, uint32_t stream, uint64_t step) {
            return map_rows(
                r.backend(), probs, "probs", r.hidden(), r.hidden(),
                [&](CMatRef in, MatRef out) { r.sample_hidden(in, out, key(seed, stream, step)); });
          },
          nb::arg("probs"), nb::arg("seed"), nb::arg("stream") = 0, nb::arg("step") = 0)
      .def(
          "sample_visible",
          [](const Rbm& r, const AnyArray& mean, uint64_t seed, uint32_t stream, uint64_t step) {
            return map_rows(r.backend(), mean, "mean", r.visible(), r.visible(),
                            [&](CMatRef in, MatRef out) {
                              r.sample_visible(in, out, key(seed, stream, step));
                            });
          },
          nb::arg("mean"), nb::arg("seed"), nb::arg("stream") = 0, nb::arg("step") = 0);

  def_rows(rbm, "hidden_given_visible", &Rbm::hidden_given_visible, &Rbm::visible, &Rbm::hidden,
           "v", "X", "P(h=1|v) [N x H] for v [N x V].");
  def_rows(rbm, "visible_mean_given_hidden", &Rbm::visible_mean_given_hidden, &Rbm::hidden,
           &Rbm::visible, "h", "H", "E[v|h] [N x V] for h [N x H].");
  def_rows(rbm, "free_energy", &Rbm::free_energy, &Rbm::visible, nullptr, "v", "X",
           "F(v) [N] for v [N x V].");

  trainer_class<RbmTrainer, TrainConfig>(m, "CdTrainer",
                                         "CD-k / PCD-k training of an Rbm (crbm/train.hpp).", "rbm")
      .def(
          "train_epoch",
          [](RbmTrainer& t, const AnyArray& data, std::optional<AnyArray> holdout,
             int64_t stats_rows) {
            Backend& be = t.model->backend();
            Input in(be, data, "X", t.model->visible());
            std::optional<Input> held;
            if (holdout) held.emplace(be, *holdout, "holdout", t.model->visible());
            nb::gil_scoped_release release;
            return t.trainer.train_epoch(in, held ? held->ref() : CMatRef{}, stats_rows);
          },
          nb::arg("data"), nb::arg("holdout") = nb::none(), nb::arg("stats_rows") = 1000,
          "One epoch over data [N x V]: shuffled minibatches, updates, statistics.")
      .def(
          "update",
          [](RbmTrainer& t, const AnyArray& batch) {
            Input in(t.model->backend(), batch, "batch", t.model->visible());
            nb::gil_scoped_release release;
            t.trainer.update(in);
          },
          nb::arg("batch"), "One update from a minibatch [B x V].")
      .def_prop_ro("config", [](const RbmTrainer& t) { return t.trainer.config(); })
      .def_prop_ro("epoch", [](const RbmTrainer& t) { return t.trainer.epoch(); })
      .def_prop_ro("updates", [](const RbmTrainer& t) { return t.trainer.updates(); })
      .def("current_learning_rate",
           [](const RbmTrainer& t) { return t.trainer.current_learning_rate(); })
      .def("current_momentum", [](const RbmTrainer& t) { return t.trainer.current_momentum(); });

  m.def(
      "exact_log_partition",
      [](const Rbm& r, int max_units) {
        ExactOptions o;
        o.max_enumerated_units = max_units;
        nb::gil_scoped_release release;
        return exact_log_partition(r, o);
      },
      nb::arg("rbm"), nb::arg("max_enumerated_units") = 30);
  m.def(
      "exact_feasible",
      [](const Rbm& r, int max_units) {
        ExactOptions o;
        o.max_enumerated_units = max_units;
        return exact_feasible(r, o);
      },
      nb::arg("rbm"), nb::arg("max_enumerated_units") = 30);
  m.def(
      "mean_log_likelihood",
      [](const Rbm& r, const AnyArray& v, double log_z) {
        Input in(r.backend(), v, "X", r.visible());
        return mean_log_likelihood(r, in, log_z);
      },
      nb::arg("rbm"), nb::arg("data"), nb::arg("log_z"));
  m.def(
      "ais_log_partition",
      [](const Rbm& r, std::optional<AnyArray> base_data, const AisConfig& config) {
        const HostTensor base = to_host_tensor(base_data, "base_data").value_or(HostTensor{});
        nb::gil_scoped_release release;
        return ais_log_partition(r, base, config);
      },
      nb::arg("rbm"), nb::arg("base_data") = nb::none(), nb::arg("config") = AisConfig{});
  m.def(
      "ais_mean_log_likelihood",
      [](const Rbm& r, const AnyArray& v, const AisResult& ais) {
        Input in(r.backend(), v, "X", r.visible());
        return ais_mean_log_likelihood(r, in, ais);
      },
      nb::arg("rbm"), nb::arg("data"), nb::arg("ais"));

  m.def(
      "save_rbm",
      [](const std::string& path, const RbmParams& p, const Metadata& extra) {
        save_rbm(path, p, extra);
      },
      nb::arg("path"), nb::arg("params"), nb::arg("metadata") = Metadata{});
  m.def("load_rbm_params", &with_metadata<RbmParams, &load_rbm_params>, nb::arg("path"),
        "(RbmParams, metadata) of an RBM checkpoint.");
  m.def(
      "load_safetensors",
      [](const std::string& path) {
        SafetensorsFile f = load_safetensors(path);
        nb::dict tensors;
        for (auto& [name, t] : f.tensors) tensors[name.c_str()] = to_numpy(std::move(t));
        return std::make_pair(tensors, f.metadata);
      },
      nb::arg("path"), "({name: float32 array}, metadata) of any safetensors file.");
}

}  // namespace crbm::python
