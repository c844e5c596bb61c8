// Cheap quality measures of a dense RBM on data [N x V] (the model's backend memory):
//   pseudo-likelihood (scikit-learn's stochastic version): per row flip one random unit i,
//     PL(v) = V * log sigm(F(v~) - F(v)) = V * log P(v_i | v_-i)   (Bernoulli visible only)
//   reconstruction error: mean over rows of |v - E[v | P(h|v)]|^2 (one mean-field up-down pass)
//   free energy gap: mean F(holdout) - mean F(train) (grows when the model overfits)
#pragma once

#include <cstdint>
#include <vector>

#include "crbm/rbm.hpp"

namespace crbm {

// The unit flipped in row r of a pseudo-likelihood evaluation with `seed`:
// floor(u * V) with u = philox::uniform(seed, kPseudoLikelihoodStream, 0, r).
constexpr uint32_t kPseudoLikelihoodStream = 0x9151;
std::vector<int32_t> pseudo_likelihood_flips(int64_t rows, int64_t visible, uint64_t seed);

// Mean over rows of PL(v) (sum-over-units scale, as sklearn's BernoulliRBM.score_samples).
// Data values are flipped as v_i -> 1 - v_i. Throws for Gaussian visible units.
double pseudo_log_likelihood(const Rbm& rbm, CMatRef data, uint64_t seed);
// Per-row PL(v) [N], the same values the mean is taken over.
std::vector<double> pseudo_log_likelihood_rows(const Rbm& rbm, CMatRef data, uint64_t seed);

// Mean squared error per example: sum_i (v_i - vhat_i)^2 averaged over rows, with
// vhat = E[v | h = P(h | v)].
double reconstruction_error(const Rbm& rbm, CMatRef data);

struct FreeEnergyGap {
  double train = 0;    // mean F over the training rows
  double holdout = 0;  // mean F over the held-out rows
  double gap = 0;      // holdout - train
};
FreeEnergyGap free_energy_gap(const Rbm& rbm, CMatRef train, CMatRef holdout);

}  // namespace crbm
