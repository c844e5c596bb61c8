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

using Metadata = std::map<std::string, std::string>;

void bind_config(nb::module_& m) {
  nb::class_<TrainConfig> train(m, "TrainConfig", "CD-k / PCD-k settings (crbm/train.hpp).");
  train.def(nb::init<>());
  add_sgd_fields(train);
  add_cd_fields(train);
  train.def_rw("resample_binarization", &TrainConfig::resample_binarization)
      .def_rw("use_cuda_graphs", &TrainConfig::use_cuda_graphs)
      .def("validate", &TrainConfig::validate)
      .def("to_json", &TrainConfig::to_json);

  nb::class_<EpochStats>(m, "EpochStats", "Statistics of one training epoch.")
      .def_ro("epoch", &EpochStats::epoch)
      .def_ro("updates", &EpochStats::updates)
      .def_ro("reconstruction_error", &EpochStats::reconstruction_error)
      .def_ro("free_energy_train", &EpochStats::free_energy_train)
      .def_ro("free_energy_holdout", &EpochStats::free_energy_holdout)
      .def_ro("seconds", &EpochStats::seconds)
      .def_ro("samples_per_second", &EpochStats::samples_per_second)
      .def_ro("learning_rate", &EpochStats::learning_rate)
      .def_ro("momentum", &EpochStats::momentum)
      .def_ro("mean_hidden_activation", &EpochStats::mean_hidden_activation);

  nb::class_<AisConfig>(m, "AisConfig", "Annealed importance sampling settings (crbm/ais.hpp).")
      .def(nb::init<>())
      .def_rw("runs", &AisConfig::runs)
      .def_rw("betas", &AisConfig::betas)
      .def_rw("steps", &AisConfig::steps)
      .def_rw("seed", &AisConfig::seed)
      .def_rw("flush_every", &AisConfig::flush_every)
      .def("validate", &AisConfig::validate);
  m.def("ais_schedule", &ais_schedule, nb::arg("config"));

  nb::class_<AisResult>(m, "AisResult", "An AIS estimate of log Z with its 3-sigma band.")
      .def_ro("log_z", &AisResult::log_z)
      .def_ro("log_z_low", &AisResult::log_z_low)
      .def_ro("log_z_high", &AisResult::log_z_high)
      .def_ro("log_z_base", &AisResult::log_z_base)
      .def_ro("runs", &AisResult::runs)
      .def_ro("steps", &AisResult::steps)
      .def_ro("seconds", &AisResult::seconds)
      .def_ro("log_weights", &AisResult::log_weights);
  nb::class_<LikelihoodEstimate>(m, "LikelihoodEstimate")
      .def_ro("mean", &LikelihoodEstimate::mean)
      .def_ro("low", &LikelihoodEstimate::low)
      .def_ro("high", &LikelihoodEstimate::high);
}

namespace {

// An RbmParams field as NumPy (a copy) and back (shape checked by Rbm::load).
nb::object tensor_get(const HostTensor& t) {
  return to_numpy(HostTensor(t));
}

RngKey key(uint64_t seed, uint32_t stream, uint64_t step) {
  return RngKey{seed, stream, step};
}

// A CdTrainer with the Rbm it trains (the library's keeps only a reference).
struct RbmTrainer {
  RbmTrainer(Rbm& r, const TrainConfig& c) : rbm(&r), trainer(r, c) {}
  Rbm* rbm;
  CdTrainer trainer;
};

}  // namespace

void bind_rbm(nb::module_& m) {
  m.def("parse_visible_type",
        [](const std::string& s) { return std::string(to_string(parse_visible_type(s))); });

  nb::class_<RbmParams>(m, "RbmParams", "Host copy of an RBM's parameters (a checkpoint).")
      .def(nb::init<>())
      .def_prop_rw(
          "visible_type", [](const RbmParams& p) { return std::string(to_string(p.visible_type)); },
          [](RbmParams& p, const std::string& s) { p.visible_type = parse_visible_type(s); })
      .def_prop_rw(
          "weights", [](const RbmParams& p) { return tensor_get(p.weights); },
          [](RbmParams& p, const AnyArray& a) { p.weights = to_host_tensor(a, "weights"); })
      .def_prop_rw(
          "visible_bias", [](const RbmParams& p) { return tensor_get(p.visible_bias); },
          [](RbmParams& p, const AnyArray& a) {
            p.visible_bias = to_host_tensor(a, "visible_bias");
          })
      .def_prop_rw(
          "hidden_bias", [](const RbmParams& p) { return tensor_get(p.hidden_bias); },
          [](RbmParams& p, const AnyArray& a) { p.hidden_bias = to_host_tensor(a, "hidden_bias"); })
      .def_prop_rw(
          "visible_sigma", [](const RbmParams& p) { return tensor_get(p.visible_sigma); },
          [](RbmParams& p, const AnyArray& a) {
            p.visible_sigma = to_host_tensor(a, "visible_sigma");
          })
      .def_prop_ro("visible", &RbmParams::visible)
      .def_prop_ro("hidden", &RbmParams::hidden);

  nb::class_<Rbm>(m, "Rbm", "A dense RBM on a backend (crbm/rbm.hpp).")
      .def(
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
            if (!data) return r.init_random(seed, stddev, nullptr);
            const HostTensor t = to_host_tensor(*data, "data");
            r.init_random(seed, stddev, &t);
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
          "hidden_given_visible",
          [](const Rbm& r, const AnyArray& v) {
            Input in(r.backend(), v, "X", r.visible());
            Output out(r.backend(), in.ref().rows, r.hidden(), in.on_device());
            {
              nb::gil_scoped_release release;
              r.hidden_given_visible(in, out);
            }
            return out.finish();
          },
          nb::arg("v"), "P(h=1|v) [N x H] for v [N x V].")
      .def(
          "visible_mean_given_hidden",
          [](const Rbm& r, const AnyArray& h) {
            Input in(r.backend(), h, "H", r.hidden());
            Output out(r.backend(), in.ref().rows, r.visible(), in.on_device());
            {
              nb::gil_scoped_release release;
              r.visible_mean_given_hidden(in, out);
            }
            return out.finish();
          },
          nb::arg("h"), "E[v|h] [N x V] for h [N x H].")
      .def(
          "sample_hidden",
          [](const Rbm& r, const AnyArray& probs, uint64_t seed, uint32_t stream, uint64_t step) {
            Input in(r.backend(), probs, "probs", r.hidden());
            Output out(r.backend(), in.ref().rows, r.hidden(), in.on_device());
            r.sample_hidden(in, out, key(seed, stream, step));
            return out.finish();
          },
          nb::arg("probs"), nb::arg("seed"), nb::arg("stream") = 0, nb::arg("step") = 0)
      .def(
          "sample_visible",
          [](const Rbm& r, const AnyArray& mean, uint64_t seed, uint32_t stream, uint64_t step) {
            Input in(r.backend(), mean, "mean", r.visible());
            Output out(r.backend(), in.ref().rows, r.visible(), in.on_device());
            r.sample_visible(in, out, key(seed, stream, step));
            return out.finish();
          },
          nb::arg("mean"), nb::arg("seed"), nb::arg("stream") = 0, nb::arg("step") = 0)
      .def(
          "free_energy",
          [](const Rbm& r, const AnyArray& v) {
            Input in(r.backend(), v, "X", r.visible());
            Output out(r.backend(), in.ref().rows, 1, in.on_device());
            {
              nb::gil_scoped_release release;
              r.free_energy(in, out);
            }
            return out.finish({static_cast<size_t>(in.ref().rows)});
          },
          nb::arg("v"), "F(v) [N] for v [N x V].");

  nb::class_<RbmTrainer>(m, "CdTrainer", "CD-k / PCD-k training of an Rbm (crbm/train.hpp).")
      .def(nb::init<Rbm&, const TrainConfig&>(), nb::arg("rbm"), nb::arg("config"),
           nb::keep_alive<1, 2>())
      .def(
          "train_epoch",
          [](RbmTrainer& t, const AnyArray& data, std::optional<AnyArray> holdout,
             int64_t stats_rows) {
            Backend& be = t.rbm->backend();
            Input in(be, data, "X", t.rbm->visible());
            std::optional<Input> held;
            if (holdout) held.emplace(be, *holdout, "holdout", t.rbm->visible());
            nb::gil_scoped_release release;
            return t.trainer.train_epoch(in, held ? held->ref() : CMatRef{}, stats_rows);
          },
          nb::arg("data"), nb::arg("holdout") = nb::none(), nb::arg("stats_rows") = 1000,
          "One epoch over data [N x V]: shuffled minibatches, updates, statistics.")
      .def(
          "update",
          [](RbmTrainer& t, const AnyArray& batch) {
            Input in(t.rbm->backend(), batch, "batch", t.rbm->visible());
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
        const HostTensor base = base_data ? to_host_tensor(*base_data, "base_data") : HostTensor{};
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
  m.def(
      "load_rbm_params",
      [](const std::string& path) {
        Metadata meta;
        RbmParams p = load_rbm_params(path, &meta);
        return std::make_pair(std::move(p), meta);
      },
      nb::arg("path"), "(RbmParams, metadata) of an RBM checkpoint.");
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
