// The pieces of the extension module, one function per header family.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <string>

#include "crbm/sgd.hpp"

namespace crbm::python {

namespace nb = nanobind;

void bind_config(nb::module_& m);  // TrainConfig, EpochStats, AisConfig, ...
void bind_rbm(nb::module_& m);     // RbmParams, Rbm, CdTrainer, exact log Z, AIS, checkpoints
void bind_conv(nb::module_& m);    // ConvRbmParams, ConvRbm, ConvTrainer
void bind_dbn(nb::module_& m);     // DbnConfig, Dbn, MlpConfig, MlpTrainer

// The SgdConfig and CdConfig fields of a trainer's config class, read-write under
// their C++ names (nanobind has no multiple inheritance, so each config lists them).
#define CRBM_PY_FIELD(T, name) \
  def_prop_rw(                 \
      #name, [](const T& t) { return t.name; }, [](T& t, decltype(T::name) v) { t.name = v; })

template <typename Class>
void add_sgd_fields(Class& c) {
  using T = typename Class::Type;
  c.CRBM_PY_FIELD(T, epochs)
      .CRBM_PY_FIELD(T, batch_size)
      .CRBM_PY_FIELD(T, learning_rate)
      .CRBM_PY_FIELD(T, lr_decay)
      .CRBM_PY_FIELD(T, lr_decay_rate)
      .CRBM_PY_FIELD(T, lr_floor)
      .CRBM_PY_FIELD(T, momentum)
      .CRBM_PY_FIELD(T, final_momentum)
      .CRBM_PY_FIELD(T, momentum_switch_epoch)
      .CRBM_PY_FIELD(T, weight_decay)
      .CRBM_PY_FIELD(T, l1_decay)
      .CRBM_PY_FIELD(T, sparsity_target)
      .CRBM_PY_FIELD(T, sparsity_cost)
      .CRBM_PY_FIELD(T, sparsity_decay)
      .CRBM_PY_FIELD(T, seed)
      .def_prop_rw(
          "lr_schedule", [](const T& t) { return std::string(to_string(t.lr_schedule)); },
          [](T& t, const std::string& v) { t.lr_schedule = lr_schedule_from_string(v); })
      .def("learning_rate_at", &T::learning_rate_at, nb::arg("epoch"), nb::arg("updates"))
      .def("momentum_at", &T::momentum_at, nb::arg("epoch"));
}

template <typename Class>
void add_cd_fields(Class& c) {
  using T = typename Class::Type;
  c.CRBM_PY_FIELD(T, cd_k)
      .CRBM_PY_FIELD(T, persistent)
      .CRBM_PY_FIELD(T, pcd_chains)
      .CRBM_PY_FIELD(T, sample_negative_visible)
      .CRBM_PY_FIELD(T, divergence_check_every);
}

}  // namespace crbm::python
