// The optimizer settings and schedule shared by every trainer (crbm/sgd.hpp).
#include "crbm/sgd.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "crbm/enum_names.hpp"
#include "crbm/error.hpp"
#include "train/config_check.hpp"

namespace crbm {

namespace {
constexpr EnumName<LrSchedule> kLrScheduleNames[] = {{LrSchedule::constant, "constant"},
                                                     {LrSchedule::inverse, "inverse"},
                                                     {LrSchedule::exponential, "exponential"}};
}  // namespace

CRBM_ENUM_NAME_FUNCTIONS(LrSchedule, kLrScheduleNames, lr_schedule_from_string,
                         "learning-rate schedule")

double SgdConfig::learning_rate_at(int epoch, int64_t updates) const {
  const double lr = detail::as_decimal(learning_rate);
  switch (lr_schedule) {
    case LrSchedule::constant:
      return lr;
    case LrSchedule::inverse:
      return lr / (1.0 + detail::as_decimal(lr_decay) * epoch);
    case LrSchedule::exponential:
      return std::max(lr * std::exp(-static_cast<double>(updates) * std::log(lr_decay_rate)),
                      detail::as_decimal(lr_floor));
  }
  return lr;
}

double SgdConfig::momentum_at(int epoch) const {
  return detail::as_decimal(epoch < momentum_switch_epoch ? momentum : final_momentum);
}

void SgdConfig::validate_sgd(const char* what) const {
  const detail::ConfigCheck check(what);
  check.sgd(epochs, batch_size, learning_rate, lr_decay, momentum, final_momentum, weight_decay);
  check.fail_if(!(lr_decay_rate >= 1.0) || !std::isfinite(lr_decay_rate), "lr_decay_rate",
                lr_decay_rate, "must be >= 1 and finite");
  check.fail_if(!(lr_floor >= 0.0f) || !std::isfinite(lr_floor), "lr_floor", lr_floor,
                "must be >= 0 and finite");
  check.fail_if(momentum_switch_epoch < 0, "momentum_switch_epoch", momentum_switch_epoch,
                "must be >= 0");
  check.fail_if(!(l1_decay >= 0.0f), "l1_decay", l1_decay, "must be >= 0");
  check.fail_if(!(sparsity_target >= 0.0f && sparsity_target < 1.0f), "sparsity_target",
                sparsity_target, "must be in [0, 1); 0 disables it");
  check.fail_if(!(sparsity_cost >= 0.0f), "sparsity_cost", sparsity_cost, "must be >= 0");
  check.fail_if(!(sparsity_decay >= 0.0f && sparsity_decay < 1.0f), "sparsity_decay",
                sparsity_decay, "must be in [0, 1)");
}

std::string SgdConfig::sgd_json_fields() const {
  nlohmann::ordered_json j;
  j["epochs"] = epochs;
  j["batch_size"] = batch_size;
  j["learning_rate"] = detail::as_decimal(learning_rate);
  j["lr_schedule"] = to_string(lr_schedule);
  j["lr_decay"] = detail::as_decimal(lr_decay);
  j["lr_decay_rate"] = lr_decay_rate;
  j["lr_floor"] = detail::as_decimal(lr_floor);
  j["momentum"] = detail::as_decimal(momentum);
  j["final_momentum"] = detail::as_decimal(final_momentum);
  j["momentum_switch_epoch"] = momentum_switch_epoch;
  j["weight_decay"] = detail::as_decimal(weight_decay);
  j["l1_decay"] = detail::as_decimal(l1_decay);
  j["sparsity_target"] = detail::as_decimal(sparsity_target);
  j["sparsity_cost"] = detail::as_decimal(sparsity_cost);
  j["sparsity_decay"] = detail::as_decimal(sparsity_decay);
  j["seed"] = seed;
  const std::string s = j.dump();
  return s.substr(1, s.size() - 2);
}

nlohmann::json detail::sgd_json(const SgdConfig& config) {
  return nlohmann::json::parse("{" + config.sgd_json_fields() + "}");
}

void detail::add_cd_json(const CdConfig& config, nlohmann::json& j) {
  j["algorithm"] = config.persistent ? "pcd" : "cd";
  j["k"] = config.cd_k;
  j["pcd_chains"] = config.pcd_chains;
  j["sample_negative_visible"] = config.sample_negative_visible;
}

StepRates step_rates(const SgdConfig& config, int epoch, int64_t updates) {
  return StepRates{static_cast<float>(config.learning_rate_at(epoch, updates)),
                   static_cast<float>(config.momentum_at(epoch))};
}

void momentum_step(Backend& be, MatRef param, MatRef velocity, CMatRef grad, StepRates rates,
                   const SgdConfig& config, Decay decay, Direction direction) {
  const float sign = direction == Direction::ascent ? 1.0f : -1.0f;
  const bool weights = decay == Decay::weights;
  be.momentum_update(param, velocity, grad, sign * rates.lr, rates.momentum,
                     weights ? sign * config.weight_decay : 0.0f,
                     weights ? sign * config.l1_decay : 0.0f);
}

SparsityTerm::SparsityTerm(Backend& be, int64_t units)
    : be_(&be), q_(be, 1, units), mean_(be, 1, units) {
  be.fill(q_, 0.0f);
}

void SparsityTerm::apply(const SgdConfig& config, MatRef grad) {
  CRBM_CHECK_THROW(be_ != nullptr && grad.rows == 1 && grad.cols == q_.cols(), "sparsity term of ",
                   q_.cols(), " units applied to a ", grad.rows, "x", grad.cols, " gradient");
  if (!started_) {
    be_->copy(mean_, q_);
    started_ = true;
  } else {
    be_->axpby(1.0f - config.sparsity_decay, mean_, config.sparsity_decay, q_);
  }
  be_->fill(mean_, config.sparsity_target);
  be_->axpby(-1.0f, q_, 1.0f, mean_);
  be_->axpby(config.sparsity_cost, mean_, 1.0f, grad);
}

RbmStep::RbmStep(Backend& be, int64_t w_rows, int64_t w_cols, int64_t visible, int64_t hidden)
    : be_(&be),
      grad_w_(be, w_rows, w_cols),
      grad_visible_(be, 1, visible),
      grad_hidden_(be, 1, hidden),
      vel_w_(be, w_rows, w_cols),
      vel_visible_(be, 1, visible),
      vel_hidden_(be, 1, hidden),
      sparsity_(be, hidden) {
  for (Matrix* m : {&vel_w_, &vel_visible_, &vel_hidden_}) be.fill(*m, 0.0f);
}

void RbmStep::add_statistics(CMatRef v, CMatRef h, float scale, float beta, CMatRef row_weights) {
  be_->gemm(true, false, scale, v, h, beta, grad_w_);
  be_->column_sums(v, scale, beta, grad_visible_);
  if (row_weights.data != nullptr) {
    be_->gemm(true, false, scale, row_weights, h, beta, grad_hidden_);
  } else {
    be_->column_sums(h, scale, beta, grad_hidden_);
  }
}

MatRef RbmStep::sparsity_mean(const SgdConfig& config) {
  return SparsityTerm::enabled(config) ? sparsity_.batch_mean() : MatRef{};
}

void RbmStep::add_hidden_mean(const SgdConfig& config, CMatRef h, float scale) {
  if (SparsityTerm::enabled(config)) be_->column_sums(h, scale, 0.0f, sparsity_.batch_mean());
}

void RbmStep::apply(const SgdConfig& config, int epoch, int64_t updates,
                    const RbmLayerRefs& params) {
  CRBM_CHECK_THROW(be_ != nullptr, "RbmStep::apply on a default-constructed step");
  if (SparsityTerm::enabled(config)) sparsity_.apply(config, grad_hidden_);
  const StepRates rates = step_rates(config, epoch, updates);
  momentum_step(*be_, params.weights, vel_w_, grad_w_, rates, config, Decay::weights);
  momentum_step(*be_, params.visible_bias, vel_visible_, grad_visible_, rates, config, Decay::none);
  momentum_step(*be_, params.hidden_bias, vel_hidden_, grad_hidden_, rates, config, Decay::none);
}

}  // namespace crbm
