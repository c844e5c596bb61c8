// Trainer configurations as the tests set them: the batch size, learning rate and epochs of
// any SgdConfig (TrainConfig, DbmTrainConfig, ...), and a DBM trainer's persistent chains.
#pragma once

#include <cstdint>

#include "crbm/dbm.hpp"

namespace crbm::testing {

// A Config with that batch size, learning rate and number of epochs (the rest its defaults).
template <class Config>
Config sgd_config(int64_t batch_size, float learning_rate = Config().learning_rate,
                  int epochs = Config().epochs) {
  Config c;
  c.batch_size = batch_size;
  c.learning_rate = learning_rate;
  c.epochs = epochs;
  return c;
}

// A DBM trainer's config with that batch size and number of persistent chains.
inline DbmTrainConfig dbm_config(int64_t batch_size, int64_t chains,
                                 float learning_rate = DbmTrainConfig().learning_rate,
                                 int epochs = DbmTrainConfig().epochs) {
  DbmTrainConfig c = sgd_config<DbmTrainConfig>(batch_size, learning_rate, epochs);
  c.chains = chains;
  return c;
}

// The unit tests' quick DBM updates: batches of 10, 6 chains, 3 mean-field sweeps and 2 Gibbs
// steps per update.
inline DbmTrainConfig quick_dbm_config() {
  DbmTrainConfig c = dbm_config(10, 6);
  c.mean_field_sweeps = 3;
  c.gibbs_steps = 2;
  return c;
}

}  // namespace crbm::testing
