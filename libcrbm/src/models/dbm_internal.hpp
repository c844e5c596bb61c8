// DBM internals shared by the model (models/dbm.cpp), its training (train/dbm_train.cpp)
// and its evaluation (eval/dbm_eval.cpp); defined in models/dbm.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "crbm/dbm.hpp"

namespace crbm::detail {

// out = x_{l-1} W_{l-1} + x_{l+1} W_l' + b_l (the missing neighbour of v or the top is skipped);
// for the top layer of a labelled DBM, `labels` [B x K] (one-hot y or q(y)) adds U y.
void dbm_layer_logits(const Dbm& dbm, size_t l, CMatRef below, CMatRef above, MatRef out,
                      CMatRef labels = CMatRef{});

// The label group's logits given the top layer h_L [B x n_L]: out = h_L U + c [B x K].
void dbm_label_logits(const Dbm& dbm, CMatRef top, MatRef out);

// One Gibbs sweep over the layers: odd layers given even ones, then even ones; draws keyed
// (seed, kStreamDbmGibbs, step * 8 + layer). A labelled DBM's state and probs have L + 2
// entries, the last the label group [C x K], drawn with its parity side (L + 1) keyed
// (seed, kStreamDbmLabel, step).
void dbm_gibbs_step(const Dbm& dbm, std::vector<Matrix>& state, std::vector<Matrix>& probs,
                    uint64_t seed, uint64_t step);

// Resizes m to `count` matrices [rows x cols[i]], reallocating only those whose shape
// differs (a caller that keeps m allocates once).
void dbm_ensure_rows(Backend& be, std::vector<Matrix>& m, size_t count, int64_t rows,
                     const std::vector<int64_t>& cols);

// AIS for a labelled DBM (eval/dbm_label_ais.cpp): `bipartite` is dbm.bipartite_rbm() on the
// backend, `top_offset` the offset of h_L within its side, `base_data` the base rates' rows
// of the even side ([N x even] host, may be empty).
AisResult dbm_labelled_ais(const Dbm& dbm, const Rbm& bipartite, int64_t top_offset,
                           const HostTensor& base_data, const AisConfig& config);

}  // namespace crbm::detail
