// The pieces of the extension module, one function per header family, and the
// helpers they share.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "crbm/sgd.hpp"

namespace crbm::python {

namespace nb = nanobind;

void bind_config(nb::module_& m);   // SgdConfig, CdConfig, TrainConfig, EpochStats, AisConfig, ...
void bind_rbm(nb::module_& m);      // RbmParams, Rbm, CdTrainer, exact log Z, AIS, checkpoints
void bind_conv(nb::module_& m);     // ConvRbmParams, ConvRbm, ConvTrainer
void bind_dbn(nb::module_& m);      // DbnConfig, Dbn, MlpConfig, MlpTrainer
void bind_dbm(nb::module_& m);      // DbmTrainConfig, DbmParams, Dbm, DbmTrainer
void bind_softmax(nb::module_& m);  // SoftmaxRbm, SoftmaxCdTrainer (replicated softmax)

using Metadata = std::map<std::string, std::string>;

// A checkpoint loader `Load(path, &metadata)` as Python sees it: (params, metadata).
template <typename Params, Params (*Load)(const std::string&, Metadata*)>
std::pair<Params, Metadata> with_metadata(const std::string& path) {
  Metadata meta;
  Params p = Load(path, &meta);
  return {std::move(p), std::move(meta)};
}

// The space-separated words of `names` (the Python names of a field list), stored for
// the life of the module (nanobind may keep the pointers).
std::vector<const char*> split_names(const char* names);

// Binds the data members `members` of a struct under the names in `names` (one
// space-separated word per member, in order), read-only (statistics, results) or
// read-write (settings): one line per struct instead of one per field.
template <bool Writable, typename Class, typename... Members>
void def_fields(Class& c, const char* names, Members... members) {
  const std::vector<const char*> words = split_names(names);
  if (words.size() != sizeof...(Members)) {
    throw std::logic_error(std::string("def_fields: ") + std::to_string(words.size()) +
                           " names for " + std::to_string(sizeof...(Members)) +
                           " members: " + names);
  }
  size_t i = 0;
  auto one = [&](auto member) {
    const char* name = words[i++];
    if constexpr (Writable) {
      c.def_rw(name, member);
    } else {
      c.def_ro(name, member);
    }
  };
  (one(members), ...);
}
template <typename Class, typename... Members>
void readonly_fields(Class& c, const char* names, Members... members) {
  def_fields<false>(c, names, members...);
}
template <typename Class, typename... Members>
void readwrite_fields(Class& c, const char* names, Members... members) {
  def_fields<true>(c, names, members...);
}

// Binds HostTensor members of a parameter struct (RbmParams, ConvRbmParams) under the
// names in `names`, as above: reading gives a NumPy copy, assigning copies a float32
// C-contiguous host array in (its shape is checked where the parameters are loaded).
template <typename Class, typename... Members>
void tensor_fields(Class& c, const char* names, Members... members) {
  using T = typename Class::Type;
  const std::vector<const char*> words = split_names(names);
  size_t i = 0;
  auto one = [&](HostTensor T::*member) {
    const char* name = words.at(i++);
    c.def_prop_rw(
        name, [member](const T& p) { return to_numpy(HostTensor(p.*member)); },
        [member, name](T& p, const AnyArray& a) { p.*member = to_host_tensor(a, name); });
  };
  (one(members), ...);
}

// A trainer config that embeds CdConfig (TrainConfig, ConvTrainConfig): validate(),
// to_json() and its `cd` attribute, the CdConfig part in place (nanobind has one base
// class per type: the SgdConfig fields come from the base, the CD fields from `cd`).
// Call after the config's own fields (the stubs then list `cd` last).
template <typename Class>
void add_cd_part(Class& c) {
  using T = typename Class::Type;
  c.def_prop_rw(
      "cd", [](T& t) -> CdConfig& { return t; },
      [](T& t, const CdConfig& v) { t.CdConfig::operator=(v); }, nb::rv_policy::reference_internal);
}

// Binds `method` (a const member writing [N x out] rows for [N x in] input rows) as
// name(arg) -> NumPy / DLPack array; `in` and `out` give the widths (out null: one value
// per row, returned as (N,)); errors name the input `what` (X, H).
template <typename T>
using RowsMethod = void (T::*)(CMatRef, MatRef) const;
template <typename T>
using SizeMethod = int64_t (T::*)() const;
template <typename Class, typename T = typename Class::Type>
void def_rows(Class& c, const char* name, RowsMethod<typename Class::Type> method,
              SizeMethod<typename Class::Type> in, SizeMethod<typename Class::Type> out,
              const char* arg, const char* what, const char* doc) {
  c.def(
      name,
      [=](const T& model, const AnyArray& a) {
        return map_rows(
            model.backend(), a, what, (model.*in)(), out ? (model.*out)() : 1,
            [&](CMatRef x, MatRef y) { (model.*method)(x, y); }, !out);
      },
      nb::arg(arg), doc);
}

// A library trainer with the model it trains (the library's keeps only a reference).
template <typename Model, typename Trainer>
struct WithModel {
  using ModelType = Model;
  template <typename Config>
  WithModel(Model& m, const Config& config) : model(&m), trainer(m, config) {}
  Model* model;
  Trainer trainer;
};

// The class of a WithModel trainer H, constructed as name(<model_arg>, config) from a
// model and a Config; the model is kept alive as long as the trainer.
template <typename H, typename Config>
nb::class_<H> trainer_class(nb::module_& m, const char* name, const char* doc,
                            const char* model_arg) {
  nb::class_<H> c(m, name, doc);
  c.def(nb::init<typename H::ModelType&, const Config&>(), nb::arg(model_arg), nb::arg("config"),
        nb::keep_alive<1, 2>());
  return c;
}

// train_epoch(data) and update(batch) of a WithModel whose trainer takes the data alone;
// cols(model) is the width the rows must have.
template <typename Class, typename Cols>
void def_train_methods(Class& c, Cols cols) {
  using H = typename Class::Type;
  auto input = [cols](H& t, const AnyArray& a, const char* name) {
    return Input(t.model->backend(), a, name, cols(*t.model));
  };
  c.def(
       "train_epoch",
       [input](H& t, const AnyArray& data) {
         const Input in = input(t, data, "X");
         nb::gil_scoped_release release;
         return t.trainer.train_epoch(in);
       },
       nb::arg("data"), "One epoch over data [N x V]: shuffled minibatches, updates, statistics.")
      .def(
          "update",
          [input](H& t, const AnyArray& batch) {
            const Input in = input(t, batch, "batch");
            nb::gil_scoped_release release;
            t.trainer.update(in);
          },
          nb::arg("batch"), "One update from a minibatch [B x V].");
}

}  // namespace crbm::python
