// DBM internals shared by the model (models/dbm.cpp), its training (train/dbm_train.cpp)
// and its evaluation (eval/dbm_eval.cpp); defined in models/dbm.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "crbm/dbm.hpp"

namespace crbm::detail {

// out = x_{l-1} W_{l-1} + x_{l+1} W_l' + b_l (the missing neighbour of v or the top is skipped).
void dbm_layer_logits(const Dbm& dbm, size_t l, CMatRef below, CMatRef above, MatRef out);

// One Gibbs sweep over the layers: odd layers given even ones, then even ones; draws keyed
// (seed, kStreamDbmGibbs, step * 8 + layer).
void dbm_gibbs_step(const Dbm& dbm, std::vector<Matrix>& state, std::vector<Matrix>& probs,
                    uint64_t seed, uint64_t step);

// Resizes m to `count` matrices [rows x cols[i]], reallocating only those whose shape
// differs (a caller that keeps m allocates once).
void dbm_ensure_rows(Backend& be, std::vector<Matrix>& m, size_t count, int64_t rows,
                     const std::vector<int64_t>& cols);

}  // namespace crbm::detail
