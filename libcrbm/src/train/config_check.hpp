// Shared validation of the training configurations (TrainConfig,
// ConvTrainConfig, DbmTrainConfig, MlpConfig): one message format naming the
// configuration, the field, its value and the rule; and the SGD fields every
// trainer has. Private to the library.
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "crbm/error.hpp"
#include "crbm/sgd.hpp"

namespace crbm::detail {

class ConfigCheck {
 public:
  // `what` names the configuration in messages, e.g. "training".
  explicit ConfigCheck(const char* what) : what_(what) {}

  template <typename T>
  void fail_if(bool bad, const char* field, const T& value, const char* rule) const {
    if (bad) CRBM_FAIL("invalid ", what_, " configuration: ", field, " = ", value, " (", rule, ")");
  }

  // epochs >= 0, batch >= 1, lr > 0 finite, lr_decay >= 0, momenta in [0, 1), L2 >= 0.
  template <typename Int>
  void sgd(int epochs, Int batch_size, float learning_rate, float lr_decay, float momentum,
           float final_momentum, float weight_decay) const {
    fail_if(epochs < 0, "epochs", epochs, "must be >= 0");
    fail_if(batch_size < 1, "batch_size", batch_size, "must be >= 1");
    fail_if(!(learning_rate > 0.0f) || !std::isfinite(learning_rate), "learning_rate",
            learning_rate, "must be positive and finite");
    fail_if(!(lr_decay >= 0.0f), "lr_decay", lr_decay, "must be >= 0");
    fail_if(!(momentum >= 0.0f && momentum < 1.0f), "momentum", momentum, "must be in [0, 1)");
    fail_if(!(final_momentum >= 0.0f && final_momentum < 1.0f), "final_momentum", final_momentum,
            "must be in [0, 1)");
    fail_if(!(weight_decay >= 0.0f), "weight_decay", weight_decay, "must be >= 0");
  }

  // The contrastive-divergence fields (CdConfig) of the RBM trainers.
  template <typename Int>
  void cd(int cd_k, Int pcd_chains, int divergence_check_every) const {
    fail_if(cd_k < 1, "cd_k", cd_k, "at least 1 Gibbs step");
    fail_if(pcd_chains < 0, "pcd_chains", pcd_chains, "must be >= 0");
    fail_if(divergence_check_every < 1, "divergence_check_every", divergence_check_every,
            "must be >= 1");
  }

 private:
  const char* what_;
};

// A float hyperparameter as the decimal the user wrote (0.9f -> 0.9, not
// 0.8999999761581421), for logs and checkpoint metadata.
double as_decimal(float x);

// The SGD fields of a configuration (SgdConfig::sgd_json_fields) as a JSON object, for
// the configurations' to_json to add their own fields to.
nlohmann::json sgd_json(const SgdConfig& config);

// Adds the contrastive-divergence fields (CdConfig) to a configuration's JSON: "algorithm"
// (cd or pcd), "k", "pcd_chains" and "sample_negative_visible".
void add_cd_json(const CdConfig& config, nlohmann::json& j);

}  // namespace crbm::detail
