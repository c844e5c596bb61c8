// RBMs with softmax visible units, the replicated softmax of word counts among them:
// SoftmaxRbm (conditionals, sampling, free energy, exact / AIS log Z per document
// length, log-probabilities), SoftmaxCdTrainer and the CLI's softmax_rbm checkpoints
// (crbm/softmax_rbm.hpp).
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>

#include "arrays.hpp"
#include "bindings.hpp"
#include "crbm/softmax_rbm.hpp"

namespace crbm::python {
namespace {

using SoftmaxTrainer = WithModel<SoftmaxRbm, SoftmaxCdTrainer>;

SoftmaxKind parse_kind(const std::string& s) {
  if (s == "replicated") return SoftmaxKind::replicated;
  if (s == "groups") return SoftmaxKind::groups;
  throw nb::value_error(concat("kind: expected 'replicated' or 'groups', got '", s, "'").c_str());
}

}  // namespace

void bind_softmax(nb::module_& m) {
  nb::class_<SoftmaxRbm> model(m, "SoftmaxRbm",
                               "An RBM with softmax visible units: replicated (word counts) or "
                               "K-way groups (crbm/softmax_rbm.hpp).");
  model
      .def(
          "__init__",
          [](SoftmaxRbm* self, Backend& be, int64_t visible, int64_t hidden,
             const std::string& kind, int64_t group) {
            new (self) SoftmaxRbm(be, visible, hidden, parse_kind(kind), group);
          },
          nb::arg("backend"), nb::arg("visible"), nb::arg("hidden"), nb::arg("kind") = "replicated",
          nb::arg("group") = 0, nb::keep_alive<1, 2>())
      .def(
          "__init__",
          [](SoftmaxRbm* self, Backend& be, const RbmParams& p, const std::string& kind,
             int64_t group) { new (self) SoftmaxRbm(be, p, parse_kind(kind), group); },
          nb::arg("backend"), nb::arg("params"), nb::arg("kind") = "replicated",
          nb::arg("group") = 0, nb::keep_alive<1, 2>())
      .def_prop_ro("kind", [](const SoftmaxRbm& s) { return std::string(to_string(s.kind())); })
      .def_prop_ro("group", &SoftmaxRbm::group)
      .def_prop_ro("visible", &SoftmaxRbm::visible)
      .def_prop_ro("hidden", &SoftmaxRbm::hidden)
      .def("to_host", [](const SoftmaxRbm& s) { return s.rbm().to_host(); })
      .def(
          "load", [](SoftmaxRbm& s, const RbmParams& p) { s.rbm().load(p); }, nb::arg("params"))
      .def(
          "init_random",
          [](SoftmaxRbm& s, uint64_t seed, float stddev, std::optional<AnyArray> data) {
            const std::optional<HostTensor> t = to_host_tensor(data, "data");
            s.init_random(seed, stddev, t ? &*t : nullptr);
          },
          nb::arg("seed"), nb::arg("stddev") = 0.01f, nb::arg("data") = nb::none(),
          "W ~ N(0, stddev^2), c = 0, b = log smoothed unit frequencies of data (host).")
      .def("exact_log_partition", &SoftmaxRbm::exact_log_partition, nb::arg("length") = 1,
           nb::call_guard<nb::gil_scoped_release>(), "log Z_D by enumerating h (H <= 24).");
  using S = SoftmaxRbm;
  def_rows(model, "lengths", &S::lengths, &S::visible, nullptr, "v", "X",
           "D per row [N] (replicated: the word counts' sums).");
  def_rows(model, "hidden_given_visible", &S::hidden_given_visible, &S::visible, &S::hidden, "v",
           "X", "P(h=1|v) [N x H].");
  def_rows(model, "visible_probs_given_hidden", &S::visible_probs_given_hidden, &S::hidden,
           &S::visible, "h", "H", "softmax(b + W h) per group [N x V].");
  def_rows(model, "free_energy", &S::free_energy, &S::visible, nullptr, "v", "X", "F(v) [N].");
  model
      .def(
          "sample_hidden",
          [](const SoftmaxRbm& s, const AnyArray& probs, uint64_t seed, uint64_t step) {
            return map_rows(s.backend(), probs, "probs", s.hidden(), s.hidden(),
                            [&](CMatRef in, MatRef out) {
                              s.backend().sample_bernoulli(in, out, RngKey{seed, 1, step});
                            });
          },
          nb::arg("probs"), nb::arg("seed"), nb::arg("step") = 0, "Binary h ~ Bernoulli(probs).")
      .def(
          "sample_visible",
          [](const SoftmaxRbm& s, const AnyArray& probs, const AnyArray& lengths, uint64_t seed,
             uint64_t step) {
            Input len(s.backend(), lengths, "lengths", 1);
            return map_rows(s.backend(), probs, "probs", s.visible(), s.visible(),
                            [&](CMatRef in, MatRef out) {
                              s.sample_visible(in, len, out, RngKey{seed, 2, step});
                            });
          },
          nb::arg("probs"), nb::arg("lengths"), nb::arg("seed"), nb::arg("step") = 0,
          "Counts of lengths[r] draws from probs row r (replicated), one-hot per group.")
      .def(
          "ais_log_partition",
          [](const SoftmaxRbm& s, std::optional<AnyArray> base_data, const AisConfig& config,
             int64_t length) {
            const HostTensor base = to_host_tensor(base_data, "base_data").value_or(HostTensor{});
            nb::gil_scoped_release release;
            return s.ais_log_partition(base, config, length);
          },
          nb::arg("base_data") = nb::none(), nb::arg("config") = AisConfig{}, nb::arg("length") = 1,
          "AIS estimate of log Z_D for documents of length D.")
      .def(
          "log_prob",
          [](const SoftmaxRbm& s, const AnyArray& v, const std::map<int64_t, double>& log_z) {
            Input in(s.backend(), v, "X", s.visible());
            nb::gil_scoped_release release;
            return s.log_prob(in, log_z);
          },
          nb::arg("v"), nb::arg("log_z_by_length"),
          "log P(v) per row given {D: log Z_D} for every length D in v.");

  auto trainer = trainer_class<SoftmaxTrainer, TrainConfig>(
      m, "SoftmaxCdTrainer", "CD-k training of a SoftmaxRbm.", "model");
  def_train_methods(trainer, [](const SoftmaxRbm& s) { return s.visible(); });

  m.def("save_softmax_rbm", &save_softmax_rbm, nb::arg("path"), nb::arg("model"),
        nb::arg("metadata") = Metadata{});
  m.def(
      "load_softmax_rbm",
      [](Backend& be, const std::string& path) { return load_softmax_rbm(be, path); },
      nb::arg("backend"), nb::arg("path"), nb::keep_alive<0, 1>(),
      "The SoftmaxRbm of a softmax_rbm checkpoint (metadata: load_safetensors).");
}

}  // namespace crbm::python
